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
    i.add_argument("receipt", nargs="+", help=_("receipt files (.receipt), their text form, or the e-mails (.eml) they came in"))
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


def _when(t, tz, year: int, *, time: bool = True) -> str:
    """A time for a table cell: ``12-02 09:15`` this year (``12-02`` without ``time``), the
    date ``2025-12-02`` in another year."""
    from smseal.office.clock import show

    text = show(t, tz) if t else ""
    return _day(text[:10], year) + (text[10:] if time and text[:4] == str(year) else "")


def _day(d: str | None, year: int) -> str:
    """A date for a table cell: ``12-02`` this year, ``2025-12-02`` another year."""
    return "" if not d else d[5:] if d[:4] == str(year) else d


def _recipient_state(r, tz, year: int, *, time: bool = True) -> tuple[str, bool]:
    """One recipient's state for the table (``time``: when it signed to the minute, else the
    day), and whether it needs attention (shown in red)."""
    if r.rejected:
        return _("refused {when}").format(when=_when(r.receipt_at, tz, year, time=time)), True
    if r.signed:
        return _("signed {when}").format(when=_when(r.receipt_at, tz, year, time=time)), False
    if r.failed:
        return _("DELIVERY FAILED"), True
    if r.overdue:
        return _("OVERDUE, not signed"), True
    if r.delivery == "saved":
        return _("saved, not delivered"), False
    return _("not signed yet"), False


def _reply_state(m, w, r, tz, year: int) -> tuple[str, bool]:
    """The recipient's 答复 (reply) for the table: replied when, overdue, awaited, or nothing."""
    if m is not None and m.replied:
        return _("replied {when}").format(when=_when(m.replied_at, tz, year, time=False)), False
    if m is not None and m.reply_overdue:
        return _("reply OVERDUE"), True
    if m is not None and m.expects_reply and w and w.reply_by:
        return _("by {date}").format(date=_day(w.reply_by, year)), False
    return "", False


# More recipients than this: those who signed are counted on one row, the others listed.
MANY = 8


def _sent_table(console, sent, tz, year: int) -> None:
    """One row per recipient (the package's columns on its first row only, on a terminal); then
    a line for each reason a table cell cannot hold: a 拒收's reason, a failed delivery, and the
    package's 文种 / 签发人.  Each recipient's copy has its own 份号."""
    from . import table

    rows, compact, red, notes = [], [], [], []
    whole = not table.is_terminal(console.out)       # piped: every row complete, for grep
    headers = [_("package"), _("document"), _("due"), _("recipient"), _("role"), _("copy"), _("state"), _("reply")]
    if whole:                   # plain rows need no widths: written as read (status --all: a million rows)
        console.print("  " + "  ".join(headers))
    for s, w in sent:
        views = dict(zip((r.unit for r in s.recipients), w.recipients))
        pid = s.package_id[:12]
        pkg = [pid, s.doc_number or s.title or "", _day(s.due, year)]
        listed = s.recipients
        if len(listed) > MANY:
            listed = [r for r in s.recipients if not r.signed]
        for n, r in enumerate(listed):
            m = views.get(r.unit)
            state, bad = _recipient_state(r, tz, year)
            reply, late = _reply_state(m, w, r, tz, year)
            role = "主送" if r.role == "to" else "抄送"
            head = pkg if n == 0 or whole else [""] * len(pkg)
            red += [(len(rows), col) for col, on in ((6, bad), (7, late)) if on]
            cells = [*head, r.unit, role, m.copy_number if m is not None and m.copy_number else "", state, reply]
            rows.append(cells)
            compact.append([*cells[:6], _recipient_state(r, tz, year, time=False)[0], reply])
            if r.rejected and r.rejection_reason:
                notes.append(_("{pid} {unit} refused it (拒收): {reason}").format(
                    pid=pid, unit=r.unit, reason=r.rejection_reason))
            if r.failed:
                notes.append(_("{pid} {unit}: delivery failed ({why}); send it again with "
                               "'smseal resend {pid}'.").format(pid=pid, unit=r.unit, why=r.delivery_reason or "?"))
            if r.reminders and not r.receipt_status:
                notes.append(_("{pid} {unit}: {n} reminder(s) (催领) sent, the last {when}.").format(
                    pid=pid, unit=r.unit, n=r.reminders, when=_when(r.last_reminder_at, tz, year) or "?"))
            if r.delivery == "saved" and not r.receipt_status and not r.failed:
                notes.append(_("{pid} {unit}: saved in {where} only; hand it over, or 'smseal resend {pid}'.")
                             .format(pid=pid, unit=r.unit, where=r.delivery_where or "?"))
        if len(listed) < len(s.recipients):
            head = pkg if not listed or whole else [""] * len(pkg)
            rows.append([*head, _("{n} units").format(n=len(s.recipients) - len(listed)), "", "", _("signed"), ""])
            compact.append(rows[-1])
        facts = [x for x in (w and w.doc_type,
                             w and w.signer and _("approved by (签发人) {name}").format(name=w.signer)) if x]
        if facts:
            notes.append(f"{pid} " + " · ".join(facts))
        if whole:
            for cells in rows:
                console.print(("  " + "  ".join(cells)).rstrip())
            rows.clear(), compact.clear(), red.clear()
    if not whole:
        console.table(headers, rows, compact=compact, shrink=(1, 3), last=(6, 7), hide_empty=(2, 5, 7), red=red)
    for line in notes:
        console.print("  " + line)


