"""Putting finished files into place without clobbering, and never half-written."""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from shangmi.errors import OutputExists


def place(tmp: Path, dst: Path, overwrite: bool) -> None:
    """Move the finished ``tmp`` to ``dst`` (same file system: an atomic rename).

    Without ``overwrite`` a hard link is made first, which fails if ``dst``
    exists at that instant: no check-then-rename race.  Raises
    ``OutputExists``.
    """
    if overwrite:
        os.replace(tmp, dst)
        return
    try:
        os.link(tmp, dst)
    except FileExistsError:
        raise OutputExists("{path} already exists", path=str(dst), hint="ask to overwrite, or choose another folder") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # No hard links on this file system (e.g. some network shares): best effort.
        if os.path.lexists(dst):
            raise OutputExists("{path} already exists", path=str(dst)) from None
        os.rename(tmp, dst)
        return
    os.unlink(tmp)


def refuse_existing(dst: Path, overwrite: bool) -> None:
    """Fail early, before any work, when ``dst`` exists and overwriting was not asked for."""
    if not overwrite and os.path.lexists(dst):
        raise OutputExists("{path} already exists", path=str(dst), hint="ask to overwrite, or choose another folder")


@contextmanager
def names_from_package(out_dir: Path) -> Iterator[None]:
    """Keep a file name that came from inside a package out of an ``OutputExists``.

    Such names are as confidential as the title, so the error says only that a file of the
    package already exists in ``out_dir`` (context ``out_dir``, which the caller chose).  The
    full path stays on ``exc.path`` for the caller who opened the package and may show it."""
    try:
        yield
    except OutputExists as exc:
        err = OutputExists(f"a file of the package already exists in {out_dir}", out_dir=str(out_dir),
                           hint=exc.hint or "ask to overwrite, or choose another folder")
        err.path = exc.context.get("path")
        raise err from None
