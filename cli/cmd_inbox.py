"""``smseal fetch [--watch]``, ``smseal inbox``, ``smseal reject``, ``smseal resend`` and
``smseal remind``: thin callers of smseal.office.fetch / inbox / reject / delivery / reminders."""

from __future__ import annotations

from datetime import datetime

from smseal.office.clock import show, zone

from .context import App
from smseal.office.i18n import _
from smseal.office.inbox import URGENCY_LABEL, Inbox, InboxEntry


def register(sub) -> None:
    f = sub.add_parser("fetch", help=_("pick up packages, receipts and reminders (shared folder and IMAP mailbox)"))
    f.add_argument("--watch", action="store_true", help=_("keep fetching; announce urgent packages at once"))
    f.add_argument("--interval", type=float, default=60.0, metavar="S",
                   help=_("seconds between fetches with --watch (default 60; IMAP IDLE answers sooner)"))
    f.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    f.set_defaults(func=run_fetch)
    i = sub.add_parser("inbox", help=_("packages waiting to be opened, most urgent first"))
    i.add_argument("--all", action="store_true", help=_("also packages already opened or refused"))
    i.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    i.set_defaults(func=run_inbox)
    r = sub.add_parser("reject", help=_("refuse a waiting package (拒收) with a signed reason"))
    r.add_argument("package", metavar="ID", help=_("the package id or its start, from smseal inbox"))
    r.add_argument("--reason", required=True, help=_("why it is refused; the sender sees it"))
    r.add_argument("--via", choices=["outbox", "smtp"], help=_("delivery method (default from config.ini)"))
    r.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    r.set_defaults(func=run_reject)
    s = sub.add_parser("resend", help=_("send the same package again to recipients it did not reach"))
    s.add_argument("package", metavar="ID", help=_("the package id or its start, from smseal status"))
    s.add_argument("--to", metavar="UNIT", help=_("only to this recipient (also when it has it already)"))
    s.add_argument("--via", choices=["outbox", "smtp"], help=_("delivery method (default from config.ini)"))
    s.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    s.set_defaults(func=run_resend)
    m = sub.add_parser("remind", help=_("send signed 催领 reminders for urgent packages not signed for"))
    m.add_argument("--dry-run", action="store_true", help=_("only list the reminders that are due"))
    m.add_argument("--via", choices=["outbox", "smtp"], help=_("delivery method (default from config.ini)"))
    m.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    m.set_defaults(func=run_remind)


