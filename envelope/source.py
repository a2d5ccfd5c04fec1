"""Where packages and receipts are read from: a path, bytes, or a binary stream, armored or not."""

from __future__ import annotations

import io
import os
from contextlib import contextmanager
from typing import BinaryIO, Iterator, Union

from . import armor as _armor
from .format import MAGIC_PREFIX

Src = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO]
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
        f = open(src, "rb")
        owned = True
    else:
        f, owned = src, False
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
            yield _armor.ArmorReader(stream, label), True, None
        else:
            yield stream, False, size
    finally:
        if owned:
            f.close()


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
