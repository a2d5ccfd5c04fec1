"""``smseal seal`` (to a file) and ``smseal send`` (through the outbox or SMTP).

Both resolve recipient units in the directory (refusing revoked or expired
ones), sign with this unit's key, and record the package in the ledger so
receipts can be checked and the status shown.
"""

from __future__ import annotations

import os
import secrets
from datetime import date
from pathlib import Path

from .context import App, UsageError
from smseal.office.fsutil import atomic_output
from smseal.office.i18n import _
from .progress import CountingReader, Progress
from smseal.office import urgency
from smseal.office.transport import PACKAGE_SUFFIX

URGENCY_LABEL = urgency.LABEL


def _add_package_args(p) -> None:
    p.add_argument("main", help=_("the main document"))
    p.add_argument("attachments", nargs="*", help=_("attachments"))
    p.add_argument("--to", required=True, metavar="UNIT", help=_("the main recipient unit (主送), exactly one"))
    p.add_argument("--cc", action="append", default=[], metavar="UNIT", help=_("a copy recipient (抄送); repeatable"))
    p.add_argument("--title", help=_("title (标题); travels encrypted"))
    p.add_argument("--doc-number", help=_("document number (发文字号), e.g. 赤政办发〔2027〕5号; travels encrypted"))
    p.add_argument("--urgency", type=_urgency, default="normal", metavar="URGENCY",
                   help=_("normal (普通), urgent (加急) or extra-urgent (特急); visible without decrypting"))
    p.add_argument("--due", type=_date, metavar="YYYY-MM-DD", help=_("date by which receipts are expected"))
    p.add_argument("--label", help=_("sensitivity label, e.g. 内部 or 工作秘密 (state secrets are refused)"))
    p.add_argument("--remarks", help=_("remarks (附注); travel encrypted"))
    p.add_argument("--signer-name", help=_("approving official (签发人)"))
    p.add_argument("--copy-number", help=_("copy number (份号)"))
    p.add_argument("--armor", action="store_true", help=_("write the text form for e-mail bodies"))
    p.add_argument("--json", action="store_true", help=_("print the result as JSON"))


