"""Armor: a strict, canonical text form of a package or receipt for e-mail bodies.

    -----BEGIN SMSEAL PACKAGE-----
    <standard base64 with '=' padding, 64 columns; the last line 4..64 columns>
    -----END SMSEAL PACKAGE-----

Exactly one encoding is accepted for given bytes: every line but the last
is 64 columns, base64 must be canonical (zero padding bits, '=' only at the
very end), no blank lines, no headers.  Line endings are all LF or all CRLF
(mail transports rewrite LF to CRLF), set by the BEGIN line.  ASCII
whitespace before BEGIN and after END is ignored, as mail clients add it.
Reading and writing stream line by line, so a 4 GiB armored package needs
no more memory than a binary one.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import BinaryIO

from shangmi.errors import MalformedPackage

PACKAGE = "SMSEAL PACKAGE"
RECEIPT = "SMSEAL RECEIPT"
COLUMNS = 64
_LINE_BYTES = COLUMNS // 4 * 3     # 48 bytes encode to exactly one full line
_B64_LINE = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_WHITESPACE = b" \t\r\n"
_MAX_LEADING = 4096                # whitespace tolerated before BEGIN and after END, each


def begin(label: str) -> bytes:
    return f"-----BEGIN {label}-----".encode()


def end(label: str) -> bytes:
    return f"-----END {label}-----".encode()


class ArmorWriter:
    """A binary sink that writes the armored form of everything written to it to ``out``."""

    def __init__(self, out: BinaryIO, label: str = PACKAGE) -> None:
        self._out, self._label = out, label
        self._pending = bytearray()
        self._closed = False
        out.write(begin(label) + b"\n")

    def write(self, data: bytes | bytearray) -> int:
        self._pending += data
        full = len(self._pending) // _LINE_BYTES * _LINE_BYTES
        if full:
            view = bytes(self._pending[:full])
            del self._pending[:full]
            self._out.write(b"".join(base64.b64encode(view[i:i + _LINE_BYTES]) + b"\n"
                                     for i in range(0, full, _LINE_BYTES)))
        return len(data)

    def close(self) -> None:
        """Write the last line and the END line (the wrapped stream stays open)."""
        if self._closed:
            return
        self._closed = True
        if self._pending:
            self._out.write(base64.b64encode(bytes(self._pending)) + b"\n")
        self._out.write(end(self._label) + b"\n")


def encode(data: bytes, label: str) -> bytes:
    """Armor ``data`` (non-empty) in one call."""
    import io
    buf = io.BytesIO()
    w = ArmorWriter(buf, label)
    w.write(data)
    w.close()
    return buf.getvalue()


class ArmorReader:
    """Decodes armor from ``src`` (a stream with ``readline``) as a binary stream with ``read``.

    Raises ``MalformedPackage`` at the first byte that is not canonical.
    """

    def __init__(self, src: BinaryIO, label: str = PACKAGE) -> None:
        self._src, self._label = src, label
        self._buf = bytearray()
        self._done = False
        self._nl = b""
        self._start()

    def _fail(self, why: str) -> MalformedPackage:
        return MalformedPackage(f"bad armor: {why}")

    def _line(self) -> bytes:
        line = self._src.readline(COLUMNS + 3)
        if not line.endswith(b"\n"):
            raise self._fail("a line is too long or the text ends without the END line")
        if not line.endswith(self._nl):
            raise self._fail("line endings are mixed")
        return line[:-len(self._nl)]

    def _start(self) -> None:
        """Skip at most ``_MAX_LEADING`` whitespace bytes in all (whole lines of SP, TAB, CR, LF
        and the SP/TAB before ``-----BEGIN`` on its line), then read the BEGIN line, whose
        line ending (LF or CRLF) every later line must repeat."""
        skipped = 0
        while True:
            line = self._src.readline(_MAX_LEADING - skipped + len(begin(self._label)) + 2)
            if not line:
                raise self._fail("no BEGIN line")
            if line.strip(_WHITESPACE):
                break
            skipped += len(line)
            if skipped > _MAX_LEADING:
                raise self._fail("too much whitespace before the BEGIN line")
        rest = line.lstrip(b" \t")
        if skipped + len(line) - len(rest) > _MAX_LEADING:
            raise self._fail("too much whitespace before the BEGIN line")
        for nl in (b"\r\n", b"\n"):
            if rest == begin(self._label) + nl:
                self._nl = nl
                return
        raise self._fail(f"the first line must be {begin(self._label).decode()}")

    def read(self, n: int = -1) -> bytes:
        while not self._done and (n < 0 or len(self._buf) < n):
            self._read_full_or_end()
        if n < 0:
            n = len(self._buf)
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _read_full_or_end(self) -> None:
        line = self._line()
        if line == end(self._label):
            if not self._seen_data:
                raise self._fail("no data between BEGIN and END")
            self._end()
            return
        self._seen_data = True
        self._decode(line)

    _seen_data = False

    def _decode(self, line: bytes) -> None:
        if not line or len(line) % 4 or not _B64_LINE.fullmatch(line):
            raise self._fail("a line is not canonical base64")
        try:
            data = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            raise self._fail("a line is not base64") from None
        if base64.b64encode(data) != line:
            raise self._fail("a line is not canonical base64")
        self._buf += data
        if len(line) < COLUMNS or line.endswith(b"="):
            if self._line() != end(self._label):
                raise self._fail("a short line must be the last, followed by the END line")
            self._end()

    def _end(self) -> None:
        tail = self._src.read(_MAX_LEADING + 1)
        if len(tail) > _MAX_LEADING or tail.strip(_WHITESPACE):
            raise self._fail("data after the END line")
        self._done = True


def decode(text: bytes, label: str) -> bytes:
    """Decode armored ``text`` in one call (receipts); raise ``MalformedPackage``."""
    import io
    return ArmorReader(io.BytesIO(text), label).read()
