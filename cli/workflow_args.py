"""What the workflow commands share: the library's ``Office`` built from the command's ``App``,
dates, a hidden ``--now`` (the clock, for demonstrations and tests), colour for overdue lines."""

from __future__ import annotations

import argparse
from datetime import date, datetime, timezone

from smseal.envelope import DOC_TYPES
from smseal.office.i18n import _
from smseal.office.context import Office

from .context import App, passphrase_callback


def office_of(app: App, args=None, *, at: datetime | None = None) -> Office:
    """The library's ``Office`` for this command: the command's ``App`` itself, or, when the clock
    must stand at ``at`` or at the hidden ``--now``, one sharing its open keystore, directory and
    ledger."""
    fixed = at or getattr(args, "now", None)
    if not fixed:
        return app
    return Office(app.home, passphrase=passphrase_callback(app.console), config=app.config,
                  keystore=app.keystore, directory=app.directory, ledger=app.ledger, now=lambda: fixed)


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("not a date in the form YYYY-MM-DD: {text}").format(text=text)) from None


def parse_now(text: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("not a date in the form YYYY-MM-DD: {text}").format(text=text)) from None
    if dt.tzinfo is None:
        from smseal.office.clock import DEFAULT_TIMEZONE
        from zoneinfo import ZoneInfo
        dt = dt.replace(tzinfo=ZoneInfo(DEFAULT_TIMEZONE))
    return dt.astimezone(timezone.utc)


def add_now(p) -> None:
    """A hidden ``--now 2027-08-21T09:00`` (office time): judge deadlines at that time."""
    p.add_argument("--now", type=parse_now, help=argparse.SUPPRESS)


def add_workflow_fields(p) -> None:
    """文种, groups and the reply deadline, for seal / send / draft."""
    p.add_argument("--type", dest="doc_type", choices=DOC_TYPES, metavar="文种",
                   help=_("document type (文种): {types}").format(types="|".join(DOC_TYPES)))
    p.add_argument("--cc-group", action="append", default=[], metavar="GROUP",
                   help=_("copy to every unit of a group (抄送); repeatable"))
    p.add_argument("--reply-by", type=parse_date, metavar="YYYY-MM-DD",
                   help=_("a written reply (答复) is expected from the main recipient by this date"))
    p.add_argument("--reply-from", action="append", default=[], metavar="UNIT",
                   help=_("a copy recipient (抄送) the matter is also assigned to: a written reply is expected from it by --reply-by too; repeatable"))