def _waited(seconds: int) -> str:
    if seconds < 3600:
        return _("{n} min").format(n=seconds // 60)
    if seconds < 86400:
        return _("{h} h {m} min").format(h=seconds // 3600, m=seconds % 3600 // 60)
    return _("{d} d {h} h").format(d=seconds // 86400, h=seconds % 86400 // 3600)


def _entry_line(e: InboxEntry, at: datetime | None = None) -> str:
    urg = URGENCY_LABEL.get(e.urgency)
    tag = f"【{urg}】" if urg else "      "
    name = e.doc_number or e.title or ""
    line = _("{tag} {pid}  from {sender}  arrived {when}, waiting {waited}").format(
        tag=tag, pid=e.package_id[:12], sender=e.sender or "?", when=e.received_at, waited=_waited(e.waited_seconds(at)))
    if e.state == "opened":
        line = _("{tag} {pid}  from {sender}  opened {when}").format(tag=tag, pid=e.package_id[:12],
                                                                    sender=e.sender or "?", when=e.answered_at)
    elif e.state == "rejected":
        line = _("{tag} {pid}  from {sender}  REFUSED (拒收) {when}: {reason}").format(
            tag=tag, pid=e.package_id[:12], sender=e.sender or "?", when=e.answered_at, reason=e.rejected_reason)
    if name:
        line += f"  {name}"
    if e.reminders:
        line += _("  — {n} reminder(s) (催领), last {when}").format(n=len(e.reminders), when=e.reminders[-1].sent_at)
    return line


def _print_report(console, report) -> None:
    from smseal.office.fetch import notify_desktop

    for e in report.new:
        console.print(_("New package: {line}").format(line=_entry_line(e)))
    for e in report.urgent:
        label = URGENCY_LABEL.get(e.urgency)
        console.note("\a" + _("*** {label} package {pid} from {sender} is waiting: open it now with "
                              "'smseal open --next' ***").format(label=label, pid=e.package_id[:12], sender=e.sender or "?"))
        notify_desktop(_("smseal: {label} package").format(label=label),
                       _("{label} package from {sender} is waiting: smseal open --next").format(
                           label=label, sender=e.sender or "?"))
    for pid, r in report.reminders:
        console.note(_("Reminder (催领) {n} from {sender} for package {pid}: open it now.").format(
            n=r.sequence, sender=r.sender or "?", pid=pid[:12]))
    for r in report.receipts:
        msg = _("{unit} REFUSED package {pid} (拒收) on {time}.") if r.status == "rejected" \
            else _("{unit} signed for package {pid} on {time}.")
        console.print(msg.format(unit=r.unit, pid=r.package_id, time=r.time))
    for r in report.rejections:
        console.print(_("  reason of the 拒收 by {unit}: {reason}").format(unit=r.unit, reason=r.reason))
    for r in report.refused:
        console.note(_("Refused {kind} from {source} ({item}): {reason}").format(
            kind=r.kind, source=r.source, item=r.item, reason=r.reason))
    for pid, (have, total) in report.parts_waiting.items():
        console.print(_("Package {pid}: {have} of {total} parts here; waiting for the rest.").format(
            pid=pid[:12], have=have, total=total))
    from smseal.office.fetch import PART_EXPIRY_DAYS

    for pid in report.parts_expired:
        console.note(_("Package {pid}: its parts waited more than {days} days for the rest and were removed.").format(
            pid=pid[:12], days=PART_EXPIRY_DAYS))
    for err in report.errors:
        console.note(_("Could not fetch: {why}").format(why=err))


def run_fetch(args, console) -> int:
    from smseal.office.fetch import fetch, watch

    with App(args, console) as app:
        if args.watch:
            def on_report(report) -> None:
                if args.json:
                    console.json(report.to_dict())
                else:
                    _print_report(console, report)
                try:
                    console.out.flush()
                except (AttributeError, OSError):
                    pass

            def on_reminders(sent) -> None:
                for r in sent:
                    if r.sent:
                        console.print(_("Sent reminder (催领) {n} to {unit} for package {pid}.").format(
                            n=r.reminder.sequence, unit=r.reminder.unit, pid=r.reminder.package_id[:12]))

            console.note(_("Watching for new packages (Ctrl-C to stop)..."))
            watch(app, interval=max(1.0, args.interval), on_report=on_report, on_reminders=on_reminders)
            return 0
        report = fetch(app)
        if args.json:
            console.json(report.to_dict())
        else:
            _print_report(console, report)
            if not (report.new or report.receipts or report.refused or report.reminders or report.errors
                    or report.parts_expired):
                console.print(_("Nothing new."))
            waiting = Inbox(app).waiting_count()
            if waiting:
                console.print(_("{n} package(s) waiting: smseal inbox, then smseal open --next").format(n=waiting))
        if report.errors and not (report.new or report.receipts):
            return 7
        return 0


def run_inbox(args, console) -> int:
    from smseal.office.ledger import now

    with App(args, console) as app:
        inbox = Inbox(app)
        entries = inbox.entries(include_answered=args.all)
        refused = inbox.refused()
        at = now()
        if args.json:
            console.json({"waiting": [e.to_dict(at) for e in entries if e.state == "waiting"],
                          "answered": [e.to_dict(at) for e in entries if e.state != "waiting"],
                          "refused": [r.to_dict() for r in refused]})
            return 0
        waiting = [e for e in entries if e.state == "waiting"]
        console.print(_("Waiting to be opened: {n}").format(n=len(waiting)) if waiting
                      else _("Nothing is waiting. (smseal fetch looks for new packages.)"))
        tz = zone(app.config.get("display", "timezone"))
        rows = []
        for e in entries:
            urg = URGENCY_LABEL.get(e.urgency) or ""
            state = {"waiting": _("waiting {t}").format(t=_waited(e.waited_seconds(at))),
                     "opened": _("opened"), "rejected": _("refused (拒收)")}.get(e.state, e.state)
            remind = str(len(e.reminders)) if e.reminders else ""
            rows.append([urg, e.package_id[:12], e.sender or "?", show(e.received_at, tz), state, remind,
                         e.doc_number or e.title or ""])
        if rows:
            headers = [_("urgency"), _("package"), _("from"), _("arrived"), _("state"), _("reminders"),
                       _("doc. no. / title")]
            console.table(headers, rows, shrink=(6, 2))
        if refused:
            console.print(_("Refused on arrival (not opened, kept under {path}):").format(path=inbox.folder / "refused"))
            for r in refused[:20]:
                console.print(_("  {at}  {kind} from {source}: {reason}").format(
                    at=r.at, kind=r.kind, source=r.item, reason=r.reason))
        if waiting:
            console.print(_("Open the most urgent one: smseal open --next"))
        return 0


def run_reject(args, console) -> int:
    from smseal.office.reject import reject

    with App(args, console) as app:
        out = reject(app, args.package, args.reason, via=args.via)
        if args.json:
            console.json({"package_id": out.package_id, "sender": out.sender, "reason": out.reason,
                          "sent_to": out.sent_to})
        else:
            console.print(_("Refused (拒收) package {pid} from {sender}; the signed receipt and reason went to {where}.")
                          .format(pid=out.package_id, sender=out.sender, where=out.sent_to))
        return 0


def _print_delivery(console, report) -> None:
    for o in report.outcomes:
        if o.state == "delivered":
            console.print(_("  delivered to {unit}: {where}").format(unit=o.unit, where=o.where))
        elif o.state == "saved":
            console.print(_("  saved for {unit} in {where} (not delivered: no shared folder or mail server is "
                            "configured; take the file to {unit})").format(unit=o.unit, where=o.where))
        else:
            console.print(_("  NOT delivered to {unit}: {why}").format(unit=o.unit, why=o.reason))


def run_resend(args, console) -> int:
    from smseal.office.delivery import resend

    with App(args, console) as app:
        report = resend(app, args.package, unit=args.to, via=args.via)
        if args.json:
            console.json({"package_id": report.package_id, "deliveries": [o.to_dict() for o in report.outcomes]})
        else:
            console.print(_("Package {pid} sent again (same package, same id):").format(pid=report.package_id))
            _print_delivery(console, report)
        report.raise_if_failed()
        return 0


def run_remind(args, console) -> int:
    from smseal.office.reminders import send_due_reminders

    with App(args, console) as app:
        results = send_due_reminders(app, dry_run=args.dry_run, via=args.via)
        if args.json:
            console.json([r.to_dict() for r in results])
        else:
            if not results:
                console.print(_("No reminders are due."))
            for r in results:
                d = r.reminder
                label = URGENCY_LABEL.get(d.urgency, "")
                if args.dry_run:
                    console.print(_("Due: reminder {n} to {unit} for {label} package {pid} (sent {since}).").format(
                        n=d.sequence, unit=d.unit, label=label, pid=d.package_id[:12], since=d.waiting_since))
                elif r.sent:
                    console.print(_("Sent reminder (催领) {n} to {unit} for package {pid}.").format(
                        n=d.sequence, unit=d.unit, pid=d.package_id[:12]))
                else:
                    console.note(_("Reminder to {unit} for package {pid} NOT sent: {why}").format(
                        unit=d.unit, pid=d.package_id[:12], why=r.error))
        return 7 if any(r.error for r in results) else 0
