"""Where smseal keeps its state: ``--home``, else ``$SMSEAL_HOME``, else ``~/.smseal``.

The home holds the ledger (titles and document numbers of opened packages), the inbox
(packages and parts waiting) and the keys, so it is private: the home and its folders are
0700 and the files in the home 0600 (docs/THREATS.md §4).  A home that
already existed with a wider mode — made with ``mkdir`` first, or named by ``--home`` — is
tightened each time a command starts (``secure``); one that cannot be tightened (another
owner, a file system without Unix modes) is refused with advice.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import UsageError
from .i18n import _

#: Folders inside the home whose direct subfolders are private too (the inbox's spool,
#: packages, parts and refused copies).  Deeper levels are created 0700 by their owners.
_NESTED = ("inbox",)


class NoHome(UsageError):
    """A command that only reads was run where no keystore exists; nothing was created."""


class HomeNotPrivate(UsageError):
    """The home (or a folder or file in it) is readable by other users and cannot be made private."""


def locate(explicit: str | None = None) -> Path:
    """The home folder's path, whether or not it exists yet."""
    raw = explicit or os.environ.get("SMSEAL_HOME") or str(Path.home() / ".smseal")
    return Path(raw).expanduser()


def resolve(explicit: str | None = None, *, create: bool = True) -> Path:
    """The home folder, created (0700) when ``create``; read-only commands pass ``create=False``
    and get ``NoHome`` instead of a new empty home.  Either way an existing home is made
    private first (``secure``)."""
    home = locate(explicit)
    if not create:
        if not home.is_dir():
            raise NoHome(_("{home} is not an smseal folder yet (it keeps an office's keys and records): "
                           "run 'smseal init --unit NAME' first, or name another folder with --home.").format(
                home=home), home=str(home))
        return secure(home)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return secure(home)


def secure(home: Path) -> Path:
    """Make ``home`` private: the folder itself and every folder in it 0700 (and the inbox's
    folders), every file directly in it 0600.  Symbolic links inside are left alone (never
    followed).  ``HomeNotPrivate`` (with what to do) when the home belongs to another user or
    a mode cannot be narrowed."""
    st = os.stat(home)                        # the home itself may be a link the user made
    if not stat.S_ISDIR(st.st_mode):
        raise HomeNotPrivate(_("{home} is not a folder; name a folder with --home or SMSEAL_HOME.").format(
            home=home), home=str(home))
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise HomeNotPrivate(_("{home} belongs to another user (uid {uid}); smseal keeps an office's keys "
                               "and records only in a folder of your own: name one with --home or "
                               "SMSEAL_HOME.").format(home=home, uid=st.st_uid), home=str(home))
    _narrow(home, st, 0o700)
    for entry in _entries(home):
        _narrow_entry(entry)
    for name in _NESTED:
        inner = home / name
        if inner.is_dir() and not inner.is_symlink():
            for entry in _entries(inner):
                if entry.is_dir(follow_symlinks=False):
                    _narrow_entry(entry)
    return home


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as it:
        return list(it)


def _narrow_entry(entry: os.DirEntry[str]) -> None:
    st = entry.stat(follow_symlinks=False)
    if stat.S_ISDIR(st.st_mode):
        _narrow(Path(entry.path), st, 0o700)
    elif stat.S_ISREG(st.st_mode):
        _narrow(Path(entry.path), st, 0o600)


def _narrow(path: Path, st: os.stat_result, private: int) -> None:
    """Take away every permission of group and others from ``path`` (``st`` its stat)."""
    mode = stat.S_IMODE(st.st_mode)
    if not mode & 0o077:
        return
    try:
        os.chmod(path, mode & private)       # ``st`` came from lstat: not a link
        still = stat.S_IMODE(os.stat(path, follow_symlinks=False).st_mode) & 0o077
    except (OSError, NotImplementedError):
        still = 1
    if still:
        raise HomeNotPrivate(_("{path} is readable by other users (mode {mode:o}) and smseal could not make "
                               "it private; run 'chmod -R go= {path}' or keep the smseal folder on a disk with "
                               "Unix permissions.").format(path=path, mode=mode), path=str(path))
