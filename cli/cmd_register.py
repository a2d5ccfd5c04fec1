"""``smseal register incoming|outgoing`` (收文登记 / 发文登记 as .xlsx or .csv) and
``smseal register slip ID -o 处理笺.html|.pdf`` (文件处理笺 for one received document)."""

from __future__ import annotations

from smseal.office.i18n import _

from .context import App
from .workflow_args import add_now, office_of, parse_date


def register(sub) -> None:
    p = sub.add_parser("register", help=_("registers (收文登记/发文登记) and processing slips (文件处理笺)"))
    p.add_argument("kind", choices=["incoming", "outgoing", "slip"],
                   help=_("incoming (收文登记), outgoing (发文登记) or slip (文件处理笺)"))
    p.add_argument("package", nargs="?", metavar="ID", help=_("for slip: the received package's id"))
    p.add_argument("--from", dest="start", type=parse_date, metavar="YYYY-MM-DD", help=_("first date (inclusive)"))
    p.add_argument("--to", dest="end", type=parse_date, metavar="YYYY-MM-DD", help=_("last date (inclusive)"))
    p.add_argument("-o", "--output", required=True,
                   help=_("file to write: .xlsx or .csv (registers), .html or .pdf (slip)"))
    p.add_argument("--force", action="store_true", help=_("overwrite an existing file"))
    add_now(p)
    p.set_defaults(func=run)


def run(args, console) -> int:
    from smseal.office.errors import UsageError

    with App(args, console) as app:
        office = office_of(app, args)
        if args.kind == "slip":
            from smseal.office.slip import write_slip

            if not args.package:
                raise UsageError(_("Name the received package: smseal register slip ID -o FILE"))
            write_slip(office, args.package, args.output, overwrite=args.force)
            console.print(_("Wrote the processing slip (文件处理笺) to {path}.").format(path=args.output))
            return 0
        if args.package:
            raise UsageError(_("A package id is given only for slip."))
        from smseal.office.registers import write_register

        reg = write_register(office, args.kind, args.output, start=args.start, end=args.end, overwrite=args.force)
        console.print(_("Wrote {title} with {n} row(s) to {path}.").format(title=reg.title, n=len(reg.rows),
                                                                         path=args.output))
        return 0
