"""Canonical msgpack and fixed-size signatures: the only encodings the format uses.

Canonical means: the bytes are exactly what :func:`pack` writes for the
decoded value (smallest integer/str/bin/array/map forms, no duplicate map
keys, no trailing bytes), maps carry exactly the keys the schema names, in
schema order, and values have exactly the schema's types.  A reader that
enforces this gives ``serialize(parse(x)) == x`` for every accepted ``x``, so
two implementations can never disagree about what a signed header says.
"""

from __future__ import annotations

from typing import Any, Sequence

import msgpack

from shangmi import sm2
from shangmi.errors import InvalidSignature, MalformedInput, MalformedPackage

RAW_SIGNATURE_SIZE = 64
# The order n of the SM2 base point (GB/T 32918.5): r and s must lie in [1, n-1].


def pack(obj: Any) -> bytes:
    """Encode ``obj`` in canonical msgpack (str as UTF-8 str, bytes as bin)."""
    out: bytes = msgpack.packb(obj, use_bin_type=True)
    return out


def unpack(data: bytes, what: str, *, max_len: int,
           error: type[MalformedInput] = MalformedPackage) -> Any:
    """Decode canonical msgpack or raise ``error`` naming ``what``.

    Size limits are enforced before decoding: no field can be larger than
    the whole buffer, which is itself bounded by ``max_len``.
    """
    if len(data) > max_len:
        raise error("{what} is larger than the {max_len}-byte limit", what=str(what), max_len=str(max_len))
    try:
        obj = msgpack.unpackb(bytes(data), raw=False, use_list=True, strict_map_key=True,
                              timestamp=0)
    except (ValueError, TypeError, UnicodeDecodeError, msgpack.UnpackException,
            msgpack.ExtraData, RecursionError, OverflowError) as exc:
        raise error("{what} is not valid msgpack ({kind})", what=str(what), kind=str(type(exc).__name__)) from None
    try:
        again = pack(obj)
    except (ValueError, TypeError, OverflowError):
        raise error("{what} holds a value msgpack cannot re-encode", what=str(what)) from None
    if again != bytes(data):
        raise error("{what} is not in canonical encoding", what=str(what))
    return obj


def fields(obj: Any, schema: Sequence[tuple[str, type | tuple[type, ...]]], what: str,
           error: type[MalformedInput] = MalformedPackage) -> list[Any]:
    """Check ``obj`` is a map with exactly ``schema``'s keys, in order, and typed as named.

    ``bool`` never passes for ``int`` (msgpack has distinct true/false), and
    ``type(None)`` in a tuple marks an optional field.
    """
    if type(obj) is not dict:
        raise error("{what} must be a map", what=str(what))
    if list(obj) != [name for name, _ in schema]:
        raise error("{what} must have exactly the fields {fields} in that order", what=str(what),
                    fields=', '.join((n for n, _ in schema)))
    out = []
    for name, want in schema:
        v = obj[name]
        allowed = want if isinstance(want, tuple) else (want,)
        if type(v) not in allowed:
            raise error("{what}: field {name} has the wrong type", what=str(what), name=repr(name))
        out.append(v)
    return out


def check_bin(v: Any, size: int, what: str) -> bytes:
    if type(v) is not bytes or len(v) != size:
        raise MalformedPackage("{what} must be {size} bytes", what=str(what), size=str(size))
    return v


def check_str(v: Any, max_bytes: int, what: str) -> str:
    if type(v) is not str:
        raise MalformedPackage("{what} must be a string", what=str(what))
    if len(v.encode("utf-8")) > max_bytes:
        raise MalformedPackage("{what} is longer than {max_bytes} bytes", what=str(what), max_bytes=str(max_bytes))
    return v


def der_to_raw(signature: bytes) -> bytes:
    """Turn the DER ``SEQUENCE{r, s}`` a signer returns into the fixed 64-byte r‖s.

    The package stores the raw form so the trailer has a fixed length (the
    reader finds it by position) and one canonical encoding.  Raises
    ``InvalidSignature`` if the signer returned something malformed.
    """
    try:
        r, s = sm2.decode_signature(signature)
    except InvalidSignature:
        raise InvalidSignature("the signer returned a malformed or out-of-range signature") from None
    return sm2.encode_signature(r, s, "raw")
