"""The bureau's workflow through the ``smseal`` command: authority, requests, certificates,
directory bundles, revocation policy, rollback refusal and key rotation."""

from __future__ import annotations

import json
import time

import pytest

from tests.cli_helpers import Runner, cli_env
from tests.openssl_cli import openssl


@pytest.fixture
def bureau(tmp_path, monkeypatch, capsys):
    cli_env(monkeypatch)
    desk = tmp_path / "desk"
    desk.mkdir()
    bur, a, b = (Runner(tmp_path / h, capsys, desk) for h in ("BUR", "A", "B"))
    assert bur("authority", "init", "--name", "某市保密局").code == 0
    (desk / "root.pem").write_bytes((bur.home / "authority" / "root.pem").read_bytes())
    for r, unit in ((a, "市政府办公室"), (b, "财政局")):
        assert r("init", "--unit", unit).code == 0
        assert r("keys", "request", "-o", f"{unit}.csr").code == 0
        assert bur("authority", "issue", f"{unit}.csr", "--unit", unit, "-o", f"{unit}.certs").code == 0
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
    r = b("open", "old.smx", "-o", "o", "--no-receipt")      # sealed before, but A could be backdating:
    assert r.code == 1 and "--accept-before-revocation" in r.err   # refused unless confirmed
    r = b("open", "old.smx", "-o", "o", "--no-receipt", "--accept-before-revocation")
    assert r.code == 0 and "no longer valid today" in r.err


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
    assert bur("authority", "issue", "new.csr", "--unit", "财政局", "--rotate", "-o", "new.certs").code == 0
    assert b("keys", "install", "new.certs").code == 0
    assert bur("authority", "publish", "-o", "d2.bundle").code == 0
    assert a("directory", "update", "d2.bundle").code == 0
    assert a("seal", "doc.txt", "--to", "财政局", "-o", "after.smx").code == 0
    info_before = json.loads(b("inspect", "before.smx", "--json").out)["recipients"][0]["key_id"]
    info_after = json.loads(b("inspect", "after.smx", "--json").out)["recipients"][0]["key_id"]
    assert info_before != info_after                       # new packages use the new key
    assert b("open", "before.smx", "-o", "x", "--no-receipt").code == 0   # old key still opens old ones
    assert b("open", "after.smx", "-o", "y", "--no-receipt").code == 0


def test_conflicting_card_does_not_block_revocation(bureau):
    """A card imported earlier that claims a bundle unit's key makes that unit a conflict,
    but revocations in later bundles still reach every key the office has seen certified."""
    from smseal.keystore import Directory, make_card
    from shangmi import sm2

    bur, a, _b, desk = bureau
    # A new unit 审计局 is certified; a hostile card claiming its signing key reaches office A first.
    c_sign, c_enc = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
    from smseal.keystore.bundle import make_request
    from smseal.keystore.x509 import Name

    (desk / "c.csr").write_bytes(make_request(Name.build("审计局"), c_sign, c_enc))
    assert bur("authority", "issue", "c.csr", "--unit", "审计局", "-o", "c.certs").code == 0
    (desk / "evil.card").write_bytes(make_card("审计局(假)", c_sign, sm2.PrivateKey.generate()))
    assert a("keys", "import", "evil.card", "--yes").code == 0
    assert bur("authority", "publish", "-o", "d2.bundle").code == 0
    r = a("directory", "update", "d2.bundle")
    assert r.code == 0 and "审计局" in r.err                      # reported as a conflict
    assert bur("authority", "revoke", "审计局", "--reason", "keyCompromise").code == 0
    assert bur("authority", "publish", "-o", "d3.bundle").code == 0
    assert a("directory", "update", "d3.bundle").code == 0
    with Directory(a.home) as d:
        k = d.find(c_sign.public_key().key_id())
    assert k.revoked_at is not None                                  # the card's key is revoked too


