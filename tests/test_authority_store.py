"""The authority's files: key protection, state, counters, revocation targets, key reuse."""

from __future__ import annotations

import json
import stat
from datetime import timedelta

import pytest

from smseal.keystore import bundle, x509
from smseal.keystore.authority import KEY_FILE, ROOT_FILE, STATE_FILE, Authority
from smseal.keystore.x509 import Certificate, Name
from shangmi import (DuplicateEntry, KeyNotFound, KeystoreError, PolicyError, WrongPassphrase,
                     sm2)

PASSWORD = "保密局口令 correct horse".encode()
UNIT = "某市财政局"


def _request(name=UNIT, sign=None, enc=None) -> bytes:
    return bundle.make_request(Name.build(name), sign or sm2.PrivateKey.generate(),
                               enc or sm2.PrivateKey.generate())


@pytest.fixture
def home(tmp_path):
    Authority.init(tmp_path / "ca", "某市保密局", password=PASSWORD, iterations=1000)
    return tmp_path / "ca"


def test_init_writes_an_encrypted_private_key_file(home):
    for name in (KEY_FILE, STATE_FILE, ROOT_FILE):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    key_pem = (home / KEY_FILE).read_bytes()
    assert key_pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    root = bundle.load_root((home / ROOT_FILE).read_bytes())
    key = sm2.PrivateKey.from_pem(key_pem, password=PASSWORD)
    assert key.public_key() == root.public_key and root.unit_name == "某市保密局"
    for name in (STATE_FILE, ROOT_FILE):
        assert PASSWORD not in (home / name).read_bytes()
    assert not list(home.glob(".tmp-*"))


def test_open_with_the_passphrase(home):
    auth = Authority.open(home, password=PASSWORD)
    assert auth.name == "某市保密局" and "PrivateKey" not in repr(auth)
    with pytest.raises(WrongPassphrase) as exc:
        Authority.open(home, password=b"guess-7731")
    assert "guess-7731" not in str(exc.value) and PASSWORD not in str(exc.value).encode()
    with pytest.raises(ValueError):
        Authority.open(home)


def test_init_refuses_an_existing_authority(home):
    with pytest.raises(DuplicateEntry):
        Authority.init(home, "某市保密局", password=PASSWORD, iterations=1000)
    with pytest.raises(KeyNotFound, match="authority init"):
        Authority.open(home.parent / "nowhere", password=PASSWORD)


class TokenLikeSigner:
    """A key that only signs (what a PKCS#11 key object offers): nothing to export."""

    def __init__(self) -> None:
        self._key = sm2.PrivateKey.generate()
        self.calls = 0

    def sign(self, data: bytes) -> bytes:
        self.calls += 1
        return self._key.sign(data)

    def public_key(self) -> sm2.PublicKey:
        return self._key.public_key()


def test_external_signer_keeps_no_key_file(tmp_path):
    token = TokenLikeSigner()
    auth = Authority.init(tmp_path / "ca", "某市保密局", signer=token)
    assert not (tmp_path / "ca" / KEY_FILE).exists() and token.calls == 1
    again = Authority.open(tmp_path / "ca", signer=token)
    again.issue(_request(), unit_name=UNIT)
    assert token.calls == 3
    bundle.verify_bundle(again.publish(), auth.root)
    with pytest.raises(KeystoreError, match="not the key"):
        Authority.open(tmp_path / "ca", signer=TokenLikeSigner())
    with pytest.raises(ValueError):
        Authority.open(tmp_path / "ca", password=PASSWORD)


def test_a_signer_that_signs_wrongly_produces_nothing(tmp_path):
    class Broken(TokenLikeSigner):
        def sign(self, data: bytes) -> bytes:
            return self._key.sign(data + b"!")

    with pytest.raises(x509.InvalidSignature):
        Authority.init(tmp_path / "ca", "某市保密局", signer=Broken())


def test_counters_and_serials_persist(home):
    auth = Authority.open(home, password=PASSWORD)
    certs = [Certificate.from_der(d) for _ in range(3) for d in auth.issue(_request(), unit_name=UNIT, rotate=True)]
    serials = {c.serial for c in certs}
    assert len(serials) == 6
    assert all(c.serial.bit_length() == 127 for c in certs)  # 16 octets, positive
    assert bundle.verify_bundle(auth.publish(), auth.root).version == 1
    reopened = Authority.open(home, password=PASSWORD)
    assert reopened.crl().number == 2
    assert bundle.verify_bundle(reopened.publish(), auth.root).version == 2
    state = json.loads((home / STATE_FILE).read_text())
    assert state["bundle_version"] == 2 and state["crl_number"] == 3
    assert {int(e["serial"], 16) for e in state["issued"]} == serials
    assert [r.serial for r in reopened.certificates()] == [c.serial for c in certs]


