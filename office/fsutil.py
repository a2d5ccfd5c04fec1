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


def safe_component(name: str) -> str:
    """A unit name as one folder name: no separators, no dot names, no control characters."""
    cleaned = "".join("_" if (c in '/\\:*?"<>|' or ord(c) < 32) else c for c in name).strip().strip(".")
    return cleaned or "_"
