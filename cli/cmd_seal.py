"""``smseal seal`` (to a file) and ``smseal send`` (through the outbox or SMTP).

Both are thin callers of ``smseal.office.sending``: recipient units resolved in
the directory (groups expanded, revoked or expired units refused), the package
signed by this unit and recorded in the ledger for receipts, status and the
发文登记.  ``smseal send draft.smd`` sends an approved draft (签发) with the
approval inside the encrypted metadata.
"""

from __future__ import annotations

from pathlib import Path

from .context import App, UsageError
from smseal.office.i18n import _
from .progress import CountingReader, Progress
from smseal.office import urgency
from .workflow_args import add_workflow_fields, office_of, parse_date

URGENCY_LABEL = urgency.LABEL


_PACKAGE_FIELDS = ("title", "doc_number", "due", "label", "remarks", "signer_name", "copy_number", "doc_type",
                   "reply_by", "reply_from")


def add_document_args(p, *, main_help: str, to_required: bool = True) -> None:
    """The document and its GB/T 9704 fields, shared by seal, send and draft."""
    p.add_argument("main", help=main_help)
    p.add_argument("attachments", nargs="*", help=_("attachments"))
    p.add_argument("--to", required=to_required, metavar="UNIT",
                   help=_("the main recipient unit (主送), exactly one"))
    p.add_argument("--cc", action="append", default=[], metavar="UNIT", help=_("a copy recipient (抄送); repeatable"))
    p.add_argument("--title", help=_("title (标题); travels encrypted"))
    p.add_argument("--doc-number", help=_("document number (发文字号), e.g. 赤政办发〔2027〕5号; travels encrypted"))
    p.add_argument("--urgency", type=_urgency, default="normal", metavar="URGENCY",
                   help=_("normal (普通), urgent (加急) or extra-urgent (特急); visible without decrypting"))
    p.add_argument("--due", type=parse_date, metavar="YYYY-MM-DD", help=_("date by which receipts are expected"))
    p.add_argument("--label", help=_("sensitivity label, e.g. 内部 or 工作秘密 (state secrets are refused)"))
    p.add_argument("--remarks", help=_("remarks (附注); travel encrypted"))
    p.add_argument("--copy-number", metavar="N",
                   help=_("copy number (份号) of the main recipient's copy (default 000001); each copy recipient's copy gets the next number"))
    add_workflow_fields(p)


def _add_package_args(p, *, draft_ok: bool = False) -> None:
    add_document_args(p, main_help=_("the main document, or an approved draft (.smd)") if draft_ok
                      else _("the main document"), to_required=not draft_ok)
    p.add_argument("--signer-name", help=_("approving official (签发人)"))
    p.add_argument("--armor", action="store_true", help=_("write the text form for e-mail bodies"))
    p.add_argument("--json", action="store_true", help=_("print the result as JSON"))


def _urgency(text: str) -> str:
    try:
        return urgency.parse(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(_("not an urgency: {text} (use 普通, 加急 or 特急, or normal, urgent, "
                                           "extra-urgent)").format(text=text)) from None




def register(sub) -> None:
    p = sub.add_parser("seal", help=_("seal a document package into a file"))
    _add_package_args(p)
    p.add_argument("-o", "--output", required=True, help=_("package file to write (.smx)"))
    p.add_argument("--force", action="store_true", help=_("overwrite an existing file"))
    p.set_defaults(func=run_seal)
    s = sub.add_parser("send", help=_("seal and deliver a package (outbox folder or e-mail)"),
                       epilog=_("How packages are delivered is set in config.ini in the smseal folder (--home): "
                                "[delivery] via = outbox or smtp, [outbox] root, [smtp] and [addresses] "
                                "(see the README, Configuration)."))
    _add_package_args(s, draft_ok=True)
    s.add_argument("--via", choices=["outbox", "smtp"], help=_("delivery method (default from config.ini)"))
    s.set_defaults(func=run_send)


def _compose(office, args, progress):
    from smseal.office.sending import compose

    return compose(office, args.main, args.attachments, to=args.to, cc=args.cc, cc_groups=args.cc_group,
                   wrap=lambda f: CountingReader(f, progress), urgency=args.urgency,
                   **{k: getattr(args, k) for k in _PACKAGE_FIELDS})


def _progress(args) -> Progress:
    paths = [Path(args.main), *map(Path, args.attachments)]
    return Progress(_("Sealing"), sum(p.stat().st_size for p in paths if p.is_file()))


def _report(console, args, sent, deliveries=None, approved_by=None) -> None:
    if args.json:
        console.json({"package_id": sent.package_id, "path": str(sent.path), "size": sent.size,
                      "sealed_at": sent.sealed_at.isoformat(), "urgency": sent.urgency,
                      "recipients": [{"unit": u, "role": r} for u, r in sent.recipients],
                      "approved_by": approved_by,
                      **({"delivered": deliveries} if deliveries is not None else {})})
        return
    console.print(_("Sealed package {pid} ({size:,} bytes) → {path}").format(
        pid=sent.package_id, size=sent.size, path=sent.path))
    console.print(_("  main recipient (主送): {unit}").format(unit=sent.to))
    for u in sent.cc:
        console.print(_("  copy recipient (抄送): {unit}").format(unit=u))
    if approved_by:
        console.print(_("  approved by (签发人): {leader}").format(leader=approved_by))


def run_seal(args, console) -> int:
    from smseal.office.sending import seal_to

    with App(args, console) as app:
        office = office_of(app)
        progress = _progress(args)
        try:
            with _compose(office, args, progress) as outgoing:
                sent = seal_to(office, outgoing, Path(args.output), overwrite=args.force, armor=args.armor)
        finally:
            progress.finish()
        _report(console, args, sent)
        return 0


def _is_draft(args) -> bool:
    return Path(args.main).suffix.lower() == ".smd"


def run_send(args, console) -> int:
    from smseal.office.delivery import saves_only, transport_for
    from smseal.office.sending import from_draft, send

    with App(args, console) as app:
        office = office_of(app)
        approved_by = None
        if _is_draft(args):
            given = [k for k in ("to", *_PACKAGE_FIELDS) if getattr(args, k)]
            if args.attachments or args.cc or args.cc_group or given or args.urgency != "normal":
                raise UsageError(_("A draft carries its own recipients, files and metadata (they were approved); "
                                   "send it alone: smseal send DRAFT.smd"))
            with from_draft(office, args.main) as outgoing:
                approval = outgoing.package.metadata().approval
                approved_by = approval.leader if approval else None
                sent = send(office, outgoing, via=args.via, armor=args.armor)
        else:
            if not args.to:
                raise UsageError(_("Name the main recipient with --to UNIT (or send an approved draft .smd)."))
            progress = _progress(args)
            try:
                with _compose(office, args, progress) as outgoing:
                    sent = send(office, outgoing, via=args.via, armor=args.armor)
            finally:
                progress.finish()
        report = sent.report
        if args.json:
            _report(console, args, sent, list(sent.deliveries), approved_by)
        else:
            _report(console, args, sent, approved_by=approved_by)
            from .cmd_inbox import _print_delivery

            _print_delivery(console, report)
            if saves_only(app, transport_for(app, args.via)) and not report.failed:
                console.note(_("Note: no shared folder or mail server is configured, so the package was only "
                               "saved. Set [outbox] root or [smtp] in config.ini to deliver."))
        report.raise_if_failed()
        return 0
