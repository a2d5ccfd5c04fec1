"""The command line's own errors, rooted in the project's one hierarchy (``shangmi.SmsealError``)."""

from __future__ import annotations

from shangmi import SmsealError


class UsageError(SmsealError):
    """The command was used wrongly; the message says how to use it."""

    exit_code = 2


class ConfigError(SmsealError):
    """The configuration file is incomplete or wrong."""

    exit_code = 2
