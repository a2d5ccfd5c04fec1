"""``smseal open`` (verify, decrypt, write the files, sign a receipt),
``smseal verify`` (signature and integrity, nothing decrypted) and
``smseal inspect`` (the clear header only)."""

from __future__ import annotations

import os
from pathlib import Path

from smseal.office import receiving
from smseal.office.i18n import _

from .cmd_seal import URGENCY_LABEL
from .context import App, UsageError
from .progress import CountingReader, Progress
from .workflow_args import office_of
from smseal.office.clock import show_seconds
from smseal.office.copies import own_copy_number


def register(sub) -> None:
    p = sub.add_parser("open", help=_("verify and open a package addressed to this unit"),
                       epilog=_("The receipt goes back the way config.ini in the smseal folder (--home) says "
                                "([delivery] via = outbox or smtp; see the README, Configuration)."))
    p.add_argument("package", nargs="?",
                   help=_("the package file (.smx), a saved e-mail (.eml), or the start of a package id from the inbox"))
    p.add_argument("--next", action="store_true", help=_("open the most urgent package waiting in the inbox"))
    p.add_argument("-o", "--output", metavar="DIR", help=_("folder for the documents (default: a new folder here)"))
    p.add_argument("--receipt-out", metavar="FILE", help=_("write the signed receipt to FILE instead of sending it"))
    p.add_argument("--no-receipt", action="store_true", help=_("do not make a receipt now"))
    p.add_argument("--via", choices=["outbox", "smtp"], help=_("how to send the receipt back (default from config.ini)"))
    p.add_argument("--force", action="store_true", help=_("overwrite files that already exist in the folder"))
    p.add_argument("--accept-before-revocation", action="store_true",
                   help=_("open a package from a sender whose key is no longer valid today, because it says it "
                          "was sealed before (confirm with the sender by phone first)"))
    p.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    p.set_defaults(func=run_open)
    v = sub.add_parser("verify", help=_("check a package's signature and integrity without decrypting it"))
    v.add_argument("package", help=_("the package file (.smx) or its text form"))
    v.add_argument("--accept-before-revocation", action="store_true",
                   help=_("accept a sender whose key is no longer valid today (confirm by phone first)"))
    v.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    v.set_defaults(func=run_verify)
    i = sub.add_parser("inspect", help=_("show a package's clear header (unverified)"))
    i.add_argument("package", help=_("the package file (.smx) or its text form"))
    i.add_argument("--json", action="store_true", help=_("print the clear header as JSON"))
    i.set_defaults(func=run_inspect)


def _existing(path: str) -> Path:
    p = Path(path)
    if not p.exists() or p.is_dir():
        raise UsageError(_("File not found: {path}").format(path=path))
    return p


def _source(app: App, args):
    """(what to open: a path or bytes, the inbox entry it came from or None, its size)."""
    import io

    from smseal.office.inbox import Inbox
    from smseal.office.mailparse import looks_like_email

    if args.next:
        if args.package:
            raise UsageError(_("Give either --next or a package, not both."))
        entry = Inbox(app).next()
        return Path(entry.path), entry
    if not args.package:
        raise UsageError(_("Name a package file or id, or use --next."))
    p = Path(args.package)
    if p.exists() and not p.is_dir():       # a file, or a pipe: opened once, read once
        f = receiving.ReadOnce(open(p, "rb"))
        try:
            head = f.read(4096)
        except BaseException:
            f.close()
            raise
        f.rewind()
        if looks_like_email(head):
            f.close()
            return io.BytesIO(package_from_email(app.console, p)), None
        return f, None
    if p.exists():
        raise UsageError(_("{path} is a folder, not a file.").format(path=p))
    entry = Inbox(app).resolve(args.package)
    return Path(entry.path), entry


def _print_approval(console, approval, named: str | None) -> None:
    """"签发人：张三（签名已验证）" in Chinese, or why the approval failed, or the unsigned name typed."""
    if approval.verified:
        console.print(_("  approved by (签发人): {leader} (signature verified)").format(leader=approval.leader))
    elif approval.state == "invalid":
        console.print(_("  approved by (签发人): {leader} (APPROVAL INVALID: {reason})").format(
            leader=named or "?", reason=approval.reason), red=True)
    elif named:
        console.print(_("  approved by (签发人): {leader} (typed by the sender, not signed)").format(leader=named))


def _print_link(console, link) -> None:
    if link.linked:
        console.print(_("  reply to our package {pid} ({name}): linked").format(
            pid=link.original_id, name=link.doc_number or link.title or ""))
    else:
        console.note(_("Note: this package says it replies to {pid}, but it was not linked: {reason}.")
                     .format(pid=link.original_id, reason=link.reason))


def package_from_email(console, path: Path) -> bytes:
    """The one package a saved e-mail carries; says so (the refusals are ``receiving.package_in_email``'s)."""
    name, data = receiving.package_in_email(path)
    console.note(_("{path} is an e-mail; the package inside is {name}.").format(path=path, name=name))
    return data


