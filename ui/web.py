"""What every page shares: the templates, running a library call against the office in a worker
thread, the passphrase from a form, and errors shown as the command shows them (one sentence
that says what to do next; never a traceback)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Callable, TypeVar

import jinja2
import shangmi
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from smseal.office.context import Office
from smseal.office.errors import UsageError
from smseal.office.i18n import _, is_chinese
from smseal.office.messages import describe, system_refused
from smseal.office.urgency import LABEL as URGENCY_LABEL

T = TypeVar("T")
log = logging.getLogger("smseal.ui")

TEMPLATES = Path(__file__).with_name("templates")

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_env.globals["_"] = _
_env.globals["urgency_label"] = lambda u: URGENCY_LABEL.get(u or "normal", "")
_env.globals["is_chinese"] = is_chinese


@jinja2.pass_context
def _short_time(ctx: Any, text: str | None) -> str:
    """A stored (UTC) time as 'YYYY-MM-DD HH:MM' in the office's time zone ([display] timezone,
    default Asia/Shanghai), as the command shows it."""
    from smseal.office import clock

    if not text:
        return ""
    try:
        return clock.show(str(text), ctx["tz"])
    except ValueError:
        return str(text)[:16]


_env.filters["short_time"] = _short_time


def _duration(seconds: int) -> str:
    """A wait as days/hours/minutes, in the user's language."""
    minutes = int(seconds) // 60
    d, h, m = minutes // 1440, minutes // 60 % 24, minutes % 60
    if d:
        return _("{d} d {h} h").format(d=d, h=h)
    if h:
        return _("{h} h {m} min").format(h=h, m=m)
    return _("{m} min").format(m=m)


_env.filters["duration"] = _duration


def home_of(request: Request) -> Path:
    return Path(request.app.state.home)


def csrf_url(request: Request, path: str) -> str:
    """``path`` with the session's CSRF token (form actions)."""
    sep = "&" if "?" in path else "?"
    return f"{path}{sep}csrf={request.scope['state']['session'].csrf}"


def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    """The page ``template`` with the navigation, the unit and the form helpers."""
    from smseal.office import clock
    from smseal.office.config import Config

    state = request.app.state
    tz = clock.zone(Config(state.home).get("display", "timezone"))
    body = _env.get_template(template).render(tz=tz,
        request=request, unit=state.unit_name(), has_authority=state.has_authority(),
        section=ctx.pop("section", ""), action=lambda p: csrf_url(request, p),
        csrf=request.scope["state"]["session"].csrf, lang="zh-CN" if is_chinese() else "en", **ctx)
    return HTMLResponse(body, status_code=status)


def form_passphrase(passphrase: str, pin: str = "") -> Callable[[Any], bytes]:
    """A keystore callback answering from what was typed into this one form (kept nowhere else):
    the passphrase for key files, the PIN (or the passphrase if no PIN was typed) for a token."""
    from smseal.keystore.prompts import Purpose

    def answer(prompt: Any) -> bytes:
        purpose = getattr(prompt, "purpose", None)
        if purpose is Purpose.PIN:
            value = pin or passphrase
        elif purpose is Purpose.UNLOCK:
            value = passphrase
        else:
            raise UsageError(_("This needs a new passphrase: do it with the smseal command in a terminal."))
        if not value:
            raise UsageError(_("Enter the passphrase (or the security token's PIN), then try again."))
        return value.encode("utf-8")

    return answer


def no_passphrase(_prompt: Any) -> bytes:
    raise UsageError(_("Enter the passphrase (or the security token's PIN), then try again."))


async def with_office(request: Request, fn: Callable[[Office], T], *, passphrase: str = "", pin: str = "") -> T:
    """Run ``fn(office)`` in a worker thread, with an ``Office`` opened (and closed) in that
    thread; the passphrase, if any, is used for this call only."""
    home = home_of(request)
    callback = form_passphrase(passphrase, pin) if (passphrase or pin) else no_passphrase

    def work() -> T:
        with Office(home, passphrase=callback) as office:
            return fn(office)

    return await run_in_threadpool(work)


def error_sentence(exc: BaseException) -> tuple[str, int]:
    """The sentence the command would print for ``exc``, and an HTTP status."""
    from starlette.exceptions import HTTPException

    if isinstance(exc, HTTPException):
        if exc.status_code == 405:
            return _("This address does not take that kind of request; use the page's buttons."), 405
        return _("There is no such page here; use the menu at the top."), exc.status_code
    if isinstance(exc, shangmi.SmsealError):
        code = getattr(exc, "exit_code", 3)
        return describe(exc), {1: 422, 2: 400, 4: 403, 5: 403, 6: 409, 7: 502}.get(code, 400)
    if isinstance(exc, (ValueError, TypeError)):
        return str(exc), 400
    if isinstance(exc, OSError):
        return system_refused(exc), 500
    return _("Something went wrong inside smseal; nothing was left half-written. The terminal where "
             "'smseal ui' runs shows the technical detail; please report it."), 500


async def error_page(request: Request, exc: Exception) -> Response:
    """Every failure becomes the error page: the command's one sentence, and a way back."""
    sentence, status = error_sentence(exc)
    if status == 500 and not isinstance(exc, OSError):
        print(f"smseal ui: {type(exc).__name__} in {request.url.path}", file=sys.stderr)
    back = "/" + request.url.path.strip("/").split("/")[0] if request.url.path.strip("/") else "/inbox"
    return render(request, "error.html", status=status, message=sentence, back=back,
                  section=back.strip("/"))


def markup(text: str) -> Markup:
    """Trusted markup made by this package (the SVG chart); never user text."""
    return Markup(text)
