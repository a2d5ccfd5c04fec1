"""Where smseal keeps its state: ``--home``, else ``$SMSEAL_HOME``, else ``~/.smseal``."""

from __future__ import annotations

import os
from pathlib import Path


def resolve(explicit: str | None = None) -> Path:
    raw = explicit or os.environ.get("SMSEAL_HOME") or str(Path.home() / ".smseal")
    home = Path(raw).expanduser()
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home
