"""What keeps the page to its one user: a one-time login token, a session cookie, Host checks
and CSRF tokens, in one ASGI middleware in front of every route.

- The URL printed by ``smseal ui`` carries a random token; the first request with it gets a
  session cookie (HttpOnly, SameSite=Strict) and a redirect; the token is then used up, so a
  second use (another browser, a leaked history entry) is refused.
- Every request must name this server in its Host header (127.0.0.1 or localhost with our
  port): a DNS-rebinding page on another name reaches the socket but is refused.
- Every state-changing request carries the session's CSRF token (in the ``csrf`` query
  parameter or the ``X-CSRF-Token`` header, checked before any of the body is read) and, when
  the browser sends one, an Origin that is this server.
Tokens are compared in constant time; none is ever logged.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smseal.office.i18n import _

COOKIE = "smseal_session"
LOGIN_PATH = "/login"
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass
class Session:
    """The one browser session: its cookie value and its CSRF token."""

    id: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def __repr__(self) -> str:
        return "Session(...)"


class Gate:
    """The login token and the sessions it has opened (one per login; the token works once)."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.token = token or secrets.token_urlsafe(32)
        self._used = False
        self._lock = threading.Lock()
        self.sessions: dict[str, Session] = {}

    def __repr__(self) -> str:
        return f"Gate(port={self.port})"

    @property
    def login_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{LOGIN_PATH}?token={self.token}"

    def allowed_hosts(self) -> set[str]:
        return {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    def redeem(self, token: str) -> Session | None:
        """A new session for the right, unused token; ``None`` otherwise (the token works once)."""
        with self._lock:
            if self._used or not hmac.compare_digest(token.encode(), self.token.encode()):
                return None
            self._used = True
            s = Session()
            self.sessions[s.id] = s
            return s

    def session(self, cookie_value: str | None) -> Session | None:
        if not cookie_value:
            return None
        for sid, s in list(self.sessions.items()):
            if hmac.compare_digest(sid.encode(), cookie_value.encode()):
                return s
        return None


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k == name:
            return bytes(v).decode("latin-1")
    return None


def _cookie(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    c: SimpleCookie = SimpleCookie()
    try:
        c.load(raw)
    except Exception:  # a malformed Cookie header is simply no session
        return None
    m = c.get(COOKIE)
    return m.value if m else None


SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                 b"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),  # "no-referrer" makes chromium send Origin: null
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


class GateMiddleware:
    """Refuses what is not from the logged-in browser on this machine; see the module docstring."""

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return
        host = (_header(scope, b"host") or "").lower()
        if host not in self.gate.allowed_hosts():
            return await _refuse(send, 421, _("This page answers only at 127.0.0.1 on this computer. "
                                              "Open the address that smseal ui printed."))
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        if path == LOGIN_PATH and method in SAFE_METHODS:
            token = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token") or [""])[0]
            session = self.gate.redeem(token)
            if session is None:
                return await _refuse(send, 403, _("This sign-in link is wrong or was already used. Run "
                                                  "'smseal ui' again and open the new address it prints."))
            return await _redirect_with_cookie(send, session)
        session = self.gate.session(_cookie(scope))
        if session is None:
            return await _refuse(send, 403, _("Not signed in. Open the address that 'smseal ui' printed "
                                              "(it works once), or run 'smseal ui' again."))
        if method not in SAFE_METHODS:
            origin = _header(scope, b"origin")
            if origin is not None and origin.lower() not in {f"http://{h}" for h in self.gate.allowed_hosts()}:
                return await _refuse(send, 403, _("Refused: the request came from another site."))
            qs = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = _header(scope, b"x-csrf-token") or (qs.get("csrf") or [""])[0]
            if not hmac.compare_digest(given.encode(), session.csrf.encode()):
                return await _refuse(send, 403, _("Refused: the form is out of date or did not come from this "
                                                  "page. Reload the page and try again."))
        scope.setdefault("state", {})["session"] = session

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _v in headers}
                # a page may set a stricter or its own policy (the printable slip); never two of one
                message["headers"] = headers + [(k, v) for k, v in SECURITY_HEADERS if k not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(send: Send, status: int, sentence: str) -> None:
    from html import escape

    body = ("<!doctype html><meta charset=utf-8><title>smseal</title>"
            f"<p role=alert>{escape(sentence)}</p>").encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())] + SECURITY_HEADERS})
    await send({"type": "http.response.body", "body": body})


async def _redirect_with_cookie(send: Send, session: Session) -> None:
    cookie = f"{COOKIE}={session.id}; Path=/; HttpOnly; SameSite=Strict".encode()
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", b"/inbox"), (b"set-cookie", cookie),
                            (b"content-length", b"0")] + SECURITY_HEADERS})
    await send({"type": "http.response.body", "body": b""})
