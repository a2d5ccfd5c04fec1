"""Every spool file of the inbox is made by one function (``office.inbox.write_spool``): 0600,
synced, and removed again when filling it fails (a full disk, a refusal part-way), so a failed
fetch never leaves a half-written ``.part`` behind.  ``spool_bytes`` used to leave one."""

from __future__ import annotations

import io
import os
import stat

import pytest

from shangmi.errors import MalformedPackage
from smseal.office.inbox import write_spool


class _DiskFull(io.BytesIO):
    def read(self, n: int = -1) -> bytes:
        raise OSError(28, "No space left on device")


def test_write_spool_is_private_and_synced(tmp_path):
    path = write_spool(tmp_path, lambda f: f.write(b"package bytes"))
    assert path.read_bytes() == b"package bytes"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.name.endswith(".part")


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), MalformedPackage("grew")])
def test_a_failed_spool_leaves_nothing(tmp_path, error):
    def fill(f):
        f.write(b"half of it")
        raise error

    with pytest.raises(type(error)):
        write_spool(tmp_path, fill)
    assert os.listdir(tmp_path) == []


def test_inbox_spools_leave_nothing_on_failure(tmp_path, monkeypatch):
    from smseal.office import inbox as inbox_mod

    class _Box:
        _dir = staticmethod(lambda name: tmp_path)
    box = _Box()
    for name in ("spool_write", "spool_bytes", "spool_stream"):
        setattr(box, name, getattr(inbox_mod.Inbox, name).__get__(box))
    with pytest.raises(OSError):
        box.spool_stream(_DiskFull())
    with pytest.raises(MalformedPackage):
        box.spool_stream(io.BytesIO(b"x" * 10), limit=5)
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(OSError):
        box.spool_bytes(b"receipt")
    assert os.listdir(tmp_path) == []
