"""Where packages and receipts are read from: a path, bytes, or a binary stream, armored or not."""

from __future__ import annotations

import io
import os
from contextlib import contextmanager
from typing import BinaryIO, Iterator, Protocol, Union, cast

from shangmi.errors import MalformedInput, WrongArgumentType

from . import armor as _armor
from .format import MAGIC_PREFIX

#: Where a package or receipt is read from.  One rule everywhere (``inspect``, ``open_package``,
#: ``open_stream``, ``verify_package``, ``verify_receipt``): a ``str`` or ``os.PathLike`` is a
#: path; ``bytes``/``bytearray``/``memoryview`` are the content (binary or armored); anything
#: else is a binary stream read from where it stands.  Armored text held in a ``str`` must be
#: encoded first (``text.encode()``): a ``str`` that looks like armor is refused with
#: ``WrongArgumentType`` (code ``text-as-path``), so the text never ends up in an error message.
class Readable(Protocol):
    """A binary stream as the library reads it: only ``read(n)`` is required; ``readline``,
    ``seekable``/``tell``/``seek`` are used when present (an open file, ``io.BytesIO``, a
    socket's ``makefile("rb")``, a wrapper of one's own such as a progress counter)."""

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes (all that is left when ``n`` is -1); ``b""`` at the end."""
        ...


Src = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO, Readable]
_HEAD = 64
_WS = b" \t\r\n"


class _Prefixed:
    """``stream`` with ``head`` (already read from it) put back in front."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head, self._stream = head, stream

    def read(self, n: int = -1) -> bytes:
        if not self._head:
            return self._stream.read(n)
        if n < 0:
            out, self._head = self._head + self._stream.read(), b""
            return out
        out, self._head = self._head[:n], self._head[n:]
        return out

    def readline(self, limit: int = -1) -> bytes:
        out = bytearray()
        while limit < 0 or len(out) < limit:
            if self._head:
                nl = self._head.find(b"\n")
                take = len(self._head) if nl < 0 else nl + 1
                if limit >= 0:
                    take = min(take, limit - len(out))
                out += self._head[:take]
                self._head = self._head[take:]
                if out.endswith(b"\n"):
                    break
                continue
            rest = -1 if limit < 0 else limit - len(out)
            if hasattr(self._stream, "readline"):
                out += self._stream.readline(rest)
                break
            b = self._stream.read(1)
            if not b:
                break
            out += b
            if b == b"\n":
                break
        return bytes(out)


@contextmanager
def open_source(src: Src, label: str = _armor.PACKAGE) -> Iterator[tuple[BinaryIO, bool, int | None]]:
    """Yield (binary stream of the decoded bytes, armored?, size in bytes if known)."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        f: BinaryIO = io.BytesIO(bytes(src))
        owned = False
    elif isinstance(src, (str, os.PathLike)):
        f = open(as_path(src), "rb")
        owned = True
    else:
        # a Readable: the methods beyond read() are only used where present (see _remaining,
        # _Prefixed.readline), so it is handled as the BinaryIO it may not fully be
        f, owned = cast(BinaryIO, src), False
    try:
        size = _remaining(f)
        head = b""
        while len(head) < _HEAD:
            piece = f.read(_HEAD - len(head))
            if not piece:
                break
            head += piece
        stream = _Prefixed(head, f)
        armored = (not head.startswith(MAGIC_PREFIX)
                   and (head.lstrip(_WS).startswith(b"-----BEGIN") or not head.strip(_WS)) and bool(head))
        if armored:
            yield cast(BinaryIO, _armor.ArmorReader(cast(BinaryIO, stream), label)), True, None
        else:
            yield cast(BinaryIO, stream), False, size
    finally:
        if owned:
            f.close()


def as_path(src: "str | os.PathLike[str]") -> "str | os.PathLike[str]":
    """``src`` as a path; refuse a ``str`` that is armored text rather than a file name."""
    if isinstance(src, str) and ("\n" in src or src.lstrip().startswith("-----BEGIN")):
        raise WrongArgumentType("a str is a path: pass armored text as bytes (text.encode())",
                                code="text-as-path")
    return src


def read_small(src: Src, limit: int, what: str) -> bytes:
    """The whole of a small input (a receipt, a notice) under the ``Src`` rule, at most ``limit`` bytes."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif isinstance(src, (str, os.PathLike)):
        with open(as_path(src), "rb") as f:
            data = f.read(limit + 1)
    else:
        data = src.read(limit + 1)
    if len(data) > limit:
        raise MalformedInput("{what} is larger than {limit} bytes", what=str(what), limit=str(limit))
    return data


def _remaining(f: BinaryIO) -> int | None:
    try:
        if not f.seekable():
            return None
        pos = f.tell()
        end = f.seek(0, os.SEEK_END)
        f.seek(pos)
        return end - pos
    except (AttributeError, OSError, ValueError):
        return None
