"""Files that are either whole or absent.

A key file or manifest is written to a fresh temporary file in the same
folder (created with O_EXCL and mode 0600, so no other user can ever open
it), flushed and fsynced, then renamed over the target with ``os.replace``;
the folder is fsynced so the rename itself survives a crash.  A reader
therefore sees the old file or the new one, never half of one.  The
temporary file holds only what the target will hold (an already encrypted
key, never a plaintext one).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from shangmi.errors import DuplicateEntry

_MODE = 0o600


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(folder: Path, data: bytes) -> Path:
    tmp = folder / f".tmp-{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), _MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def write_atomic(path: Path, data: bytes) -> None:
    """Replace (or create) ``path`` with ``data``, atomically, mode 0600."""
    tmp = _write_temp(path.parent, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def create_atomic(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data``, mode 0600; ``DuplicateEntry`` if it exists.

    ``os.link`` fails when the target exists, so two processes racing to
    create the same file cannot overwrite each other.
    """
    tmp = _write_temp(path.parent, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise DuplicateEntry("{name} already exists; nothing was overwritten", name=str(path.name)) from None
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
