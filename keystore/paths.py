"""Where smseal keeps its state: ``SMSEAL_HOME``, else ``~/.smseal``.

    home/
      identities/<slug>/identity.json   own identities (manifest, public keys, key references)
      identities/<slug>/sign-1.key      encrypted PKCS#8 (software keys only), 0600
      directory.sqlite                  the directory of other units
"""

from __future__ import annotations

import os
import stat
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


def private_file(path: Path) -> Path:
    """Make the file ``path`` readable only by the owner (0600), creating it empty if missing.

    Also SQLite's ``-wal``/``-shm`` companions when present: they hold the same data.
    An existing file is changed by path (chmod), never opened: closing a descriptor of a
    database would drop the POSIX locks SQLite holds on it in this process.  A symbolic
    link planted at ``path`` is refused (``KeystoreError``)."""
    from shangmi.errors import KeystoreError

    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
        return path
    except FileExistsError:
        pass
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode):
            raise KeystoreError("{path} is a symbolic link; refusing to use it", path=str(p))
        if stat.S_IMODE(st.st_mode) != 0o600:
            os.chmod(p, 0o600)
    return path
