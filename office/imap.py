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
from typing import Any, Callable, Iterator

from .config import IMAPSettings
from .i18n import _
from .mailerrors import DATA_TIMEOUT, GREETING_TIMEOUT, MailError, explain, in_greeting
from .mimestructure import Leaf

BATCH = 25                       # messages recorded per ledger commit (each is read on its own)
#: The largest package a single mail may carry; a larger message is left alone (reported once).
#: Mail is read in pieces, so this bounds disk and time, not memory.
MAX_MAIL_PACKAGE = 256 * 1024 * 1024
MAX_MESSAGE = int(MAX_MAIL_PACKAGE * 4 / 3 * 78 / 76) + (1 << 20)   # base64 + CRLFs (mailcompose) + headers
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d{1,12})\b")
CHUNK = 1 << 20                  # encoded bytes of a part asked for at a time (BODY.PEEK[n]<offset.CHUNK>)


@dataclass(frozen=True)
class Mail:
    """One message in the mailbox, not its content: ``key`` is UIDVALIDITY:UID (unique for the
    mailbox), ``size`` its RFC822.SIZE, ``answer`` the server's description of it (FETCH
    BODYSTRUCTURE); ``leaves()`` its parts, ``IMAPMailbox.read`` streams one."""

    uid: int
    key: str
    size: int
    answer: bytes

    def leaves(self) -> list[Leaf]:
        """The non-multipart parts; ``MalformedInput`` when the description cannot be read or the
        mail is nested too deeply or has too many parts (``mimestructure``)."""
        from .mimestructure import find, leaves, parse

        return leaves(find(parse(self.answer), b"BODYSTRUCTURE"))

    def __repr__(self) -> str:
        return f"Mail(uid={self.uid}, {self.size} bytes)"


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
            raise MailError("cafile {cafile}: {exc}", cafile=str(s.cafile), exc=str(exc)) from None
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
                    raise MailError("{host}:{port} offers no STARTTLS (993 = tls, 143 = starttls)", host=str(s.host),
                                    port=str(s.port))
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
            raise MailError("the folder {folder} does not exist on {host}: check folder under [imap]",
                            folder=str(self.settings.folder), host=str(self.settings.host))
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
            raise MailError("{host}: {command} refused: {answer}", host=str(self.settings.host),
                            command=str(args[0]), answer=_text(data))
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
        """The messages with these UIDs, one at a time: each one's size and MIME structure
        (``BODYSTRUCTURE``), never its body — ``read`` streams the parts wanted.  Nothing is
        marked \\Seen.  A message larger than ``MAX_MESSAGE`` is skipped (left where it is,
        listed in ``too_large``)."""
        for uid in uids:
            answer = _joined(self._uid("FETCH", str(uid), "(UID RFC822.SIZE BODYSTRUCTURE)"))
            size = _SIZE.search(answer)
            if size is None:
                continue                                # expunged meanwhile
            if int(size.group(1)) > MAX_MESSAGE:
                self.too_large.append((uid, int(size.group(1))))
                continue
            yield Mail(uid, self.key(uid), int(size.group(1)), answer)

    def read(self, mail: Mail, leaf: Leaf, sink: Callable[[bytes], object], *, limit: int) -> int:
        """Stream the part ``leaf`` of ``mail`` into ``sink``, transfer-decoded, ``CHUNK`` encoded
        bytes per request (``BODY.PEEK[<section>]<offset.CHUNK>``), so that memory holds one
        piece whatever the part's size; ``MalformedInput`` past ``limit`` decoded bytes.
        Returns how many decoded bytes went to ``sink``."""
        from shangmi.errors import MalformedInput

        from .mimestructure import Decoder

        decoder = Decoder(leaf.encoding)
        offset = total = 0
        while True:
            data = self._uid("FETCH", str(mail.uid), f"(BODY.PEEK[{leaf.section}]<{offset}.{CHUNK}>)")
            want = f"BODY[{leaf.section}]".encode()
            piece = b"".join(bytes(item[1]) for item in data
                             if isinstance(item, tuple) and len(item) == 2 and want in bytes(item[0]).upper())
            offset += len(piece)
            out = decoder.feed(piece) if len(piece) == CHUNK else decoder.feed(piece) + decoder.end()
            total += len(out)
            if total > limit:
                raise MalformedInput(_("a part of this e-mail holds more than {limit:,} bytes").format(limit=limit))
            if out:
                sink(out)
            if len(piece) < CHUNK:
                return total

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
                    raise MailError("{host} closed the connection during IDLE", host=str(self.settings.host))
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


def _joined(data: list[Any]) -> bytes:
    """One FETCH answer as imaplib split it (literals as (head, bytes) pairs) put back together."""
    out = bytearray()
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2:
            out += bytes(item[0]) + b"\r\n" + bytes(item[1])
        elif isinstance(item, bytes):
            out += item
    return bytes(out)


def _text(data: list[Any]) -> str:
    out = b" ".join(d if isinstance(d, bytes) else b"" for d in data or [])
    return " ".join(out.decode("utf-8", "replace").split())[:160]
