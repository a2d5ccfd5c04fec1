"""Writing outputs safely: into a temporary file beside the destination, then
linked or renamed into place, so nothing is ever half-written and an existing
file is never overwritten unless asked."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from shangmi import OutputExists


def refuse_existing(dest: str | os.PathLike[str], overwrite: bool = False) -> None:
    """Raise ``OutputExists`` now, before any work whose result could not be written."""
    if not overwrite and Path(dest).exists():
        raise OutputExists("{path} already exists", path=str(dest))


@contextmanager
def atomic_output(dest: str | os.PathLike[str], *, overwrite: bool = False, mode: int = 0o644) -> Iterator[BinaryIO]:
    """Yield a binary file to write; on success it appears at ``dest`` in one step.

    On any exception the temporary file is removed and ``dest`` is untouched.
    """
    dest = Path(dest)
    refuse_existing(dest, overwrite)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, dest)
        else:
            try:
                os.link(tmp, dest)  # fails if dest appeared meanwhile: no race
            except FileExistsError:
                raise OutputExists("{path} already exists", path=str(dest)) from None
            except OSError:  # file systems without hard links (some network shares)
                if dest.exists():
                    raise OutputExists("{path} already exists", path=str(dest)) from None
                os.rename(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_atomic(dest: str | os.PathLike[str], data: bytes, *, overwrite: bool = False, mode: int = 0o644) -> None:
    with atomic_output(dest, overwrite=overwrite, mode=mode) as f:
        f.write(data)


SMALL_FILE = 1 << 20          # cards, receipts, requests, certificates: far below this
LARGE_FILE = 32 * 1024 * 1024   # directory bundles (keystore.bundle.MAX_BUNDLE_SIZE)


def read_input(path: str | os.PathLike[str], limit: int = SMALL_FILE) -> bytes:
    """The bytes of a file the user named; a ``UsageError`` if it is missing or larger than
    ``limit`` (read at most limit+1 bytes, so a huge file cannot exhaust memory)."""
    from .errors import UsageError
    from .i18n import _

    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except IsADirectoryError:
        raise UsageError(_("{path} is a folder, not a file.").format(path=path)) from None
    except OSError:
        raise UsageError(_("File not found: {path}").format(path=path)) from None
    if len(data) > limit:
        raise UsageError(_("{path} is far too large for this kind of file; check that you chose the right file.")
                         .format(path=path))
    return data


def new_private_folder(parent: Path) -> Path:
    """A new 0700 folder in ``parent`` with a hidden random name (documents go here until
    their package is authenticated and the folder can be named after it)."""
    return Path(tempfile.mkdtemp(prefix=".smseal-incoming-", dir=parent))


def settle_folder(folder: Path, package_id16: str, digest8: str) -> Path:
    """Rename ``folder`` (from ``new_private_folder``) to the first free name of
    ``<id>``, ``<id>-<digest>``, ``<id>-<digest>-2``...; return the new path.

    The package id is the sender's choice, readable by anyone who saw the header,
    so a name someone else already uses (a folder, a file, a symbolic link planted
    there) is never reused or followed: the next name is taken."""
    parent = folder.parent
    candidates = [package_id16, f"{package_id16}-{digest8}"]
    candidates += [f"{package_id16}-{digest8}-{i}" for i in range(2, 100)]
    for name in candidates:
        dest = parent / name
        if os.path.lexists(dest):
            continue
        try:
            os.mkdir(dest, 0o700)     # claim the name: fails if it appeared meanwhile
        except FileExistsError:
            continue
        os.rename(folder, dest)       # replaces only the empty folder we just made
        return dest
    return folder


def safe_component(name: str) -> str:
    """A unit name as one folder name: no separators, no dot names, no control characters."""
    cleaned = "".join("_" if (c in '/\\:*?"<>|' or ord(c) < 32) else c for c in name).strip().strip(".")
    return cleaned or "_"
