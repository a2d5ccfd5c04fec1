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


class _Words:
    """The status lines' sentences, translated once for the whole listing (``_`` reads the
    locale each time; ``status --all`` prints a million lines), and the office-time form of
    each stored time, computed once per distinct time."""

    def __init__(self, tz=None, stream=None) -> None:
        from .workflow_args import red

        self.tz, self.stream = tz, stream
        self.refused, self.reason = _("REFUSED (拒收) {when}"), _(": {reason}")
        self.signed, self.failed = _("signed {when}"), _("DELIVERY FAILED {when}: {why} (smseal resend)")
        overdue = _("OVERDUE, not signed")
        self.overdue = red(overdue, stream) if stream is not None else overdue
        self.saved, self.waiting = _("not delivered: saved in {where} only"), _("not signed yet")
        self.reminders = _(" ({n} reminder(s) sent)")
        self.replied, self.no_reply = _("; replied {when}"), _("; no reply yet")
        self.reply_overdue = "; " + (red(_("reply OVERDUE"), stream) if stream is not None else _("reply OVERDUE"))
        self.package, self.sealed = _("  {name}: {n}/{t} signed{due}"), _("sealed {when}")
        self.due, self.reply_by = _(", due {d}"), _(", reply by {d}")
        self.approved, self.copy = _("approved by (签发人) {name}"), _(" (copy no. {n})")
        self._shown: dict[str, str] = {}

    def when(self, t):
        from smseal.office.clock import show

        if not (self.tz and t):
            return t
        got = self._shown.get(t)
        if got is None:
            if len(self._shown) > 4096:
                self._shown.clear()
            got = self._shown[t] = show(t, self.tz)
        return got


def _recipient_state(r, tz=None, stream=None, words: _Words | None = None) -> str:
    """One recipient's state; times in the office's zone ``tz`` when given, OVERDUE in red on ``stream``."""
    w = words or _Words(tz, stream)
    if r.rejected:
        state = w.refused.format(when=w.when(r.receipt_at))
        if r.rejection_reason:
            state += w.reason.format(reason=r.rejection_reason)
    elif r.signed:
        state = w.signed.format(when=w.when(r.receipt_at))
    elif r.failed:
        state = w.failed.format(when=w.when(r.delivered_at), why=r.delivery_reason)
    elif r.overdue:
        state = w.overdue
    elif r.delivery == "saved":
        state = w.saved.format(where=r.delivery_where)
    else:
        state = w.waiting
    if r.reminders:
        state += w.reminders.format(n=r.reminders)
    return state


def _recipient_dict(r) -> dict:
    return {"unit": r.unit, "role": r.role, "signed": r.signed, "rejected": r.rejected,
            "signed_at": r.receipt_at, "status": r.receipt_status, "overdue": r.overdue,
            "delivery": r.delivery, "delivered_at": r.delivered_at, "delivered_to": r.delivery_where,
            "delivery_failed": r.failed, "delivery_reason": r.delivery_reason, "reminders": r.reminders,
            "last_reminder_at": r.last_reminder_at, "rejection_reason": r.rejection_reason}


def run_status(args, console) -> int:
    from smseal.office.clock import show
    from smseal.office.status import StatusView, status as workflow_status

    from .workflow_args import office_of

    with App(args, console, create=False) as app:
        scope = "all" if args.all else "attention"
        office = office_of(app, args)
        if args.today and not args.now:       # the older hidden --today: noon of that day, office time
            from datetime import datetime, time, timezone

            noon = datetime.combine(args.today, time(12), tzinfo=office.tz).astimezone(timezone.utc)
            office = office_of(app, at=noon)
        tz = office.tz
        # The sent packages are streamed from the ledger (one SQLite cursor) and printed as they
        # come; the report only carries cases, rates and received packages.
        view = StatusView(office)
        report = workflow_status(office, packages=False, view=view)
        sent = view.sent(scope=scope)
        legacy = app.ledger.received_status()
        extra = {r["package_id"]: r for r in report.received}
        received = [{**r, **extra.get(r["package_id"], {})} for r in legacy]
        if args.json:
            def pkg(s, w) -> dict:
                return {"package_id": s.package_id, "sealed_at": s.sealed_at,
                        "sealed_at_local": show(s.sealed_at, tz), "title": s.title,
                        "doc_number": s.doc_number, "urgency": s.urgency, "due": s.due,
                        "doc_type": w.doc_type, "signer": w.signer, "copy_number": w.copy_number,
                        "reply_by": w.reply_by, "reply_to": w.reply_to,
                        "signed": s.signed, "total": len(s.recipients),
                        "recipients": [{**_recipient_dict(r), **_reply_dict(m)}
                                       for r, m in zip(s.recipients, w.recipients)]}
            full = report.to_json(office)
            console.json_streaming({"now": full["now"], "timezone": full["timezone"], "cases": full["cases"],
                                    "rates": full["rates"], "received": received},
                                   "sent", (pkg(s, w) for s, w in sent))
            return 0
        total = app.ledger.sent_count()
        if scope == "attention":
            sent = iter(listed := list(sent))
            shown = len(listed)
        else:
            shown = total
        console.print(_("Sent packages:") if shown else _("No packages sent yet."))
        if scope == "attention" and total > shown:
            console.print(_("  ({n} of {total} shown: those still waiting for an answer and the newest; "
                            "--all shows every one)").format(n=shown, total=total))
        words = _Words(tz, console.out)
        for s, w in sent:
            _print_sent(console, s, w, words)
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


def _print_sent(console, s, w, words: _Words) -> None:
    """One sent package (the ledger's ``s``, the 督办 view's ``w``) and a line per recipient."""
    name = s.doc_number or s.title or s.package_id[:16]
    due = "".join([words.due.format(d=s.due) if s.due else "",
                   words.reply_by.format(d=w.reply_by) if w.reply_by else ""])
    console.print(words.package.format(name=name, n=s.signed, t=len(s.recipients), due=due))
    facts = [words.sealed.format(when=words.when(s.sealed_at))]
    if w.doc_type:
        facts.append(w.doc_type)
    if w.signer:
        facts.append(words.approved.format(name=w.signer))
    console.print("    " + " · ".join(facts))
    for r, m in zip(s.recipients, w.recipients):
        role = "主送" if r.role == "to" else "抄送"
        line = _recipient_state(r, words=words)
        if m.replied:
            line += words.replied.format(when=words.when(m.replied_at))
        elif m.reply_overdue:
            line += words.reply_overdue
        elif m.expects_reply:
            line += words.no_reply
        copy = words.copy.format(n=m.copy_number) if m.copy_number else ""
        console.print(f"    [{role}] {r.unit}{copy}: {line}")


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
