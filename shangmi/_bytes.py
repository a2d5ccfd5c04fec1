"""Any bytes-like argument as its bytes, the same for every backend.

``len()`` of a buffer counts items, not bytes (an ``array('I')`` of 4 items is
16 bytes), and a strided view (``memoryview(b)[::2]``) has no single address,
so a buffer is never passed on as given: :func:`byte_view` turns it into bytes
or a flat unsigned-byte view whose ``len()`` is its size in bytes.
"""

from __future__ import annotations

from typing import Any, Sequence, Union

ByteView = Union[bytes, memoryview]


def byte_view(data: Any) -> ByteView:
    """``data`` (bytes or any object with the buffer protocol) as its bytes, in memory (C) order.

    bytes are returned as they are; a C-contiguous buffer as a flat ``'B'`` view of
    the same memory (no copy); any other buffer (strided, Fortran order) is copied.
    Anything without the buffer protocol (a ``str``, an ``int``) raises ``TypeError``.
    """
    if type(data) is bytes:
        return data
    view = memoryview(data)
    if view.c_contiguous:
        return view if view.format == "B" and view.ndim == 1 else view.cast("B")
    return view.tobytes()


def byte_items(items: Sequence[tuple[Any, Any]]) -> list[tuple[ByteView, ByteView]]:
    """:func:`byte_view` of both members of every (nonce, data) pair."""
    return [(byte_view(nonce), byte_view(data)) for nonce, data in items]


#: What the functions that take data accept: bytes or any buffer (``array``, ``mmap``, … work too).
BytesLike = Union[bytes, bytearray, memoryview]
