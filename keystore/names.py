"""Unit names (Chinese included) and timestamps, normalised one way everywhere."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone

from shangmi.errors import InvalidArgument, WrongArgumentType

MAX_NAME = 200


# Letters that render as nothing (Hangul fillers; NFKC keeps U+115F/U+1160/U+3164/U+FFA0 as fillers).
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0")


def normalize_name(name: str) -> str:
    """Unit names are compared in Unicode NFKC with outer spaces removed, so a name written
    with compatibility characters (the Kangxi radical ⾦ U+2F26 for 金, full-width letters or
    digits) is the same name as its plain form and cannot pose as a second unit; control,
    format (bidi, zero-width) and other invisible characters, empty names and names over
    200 characters are refused."""
    if not isinstance(name, str):
        raise WrongArgumentType("a unit name is a str", code="bad-unit-name")
    n = unicodedata.normalize("NFKC", name).strip()
    if (not n or len(n) > MAX_NAME or any(unicodedata.category(ch)[0] == "C" for ch in n)
            or any(ch in _INVISIBLE for ch in n)):
        raise InvalidArgument("a unit name is 1–{max_name} printable characters", max_name=str(MAX_NAME),
                              code='bad-unit-name')
    return n


def comparable_name(name: str) -> str:
    """``name`` as offices compare unit names (``normalize_name``); a name that cannot be a
    unit name at all (a legacy certificate's) is compared as it is."""
    try:
        return normalize_name(name)
    except (InvalidArgument, WrongArgumentType):
        return name


def utc(dt: datetime) -> datetime:
    """``dt`` in UTC; naive datetimes are refused (their zone would be a guess)."""
    if not isinstance(dt, datetime):
        raise WrongArgumentType("a datetime is needed", code="not-a-datetime")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise InvalidArgument("naive datetime: give a timezone (e.g. timezone.utc)", code="naive-datetime")
    return dt.astimezone(timezone.utc)


def to_text(dt: datetime) -> str:
    return utc(dt).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def now() -> datetime:
    return datetime.now(timezone.utc)
