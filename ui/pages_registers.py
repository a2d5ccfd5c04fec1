"""登记: the 收文登记 / 发文登记 registers as xlsx or csv (``smseal register``) and the printable
文件处理笺 of a received document (``smseal slip``)."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from smseal.office.errors import UsageError
from smseal.office.i18n import _

from .web import render, with_office

FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv; charset=utf-8"}
# the slip's own print styles are inline; it runs no script and loads nothing
SLIP_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'none'")


async def registers(request: Request) -> Response:
    from smseal.office.status import received_rows

    rows = await with_office(request, received_rows)
    rows.reverse()
    return render(request, "registers.html", section="registers", received=rows)


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(_("not a date in the form YYYY-MM-DD: {text}").format(text=text)) from None


async def export(request: Request) -> Response:
    from smseal.office.registers import build, csv_bytes, xlsx_bytes

    q = request.query_params
    kind, fmt = q.get("kind", "incoming"), q.get("format", "xlsx")
    if fmt not in FORMATS:
        raise UsageError(_("Choose xlsx or csv."))
    start, end = _date(q.get("from")), _date(q.get("to"))
    reg = await with_office(request, lambda office: build(office, kind, start, end))
    data = xlsx_bytes(reg) if fmt == "xlsx" else csv_bytes(reg)
    name = f"{reg.title}.{fmt}"
    return Response(data, media_type=FORMATS[fmt],
                    headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


async def slip(request: Request) -> Response:
    from smseal.office.slip import slip_html

    pid = request.path_params["package_id"]
    page = await with_office(request, lambda office: slip_html(office, pid))
    return HTMLResponse(page, headers={"content-security-policy": SLIP_CSP})


routes = [
    Route("/registers", registers),
    Route("/registers/export", export),
    Route("/registers/slip/{package_id:str}", slip),
]
