"""argparse's own words ("usage:", "options", "invalid choice", ...) in the user's language.

argparse translates through the ``argparse`` gettext domain, which no distribution ships in
Chinese.  :func:`install` points argparse's module-level ``_``/``ngettext`` at smseal's catalog,
so the usage line, the section titles and argparse's error messages follow the same locale as
every other message.  The msgids below are argparse's own (Python 3.10-3.13), marked here so
that scripts/i18n extracts them into smseal.po.
"""

from __future__ import annotations

import argparse

from .i18n import N_, _, ngettext

ARGPARSE_MSGIDS = (
    N_("usage: "),
    N_("options"),
    N_("optional arguments"),
    N_("positional arguments"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("unrecognized arguments: %s"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
    N_("ignored explicit argument %r"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
    N_("unexpected option string: %s"),
)


def install() -> None:
    """Route argparse's messages through smseal's catalog (idempotent)."""
    argparse._ = _  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]
