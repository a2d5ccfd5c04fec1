"""Where smseal keeps its state: ``SMSEAL_HOME``, else ``~/.smseal``.

    home/
      identities/<slug>/identity.json   own identities (manifest, public keys, key references)
      identities/<slug>/sign-1.key      encrypted PKCS#8 (software keys only), 0600
      directory.sqlite                  the directory of other units
"""

from __future__ import annotations

import os
from pathlib import Path


def smseal_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The keystore root: ``home`` if given, else ``$SMSEAL_HOME``, else ``~/.smseal``."""
    if home is not None:
        return Path(home)
    env = os.environ.get("SMSEAL_HOME")
    if env:
        return Path(env)
    return Path.home() / ".smseal"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable only by the owner; return it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
