"""Where smseal keeps its state: ``--home``, else ``$SMSEAL_HOME``, else ``~/.smseal``."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError
from .i18n import _


class NoHome(UsageError):
    """A command that only reads was run where no keystore exists; nothing was created."""


def locate(explicit: str | None = None) -> Path:
    """The home folder's path, whether or not it exists yet."""
    raw = explicit or os.environ.get("SMSEAL_HOME") or str(Path.home() / ".smseal")
    return Path(raw).expanduser()


def resolve(explicit: str | None = None, *, create: bool = True) -> Path:
    """The home folder, created (0700) when ``create``; read-only commands pass ``create=False``
    and get ``NoHome`` instead of a new empty home."""
    home = locate(explicit)
    if not create:
        if not home.is_dir():
            raise NoHome(_("There is no keystore at {home}: run 'smseal init --unit NAME' first, or name "
                           "another folder with --home.").format(home=home), home=str(home))
        return home
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home
