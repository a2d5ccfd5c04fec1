"""A small, strict DER reader and writer for the structures shangmi needs.

Only the distinguished encoding is accepted: definite minimal lengths,
minimal INTEGERs, no trailing bytes.  Every failure raises the error class
the caller names (``MalformedInput`` by default), never a bare ``IndexError``.
The X.509 code in ``keystore`` uses pyasn1 for its much larger structures.
"""

from __future__ import annotations

from typing import Type

from .errors import MalformedInput, SmsealError

INTEGER, BIT_STRING, OCTET_STRING, NULL, OID, UTF8STRING = 0x02, 0x03, 0x04, 0x05, 0x06, 0x0C
SEQUENCE = 0x30

_MAX_LEN = 1 << 24  # nothing shangmi parses is larger than 16 MiB


class Reader:
    """Reads DER elements one after another from ``data``."""

    __slots__ = ("data", "pos", "end", "err")

    def __init__(self, data: bytes, err: Type[SmsealError] = MalformedInput) -> None:
        self.data = bytes(data)
        self.pos = 0
        self.end = len(self.data)
        self.err = err

    def _fail(self, what: str) -> SmsealError:
        return self.err(f"malformed DER: {what}")

    def at_end(self) -> bool:
        return self.pos == self.end

    def done(self) -> None:
        if self.pos != self.end:
            raise self._fail("trailing bytes")

    def peek_tag(self) -> int:
        if self.pos >= self.end:
            raise self._fail("unexpected end")
        return self.data[self.pos]

    def read(self, tag: int) -> bytes:
        """Return the content octets of the next element, which must have ``tag``."""
        d, p = self.data, self.pos
        if p + 2 > self.end:
            raise self._fail("unexpected end")
        if d[p] != tag:
            raise self._fail(f"expected tag 0x{tag:02x}, found 0x{d[p]:02x}")
        n = d[p + 1]
        p += 2
        if n & 0x80:
            k = n & 0x7F
            if k == 0 or k > 3 or p + k > self.end:
                raise self._fail("bad length")
            n = int.from_bytes(d[p:p + k], "big")
            if n < 0x80 or d[p] == 0:
                raise self._fail("non-minimal length")
            p += k
        if n > _MAX_LEN or p + n > self.end:
            raise self._fail("length exceeds input")
        self.pos = p + n
        return d[p:p + n]

    def sub(self, tag: int = SEQUENCE) -> "Reader":
        r = Reader(self.read(tag), self.err)
        return r

    def integer(self) -> int:
        c = self.read(INTEGER)
        if not c:
            raise self._fail("empty INTEGER")
        if len(c) > 1 and ((c[0] == 0 and c[1] < 0x80) or (c[0] == 0xFF and c[1] >= 0x80)):
            raise self._fail("non-minimal INTEGER")
        if c[0] & 0x80:
            raise self._fail("negative INTEGER")
        return int.from_bytes(c, "big")

    def octets(self) -> bytes:
        return self.read(OCTET_STRING)

    def bit_string(self) -> bytes:
        c = self.read(BIT_STRING)
        if not c or c[0] != 0:
            raise self._fail("BIT STRING with unused bits")
        return c[1:]

    def oid(self) -> str:
        return decode_oid(self.read(OID), self.err)

    def null(self) -> None:
        if self.read(NULL) != b"":
            raise self._fail("NULL with content")

    def element(self) -> bytes:
        """The next element, tag and length included, whatever its tag."""
        start = self.pos
        self.read(self.peek_tag())
        return self.data[start:self.pos]


def decode_oid(c: bytes, err: Type[SmsealError] = MalformedInput) -> str:
    if not c or c[-1] & 0x80:
        raise err("malformed DER: bad OID")
    arcs: list[int] = []
    v = 0
    first = True
    for i, b in enumerate(c):
        if v == 0 and b == 0x80:
            raise err("malformed DER: non-minimal OID arc")
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            if first:
                a = min(v // 40, 2)
                arcs += [a, v - 40 * a]
                first = False
            else:
                arcs.append(v)
            v = 0
    return ".".join(map(str, arcs))


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _len(len(content)) + content


def seq(*items: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(items))


def integer(v: int) -> bytes:
    if v < 0:
        raise ValueError("negative INTEGER not supported")
    return tlv(INTEGER, v.to_bytes(v.bit_length() // 8 + 1, "big"))


def octets(b: bytes) -> bytes:
    return tlv(OCTET_STRING, b)


def bit_string(b: bytes) -> bytes:
    return tlv(BIT_STRING, b"\x00" + b)


def null() -> bytes:
    return b"\x05\x00"


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    vals = [40 * arcs[0] + arcs[1]] + arcs[2:]
    out = bytearray()
    for v in vals:
        chunk = [v & 0x7F]
        v >>= 7
        while v:
            chunk.append(0x80 | (v & 0x7F))
            v >>= 7
        out += bytes(reversed(chunk))
    return tlv(OID, bytes(out))
