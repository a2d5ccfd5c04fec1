"""The command line's own errors, rooted in the project's one hierarchy (``shangmi.SmsealError``)."""

from __future__ import annotations

from shangmi import PolicyError, SmsealError
from shangmi import SenderNoLongerValid as SenderNoLongerValid  # re-exported for the command


class UsageError(SmsealError):
    """The command was used wrongly; the message says how to use it (already translated)."""

    exit_code = 2
    localized = True   # the message was made with gettext: show it as it is


class ConfigError(SmsealError):
    """The configuration file is incomplete or wrong (the message is already translated)."""

    exit_code = 2
    localized = True


class ApprovalRequired(PolicyError):
    """This unit requires a leader's 签发 for this kind of document, and the package has no valid one."""
