"""The command line's own errors, rooted in the project's one hierarchy (``shangmi.SmsealError``)."""

from __future__ import annotations

from shangmi import SmsealError, VerificationError


class UsageError(SmsealError):
    """The command was used wrongly; the message says how to use it."""

    exit_code = 2


class ConfigError(SmsealError):
    """The configuration file is incomplete or wrong."""

    exit_code = 2


class SenderNoLongerValid(VerificationError):
    """The sender's key is revoked or expired today, though the package claims an earlier sealing time."""