def run_open(args, console) -> int:
    if args.receipt_out and args.no_receipt:
        raise UsageError(_("--receipt-out and --no-receipt exclude each other."))
    receipt = receiving.NO_RECEIPT if args.no_receipt else (args.receipt_out or receiving.SEND)
    with App(args, console) as app:
        src, _entry = _source(app, args)
        if isinstance(src, Path):
            size = src.stat().st_size
        elif isinstance(src, receiving.ReadOnce):
            size = os.fstat(src.fileno()).st_size
        else:
            size = len(src.getbuffer())
        progress = Progress(_("Opening"), size)
        try:
            opened = receiving.open_file(app, src, Path(args.output) if args.output else None, receipt=receipt,
                                         via=args.via, overwrite=args.force,
                                         accept_before_revocation=args.accept_before_revocation,
                                         reader=lambda f: CountingReader(f, progress), warn=console.note)
        finally:
            progress.finish()
        res, earlier, receipt_where = opened.result, opened.earlier, opened.receipt_where
        meta = res.metadata
        pid = opened.package_id
        approval, link = opened.approval, opened.reply_link
        tz = office_of(app).tz
        copy_number = own_copy_number(meta, res.recipient_key_id)
        if args.json:
            console.json({"package_id": pid, "package_digest": res.package_digest.hex(), "sender": res.sender,
                          "urgency": res.urgency, "role": res.role,
                          "title": meta.title, "doc_number": meta.doc_number, "label": meta.label,
                          "due": meta.due, "remarks": meta.remarks, "files": [str(f) for f in res.files],
                          "receipt": receipt_where, "already_received": earlier,
                          "sealed_at": res.sealed_at.isoformat(), "sealed_at_local": show_seconds(res.sealed_at, tz),
                          "doc_type": meta.doc_type, "copy_number": copy_number, "reply_by": meta.reply_by,
                          "signer": approval.leader if approval.verified else meta.signer_name,
                          "approval": {"state": approval.state, "leader": approval.leader,
                                       "reason": approval.reason},
                          "reply_to": ({"package_id": link.original_id, "linked": link.linked,
                                        "reason": link.reason} if link else None),
                          "id_conflict": bool(opened.replay and opened.replay.conflict),
                          "sender_no_longer_valid": res.sender_no_longer_valid})
            return 0
        if earlier:
            console.note(_("Note: this package was already received on {when}; this is a repeat delivery.")
                         .format(when=earlier))
        console.print(_("Opened package {pid} from {sender} (signature verified).").format(
            pid=pid, sender=res.sender or _("an unnamed trusted key")))
        urg = URGENCY_LABEL.get(res.urgency)
        if urg:
            console.print(_("  urgency: {u}").format(u=urg))
        console.print(_("  sealed: {when}").format(when=show_seconds(res.sealed_at, tz)))
        for label, value in ((_("title"), meta.title), (_("document number"), meta.doc_number),
                             (_("document type (文种)"), meta.doc_type), (_("copy number (份号)"), copy_number),
                             (_("label"), meta.label), (_("due"), meta.due), (_("reply by"), meta.reply_by),
                             (_("remarks"), meta.remarks)):
            if value:
                console.print(f"  {label}: {value}")
        _print_approval(console, approval, meta.signer_name)
        if link is not None:
            _print_link(console, link)
        console.print(_("  role: {role}").format(role=_("main recipient (主送)") if res.role == "to"
                                                 else _("copy recipient (抄送)")))
        for f in res.files:
            console.print(f"  → {f}")
        if receipt_where:
            console.print(_("Signed receipt: {where}").format(where=receipt_where))
        return 0


def run_verify(args, console) -> int:
    from smseal.envelope import verify_package

    src = _existing(args.package)
    with App(args, console, create=False) as app:
        with open(src, "rb") as f:
            res = verify_package(f, trusted=app.directory, accept_before_revocation=args.accept_before_revocation)
        if res.sender_no_longer_valid:
            console.note(_("Warning: the sender's key is no longer valid today ({detail}); the package says it "
                           "was sealed before that. If in doubt, confirm with the sender by phone.")
                         .format(detail=res.sender_no_longer_valid))
        if args.json:
            console.json({"package_id": res.package_id.hex(), "sender": res.sender, "valid": True,
                          "sealed_at": res.sealed_at.isoformat(), "urgency": res.urgency})
        else:
            console.print(_("Valid: package {pid} was sealed by {sender} on {when} and has not been altered.")
                          .format(pid=res.package_id.hex(), sender=res.sender or "?", when=res.sealed_at))
        return 0


def run_inspect(args, console) -> int:
    from smseal.envelope import inspect

    info = inspect(_existing(args.package))
    recips = [{"role": r.role, "key_id": r.key_id.hex()} for r in info.recipients]
    if args.json:
        console.json({"version": info.version, "package_id": info.package_id.hex(),
                      "sealed_at": info.sealed_at.isoformat(), "urgency": info.urgency,
                      "sender_key_id": info.sender_key_id.hex(), "recipients": recips,
                      "header_size": info.header_size, "payload_size": info.payload_size,
                      "armored": info.armored, "verified": False})
        return 0
    console.print(_("Package {pid} (format v{v}, unverified header)").format(pid=info.package_id.hex(), v=info.version))
    console.print(_("  sealed at: {t}").format(t=info.sealed_at))
    console.print(_("  urgency: {u}").format(u=URGENCY_LABEL.get(info.urgency) or _("normal")))
    console.print(_("  sender key id: {k}").format(k=info.sender_key_id.hex()))
    for r in recips:
        console.print(_("  recipient ({role}): {k}").format(role=_("主送") if r["role"] == "to" else _("抄送"),
                                                           k=r["key_id"]))
    if info.payload_size is not None:
        console.print(_("  encrypted payload: {n:,} bytes").format(n=info.payload_size))
    return 0
