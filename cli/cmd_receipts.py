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
    i.add_argument("--accept-before-revocation", action="store_true",
                   help=_("accept a receipt from a unit whose key is no longer valid today (confirm by phone first)"))
    i.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    i.set_defaults(func=run_import)
    p.set_defaults(func=lambda a, c: (p.print_help(), 2)[1])
    s = sub.add_parser("status", help=_("sent packages: who has signed, what is overdue; and received ones"))
    s.add_argument("--json", action="store_true", help=_("print the status as JSON"))
    s.add_argument("--all", action="store_true", help=_("every package sent, not only those needing attention"))
    s.add_argument("--today", type=date.fromisoformat, help=argparse_suppress())
    from .workflow_args import add_now

    add_now(s)
    s.set_defaults(func=run_status)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def _receipts_in(console, path: str) -> list[tuple[str, bytes]]:
    """(kind, bytes) of what the file holds: one receipt, or what a saved e-mail carries."""
    from smseal.office.mailparse import looks_like_email, read_items

    data = read_input(path, 64 * 1024 * 1024)
    if not looks_like_email(data[:4096]):
        return [("receipt", data)]
    items = [i for i in read_items(data) if i.kind in ("receipt", "notice")]
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
                out = import_receipt(app, data, accept_before_revocation=args.accept_before_revocation)
                results.append(out.to_dict())
                if not args.json:
                    console.print(out.sentence())
        if args.json:
            console.json(results)
        return 0


