"""Attack: whoever can write the shared folder plants symbolic links or FIFOs in it.  fetch used to
follow them: ``packages/processed`` → B's ``~/.config/autostart`` made B's fetch move the attacker's
``evil.desktop`` there; ``receipts`` → one of B's folders swept B's own files into ``processed/`` and
copied them into the inbox; a FIFO swapped in after the check hung fetch in ``open()`` for ever.
Now nothing below the configured root is followed (a real shared folder, no mocks)."""

from __future__ import annotations

import json
import os
import threading

from smseal.office.fetch import _open_listed
from tests.cli_helpers import units  # noqa: F401  (fixture)


def _send(a, *extra):
    res = a("send", "附件1.txt", "--to", "财政局", "--json", *extra)
    assert res.code == 0, res.err
    return json.loads(res.out)["package_id"]


def test_symlinked_processed_folder_plants_nothing(units, tmp_path):
    a, b, desk, shared = units
    autostart = tmp_path / "victim" / ".config" / "autostart"          # any folder B can write
    autostart.mkdir(parents=True)
    pk = shared / "财政局" / "packages"
    pk.mkdir(parents=True)
    os.symlink(autostart, pk / "processed")
    (pk / "evil.desktop").write_text("[Desktop Entry]\nType=Application\nExec=sh -c 'id'\n")
    pid = _send(a)
    res = b("fetch", "--json")
    report = json.loads(res.out)
    assert os.listdir(autostart) == []                                  # nothing moved through the link
    assert (pk / "evil.desktop").exists() and (pk / f"{pid}.smx").exists()
    assert [n["package_id"] for n in report["new"]] == [pid]            # the genuine package still arrives
    assert len(report["errors"]) == 1 and "symbolic link" in report["errors"][0]
    again = json.loads(b("fetch", "--json").out)
    assert again["new"] == [] and again["refused"] == []                # remembered by the ledger instead


def test_symlinked_receipts_or_packages_folder_is_not_swept(units, tmp_path):
    a, b, desk, shared = units
    docs = tmp_path / "victim-docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"工作总结{i}.docx").write_bytes(os.urandom(2000))
    (shared / "财政局").mkdir(parents=True)
    os.symlink(docs, shared / "财政局" / "receipts")
    os.symlink(docs, shared / "财政局" / "packages")
    report = json.loads(b("fetch", "--json").out)
    assert sorted(os.listdir(docs)) == [f"工作总结{i}.docx" for i in range(3)]   # untouched, no processed/
    assert report["refused"] == [] and not (b.home / "inbox" / "refused").exists()
    assert len(report["errors"]) == 2 and all("symbolic link" in e for e in report["errors"])


def test_symlinked_unit_folder_is_not_read(units, tmp_path):
    a, b, desk, shared = units
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "packages").mkdir(parents=True)
    (elsewhere / "packages" / "x.smx").write_bytes(b"SMSEAL\x00x")
    shared.mkdir(exist_ok=True)
    os.symlink(elsewhere, shared / "财政局")
    report = json.loads(b("fetch", "--json").out)
    assert report["refused"] == [] and (elsewhere / "packages" / "x.smx").exists()
    assert len(report["errors"]) == 1 and "symbolic link" in report["errors"][0]


def test_fifo_or_link_in_place_of_a_listed_file_is_skipped_without_blocking(units, tmp_path):
    a, b, desk, shared = units
    pk = shared / "财政局" / "packages"
    pk.mkdir(parents=True)
    os.mkfifo(pk / "x.smx")                                            # a FIFO listed by name
    (tmp_path / "secret").write_bytes(b"SMSEAL\x00x")
    os.symlink(tmp_path / "secret", pk / "y.smx")
    st = os.stat(tmp_path / "secret")
    fd = os.open(pk, os.O_RDONLY | os.O_DIRECTORY)
    results: list[object] = []
    try:
        t = threading.Thread(target=lambda: results.extend(
            [_open_listed(fd, "x.smx", "0:0"), _open_listed(fd, "y.smx", f"{st.st_size}:{st.st_mtime_ns}")]),
            daemon=True)
        t.start()
        t.join(60)                                                    # the old open() blocked for ever
        assert results == [None, None]
    finally:
        os.close(fd)
        if t.is_alive():                                              # unblock a stuck open() to end the test
            os.close(os.open(pk / "x.smx", os.O_WRONLY | os.O_NONBLOCK))
    res = b("fetch", "--json")                                         # and fetch itself skips both
    assert res.code == 0 and json.loads(res.out)["refused"] == []
