"""Everything a command needs from SMSEAL_HOME, opened lazily: config, own keys,
the directory of units, the ledger, and how to ask for passphrases."""

from __future__ import annotations

import getpass
import os
import sys

from smseal.office import home as _home
from smseal.office.context import Office
from smseal.office.errors import UsageError
from smseal.office.i18n import _


def passphrase_callback(console):
    """Answer from SMSEAL_PASSPHRASE / SMSEAL_PIN, else ask on the terminal."""
    from smseal.keystore import Purpose, env_passphrase

    from_env = env_passphrase()

    asked: dict[tuple[object, str], int] = {}

    def answer(prompt) -> bytes:
        purpose = getattr(prompt, "purpose", None)
        key = (purpose, getattr(prompt, "subject", ""))
        asked[key] = asked.get(key, 0) + 1
        var = "SMSEAL_PIN" if purpose is Purpose.PIN else "SMSEAL_PASSPHRASE"
        if os.environ.get(var):
            return from_env(prompt)
        if not sys.stdin.isatty():
            raise UsageError(_("A passphrase is needed: set {var}, or run smseal in a terminal.").format(var=var))
        label = _("PIN for the security token: ") if purpose is Purpose.PIN else _("Passphrase ({what}): ").format(
            what=getattr(prompt, "subject", "") or str(prompt))
        if asked[key] > 1 and purpose is Purpose.UNLOCK:
            console.note(_("Wrong passphrase; try again ({n} of 3).").format(n=asked[key]))
        first = getpass.getpass(label)
        if purpose is Purpose.NEW:
            if getpass.getpass(_("Repeat the passphrase: ")) != first:
                raise UsageError(_("The two passphrases differ; nothing was created."))
        return first.encode("utf-8")

    return answer


class App(Office):
    """The command's ``Office``: the home from --home / SMSEAL_HOME, passphrases from the
    environment or the terminal, and the console to print to."""

    def __init__(self, args, console, *, create: bool = True) -> None:
        """``create=False`` for commands that only read: they never create a home."""
        self.console = console
        # A person at a terminal gets three tries at a passphrase; automation gets one.
        tries = 3 if sys.stdin.isatty() and not os.environ.get("SMSEAL_PASSPHRASE") else 1
        super().__init__(_home.resolve(getattr(args, "home", None), create=create),
                         passphrase=passphrase_callback(console), attempts=tries)
        for entry in self.config.unknown():     # a typo must not pass silently for a default
            console.note(_("config.ini: {entry} is not an option smseal knows; it is ignored (see the README, "
                           "Configuration).").format(entry=entry))


def confirm(question: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(_("Confirmation needed: run in a terminal, or add --yes after checking the fingerprint."))
    return input(question + " [y/N] ").strip().lower() in ("y", "yes", "是", "shi")
