"""发文状态: per package, every recipient signed / refused / overdue / failed delivery
(``smseal status``), resend (``smseal resend``) and 催领 (``smseal remind``), receipt files
recorded by hand (``smseal receipts import``), and per unit the share of packages signed for, as a
small server-side SVG chart."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smseal.office.errors import UsageError
from smseal.office.fsutil import read_input
from smseal.office.i18n import _

from .chart import rate_chart
from .uploads import receive_form
from .web import home_of, markup, render, with_office


RECENT = 50     # the newest packages listed besides those that still need attention


def per_unit(sent: Any) -> list[tuple[str, int, int]]:
    """(unit, packages it signed for, packages sent to it), by unit name."""
    counts: dict[str, list[int]] = {}
    for s in sent:
        for r in s.recipients:
            c = counts.setdefault(r.unit, [0, 0])
            c[0] += 1 if r.signed else 0
            c[1] += 1
    return [(u, d, t) for u, (d, t) in sorted(counts.items())]


async def status(request: Request) -> Response:
    from smseal.office.reminders import due_reminders

    from smseal.office.status import status as workflow_status

    # By default the packages that still wait for an answer or a delivery, plus the newest ones
    # (stays fast with 100,000 packages, like ``smseal status``); ?all=1 lists every package.
    scope = "all" if request.query_params.get("all") == "1" else "attention"

    def work(office: Any) -> Any:
        return office.ledger.sent_status(scope=scope, recent=RECENT), len(due_reminders(office))

    sent, due = await with_office(request, work)
    report = await with_office(request, lambda office: workflow_status(office, scope=scope, recent=RECENT))
    sent.sort(key=lambda s: s.sealed_at, reverse=True)
    # replies and their deadlines (办件), per package and unit, from the workflow's status
    replies = {(p.package_id, r.unit): r for p in report.packages for r in p.recipients}
    kinds = {p.package_id: p for p in report.packages}
    charts = []
    rows = per_unit(sent)
    if rows:
        title = _("Signed per unit") if scope == "all" else _("Signed per unit (packages listed below)")
        charts.append((title, markup(rate_chart(rows, title=title))))
    for title, which in ((_("Reply rate (办复率) per unit"), "reply"), (_("Meeting rate (见面率) per unit"), "meeting")):
        rates = [(u, getattr(r, which)) for u, r in sorted(report.by_unit.items())]
        rate_rows = [(u, rate.done, rate.total) for u, rate in rates if rate.total]
        if rate_rows:
            charts.append((title, markup(rate_chart(rate_rows, title=title))))
    return render(request, "status.html", section="status", sent=sent, charts=charts, due=due, replies=replies,
                  kinds=kinds, total=report.total, scope=scope)


async def import_receipts(request: Request) -> Response:
    """Record receipt files saved by hand (as ``smseal receipts import``)."""
    from smseal.office.receipts import import_receipt

    async with receive_form(request, home_of(request)) as form:
        paths = form.files.get("receipt", [])
        if not paths:
            raise UsageError(_("Choose the receipt file(s) first."))
        datas = [read_input(p) for p in paths]
    done = await with_office(request, lambda office: [import_receipt(office, d) for d in datas])
    return render(request, "done.html", section="status", back="/status",
                  message=" ".join(rec.sentence() for rec in done))


async def resend(request: Request) -> Response:
    """Send the same package bytes again (as ``smseal resend ID [--to UNIT]``)."""
    from smseal.office.delivery import resend as resend_package

    pid = request.path_params["package_id"]
    form = await request.form()
    unit = str(form.get("unit", "")) or None
    report = await with_office(request, lambda office: resend_package(office, pid, unit=unit))
    lines = [(_("delivered to {unit}: {where}") if o.state == "delivered" else
              _("saved for {unit} in {where}") if o.state == "saved" else
              _("delivery to {unit} failed: {why}")).format(unit=o.unit, where=o.where, why=o.reason)
             for o in report.outcomes]
    return render(request, "done.html", section="status", back="/status", message="; ".join(lines))


async def remind(request: Request) -> Response:
    """催领: sign and send every reminder due now (as ``smseal remind``)."""
    from smseal.office.reminders import send_due_reminders

    form = await request.form()
    results = await with_office(request, lambda office: send_due_reminders(office),
                                passphrase=str(form.get("passphrase", "")), pin=str(form.get("pin", "")))
    if not results:
        message = _("No reminder is due now.")
    else:
        message = "; ".join((_("reminder {n} sent to {unit}") if r.sent else _("reminder to {unit} failed: {why}"))
                            .format(n=r.reminder.sequence, unit=r.reminder.unit, why=r.error) for r in results)
    return render(request, "done.html", section="status", back="/status", message=message)


routes = [
    Route("/status", status),
    Route("/status/receipts", import_receipts, methods=["POST"]),
    Route("/status/remind", remind, methods=["POST"]),
    Route("/status/{package_id:str}/resend", resend, methods=["POST"]),
]
