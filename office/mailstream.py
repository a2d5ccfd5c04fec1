"""A package mail sent by SMTP without holding the package in memory.

``mailcompose.compose`` still makes the whole message — headers, the two-language text, the
MIME structure — but around a small random placeholder where the package goes.  The flattened
message (CRLF, as it goes on the wire) is cut at the placeholder into a ``MailTemplate``
(prefix and suffix, a few kilobytes); ``send`` then speaks SMTP itself after ``MAIL FROM`` /
``RCPT TO``: ``DATA``, the prefix, the package read from its file in blocks and encoded on the
way (base64 in 76-column lines, or the 64-column armor of ``--armor``), the suffix, and the
final dot.  Its size on the wire is known in advance (``MailTemplate.size``), so it is compared
with the server's ESMTP SIZE and announced in ``MAIL FROM`` before anything is sent.
"""

from __future__ import annotations

import base64
import re
import secrets
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Callable, Iterator

from .mailerrors import MailError

BLOCK = 57 * 1152                # package bytes read at a time: whole base64 lines (~64 KiB)
_B64_LINE = 57                   # bytes per 76-column base64 line (RFC 2045)
_ARMOR_LINE = 48                 # bytes per 64-column armor line (envelope/armor.py)
_DOTS = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class MailTemplate:
    """A flattened message with a hole for the package text: ``prefix`` + text + ``suffix``.
    ``armor``: the text is the package's armor (a 7-bit text part), else base64 (an attachment)."""

    prefix: bytes
    suffix: bytes
    armor: bool = False
    verbatim: bool = False     # the file is already armored text: sent as it is, in CRLF lines

    def size(self, length: int, path: Path | None = None) -> int:
        """Bytes on the wire (before dot-stuffing, which never applies to the package text) for
        ``length`` bytes of package (``path``: the file, read once when it is ``verbatim``)."""
        if self.verbatim:
            assert path is not None
            return len(self.prefix) + len(self.suffix) + sum(len(b) for b in self.body(path, 0, length))
        return len(self.prefix) + len(self.suffix) + _encoded_size(length, self.armor)

    def body(self, path: Path, offset: int, length: int) -> Iterator[bytes]:
        """The package text for bytes ``offset:offset+length`` of ``path``, in blocks, CRLF lines."""
        if self.verbatim:
            with open(path, "rb") as f:
                f.seek(offset)
                lines = (line.rstrip(b"\r\n") + b"\r\n" for line in f)
                block: list[bytes] = []
                for line in lines:
                    if line.strip():
                        block.append(line)
                    if len(block) >= 1024:
                        yield b"".join(block)
                        block = []
                yield b"".join(block)
            return
        per_line = _ARMOR_LINE if self.armor else _B64_LINE
        if self.armor:
            from smseal.envelope.armor import PACKAGE, begin

            yield begin(PACKAGE) + b"\r\n"
        with open(path, "rb") as f:
            f.seek(offset)
            left = length
            while left > 0:
                piece = f.read(min(left, BLOCK // per_line * per_line))
                if not piece:
                    raise MailError("{path} became shorter while it was being sent", path=str(path))
                left -= len(piece)
                yield b"".join(base64.b64encode(piece[i:i + per_line]) + b"\r\n"
                               for i in range(0, len(piece), per_line))
        if self.armor:
            from smseal.envelope.armor import PACKAGE, end

            yield end(PACKAGE) + b"\r\n"


def _encoded_size(n: int, armor: bool) -> int:
    per_line = _ARMOR_LINE if armor else _B64_LINE
    full, rest = divmod(n, per_line)
    size = full * (per_line // 3 * 4 + 2) + ((rest + 2) // 3 * 4 + 2 if rest else 0)
    if armor:
        from smseal.envelope.armor import PACKAGE, begin, end

        size += len(begin(PACKAGE)) + len(end(PACKAGE)) + 4
    return size


def template(make: Callable[[bytes], EmailMessage], *, armor: bool = False, verbatim: bool = False
             ) -> MailTemplate:
    """Cut the message ``make(placeholder)`` at the placeholder.  ``make`` receives the bytes
    to use as the package (attachment mode) or its armored text (``armor``; ``verbatim`` when
    the package file is armored already)."""
    if armor:
        line = secrets.token_hex(24).encode()              # 48 hex digits: one 7-bit line
        placeholder, mark = line + b"\n", line + b"\r\n"
    else:
        placeholder = secrets.token_bytes(_B64_LINE)        # exactly one full base64 line
        mark = base64.b64encode(placeholder) + b"\r\n"
    flat = make(placeholder).as_bytes(policy=SMTP)
    at = flat.find(mark)
    if at < 0 or flat.find(mark, at + 1) >= 0 or not flat.endswith(b"\r\n"):
        raise AssertionError("the placeholder was not found once in the composed message")
    return MailTemplate(flat[:at], flat[at + len(mark):], armor and not verbatim, verbatim and armor)


def send(client: smtplib.SMTP, sender: str, recipient: str, tmpl: MailTemplate, path: Path,
         offset: int, length: int) -> None:
    """Send one templated message over an open ``client``: MAIL FROM (with SIZE where the server
    has it), RCPT TO, DATA streamed in blocks.  smtplib's exceptions as ``sendmail`` raises them."""
    size = tmpl.size(length, path)
    options = [f"SIZE={size}"] if client.has_extn("size") else []
    code, resp = client.mail(sender, options)
    if code != 250:
        client.rset()
        raise smtplib.SMTPSenderRefused(code, resp, sender)
    code, resp = client.rcpt(recipient)
    if code not in (250, 251):
        client.rset()
        raise smtplib.SMTPRecipientsRefused({recipient: (code, resp)})
    code, resp = client.docmd("DATA")
    if code != 354:
        client.rset()
        raise smtplib.SMTPDataError(code, resp)
    sock = client.sock
    if sock is None:
        raise smtplib.SMTPServerDisconnected("the connection closed before DATA")
    sock.sendall(_DOTS.sub(b"..", tmpl.prefix))
    for block in tmpl.body(path, offset, length):       # base64 and armor lines never start with "."
        sock.sendall(block)
    sock.sendall(_DOTS.sub(b"..", tmpl.suffix) + b".\r\n")
    code, resp = client.getreply()
    if code != 250:
        client.rset()
        raise smtplib.SMTPDataError(code, resp)


__all__ = ["MailTemplate", "template", "send"]
