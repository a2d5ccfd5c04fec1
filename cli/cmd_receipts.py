"""``smseal receipts import`` and ``smseal status``: who has signed for what, what is overdue."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from shangmi import VerificationError

from .context import App
from smseal.office.fsutil import read_input
from smseal.office.i18n import _


CLOCK_SKEW = timedelta(minutes=10)  # office clocks differ a little; more is suspicious


def register(sub) -> None:
    p = sub.add_parser("receipts", help=_("signed receipts (签收回执)"))
    rs = p.add_subparsers(dest="receipts_command", metavar="ACTION")
    i = rs.add_parser("import", help=_("verify receipts and record them"))
    i.add_argument("receipt", nargs="+", help=_("receipt files (.smr) or their text form"))
    i.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    i.set_defaults(func=run_import)
    p.set_defaults(func=lambda a, c: (p.print_help(), 2)[1])
    s = sub.add_parser("status", help=_("sent packages: who has signed, what is overdue; and received ones"))
    s.add_argument("--json", action="store_true", help=_("print the status as JSON"))
    s.add_argument("--today", type=date.fromisoformat, help=argparse_suppress())
    s.set_defaults(func=run_status)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def run_import(args, console) -> int:
    from smseal.envelope import Receipt, RecipientInfo, SealResult, verify_receipt

    results = []
    with App(args, console) as app:
        for path in args.receipt:
            data = read_input(path)
            r = Receipt.from_bytes(data)
            pid = r.package_id.hex()
            record = app.ledger.sent_record(pid)
            if record is None:
                raise VerificationError(f"no package {pid} was sent from here", package=pid)
            digest, sealed_at, recips = record
            sealed = SealResult(r.package_id, digest, datetime.fromisoformat(sealed_at),
                                tuple(RecipientInfo(role, kid) for _u, role, kid in recips), 0)
            info = verify_receipt(r, package=sealed, trusted=app.directory)
            if info.time < sealed.sealed_at - CLOCK_SKEW:
                raise VerificationError(f"the receipt is dated {info.time}, before the package was sealed")
            unit = next(u for u, _role, kid in recips if kid == info.recipient_key_id)
            if info.signer_unit != unit:
                raise VerificationError(f"the receipt is signed by {info.signer_unit}, not by {unit}")
            new = app.ledger.record_receipt(pid, info.recipient_key_id, info.time, info.status, r.to_bytes())
            results.append({"package_id": pid, "unit": unit, "status": info.status,
                            "time": info.time.isoformat(), "new": new})
            if not args.json:
                if not new:
                    msg = _("{unit} had already answered for package {pid}; nothing changed.")
                elif info.status == "rejected":
                    msg = _("{unit} REFUSED package {pid} (拒收) on {time}.")
                else:
                    msg = _("{unit} signed for package {pid} on {time}.")
                console.print(msg.format(unit=unit, pid=pid, time=info.time))
        if args.json:
            console.json(results)
        return 0


def run_status(args, console) -> int:
    with App(args, console, create=False) as app:
        sent = app.ledger.sent_status(today=args.today)
        received = app.ledger.received_status()
        if args.json:
            console.json({"sent": [{"package_id": s.package_id, "sealed_at": s.sealed_at, "title": s.title,
                                    "doc_number": s.doc_number, "urgency": s.urgency, "due": s.due,
                                    "signed": s.signed, "total": len(s.recipients),
                                    "recipients": [{"unit": r.unit, "role": r.role, "signed": r.signed,
                                                   "rejected": r.rejected,
                                                    "signed_at": r.receipt_at, "status": r.receipt_status,
                                                    "overdue": r.overdue} for r in s.recipients]}
                                   for s in sent],
                          "received": received})
            return 0
        console.print(_("Sent packages:") if sent else _("No packages sent yet."))
        for s in sent:
            name = s.doc_number or s.title or s.package_id[:16]
            due = _(", due {d}").format(d=s.due) if s.due else ""
            console.print(_("  {name}: {n}/{t} signed{due}").format(name=name, n=s.signed, t=len(s.recipients),
                                                                     due=due))
            for r in s.recipients:
                role = "主送" if r.role == "to" else "抄送"
                if r.rejected:
                    state = _("REFUSED (拒收) {when}").format(when=r.receipt_at)
                elif r.signed:
                    state = _("signed {when}").format(when=r.receipt_at)
                elif r.overdue:
                    state = _("OVERDUE, not signed")
                else:
                    state = _("not signed yet")
                console.print(f"    [{role}] {r.unit}: {state}")
        if received:
            console.print(_("Received packages:"))
            for r in received:
                name = r["doc_number"] or r["title"] or r["package_id"][:16]
                console.print(_("  {name} from {sender}, opened {when}").format(
                    name=name, sender=r["sender_unit"] or "?", when=r["opened_at"]))
        return 0