def test_validity_is_capped_at_the_root(tmp_path):
    auth = Authority.init(tmp_path / "ca", "某市保密局", password=PASSWORD, iterations=1000,
                          validity_days=100)
    sign, enc = (Certificate.from_der(d) for d in auth.issue(_request(), unit_name=UNIT, validity_days=1000))
    assert sign.not_after == enc.not_after == auth.root.not_after
    with pytest.raises(PolicyError, match="expired"):
        auth.issue(_request(), unit_name=UNIT, now=x509.utcnow() + timedelta(days=101))


def test_revoke_by_unit_or_serial(home):
    auth = Authority.open(home, password=PASSWORD)
    sign, enc = (Certificate.from_der(d) for d in auth.issue(_request(), unit_name=UNIT))
    other = [Certificate.from_der(d) for d in auth.issue(_request("某县档案局"), unit_name="某县档案局")]
    colon_hex = ":".join(f"{b:02X}" for b in sign.serial.to_bytes(16, "big"))
    assert auth.revoke(colon_hex, "superseded") == [sign.serial]
    assert auth.revoke(UNIT, "cessationOfOperation") == [enc.serial]  # the rest of the unit
    with pytest.raises(KeyNotFound, match="already revoked"):
        auth.revoke(UNIT)
    with pytest.raises(KeyNotFound, match="某区政府"):
        auth.revoke("某区政府")
    with pytest.raises(KeyNotFound, match="serial"):
        auth.revoke("00ff")
    with pytest.raises(ValueError, match="keyCompromise"):
        auth.revoke(other[0].serial, "certificateHold")
    assert auth.revoke(other[1].serial, "keyCompromise") == [other[1].serial]
    crl = auth.crl()
    crl.verify_signature(auth.root)
    assert {(e.serial, e.reason) for e in crl.revoked} == {
        (sign.serial, "superseded"), (enc.serial, "cessationOfOperation"),
        (other[1].serial, "keyCompromise")}


def test_revocations_stay_on_the_crl_after_expiry(home):
    auth = Authority.open(home, password=PASSWORD)
    long_ago = x509.utcnow() - timedelta(days=800)
    sign, _ = (Certificate.from_der(d) for d in auth.issue(_request(), unit_name=UNIT, now=long_ago))
    auth.revoke(sign.serial, "keyCompromise", now=long_ago + timedelta(days=1))
    crl = auth.crl()
    assert crl.lookup(sign.serial).reason == "keyCompromise"
    with pytest.raises(x509.RevokedKey):  # a backdated package signed with the stolen key
        x509.check_certificate(sign, long_ago + timedelta(hours=1), crl)


def test_key_reuse_is_refused(home):
    auth = Authority.open(home, password=PASSWORD)
    sign, enc = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
    auth.issue(_request(UNIT, sign, enc), unit_name=UNIT)
    with pytest.raises(PolicyError, match=f"signing key of {UNIT}|sign key of {UNIT}"):
        auth.issue(_request("某县档案局", sign=sign), unit_name="某县档案局")
    with pytest.raises(PolicyError, match="one unit and one purpose"):
        auth.issue(_request(UNIT, sign=enc, enc=sign), unit_name=UNIT)
    with pytest.raises(PolicyError, match="already has a valid certificate"):
        auth.issue(_request(UNIT, sign, enc), unit_name=UNIT)
    auth.revoke(UNIT, "superseded")
    auth.issue(_request(UNIT, sign, enc), unit_name=UNIT)  # renewal of the same keys, once the old is retired
    bundle.verify_bundle(auth.publish(), auth.root)
    auth.revoke(UNIT, "keyCompromise")
    with pytest.raises(PolicyError, match="keyCompromise.*new key"):
        auth.issue(_request(UNIT, sign, sm2.PrivateKey.generate()), unit_name=UNIT)
    assert len(auth.certificates()) == 4  # refused requests left nothing behind
