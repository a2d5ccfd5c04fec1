"""Time for the office: stored in UTC, shown in the office's zone (default Asia/Shanghai).

Deadlines are calendar dates in the office's zone: a stage due 8-20 is
overdue from 8-21 00:00 Beijing time.  Every function that judges a deadline
takes the current time from its caller (``Office.now``), so tests set the
clock instead of waiting.

    [display]
    timezone = Asia/Shanghai
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .i18n import _

DEFAULT_TIMEZONE = "Asia/Shanghai"


def zone(name: str | None) -> ZoneInfo:
    """The zone named in ``[display] timezone`` (default Asia/Shanghai); ``ConfigError`` if unknown."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(_("[display] timezone {name} is not a known time zone (e.g. Asia/Shanghai).")
                          .format(name=name)) from None


def utc_now() -> datetime:
    """The current time in UTC, whole seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def parse_stored(text: str | None) -> datetime | None:
    """A time as the ledger stores it (ISO 8601 with offset) → aware UTC datetime."""
    if not text:
        return None
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def local(dt: datetime | str | None, tz: ZoneInfo) -> datetime | None:
    """``dt`` (aware, or as stored) in the office's zone."""
    if isinstance(dt, str):
        dt = parse_stored(dt)
    return None if dt is None else dt.astimezone(tz)


def show(dt: datetime | str | None, tz: ZoneInfo) -> str:
    """``2027-05-10 15:40`` in the office's zone; empty for no time."""
    lt = local(dt, tz)
    return "" if lt is None else lt.strftime("%Y-%m-%d %H:%M")


def show_seconds(dt: datetime | str | None, tz: ZoneInfo) -> str:
    """``2027-05-10 15:40:57`` in the office's zone; empty for no time."""
    lt = local(dt, tz)
    return "" if lt is None else lt.strftime("%Y-%m-%d %H:%M:%S")


def local_date(dt: datetime | str | None, tz: ZoneInfo) -> date | None:
    """The calendar date of ``dt`` in the office's zone."""
    lt = local(dt, tz)
    return None if lt is None else lt.date()


def overdue(deadline: date | None, now: datetime, tz: ZoneInfo) -> bool:
    """True when ``deadline`` (a date in the office's zone) has passed at ``now``."""
    return deadline is not None and local_date(now, tz) > deadline  # type: ignore[operator]
