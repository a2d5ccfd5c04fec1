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
_NO_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)


# --- inside an output folder held open by a file descriptor (``open_package``) -----------------
# Names are single components (``paths.check_names``); every call is relative to a
# directory descriptor opened with O_NOFOLLOW, so a symlink planted at the output
# folder or at a file name never redirects plaintext elsewhere.

def open_dir_nofollow(path: Path) -> int:
    """A descriptor for the folder ``path`` itself; ``PolicyError`` if it is a symbolic link."""
    from shangmi.errors import PolicyError

    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(path):
            raise PolicyError("the output folder {path} is a symbolic link; choose a real folder",
                              path=str(path), code="output-is-symlink") from None
        raise


def lexists_at(name: str, dir_fd: int) -> os.stat_result | None:
    """``lstat`` of ``name`` in the folder ``dir_fd``, or None if nothing is there."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def check_target_at(name: str, dir_fd: int, overwrite: bool, shown: Path) -> None:
    """Refuse ``name`` unless it is absent, or (with ``overwrite``) a regular file we may replace.

    Run for every target before the first one is touched, so a refusal changes nothing."""
    st = lexists_at(name, dir_fd)
    if st is None:
        return
    if not overwrite:
        raise OutputExists("{path} already exists", path=str(shown), hint="ask to overwrite, or choose another folder")
    import stat as _stat

    if not _stat.S_ISREG(st.st_mode):
        raise OutputExists("{path} exists and is not a regular file; it cannot be overwritten",
                           path=str(shown), hint="move it away, or choose another folder")


def place_all_at(parts: list[str], names: list[str], tmp_fd: int, out_fd: int, overwrite: bool,
                 shown: Path) -> None:
    """Move every finished part into place, or none: on any failure the folder is restored.

    Without ``overwrite`` a hard link is made (fails if the name appeared meanwhile).
    With it, each existing file is first linked to a backup in the private folder,
    then replaced; a later failure puts every backup back and removes what was added.
    """
    done: list[tuple[str, str | None]] = []          # (name, backup part or None)
    try:
        for part, name in zip(parts, names):
            backup = None
            if overwrite:
                if lexists_at(name, out_fd) is not None:
                    backup = part + ".bak"
                    try:
                        os.link(name, backup, src_dir_fd=out_fd, dst_dir_fd=tmp_fd, follow_symlinks=False)
                    except OSError as exc:
                        if exc.errno not in _NO_LINKS:
                            raise
                        os.rename(name, backup, src_dir_fd=out_fd, dst_dir_fd=tmp_fd)
                os.replace(part, name, src_dir_fd=tmp_fd, dst_dir_fd=out_fd)
            else:
                try:
                    os.link(part, name, src_dir_fd=tmp_fd, dst_dir_fd=out_fd, follow_symlinks=False)
                except FileExistsError:
                    raise OutputExists("{path} already exists", path=str(shown / name),
                                       hint="ask to overwrite, or choose another folder") from None
                except OSError as exc:
                    if exc.errno not in _NO_LINKS:
                        raise
                    if lexists_at(name, out_fd) is not None:     # no hard links here: best effort
                        raise OutputExists("{path} already exists", path=str(shown / name)) from None
                    os.rename(part, name, src_dir_fd=tmp_fd, dst_dir_fd=out_fd)
            done.append((name, backup))
    except BaseException:
        for name, backup in reversed(done):
            try:
                if backup is not None:
                    os.replace(backup, name, src_dir_fd=tmp_fd, dst_dir_fd=out_fd)
                else:
                    os.unlink(name, dir_fd=out_fd)
            except OSError:
                pass
        raise
