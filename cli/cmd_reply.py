"""``smseal reply ID MAIN [ATT…]``: answer a received package, linked to it (办复).

The reply is sealed to the original's sender and carries the original's id and
digest inside the encrypted metadata; it is delivered like ``send`` (or
written to ``-o FILE``), and the original sender's ``status`` counts it.
"""

from __future__ import annotations

from pathlib import Path

from smseal.office.i18n import _

from .cmd_seal import _urgency
from .context import App
from .workflow_args import office_of, parse_date


def register(sub) -> None:
    p = sub.add_parser("reply", help=_("answer a received package (答复), linked to it"))
    p.add_argument("package", metavar="ID", help=_("the received package's id (8 or more hex digits)"))
    p.add_argument("main", help=_("the main document"))
    p.add_argument("attachments", nargs="*", help=_("attachments"))
    p.add_argument("--title", help=_("title (标题); travels encrypted"))
    p.add_argument("--doc-number", help=_("document number (发文字号), e.g. 赤政办发〔2027〕5号; travels encrypted"))
    from smseal.envelope import DOC_TYPES
    p.add_argument("--type", dest="doc_type", choices=DOC_TYPES, metavar="文种", help=_("document type (文种)"))
    p.add_argument("--urgency", type=_urgency, default="normal", metavar="URGENCY",
                   help=_("normal (普通), urgent (加急) or extra-urgent (特急); visible without decrypting"))
    p.add_argument("--due", type=parse_date, metavar="YYYY-MM-DD", help=_("date by which receipts are expected"))
    p.add_argument("--label", help=_("sensitivity label, e.g. 内部 or 工作秘密 (state secrets are refused)"))
    p.add_argument("--remarks", help=_("remarks (附注); travel encrypted"))
    p.add_argument("--copy-number", metavar="N",
                   help=_("copy number (份号) of the main recipient's copy (default 000001); each copy recipient's copy gets the next number"))
    p.add_argument("-o", "--output", help=_("write the sealed reply to FILE instead of delivering it"))
    p.add_argument("--force", action="store_true", help=_("overwrite an existing file"))
    p.add_argument("--via", choices=["outbox", "smtp"], help=_("delivery method (default from config.ini)"))
    p.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    p.set_defaults(func=run)


def run(args, console) -> int:
    from smseal.office.replies import compose_reply, mark_replied, original_of
    from smseal.office.sending import seal_to, send

    from .progress import CountingReader, Progress

    with App(args, console) as app:
        office = office_of(app)
        orig = original_of(office, args.package)
        paths = [Path(args.main), *map(Path, args.attachments)]
        total = sum(p.stat().st_size for p in paths if p.is_file())
        progress = Progress(_("Sealing"), total)
        try:
            with compose_reply(office, args.package, args.main, args.attachments,
                               wrap=lambda f: CountingReader(f, progress), title=args.title,
                               doc_number=args.doc_number, doc_type=args.doc_type, urgency=args.urgency,
                               due=args.due, label=args.label, remarks=args.remarks,
                               copy_number=args.copy_number) as outgoing:
                if args.output:
                    sent = seal_to(office, outgoing, args.output, overwrite=args.force)
                else:
                    sent = send(office, outgoing, via=args.via)
        finally:
            progress.finish()
        mark_replied(office, orig["package_id"], sent)
        name = orig["doc_number"] or orig["title"] or orig["package_id"][:16]
        if args.json:
            console.json({"package_id": sent.package_id, "reply_to": orig["package_id"], "to": sent.to,
                          "path": str(sent.path), "delivered": list(sent.deliveries)})
            return 0
        console.print(_("Sealed reply {pid} to {unit}, answering {name} ({orig}).").format(
            pid=sent.package_id, unit=sent.to, name=name, orig=orig["package_id"]))
        for d in sent.deliveries:
            console.print(_("  delivered to {unit}: {where}").format(**d))
        if args.output:
            console.print(f"  → {args.output}")
        return 0