def _rates_table(console, first: str, rates) -> None:
    """办复率 and 见面率 per unit or per template, as fractions and percentages; overdue in red."""
    rows, red = [], []
    for name, r in sorted(rates.items()):
        if r.overdue:
            red.append((len(rows), 3))
        rows.append([name, r.reply.text() if r.reply.total else "", r.meeting.text() if r.meeting.total else "",
                     str(r.overdue or "")])
    console.table([first, _("reply rate (办复率)"), _("meeting rate (见面率)"), _("overdue")], rows,
                  shrink=(0,), hide_empty=(1, 2, 3), red=red)


def _received_table(console, received, tz, year: int) -> None:
    """Packages opened here: from whom, when, 签发人 and whether its signature verified, 份号, and
    the reply asked for (red when overdue)."""
    rows, red = [], []
    for r in received:
        signer = ""
        if r.get("signer"):
            state = _("verified") if r.get("signer_state") == "verified" else _("not verified")
            signer = _("{name} ({state})").format(name=r["signer"], state=state)
        reply = ""
        if r.get("replied_at"):
            reply = _("replied {when}").format(when=_when(r["replied_at"], tz, year, time=False))
        elif r.get("reply_by"):
            reply = _("due {date}").format(date=_day(r["reply_by"], year))
            if r.get("reply_overdue"):
                red.append((len(rows), 6))
        rows.append([r["package_id"][:12], r["sender_unit"] or "?", _when(r["opened_at"], tz, year),
                     r["doc_number"] or r["title"] or "", signer, r.get("copy_number") or "", reply])
    console.table([_("package"), _("from"), _("opened"), _("doc. no. / title"), _("approved by (签发人)"),
                   _("copy no. (份号)"), _("reply")], rows, shrink=(3, 1), hide_empty=(4, 5, 6), red=red)


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
        year = office.now().astimezone(tz).year
        if shown:
            _sent_table(console, sent, tz, year)
        if report.cases:
            from .cmd_cases import print_case

            console.print(_("Cases (办件):"))
            for c in report.cases:
                print_case(console, c)
        if report.by_unit:
            console.print(_("Rates per unit:"))
            _rates_table(console, _("unit"), report.by_unit)
            console.print(_("Rates per template:"))
            _rates_table(console, _("template"), report.by_template)
        if received:
            console.print(_("Received packages:"))
            _received_table(console, received, tz, year)
        return 0


def _reply_dict(m) -> dict:
    if m is None:
        return {"replied": False, "replied_at": None, "reply_overdue": False, "copy_number": None,
                "expects_reply": False}
    return {"replied": m.replied, "replied_at": m.replied_at, "reply_overdue": m.reply_overdue,
            "overdue": m.receipt_overdue or m.reply_overdue, "copy_number": m.copy_number,
            "expects_reply": m.expects_reply}
