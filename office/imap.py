"""The IMAP mailbox as a source for ``fetch``: find the mail smseal sent, read it without
touching its \\Seen flag, mark it processed only when the caller says its content is stored,
and wait for new mail with IDLE where the server offers it.

Only messages with an ``X-Smseal`` header are read at all; any other mail is
never fetched, flagged, moved or deleted.  Processed mail gets the keyword
``$SmsealDone`` (or is moved to ``folder:NAME``, see ``[imap] processed``); the
ledger also remembers UIDVALIDITY:UID, so a server that forgets keywords still
never yields a mail twice.
"""

from __future__ import annotations

import base64
import imaplib
import re
import select
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Iterator

from .config import IMAPSettings
from .mailerrors import DATA_TIMEOUT, GREETING_TIMEOUT, MailError, explain, in_greeting

BATCH = 25                       # messages per UID FETCH
MAX_MESSAGE = 200 * 1024 * 1024  # a larger message is left alone (mail servers cap far below this)
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


@dataclass(frozen=True)
class Mail:
    """One message from the mailbox: ``key`` is UIDVALIDITY:UID, unique for the mailbox."""

    uid: int
    key: str
    raw: bytes

    def __repr__(self) -> str:
        return f"Mail(uid={self.uid}, {len(self.raw)} bytes)"


