"""Review 3, H1 and M1: a key held without a certificate never outranks the bureau's certificate.

A card imported before cards proved possession (smseal-card/1, still in directories) or a key
added by hand (the library's add_unit/add_key) can
claim another unit's *public* key.  Before, such a claim made the bureau's unit "conflict":
the unit was rolled back with the untrusting of its uncertified keys, so a forger's card
under the unit's name stayed trusted (H1), or the real unit never got into the directory
while the count said it did (M1).  docs/KEYS.md ("The bureau outranks cards") and
docs/THREATS.md say what these tests show.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shangmi import RevokedKey, sm2
from smseal import envelope
from smseal.keystore import Directory
from smseal.keystore.authority import Authority
from smseal.keystore.bundle import make_request, verify_bundle
from smseal.keystore.x509 import Name, utcnow
from tests.test_hardening_trust import FINANCE, Unit, desk, office_enc_key  # noqa: F401 - fixture

DISTRICT = "某区局"


def test_forged_card_claiming_the_real_signing_key_as_its_encryption_key_does_not_survive_the_bundle(desk):
    office, ca, d = desk
    real, forger = Unit(FINANCE), Unit(FINANCE)
    ca.issue(real.request(), unit_name=FINANCE)
    # the forger's keys under the unit's name: its own signing key, and as "encryption key" the
    # real unit's signing key (public, in its certificate) -- what an old-format card can carry
    with Directory(office.home) as directory:
        directory.add_unit(FINANCE, forger.sign.public_key(), real.sign.public_key(), source="card")
    (d / "d.bundle").write_bytes(ca.publish())
    res = office("directory", "update", "d.bundle")
    assert res.code == 0, res.err
    assert "not added" not in res.err
    with Directory(office.home) as directory:
        for when in (utcnow() - timedelta(days=365), utcnow()):
            with pytest.raises(RevokedKey):
                directory.check_sender(forger.sign.public_key(), when)
        assert directory.check_sender(real.sign.public_key(), utcnow()) == FINANCE
        assert directory.encryption_key(FINANCE) == real.enc.public_key()
    office_key = office_enc_key(office)
    envelope.seal(envelope.Package(("x.txt", b"forged")), sender=forger.sign, to=office_key, out=d / "forged.smx")
    res = office("open", "forged.smx", "-o", "out", "--no-receipt")
    assert res.code != 0 and not (d / "out").exists()
    envelope.seal(envelope.Package(("x.txt", b"real")), sender=real.sign, to=office_key, out=d / "real.smx")
    assert office("open", "real.smx", "-o", "out", "--no-receipt").code == 0


def _bureau(tmp_path):
    ca = Authority.init(tmp_path / "ca", "某市保密局", signer=sm2.PrivateKey.generate())
    v_s, v_e = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
    ca.issue(make_request(Name.build(FINANCE), v_s, v_e), unit_name=FINANCE)
    return ca, v_s, v_e


def test_hostile_card_claiming_a_units_encryption_key_cannot_keep_it_out_of_the_bundle(tmp_path):
    ca, v_s, v_e = _bureau(tmp_path)
    m_s = sm2.PrivateKey.generate()
    with Directory(path=tmp_path / "d.sqlite") as d:
        d.add_unit(DISTRICT, m_s.public_key(), v_e.public_key(), source="card")   # claims 财政局's key
        applied = d.apply_bundle(verify_bundle(ca.publish(), ca.root))
        assert applied.conflicts == () and applied.units == 1
        assert d.encryption_key(FINANCE) == v_e.public_key()
        assert d.check_sender(v_s.public_key(), utcnow()) == FINANCE
        (claim,) = [k for k in applied.untrusted if k.unit == DISTRICT]
        assert (claim.role, claim.key_id, claim.certified_as, claim.certified_role) == \
            ("enc", v_e.public_key().key_id(), FINANCE, "enc")
        assert [k.role for k in d.get(DISTRICT).keys] == ["sign"]     # its claim is gone
        # and a later bundle changes nothing more
        again = d.apply_bundle(verify_bundle(ca.publish(), ca.root, installed_version=1))
        assert again.units == 0 and again.conflicts == () and again.untrusted == ()


def test_a_unit_skipped_for_a_certificate_conflict_is_not_counted_and_its_card_keys_are_untrusted(tmp_path):
    ca, v_s, v_e = _bureau(tmp_path)
    enc_cert = verify_bundle(ca.publish(), ca.root).units[0].encryption[0].der
    forger = sm2.PrivateKey.generate()
    with Directory(path=tmp_path / "d.sqlite") as d:
        # a certified holder of the key elsewhere: a real conflict between certificates
        d.add_unit(DISTRICT, sm2.PrivateKey.generate().public_key(), v_e.public_key(),
                   enc_certificate=enc_cert, source="manual")
        applied = d.apply_bundle(verify_bundle(ca.publish(), ca.root))
        assert applied.units == 0 and len(applied.conflicts) == 1
        assert [u.name for u in d.list()] == [DISTRICT]
    with Directory(path=tmp_path / "e.sqlite") as d:
        d.add_unit(DISTRICT, sm2.PrivateKey.generate().public_key(), v_e.public_key(),
                   enc_certificate=enc_cert, source="manual")
        d.add_unit(FINANCE, forger.public_key(), sm2.PrivateKey.generate().public_key(), source="card")
        applied = d.apply_bundle(verify_bundle(ca.publish(), ca.root))
        assert len(applied.conflicts) == 1 and (applied.units, applied.keys, applied.certified) == (0, 0, 0)
        # the conflict did not keep the forger's card trusted under the unit's name
        with pytest.raises(RevokedKey):
            d.check_sender(forger.public_key(), utcnow() - timedelta(days=30))
