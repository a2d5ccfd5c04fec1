"""Attack: a sparse 1 GiB file dropped into ``<root>/<B>/packages`` (16 KiB on the share) was copied
whole into B's inbox before any check and kept for ever under ``inbox/refused/``.  Now the size is
checked with ``fstat`` against ``MAX_SHARE_PACKAGE`` and the clear header (well-formed, addressed
to this unit) is read in place before anything is copied; refused copies are capped in all by
``MAX_REFUSED_BYTES`` (a real shared folder, no mocks)."""

from __future__ import annotations

import json
import os

from smseal.office import fetch as fetch_mod
from smseal.office import inbox as inbox_mod
from tests.cli_helpers import units  # noqa: F401  (fixture)


def _du(path) -> int:
    return sum(os.lstat(os.path.join(d, f)).st_blocks * 512 for d, _s, fs in os.walk(path) for f in fs)


def _send(a, *files):
    res = a("send", *(files or ("附件1.txt",)), "--to", "财政局", "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)["package_id"]


def test_sparse_gigabyte_is_refused_without_copying(units):
    a, b, desk, shared = units
    pk = shared / "财政局" / "packages"
    pk.mkdir(parents=True)
    with open(pk / "x.smx", "wb") as f:
        f.write(b"SMSEAL\x00")
        f.truncate(1 << 30)                                          # 1 GiB apparent, a few KiB on disk
    pid = _send(a)
    report = json.loads(b("fetch", "--json").out)
    assert [n["package_id"] for n in report["new"]] == [pid]
    (refused,) = report["refused"]
    assert refused["item"] == "packages/x.smx" and refused["path"] is None   # nothing kept: it is on the share
    assert _du(b.home / "inbox") < 1 << 20                          # nothing inflated on B's disk
    assert json.loads(b("fetch", "--json").out)["refused"] == []    # refused once


def test_package_not_addressed_here_is_refused_in_place(units):
    a, b, desk, shared = units
    res = b("send", "附件1.txt", "--to", "市政府办公室", "--json")       # a package for A ...
    assert res.code == 0, res.err
    pid = json.loads(res.out)["package_id"]
    (shared / "财政局" / "packages").mkdir(parents=True)
    os.replace(shared / "市政府办公室" / "packages" / f"{pid}.smx", shared / "财政局" / "packages" / "x.smx")
    (refused,) = json.loads(b("fetch", "--json").out)["refused"]       # ... dropped into B's folder
    assert refused["claimed_package_id"] == pid and "not addressed" in refused["reason"]
    assert refused["path"] is None and not (b.home / "inbox" / "refused").exists()


def test_package_larger_than_the_bound_is_refused_before_copying(units, monkeypatch):
    a, b, desk, shared = units
    pid = _send(a)
    monkeypatch.setattr(fetch_mod, "MAX_SHARE_PACKAGE", 100)      # a small bound instead of 2 GiB of disk
    (refused,) = json.loads(b("fetch", "--json").out)["refused"]
    assert refused["claimed_package_id"] is None and "more than fetch copies" in refused["reason"]
    assert refused["path"] is None and not list((b.home / "inbox" / "incoming").glob("*"))
    assert (shared / "财政局" / "packages" / "processed" / f"{pid}.smx").exists()   # left on the share


def test_refused_copies_are_capped_in_all(units, monkeypatch):
    a, b, desk, shared = units
    (desk / "big.bin").write_bytes(os.urandom(300 * 1024))
    monkeypatch.setattr(inbox_mod, "MAX_REFUSED_BYTES", 400 * 1024)
    pids = [_send(a, "big.bin") for _ in range(2)]
    for pid in pids:                                                  # altered: the header is intact,
        path = shared / "财政局" / "packages" / f"{pid}.smx"          # the signature fails
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 1
        path.write_bytes(bytes(data))
    refused = json.loads(b("fetch", "--json").out)["refused"]
    assert len(refused) == 2
    sizes = sorted(os.path.getsize(r["path"]) for r in refused)
    assert sizes[0] == inbox_mod.REFUSED_HEAD and sizes[1] > 300 * 1024   # the first kept whole, then only heads
    assert sum("only its first" in r["reason"] for r in refused) == 1