def test_rejected_receipt_is_not_counted_as_signed(bureau):
    from smseal import envelope
    from smseal.keystore import Directory, Keystore

    _bur, a, b, desk = bureau
    assert a("seal", "doc.txt", "--to", "财政局", "-o", "p.smx").code == 0
    ks = Keystore(b.home, passphrase=lambda p: b"correct horse \xe6\xad\xa3\xe7\xa1\xae")
    with Directory(b.home) as d:
        info = envelope.inspect(desk / "p.smx")
        _kid, dec = ks.find_decrypter([r.key_id for r in info.recipients])
        res = envelope.open_package(desk / "p.smx", key=dec, trusted=d, out_dir=desk / "o")
    (desk / "no.receipt").write_bytes(envelope.make_receipt(res, signer=ks.signer("财政局"),
                                                            status="rejected").to_bytes())
    r = a("receipts", "import", "no.receipt")
    assert r.code == 0 and "REFUSED" in r.out
    (sent,) = json.loads(a("status", "--json").out)["sent"]
    assert sent["signed"] == 0 and sent["recipients"][0]["rejected"] is True


def test_existing_output_is_refused_before_the_authority_acts(bureau):
    bur, _a, _b, desk = bureau
    from smseal.keystore.bundle import make_request
    from smseal.keystore.x509 import Name
    from shangmi import sm2

    (desk / "c.csr").write_bytes(make_request(Name.build("审计局"), sm2.PrivateKey.generate(),
                                              sm2.PrivateKey.generate()))
    (desk / "taken.certs").write_text("keep")
    assert bur("authority", "issue", "c.csr", "--unit", "审计局", "-o", "taken.certs").code == 6
    r = bur("authority", "issue", "c.csr", "--unit", "审计局", "-o", "c.certs")   # nothing was issued the first time
    assert r.code == 0, r.err
    assert (desk / "taken.certs").read_text() == "keep"


def test_bureau_certified_leader_through_the_command(bureau):
    """keys leader request → authority issue-leader → publish → directory update; the approval of a
    leader named on no card is verified; openssl verifies the leader certificate."""
    bur, a, b, desk = bureau
    assert a("keys", "leader", "add", "张三").code == 0
    res = a("keys", "leader", "request", "张三", "-o", "张三.csr")
    assert res.code == 0, res.err
    res = bur("authority", "issue-leader", "张三.csr", "-o", "张三.pem", "--unit", "市政府办公室")
    assert res.code == 0, res.err
    assert bur("authority", "issue-leader", "张三.csr", "-o", "x.pem", "--unit", "财政局").code != 0
    (desk / "leader.pem").write_text((desk / "张三.pem").read_text().split("-----END CERTIFICATE-----")[0]
                                     + "-----END CERTIFICATE-----\n")
    out = openssl("verify", "-vfyopt", "distid:1234567812345678", "-CAfile", desk / "root.pem",
                  "-purpose", "any", desk / "leader.pem")
    assert b"OK" in out
    assert bur("authority", "publish", "-o", "d2.bundle").code == 0
    res = b("directory", "update", "d2.bundle")
    assert res.code == 0, res.err
    assert a("draft", "doc.txt", "--to", "财政局", "--type", "请示", "-o", "d.smd").code == 0
    assert a("approve", "d.smd", "--yes").code == 0
    with open(a.home / "config.ini", "a", encoding="utf-8") as f:
        f.write(f"\n[outbox]\nroot = {desk / 'shared'}\n")
    res = a("send", "d.smd", "--via", "outbox")
    assert res.code == 0, res.err
    (pkg,) = (desk / "shared" / "财政局" / "packages").glob("*.smx")
    res = b("open", str(pkg), "-o", "in", "--receipt-out", "in.receipt")
    assert res.code == 0, res.err
    assert "张三" in res.out and "verified" in res.out     # 签发人：张三（签名已验证）


def test_bureau_groups_through_the_command(bureau):
    """authority group add → publish → directory update: the group is listed as the bureau's and
    --cc-group expands it (the main recipient stays the only 主送)."""
    bur, a, b, _desk = bureau
    res = bur("authority", "group", "add", "各单位", "市政府办公室", "财政局")
    assert res.code == 0, res.err
    assert "各单位" in bur("authority", "group", "list").out
    assert bur("authority", "group", "add", "各街道", "不存在街道").code == 2
    assert bur("authority", "publish", "-o", "d2.bundle").code == 0
    assert b("directory", "update", "d2.bundle").code == 0
    listed = json.loads(b("directory", "group", "list", "--json").out)
    assert listed == [{"name": "各单位", "units": ["市政府办公室", "财政局"], "source": "bureau"}]
    res = b("seal", "doc.txt", "--to", "市政府办公室", "--cc-group", "各单位", "-o", "g.smx", "--json")
    assert res.code == 0, res.err
    assert [r["role"] for r in json.loads(res.out)["recipients"]] == ["to", "cc"]
