"""Review F9: a home that already existed with a wide mode (made with ``mkdir`` first, or named by
``--home``) is made private when a command starts: the home and its folders 0700, files 0600
(plaintext 0600 in 0700 folders), the inbox's folders too; one that cannot be made private is
refused with advice."""

from __future__ import annotations

import os
import stat

import pytest

from smseal.office import home as _home
from tests.cli_helpers import units  # noqa: F401  (fixture)


def _mode(p) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def test_existing_wide_home_is_tightened_at_start(units):
    a, b, desk, shared = units
    assert a("send", "附件1.txt", "--to", "财政局").code == 0
    # the fixture made B's home with mkdir (0755 under the usual umask); make everything wide
    os.chmod(b.home, 0o755)
    assert b("fetch").code == 0
    for p in [b.home, *b.home.iterdir(), *(b.home / "inbox").iterdir()]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    assert b("inbox").code == 0                   # a read-only command
    assert _mode(b.home) == 0o700
    assert _mode(b.home / "ledger.sqlite3") == 0o600
    assert _mode(b.home / "inbox") == 0o700
    for p in (b.home / "inbox").iterdir():
        assert _mode(p) == 0o700, p
    for p in b.home.iterdir():
        assert not _mode(p) & 0o077, p


def test_new_inbox_folders_are_private(units):
    a, b, desk, shared = units
    assert a("send", "附件1.txt", "--to", "财政局").code == 0
    old = os.umask(0o022)
    try:
        assert b("fetch").code == 0
    finally:
        os.umask(old)
    assert _mode(b.home / "inbox") == 0o700
    assert _mode(b.home / "inbox" / "packages") == 0o700


def test_home_of_another_user_is_refused(tmp_path, monkeypatch):
    home = tmp_path / "h"
    home.mkdir(mode=0o755)
    real = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: real + 1)
    with pytest.raises(_home.HomeNotPrivate) as err:
        _home.resolve(str(home))
    assert "another user" in str(err.value) and "--home" in str(err.value)
    assert _mode(home) == 0o755                    # not touched


def test_mode_that_cannot_be_narrowed_is_refused_with_advice(tmp_path, monkeypatch):
    home = tmp_path / "h"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)

    def refuse(path, mode, **kw):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", refuse)
    with pytest.raises(_home.HomeNotPrivate) as err:
        _home.resolve(str(home))
    assert "chmod -R go=" in str(err.value)
