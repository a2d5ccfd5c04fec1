"""``smseal receipts import`` and ``smseal status``: who has signed for what, what is overdue."""

from __future__ import annotations

from datetime import date

from .context import App, UsageError
from smseal.office.fsutil import read_input
from smseal.office.i18n import _
from smseal.office.receipts import CLOCK_SKEW  # noqa: F401  (kept importable here)


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
    s.add_argument("--all", action="store_true", help=_("every package sent, not only those needing attention"))
    s.add_argument("--today", type=date.fromisoformat, help=argparse_suppress())
    s.set_defaults(func=run_status)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def _receipts_in(console, path: str) -> list[tuple[str, bytes]]:
    """(kind, bytes) of what the file holds: one receipt, or what a saved e-mail carries."""
    from smseal.office.mailparse import items_from_message, looks_like_email, parse_message

    data = read_input(path, 64 * 1024 * 1024)
    if not looks_like_email(data[:4096]):
        return [("receipt", data)]
    items = [i for i in items_from_message(parse_message(data)) if i.kind in ("receipt", "notice")]
    if not items:
        raise UsageError(_("{path} is an e-mail, but it carries no smseal receipt.").format(path=path))
    console.note(_("{path} is an e-mail; the receipt inside is {name}.").format(
        path=path, name=", ".join(i.name for i in items)))
    return [(i.kind, i.data) for i in items]


def run_import(args, console) -> int:
    from smseal.office.receipts import import_receipt, import_rejection

    results = []
    with App(args, console) as app:
        for path in args.receipt:
            for kind, data in _receipts_in(console, path):
                if kind == "notice":
                    reason = import_rejection(app, data)
                    if not args.json:
                        console.print(_("  reason of the 拒收 by {unit}: {reason}").format(
                            unit=reason.unit, reason=reason.reason))
                    continue
                out = import_receipt(app, data)
                results.append(out.to_dict())
                if not args.json:
                    console.print(out.sentence())
        if args.json:
            console.json(results)
        return 0


def _recipient_state(r) -> str:
    if r.rejected:
        state = _("REFUSED (拒收) {when}").format(when=r.receipt_at)
        if r.rejection_reason:
            state += _(": {reason}").format(reason=r.rejection_reason)
    elif r.signed:
        state = _("signed {when}").format(when=r.receipt_at)
    elif r.failed:
        state = _("DELIVERY FAILED {when}: {why} (smseal resend)").format(when=r.delivered_at, why=r.delivery_reason)
    elif r.overdue:
        state = _("OVERDUE, not signed")
    elif r.delivery == "saved":
        state = _("not delivered: saved in {where} only").format(where=r.delivery_where)
    else:
        state = _("not signed yet")
    if r.reminders:
        state += _(" ({n} reminder(s) sent)").format(n=r.reminders)
    return state


def _recipient_dict(r) -> dict:
    return {"unit": r.unit, "role": r.role, "signed": r.signed, "rejected": r.rejected,
            "signed_at": r.receipt_at, "status": r.receipt_status, "overdue": r.overdue,
            "delivery": r.delivery, "delivered_at": r.delivered_at, "delivered_to": r.delivery_where,
            "delivery_failed": r.failed, "delivery_reason": r.delivery_reason, "reminders": r.reminders,
            "last_reminder_at": r.last_reminder_at, "rejection_reason": r.rejection_reason}


def run_status(args, console) -> int:
    with App(args, console, create=False) as app:
        scope = "all" if (args.all or args.json) else "attention"
        sent = app.ledger.sent_status(today=args.today, scope=scope)
        received = app.ledger.received_status()
        if args.json:
            console.json({"sent": [{"package_id": s.package_id, "sealed_at": s.sealed_at, "title": s.title,
                                    "doc_number": s.doc_number, "urgency": s.urgency, "due": s.due,
                                    "signed": s.signed, "total": len(s.recipients),
                                    "recipients": [_recipient_dict(r) for r in s.recipients]}
                                   for s in sent],
                          "received": received})
            return 0
        total = app.ledger.sent_count()
        console.print(_("Sent packages:") if sent else _("No packages sent yet."))
        if scope == "attention" and total > len(sent):
            console.print(_("  ({n} of {total} shown: those still waiting for an answer and the newest; "
                            "--all shows every one)").format(n=len(sent), total=total))
        for s in sent:
            name = s.doc_number or s.title or s.package_id[:16]
            due = _(", due {d}").format(d=s.due) if s.due else ""
            console.print(_("  {name}: {n}/{t} signed{due}").format(name=name, n=s.signed, t=len(s.recipients),
                                                                     due=due))
            for r in s.recipients:
                role = "主送" if r.role == "to" else "抄送"
                console.print(f"    [{role}] {r.unit}: {_recipient_state(r)}")
        if received:
            console.print(_("Received packages:"))
            for r in received:
                name = r["doc_number"] or r["title"] or r["package_id"][:16]
                console.print(_("  {name} from {sender}, opened {when}").format(
                    name=name, sender=r["sender_unit"] or "?", when=r["opened_at"]))
        return 0