class IMAPMailbox:
    """A connection to the configured mailbox; a context manager (logs out on exit)."""

    def __init__(self, settings: IMAPSettings) -> None:
        self.settings = settings
        self.conn: imaplib.IMAP4 | None = None
        self.uidvalidity = ""
        self.too_large: list[tuple[int, int]] = []   # (uid, size) of messages left alone as too large

    # -- connection ----------------------------------------------------------------------
    def _fail(self, exc: BaseException) -> MailError:
        s = self.settings
        return explain(exc, kind="imap", host=s.host, port=s.port, security=s.security)

    def connect(self) -> "IMAPMailbox":
        s = self.settings
        try:
            ctx = ssl.create_default_context(cafile=s.cafile) if s.security != "none" else None
        except (OSError, ssl.SSLError) as exc:
            raise MailError(f"cafile {s.cafile}: {exc}") from None
        try:
            try:
                if s.security == "tls":
                    conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=ctx,
                                                             timeout=GREETING_TIMEOUT)
                else:
                    conn = imaplib.IMAP4(s.host, s.port, timeout=GREETING_TIMEOUT)
            except (imaplib.IMAP4.abort, socket.timeout, TimeoutError, ssl.SSLError) as exc:
                if isinstance(exc, ssl.SSLCertVerificationError):
                    raise
                raise in_greeting(exc if not isinstance(exc, imaplib.IMAP4.abort) else TimeoutError(str(exc)))
            conn.sock.settimeout(DATA_TIMEOUT)
            if s.security == "starttls":
                if "STARTTLS" not in conn.capabilities:
                    raise MailError(f"{s.host}:{s.port} offers no STARTTLS (993 = tls, 143 = starttls)")
                conn.starttls(ssl_context=ctx)
            conn.login(s.username, s.password or "")
            self._select(conn)
        except MailError:
            raise
        except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
            raise self._fail(exc) from None
        self.conn = conn
        return self

    def _select(self, conn: imaplib.IMAP4) -> None:
        typ, _data = conn.select(_quote(self.settings.folder))
        if typ != "OK":
            raise MailError(f"the folder {self.settings.folder} does not exist on {self.settings.host}: "
                            "check folder under [imap]")
        _t, vals = conn.response("UIDVALIDITY")
        self.uidvalidity = (vals[0] or b"0").decode() if vals and vals[0] else "0"
        self._capabilities = {c.upper() for c in _capabilities(conn)}

    def __enter__(self) -> "IMAPMailbox":
        return self.connect() if self.conn is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.logout()
            except (imaplib.IMAP4.error, OSError, ssl.SSLError):
                pass
            self.conn = None

    @property
    def has_idle(self) -> bool:
        return "IDLE" in getattr(self, "_capabilities", set())

    # -- reading ---------------------------------------------------------------------------
    def _uid(self, *args: str) -> list[Any]:
        assert self.conn is not None
        try:
            typ, data = self.conn.uid(*args)
        except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
            raise self._fail(exc) from None
        if typ != "OK":
            raise MailError(f"{self.settings.host}: {args[0]} refused: {_text(data)}")
        return data

    def candidates(self) -> list[int]:
        """UIDs of messages from smseal not yet marked processed (oldest first)."""
        s = self.settings
        crit = ["HEADER", "X-Smseal", '""']
        if not s.processed.startswith("folder:"):
            crit = ["UNKEYWORD", s.processed, *crit]
        data = self._uid("SEARCH", *crit)
        return sorted(int(x) for x in b" ".join(d for d in data if d).split())

    def key(self, uid: int) -> str:
        return f"{self.uidvalidity}:{uid}"

    def fetch(self, uids: list[int]) -> Iterator[Mail]:
        """The messages with these UIDs, read with BODY.PEEK (their \\Seen flag stays as it was).

        A message larger than ``MAX_MESSAGE`` is skipped (left where it is)."""
        for i in range(0, len(uids), BATCH):
            batch = uids[i:i + BATCH]
            sizes = self._uid("FETCH", ",".join(map(str, batch)), "(UID RFC822.SIZE)")
            small = []
            for item in sizes:
                head = item[0] if isinstance(item, tuple) else item
                u, z = _UID.search(head or b""), _SIZE.search(head or b"")
                if u and z and int(z.group(1)) <= MAX_MESSAGE:
                    small.append(int(u.group(1)))
                elif u and z:
                    self.too_large.append((int(u.group(1)), int(z.group(1))))
            if not small:
                continue
            data = self._uid("FETCH", ",".join(map(str, small)), "(UID BODY.PEEK[])")
            for item in data:
                if isinstance(item, tuple) and len(item) == 2:
                    u = _UID.search(item[0])
                    if u:
                        uid = int(u.group(1))
                        yield Mail(uid, self.key(uid), bytes(item[1]))

    # -- marking ---------------------------------------------------------------------------
    def mark_processed(self, uids: list[int]) -> None:
        """Flag (or move) messages whose content is stored safely."""
        if not uids:
            return
        s = self.settings
        which = ",".join(map(str, uids))
        if not s.processed.startswith("folder:"):
            self._uid("STORE", which, "+FLAGS", f"({s.processed})")
            return
        target = _quote(s.processed[len("folder:"):])
        assert self.conn is not None
        self.conn.create(target)          # fails harmlessly when it exists
        if "MOVE" in self._capabilities:
            self._uid("MOVE", which, target)
        else:
            self._uid("COPY", which, target)
            self._uid("STORE", which, "+FLAGS", r"(\Deleted)")
            if "UIDPLUS" in self._capabilities:
                self._uid("EXPUNGE", which)

    # -- waiting ---------------------------------------------------------------------------
    def idle(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the server to announce new mail (IMAP IDLE, RFC 2177).

        True when something arrived; False on timeout.  Without IDLE, returns False
        at once (the caller polls)."""
        conn = self.conn
        if conn is None or not self.has_idle:
            return False
        try:
            tag = conn._new_tag()
            conn.send(tag + b" IDLE\r\n")
            line = conn.readline()
            if not line.startswith(b"+"):
                return False
            sock = conn.sock
            pending = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0
            ready = bool(pending) or bool(select.select([sock], [], [], max(0.0, seconds))[0])
            news = False
            if ready:
                line = conn.readline()
                news = b"EXISTS" in line or b"RECENT" in line
            conn.send(b"DONE\r\n")
            while True:
                line = conn.readline()
                if not line:
                    raise MailError(f"{self.settings.host} closed the connection during IDLE")
                if line.startswith(tag):
                    break
                news = news or b"EXISTS" in line
            return news
        except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
            raise self._fail(exc) from None


def encode_mailbox(name: str) -> str:
    """A mailbox name in IMAP's modified UTF-7 (RFC 3501 §5.1.3): printable ASCII stands for
    itself (``&`` as ``&-``); every other run of characters is ``&`` + the modified base64
    (``,`` for ``/``, no padding) of its UTF-16BE + ``-``.  ``收文/2027`` → ``&ZTZlhw-/2027``."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            raw = "".join(run).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def _quote(name: str) -> str:
    """``name`` as an IMAP mailbox argument: modified UTF-7, quoted unless it is a plain atom."""
    name = encode_mailbox(name)
    if re.fullmatch(r"[A-Za-z0-9._/-]+", name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _capabilities(conn: imaplib.IMAP4) -> tuple[str, ...]:
    try:
        typ, data = conn.capability()
        if typ == "OK" and data and data[0]:
            return tuple(data[0].decode("ascii", "replace").split())
    except (imaplib.IMAP4.error, OSError):
        pass
    return tuple(conn.capabilities)


def _text(data: list[Any]) -> str:
    out = b" ".join(d if isinstance(d, bytes) else b"" for d in data or [])
    return " ".join(out.decode("utf-8", "replace").split())[:160]