def _recipient_state(r, tz=None, stream=None) -> str:
    """One recipient's state; times in the office's zone ``tz`` when given, OVERDUE in red on ``stream``."""
    from smseal.office.clock import show

    from .workflow_args import red

    def when_(t):
        return show(t, tz) if tz and t else t
    if r.rejected:
        state = _("REFUSED (拒收) {when}").format(when=when_(r.receipt_at))
        if r.rejection_reason:
            state += _(": {reason}").format(reason=r.rejection_reason)
    elif r.signed:
        state = _("signed {when}").format(when=when_(r.receipt_at))
    elif r.failed:
        state = _("DELIVERY FAILED {when}: {why} (smseal resend)").format(when=when_(r.delivered_at), why=r.delivery_reason)
    elif r.overdue:
        state = red(_("OVERDUE, not signed"), stream) if stream is not None else _("OVERDUE, not signed")
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
    from smseal.office.clock import show
    from smseal.office.status import status as workflow_status

    from .workflow_args import office_of, red

    with App(args, console, create=False) as app:
        scope = "all" if args.all else "attention"
        office = office_of(app, args)
        if args.today and not args.now:       # the older hidden --today: noon of that day, office time
            from datetime import datetime, time, timezone

            noon = datetime.combine(args.today, time(12), tzinfo=office.tz).astimezone(timezone.utc)
            office = office_of(app, at=noon)
        tz = office.tz
        today = show(office.now(), tz)[:10]
        sent = app.ledger.sent_status(today=date.fromisoformat(today), scope=scope)
        report = workflow_status(office, scope=scope)
        wf = {p.package_id: p for p in report.packages}
        mine = {(p.package_id, r.unit): r for p in report.packages for r in p.recipients}
        legacy = app.ledger.received_status()
        extra = {r["package_id"]: r for r in report.received}
        received = [{**r, **extra.get(r["package_id"], {})} for r in legacy]
        if args.json:
            def pkg(s) -> dict:
                w = wf.get(s.package_id)
                return {"package_id": s.package_id, "sealed_at": s.sealed_at,
                        "sealed_at_local": show(s.sealed_at, tz), "title": s.title,
                        "doc_number": s.doc_number, "urgency": s.urgency, "due": s.due,
                        "doc_type": w and w.doc_type, "signer": w and w.signer, "copy_number": w and w.copy_number,
                        "reply_by": w and w.reply_by, "reply_to": w and w.reply_to,
                        "signed": s.signed, "total": len(s.recipients),
                        "recipients": [{**_recipient_dict(r), **_reply_dict(mine.get((s.package_id, r.unit)))}
                                       for r in s.recipients]}
            full = report.to_json(office)
            console.json({"now": full["now"], "timezone": full["timezone"], "sent": [pkg(s) for s in sent],
                          "cases": full["cases"], "rates": full["rates"], "received": received})
            return 0
        total = app.ledger.sent_count()
        console.print(_("Sent packages:") if sent else _("No packages sent yet."))
        if scope == "attention" and total > len(sent):
            console.print(_("  ({n} of {total} shown: those still waiting for an answer and the newest; "
                            "--all shows every one)").format(n=len(sent), total=total))
        for s in sent:
            w = wf.get(s.package_id)
            name = s.doc_number or s.title or s.package_id[:16]
            due = "".join([_(", due {d}").format(d=s.due) if s.due else "",
                           _(", reply by {d}").format(d=w.reply_by) if w and w.reply_by else ""])
            console.print(_("  {name}: {n}/{t} signed{due}").format(name=name, n=s.signed, t=len(s.recipients),
                                                                     due=due))
            facts = [_("sealed {when}").format(when=show(s.sealed_at, tz))]
            if w and w.doc_type:
                facts.append(w.doc_type)
            if w and w.signer:
                facts.append(_("approved by (签发人) {name}").format(name=w.signer))
            console.print("    " + " · ".join(facts))
            for r in s.recipients:
                role = "主送" if r.role == "to" else "抄送"
                line = _recipient_state(r, tz, console.out)
                m = mine.get((s.package_id, r.unit))
                if m is not None and m.replied:
                    line += _("; replied {when}").format(when=show(m.replied_at, tz))
                elif m is not None and m.reply_overdue:
                    line += "; " + red(_("reply OVERDUE"), console.out)
                elif m is not None and m.expects_reply:
                    line += _("; no reply yet")
                copy = _(" (copy no. {n})").format(n=m.copy_number) if m is not None and m.copy_number else ""
                console.print(f"    [{role}] {r.unit}{copy}: {line}")
        if report.cases:
            from .cmd_cases import print_case

            console.print(_("Cases (办件):"))
            for c in report.cases:
                print_case(console, c)
        if report.by_unit:
            console.print(_("Rates per unit:"))
            for unit, rates in sorted(report.by_unit.items()):
                _print_rates(console, unit, rates)
            console.print(_("Rates per template:"))
            for tname, rates in sorted(report.by_template.items()):
                _print_rates(console, tname, rates)
        if received:
            console.print(_("Received packages:"))
            for r in received:
                name = r["doc_number"] or r["title"] or r["package_id"][:16]
                console.print(_("  {name} from {sender}, opened {when}").format(
                    name=name, sender=r["sender_unit"] or "?", when=show(r["opened_at"], tz)))
                if r.get("signer"):
                    state = _("signature verified") if r.get("signer_state") == "verified" else _("not verified")
                    console.print(_("    approved by (签发人) {name} ({state})").format(name=r["signer"], state=state))
                if r.get("copy_number"):
                    console.print(_("    copy no. (份号) {n}").format(n=r["copy_number"]))
                if r.get("reply_by"):
                    if r.get("replied_at"):
                        console.print(_("    replied {when}").format(when=show(r["replied_at"], tz)))
                    else:
                        line = _("    reply due by {d}").format(d=r["reply_by"])
                        console.print(red(line, console.out) if r.get("reply_overdue") else line)
        return 0


def _reply_dict(m) -> dict:
    if m is None:
        return {"replied": False, "replied_at": None, "reply_overdue": False, "copy_number": None,
                "expects_reply": False}
    return {"replied": m.replied, "replied_at": m.replied_at, "reply_overdue": m.reply_overdue,
            "overdue": m.receipt_overdue or m.reply_overdue, "copy_number": m.copy_number,
            "expects_reply": m.expects_reply}


def _print_rates(console, name: str, r) -> None:
    """One line: 办复率 and 见面率 as fractions and percentages, overdue in red on a terminal."""
    from .workflow_args import red

    parts = []
    if r.reply.total:
        parts.append(_("reply rate (办复率) {rate}").format(rate=r.reply.text()))
    if r.meeting.total:
        parts.append(_("meeting rate (见面率) {rate}").format(rate=r.meeting.text()))
    if r.overdue:
        parts.append(red(_("{n} overdue").format(n=r.overdue), console.out))
    if parts:
        console.print(f"  {name}: " + ", ".join(parts))
