"""The page's ASGI application: the routes of every page behind the gate (``security``)."""

from __future__ import annotations

from pathlib import Path

import shangmi
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from smseal.office import bureau
from smseal.office.config import Config
from smseal.office.context import Office

from . import pages_bureau, pages_directory, pages_receive, pages_registers, pages_send, pages_status
from .security import Gate, GateMiddleware
from .web import error_page

STATIC = Path(__file__).with_name("static")


class _State:
    """What the templates need on every page, read fresh (the configuration may change)."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def unit_name(self) -> str:
        return Config(self.home).get("unit", "name") or ""

    def has_authority(self) -> bool:
        return bureau.has_authority(Office(self.home))


async def _root(request: Request) -> Response:
    return RedirectResponse("/inbox", status_code=303)


def create_app(home: Path, gate: Gate) -> GateMiddleware:
    """The application for the office at ``home``, answering only the browser ``gate`` admits."""
    routes = [Route("/", _root), *pages_receive.routes, *pages_send.routes, *pages_status.routes, *pages_registers.routes,
              *pages_directory.routes, *pages_bureau.routes,
              Mount("/static", StaticFiles(directory=str(STATIC)), name="static")]
    # Expected failures are answered by ExceptionMiddleware (the connection stays usable, nothing is
    # logged); only a bug reaches the catch-all, which shows the same page and names it on the terminal.
    expected = (HTTPException, shangmi.SmsealError, ValueError, TypeError, OSError)
    app = Starlette(routes=routes, exception_handlers={**{cls: error_page for cls in expected},
                                                       Exception: error_page})
    state = _State(Path(home))
    app.state.home = state.home
    app.state.unit_name = state.unit_name
    app.state.has_authority = state.has_authority
    return GateMiddleware(app, gate)
