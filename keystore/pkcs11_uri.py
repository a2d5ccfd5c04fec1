"""RFC 7512 ``pkcs11:`` URIs: parse and format.

    pkcs11:token=%E8%B5%A4%E5%B3%B0;object=smseal-enc-1;id=%01%02?module-path=/usr/lib/x.so&pin-value=1234

Path attributes are separated by ``;``, query attributes by ``&``; values
are percent-decoded (UTF-8 for text, raw bytes for ``id``).  A name may
appear only once; unknown names are refused rather than ignored (a typo must
not widen a key lookup), except vendor names starting ``x-``, which are kept.  ``pin-value`` is
never shown by ``repr`` and is dropped by ``str()``: a URI stored in a
manifest or shown in a message carries no PIN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from shangmi.errors import MalformedInput

_PATH_TEXT = ("token", "manufacturer", "serial", "model", "library-manufacturer",
              "library-description", "library-version", "object", "type",
              "slot-description", "slot-manufacturer")
_PATH_ALL = _PATH_TEXT + ("id", "slot-id")
_QUERY = ("pin-source", "pin-value", "module-name", "module-path")
_TYPES = ("public", "private", "cert", "secret-key", "data")
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")
# RFC 3986 unreserved characters plus the sub-delimiters RFC 7512 allows
# unescaped inside a value; everything else is written as %XX.
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:[]@!$'()*+,")
_MAX_LEN = 8192


class InvalidPkcs11Uri(MalformedInput):
    """The text is not a valid RFC 7512 pkcs11: URI."""


def _pct_decode(text: str, what: str, *, in_query: bool = False) -> bytes:
    out = bytearray()
    raw = text.encode("utf-8")
    i = 0
    while i < len(raw):
        b = raw[i]
        if b == 0x25:  # '%'
            h = raw[i + 1:i + 3]
            if len(h) != 2 or not all(c in b"0123456789abcdefABCDEF" for c in h):
                raise InvalidPkcs11Uri("bad percent-escape in {what}", what=str(what))
            out.append(int(h, 16))
            i += 3
        else:
            if b < 0x21 or b in b"\"<>\\^`{|}#" or b >= 0x80 or (b in b"/?" and not in_query):
                raise InvalidPkcs11Uri("character not allowed unescaped in {what}", what=str(what))
            out.append(b)
            i += 1
    return bytes(out)


def _pct_encode(value: bytes, *, all_bytes: bool = False) -> str:
    return "".join(chr(b) if (b in _SAFE and not all_bytes) else f"%{b:02X}" for b in value)


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPkcs11Uri("{what} is not UTF-8", what=str(what)) from None


@dataclass(frozen=True)
class Pkcs11Uri:
    """The attributes of a ``pkcs11:`` URI that smseal uses; others are kept in ``vendor``."""

    token: str | None = None
    manufacturer: str | None = None
    serial: str | None = None
    model: str | None = None
    library_manufacturer: str | None = None
    library_description: str | None = None
    library_version: str | None = None
    object: str | None = None
    type: str | None = None
    slot_description: str | None = None
    slot_manufacturer: str | None = None
    id: bytes | None = None
    slot_id: int | None = None
    module_name: str | None = None
    module_path: str | None = None
    pin_source: str | None = None
    pin_value: str | None = field(default=None, repr=False)
    vendor: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, uri: str) -> "Pkcs11Uri":
        if not isinstance(uri, str) or len(uri) > _MAX_LEN:
            raise InvalidPkcs11Uri("not a pkcs11: URI (or too long)")
        if not uri[:7].lower() == "pkcs11:":
            raise InvalidPkcs11Uri("a PKCS#11 URI starts with 'pkcs11:'")
        body = uri[7:]
        path, sep, query = body.partition("?")
        values: dict[str, bytes] = {}
        vendor: list[tuple[str, str]] = []
        for part_list, seps, known in ((path, ";", _PATH_ALL), (query if sep else "", "&", _QUERY)):
            if not part_list:
                continue
            for item in part_list.split(seps):
                name, eq, raw = item.partition("=")
                if not eq or not _NAME_RE.match(name):
                    raise InvalidPkcs11Uri("malformed attribute {name}", name=repr(name[:40]))
                if name in values or any(n == name for n, _ in vendor):
                    raise InvalidPkcs11Uri("attribute {name} appears twice", name=repr(name))
                value = _pct_decode(raw, name, in_query=seps == "&")
                if name in known:
                    values[name] = value
                elif name in _PATH_ALL or name in _QUERY:
                    if seps == ";":
                        raise InvalidPkcs11Uri("{name} belongs in the query (after ?)", name=repr(name))
                    raise InvalidPkcs11Uri("{name} belongs in the path (before ?)", name=repr(name))
                elif name.startswith("x-"):
                    vendor.append((name, _text(value, name)))
                else:
                    raise InvalidPkcs11Uri("unknown attribute {name}", name=repr(name))
        kw: dict[str, object] = {}
        for name, value in values.items():
            assert isinstance(value, bytes)
            key = name.replace("-", "_")
            if name == "id":
                if not value:
                    raise InvalidPkcs11Uri("empty id")
                kw[key] = value
            elif name == "slot-id":
                text = _text(value, name)
                if not text.isdigit() or len(text) > 20:
                    raise InvalidPkcs11Uri("slot-id must be a decimal number")
                kw[key] = int(text)
            else:
                text = _text(value, name)
                if name == "type" and text not in _TYPES:
                    raise InvalidPkcs11Uri("type must be one of {types}", types=', '.join(_TYPES))
                kw[key] = text
        return cls(vendor=tuple(vendor), **kw)  # type: ignore[arg-type]

    def to_string(self, *, include_pin: bool = False) -> str:
        """The RFC 7512 URI text; the PIN only when ``include_pin`` (never store that)."""
        path = []
        for name in _PATH_ALL:
            value = getattr(self, name.replace("-", "_"))
            if value is None:
                continue
            if name == "id":
                path.append(f"id={_pct_encode(value, all_bytes=True)}")
            else:
                path.append(f"{name}={_pct_encode(str(value).encode('utf-8'))}")
        path += [f"{n}={_pct_encode(v.encode('utf-8'))}" for n, v in self.vendor]
        query = []
        for name in _QUERY:
            value = getattr(self, name.replace("-", "_"))
            if value is None or (name == "pin-value" and not include_pin):
                continue
            query.append(f"{name}={_pct_encode(value.encode('utf-8')).replace('%2F', '/')}")
        return "pkcs11:" + ";".join(path) + ("?" + "&".join(query) if query else "")

    def __str__(self) -> str:
        return self.to_string(include_pin=False)

    def without_pin(self) -> "Pkcs11Uri":
        """This URI with any PIN attribute removed."""
        return replace(self, pin_value=None)

    def with_(self, **changes: Any) -> "Pkcs11Uri":
        """A copy with some attributes replaced (``None`` removes one)."""
        return replace(self, **changes)
