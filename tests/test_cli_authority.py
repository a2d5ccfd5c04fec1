"""The bureau's workflow through the ``smseal`` command: authority, requests, certificates,
directory bundles, revocation policy, rollback refusal and key rotation."""

from __future__ import annotations

import json
import time

import pytest

from tests.cli_helpers import FAST_ENV, Runner
from tests.openssl_cli import openssl


@pytest.fixture
def bureau(tmp_path, monkeypatch, capsys):
    for k, v in FAST_ENV.items():
        monkeypatch.setenv(k, v)
    for var in ("SMSEAL_HOME", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    desk = tmp_path / "desk"
    desk.mkdir()
    bur, a, b = (Runner(tmp_path / h, capsys, desk) for h in ("BUR", "A", "B"))
    assert bur("authority", "init", "--name", "某市保密局").code == 0
    (desk / "root.pem").write_bytes((bur.home / "authority" / "root.pem").read_bytes())
    for r, unit in ((a, "市政府办公室"), (b, "财政局")):
        assert r("init", "--unit", unit).code == 0
        assert r("keys", "request", "-o", f"{unit}.csr").code == 0
        assert bur("authority", "issue", f"{unit}.csr", "-o", f"{unit}.certs").code == 0
        assert r("directory", "trust", "root.pem", "--yes").code == 0
        res = r("keys", "install", f"{unit}.certs")
        assert res.code == 0, res.err
    assert bur("authority", "publish", "-o", "d1.bundle").code == 0
    for r in (a, b):
        res = r("directory", "update", "d1.bundle")
        assert res.code == 0, res.err
    (desk / "doc.txt").write_text("关于开展保密检查的通知", encoding="utf-8")
    return bur, a, b, desk


def _units(r) -> dict:
    return {u["unit"]: u for u in json.loads(r("keys", "list", "--json").out)["directory"]}


def test_certificates_pass_openssl(bureau):
    _bur, _a, _b, desk = bureau
    pem = (desk / "财政局.certs").read_text()
    blocks = pem.split("-----END CERTIFICATE-----")
    for i, block in enumerate(blocks[:2]):
        (desk / f"c{i}.pem").write_text(block.strip() + "\n-----END CERTIFICATE-----\n")
        out = openssl("verify", "-vfyopt", "distid:1234567812345678", "-CAfile", desk / "root.pem", desk / f"c{i}.pem")
        assert b"OK" in out
        assert "财政局" in openssl("x509", "-in", desk / f"c{i}.pem", "-noout", "-text", "-nameopt", "utf8").decode()
    openssl("req", "-verify", "-vfyopt", "distid:1234567812345678", "-in", desk / "财政局.csr", "-noout")


def test_bundle_directory_trust_seal_open(bureau):
    _bur, a, b, _desk = bureau
    assert set(_units(a)) == {"市政府办公室", "财政局"}
    assert a("seal", "doc.txt", "--to", "财政局", "-o", "p.smx").code == 0
    res = b("open", "p.smx", "-o", "r", "--receipt-out", "r.receipt")
    assert res.code == 0, res.err
    assert a("receipts", "import", "r.receipt").code == 0


def test_revoked_recipient_and_rollback(bureau):
    bur, a, _b, desk = bureau
    assert bur("authority", "revoke", "财政局", "--reason", "keyCompromise").code == 0
    assert bur("authority", "publish", "-o", "d2.bundle").code == 0
    assert a("directory", "update", "d2.bundle").code == 0
    r = a("seal", "doc.txt", "--to", "财政局", "-o", "p.smx")
    assert r.code == 1 and "财政局" in r.err and "keyCompromise" in r.err
    assert not (desk / "p.smx").exists()
    before = _units(a)
    r = a("directory", "update", "d1.bundle")      # an older bundle would undo the revocation
    assert r.code == 1 and "not newer" in r.err
    assert _units(a) == before


def test_sender_revoked_before_sealing_is_refused(bureau):
    bur, a, b, _desk = bureau
    assert a("seal", "doc.txt", "--to", "财政局", "-o", "old.smx").code == 0
    time.sleep(1.1)  # package times have one-second resolution
    assert bur("authority", "revoke", "市政府办公室", "--reason", "superseded").code == 0
    assert bur("authority", "publish", "-o", "d2.bundle").code == 0
    assert b("directory", "update", "d2.bundle").code == 0
    time.sleep(1.1)
    assert a("seal", "doc.txt", "--to", "财政局", "-o", "new.smx").code == 0   # A's own machine does not know
    r = b("open", "new.smx", "-o", "n")
    assert r.code == 1 and "市政府办公室" in r.err and "superseded" in r.err
    r = b("open", "old.smx", "-o", "o", "--no-receipt")                          # sealed before: opens,
    assert r.code == 0 and "no longer valid today" in r.err                       # with a warning


def test_forged_and_foreign_bundles_refused(bureau, tmp_path, capsys):
    _bur, a, _b, desk = bureau
    data = bytearray((desk / "d1.bundle").read_bytes())
    data[len(data) // 2] ^= 1
    (desk / "forged.bundle").write_bytes(bytes(data))
    before = _units(a)
    assert a("directory", "update", "forged.bundle").code == 1
    other = Runner(tmp_path / "OTHER", capsys, desk)
    assert other("authority", "init", "--name", "某市保密局").code == 0   # same name, other key
    assert other("authority", "publish", "-o", "foreign.bundle").code == 0
    r = a("directory", "update", "foreign.bundle")
    assert r.code == 1
    assert _units(a) == before


def test_rotation(bureau):
    bur, a, b, _desk = bureau
    assert a("seal", "doc.txt", "--to", "财政局", "-o", "before.smx").code == 0
    assert b("keys", "rotate").code == 0
    assert b("keys", "request", "-o", "new.csr").code == 0
    assert bur("authority", "issue", "new.csr", "-o", "new.certs").code == 0
    assert b("keys", "install", "new.certs").code == 0
    assert bur("authority", "publish", "-o", "d2.bundle").code == 0
    assert a("directory", "update", "d2.bundle").code == 0
    assert a("seal", "doc.txt", "--to", "财政局", "-o", "after.smx").code == 0
    info_before = json.loads(b("inspect", "before.smx", "--json").out)["recipients"][0]["key_id"]
    info_after = json.loads(b("inspect", "after.smx", "--json").out)["recipients"][0]["key_id"]
    assert info_before != info_after                       # new packages use the new key
    assert b("open", "before.smx", "-o", "x", "--no-receipt").code == 0   # old key still opens old ones
    assert b("open", "after.smx", "-o", "y", "--no-receipt").code == 0
