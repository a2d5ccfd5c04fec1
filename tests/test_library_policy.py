"""Issue 16, "policy in the library": every rule the command enforces, enforced for importers
of the library alone (no CLI), on by default, with explicit opt-outs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shangmi import SenderNoLongerValid, VerificationError, sm2
from smseal import envelope
from smseal.envelope import make_receipt, open_package, verify_package, verify_receipt
from smseal.keystore import Directory
from smseal.office.ledger import Ledger
from tests.hostile import now, seal_at


class World:
    """An office (its directory) and three units with software keys."""

    def __init__(self, tmp_path):
        self.home = tmp_path / "home"
        self.dir = Directory(self.home)
        self.keys = {}
        for name in ("市政府办公室", "财政局", "审计局"):
            sign, enc = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
            self.keys[name] = (sign, enc)
            self.dir.add_unit(name, sign.public_key(), enc.public_key())
        self.tmp = tmp_path

    def sign(self, unit):
        return self.keys[unit][0]

    def enc(self, unit):
        return self.keys[unit][1]


@pytest.fixture
def world(tmp_path):
    w = World(tmp_path)
    yield w
    w.dir.close()


def test_open_package_refuses_a_backdated_package_from_a_unit_revoked_an_hour_ago(world):
    pkg = world.tmp / "p.smx"
    seal_at(now() - timedelta(hours=2), sender=world.sign("审计局"), to=world.enc("财政局").public_key(), out=pkg)
    world.dir.revoke("审计局", now() - timedelta(hours=1), "cessationOfOperation")
    with pytest.raises(SenderNoLongerValid) as exc:
        open_package(pkg, key=world.enc("财政局"), trusted=world.dir, out_dir=world.tmp / "out")
    assert exc.value.context["unit"] == "审计局"
    assert not (world.tmp / "out").exists()
    res = open_package(pkg, key=world.enc("财政局"), trusted=world.dir, out_dir=world.tmp / "out",
                       accept_before_revocation=True)
    assert res.sender == "审计局" and "revoked" in res.sender_no_longer_valid


def test_verify_package_refuses_a_backdated_package_from_an_expired_key(world):
    sign = sm2.PrivateKey.generate()
    world.dir.add_key("审计局", "sign", sign.public_key(), not_before=now() - timedelta(days=30),
                      not_after=now() - timedelta(days=1))
    pkg = world.tmp / "p.smx"
    seal_at(now() - timedelta(days=2), sender=sign, to=world.enc("财政局").public_key(), out=pkg)
    with pytest.raises(SenderNoLongerValid):
        verify_package(pkg, trusted=world.dir)
    assert verify_package(pkg, trusted=world.dir, accept_before_revocation=True).sender_no_longer_valid


def _sealed_and_opened(world):
    pkg = world.tmp / "p.smx"
    sealed = envelope.seal(envelope.Package(("a.txt", b"x")), sender=world.sign("市政府办公室"),
                           to=world.enc("财政局").public_key(), out=pkg)
    opened = open_package(pkg, key=world.enc("财政局"), trusted=world.dir, out_dir=world.tmp / "o")
    return sealed, opened


def test_verify_receipt_refuses_a_backdated_receipt_from_a_revoked_signer(world):
    pkg = world.tmp / "old.smx"
    sealed = seal_at(now() - timedelta(hours=3), sender=world.sign("市政府办公室"),
                     to=world.enc("财政局").public_key(), out=pkg)
    opened = open_package(pkg, key=world.enc("财政局"), trusted=world.dir, out_dir=world.tmp / "o")
    world.dir.revoke("财政局", now() - timedelta(hours=1), "cessationOfOperation")
    # Revoked an hour ago, 财政局 still signs a receipt dated two hours ago.
    receipt = make_receipt(opened, signer=world.sign("财政局"), when=now() - timedelta(hours=2))
    with pytest.raises(SenderNoLongerValid):
        verify_receipt(receipt, package=sealed, trusted=world.dir)
    info = verify_receipt(receipt, package=sealed, trusted=world.dir, accept_before_revocation=True)
    assert info.signer_no_longer_valid


def test_verify_receipt_wants_the_addressed_unit(world):
    sealed, opened = _sealed_and_opened(world)
    # 审计局 signs a receipt naming 财政局's key: by default the directory says whose key that is.
    forged = make_receipt(opened, signer=world.sign("审计局"))
    with pytest.raises(VerificationError, match="addressed unit"):
        verify_receipt(forged, package=sealed, trusted=world.dir)
    with pytest.raises(VerificationError, match="addressed unit"):
        verify_receipt(forged, package=sealed, trusted=[world.sign("审计局").public_key()], expect_unit="财政局")
    good = make_receipt(opened, signer=world.sign("财政局"))
    assert verify_receipt(good, package=sealed, trusted=world.dir, expect_unit="财政局").signer_unit == "财政局"


def test_verify_receipt_refuses_a_receipt_dated_before_sealing(world):
    sealed, opened = _sealed_and_opened(world)
    early = make_receipt(opened, signer=world.sign("财政局"), when=sealed.sealed_at - timedelta(hours=1))
    with pytest.raises(VerificationError, match="before the package was sealed"):
        verify_receipt(early, package=sealed, trusted=world.dir)
    info = verify_receipt(early, package=sealed, trusted=world.dir,
                          not_before=sealed.sealed_at - timedelta(days=1))
    assert info.status == "received"


def test_ledger_tells_a_replay_from_a_squatted_id(world, tmp_path):
    ledger = Ledger(tmp_path / "home")
    args = dict(sender_unit="市政府办公室", sender_key_id=b"k" * 16, title="t", doc_number=None,
                urgency="normal", due=None, out_dir="/x")
    pid = "ab" * 16
    assert ledger.seen(pid, b"1" * 32).new
    assert ledger.record_received(package_id=pid, package_digest=b"1" * 32, **args).new
    again = ledger.record_received(package_id=pid, package_digest=b"1" * 32, **args)
    assert again.repeat and again.first_opened_at
    squat = ledger.record_received(package_id=pid, package_digest=b"2" * 32, **{**args, "sender_unit": "审计局"})
    assert squat.conflict and squat.earlier[0][1] == "市政府办公室"
    assert len(ledger.received_status()) == 2