def _urgency(text: str) -> str:
    try:
        return urgency.parse(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(_("not an urgency: {text} (use 普通, 加急 or 特急, or normal, urgent, "
                                           "extra-urgent)").format(text=text)) from None


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(_("not a date in the form YYYY-MM-DD: {text}").format(text=text)) from None


def register(sub) -> None:
    p = sub.add_parser("seal", help=_("seal a document package into a file"))
    _add_package_args(p)
    p.add_argument("-o", "--output", required=True, help=_("package file to write (.smx)"))
    p.add_argument("--force", action="store_true", help=_("overwrite an existing file"))
    p.set_defaults(func=run_seal)
    s = sub.add_parser("send", help=_("seal and deliver a package (outbox folder or e-mail)"),
                       epilog=_("How packages are delivered is set in config.ini in the keystore folder: "
                                "[delivery] via = outbox or smtp, [outbox] root, [smtp] and [addresses] "
                                "(see the README, Configuration)."))
    _add_package_args(s)
    s.add_argument("--via", choices=["outbox", "smtp"], help=_("delivery method (default from config.ini)"))
    s.set_defaults(func=run_send)


def _seal_to(app: App, args, dest: Path, *, overwrite: bool, kept_at=None, transport: str = "file"):
    """Seal into ``dest`` and record the package in the ledger; return the SealResult.

    ``kept_at(package_id) -> Path`` names where the package will be kept, when
    that depends on the id (``send`` keeps a copy under SMSEAL_HOME/sent).
    """
    from smseal.envelope import Package, seal

    if args.to in args.cc:
        raise UsageError(_("{unit} is both the main recipient and a copy recipient.").format(unit=args.to))
    if len(set(args.cc)) != len(args.cc):
        raise UsageError(_("A copy recipient is named twice."))
    recipients = [(args.to, "to"), *((u, "cc") for u in args.cc)]
    keys = [app.directory.encryption_key(u) for u, _role in recipients]  # refuses revoked/expired
    paths = [Path(args.main), *map(Path, args.attachments)]
    for p in paths:
        if not p.is_file():
            raise UsageError(_("File not found: {path}").format(path=p))
    total = sum(p.stat().st_size for p in paths)
    progress = Progress(_("Sealing"), total)
    files = [open(p, "rb") for p in paths]
    try:
        specs = [(p.name, CountingReader(f, progress)) for p, f in zip(paths, files)]
        pkg = Package(specs[0], specs[1:], title=args.title, doc_number=args.doc_number, label=args.label,
                      urgency=args.urgency, due=args.due, remarks=args.remarks, sender_unit=app.unit,
                      signer_name=args.signer_name, copy_number=args.copy_number)
        signer = app.keystore.signer(app.unit)
        with atomic_output(dest, overwrite=overwrite) as out:
            res = seal(pkg, sender=signer, to=keys[0], cc=keys[1:], out=out, armor=args.armor)
    finally:
        for f in files:
            f.close()
        progress.finish()
    app.ledger.record_sent(package_id=res.package_id.hex(), sealed_at=res.sealed_at, title=args.title,
                           doc_number=args.doc_number, urgency=args.urgency, due=args.due, label=args.label,
                           path=str((kept_at(res.package_id.hex()) if kept_at else dest).resolve()),
                           digest=res.package_digest, transport=transport,
                           recipients=[(u, role, k.key_id()) for (u, role), k in zip(recipients, keys)])
    return res, recipients


def _report(console, args, res, recipients, dest, deliveries=None) -> None:
    if args.json:
        console.json({"package_id": res.package_id.hex(), "path": str(dest), "size": res.size,
                      "sealed_at": res.sealed_at.isoformat(), "urgency": args.urgency,
                      "recipients": [{"unit": u, "role": r} for u, r in recipients],
                      **({"delivered": deliveries} if deliveries is not None else {})})
        return
    console.print(_("Sealed package {pid} ({size:,} bytes) → {path}").format(
        pid=res.package_id.hex(), size=res.size, path=dest))
    console.print(_("  main recipient (主送): {unit}").format(unit=recipients[0][0]))
    for u, _r in recipients[1:]:
        console.print(_("  copy recipient (抄送): {unit}").format(unit=u))


def run_seal(args, console) -> int:
    with App(args, console) as app:
        dest = Path(args.output)
        res, recipients = _seal_to(app, args, dest, overwrite=args.force)
        _report(console, args, res, recipients, dest)
        return 0


def run_send(args, console) -> int:
    from smseal.office.delivery import deliver, saves_only, transport_for

    with App(args, console) as app:
        transport = transport_for(app, args.via, armor=args.armor)
        units = [args.to, *args.cc]
        for u in units:                       # check before acting: keys and the way to each unit
            app.directory.encryption_key(u)
        transport.check(units)
        sent_dir = app.home / "sent"
        sent_dir.mkdir(mode=0o700, exist_ok=True)
        tmp = sent_dir / f".sealing-{os.getpid()}-{secrets.token_hex(4)}{PACKAGE_SUFFIX}"

        def kept_at(pid: str) -> Path:
            return sent_dir / (pid + PACKAGE_SUFFIX)

        # The kept copy is binary; --armor only changes how the mail carries it.
        armor, args.armor = args.armor, False
        try:
            res, recipients = _seal_to(app, args, tmp, overwrite=False, kept_at=kept_at, transport=transport.name)
            dest = kept_at(res.package_id.hex())
            os.replace(tmp, dest)
        finally:
            args.armor = armor
            if tmp.exists():
                tmp.unlink()
        report = deliver(app, transport, dest, res.package_id.hex(), args.urgency, [u for u, _r in recipients])
        deliveries = [o.to_dict() for o in report.outcomes]
        if args.json:
            _report(console, args, res, recipients, dest, deliveries)
        else:
            _report(console, args, res, recipients, dest)
            from .cmd_inbox import _print_delivery

            _print_delivery(console, report)
            if saves_only(app, transport) and not report.failed:
                console.note(_("Note: no shared folder or mail server is configured, so the package was only "
                               "saved. Set [outbox] root or [smtp] in config.ini to deliver."))
        report.raise_if_failed()
        return 0
