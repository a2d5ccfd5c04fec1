"""Escrow and recovery (KMC): escrowed issue → lost keys → recovery → old packages open;
GM/T 0009 SM2EnvelopedKey; install onto a SoftHSM2 token; the signed, chained audit log."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest

from shangmi import DecryptionError, InvalidKey, MalformedInput, sm2
from smseal.keystore import Keystore, bundle, escrow, kmc, x509
from smseal.keystore.authority import Authority
from smseal.keystore.x509 import Name
from smseal.office.certificates import install_certificates
from smseal.office.trust import Trust
from tests.cli_helpers import FAST_ENV, Runner
from tests.openssl_cli import openssl
from tests.softhsm import SoftHsm, pin_callback, softhsm, softhsm_token  # noqa: F401

UNIT = "某市财政局"


# --- the envelope ----------------------------------------------------------------------------

def test_enveloped_key_round_trip_and_structure(tmp_path):
    key, recipient = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
    der = escrow.seal_key(key, recipient.public_key())
    assert escrow.open_key(der, recipient).private_bytes() == key.private_bytes()
    assert escrow.enveloped_public_key(der) == key.public_key()
    # GM/T 0009 §7.4 as openssl's ASN.1 parser sees it: SEQUENCE { AlgorithmIdentifier (SM4-ECB),
    # SM2Cipher SEQUENCE { x, y, hash, ct }, BIT STRING (04‖X‖Y), BIT STRING (32 bytes) }
    (tmp_path / "k.der").write_bytes(der)
    text = openssl("asn1parse", "-inform", "DER", "-in", tmp_path / "k.der").decode()
    assert "1.2.156.10197.1.104.1" in text or "sm4-ecb" in text.lower()
    assert text.count("BIT STRING") == 2 and text.count("INTEGER") == 2
    assert "l=  66 prim: BIT STRING" in text and "l=  33 prim: BIT STRING" in text


def test_enveloped_key_refusals():
    key, recipient = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
    der = bytearray(escrow.seal_key(key, recipient.public_key()))
    with pytest.raises(DecryptionError):  # not addressed to this key
        escrow.open_key(bytes(der), sm2.PrivateKey.generate())
    tampered = bytearray(der)
    tampered[-5] ^= 1  # inside the wrapped private key: ECB gives another scalar
    with pytest.raises(InvalidKey, match="does not match"):
        escrow.open_key(bytes(tampered), recipient)
    with pytest.raises(MalformedInput):
        escrow.open_key(bytes(der) + b"\x00", recipient)


# --- the whole chain through the command ----------------------------------------------------

@pytest.fixture
def kmc_setup(tmp_path, monkeypatch, capsys):
    for k, v in FAST_ENV.items():
        monkeypatch.setenv(k, v)
    for var in ("SMSEAL_HOME", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    desk = tmp_path / "desk"
    desk.mkdir()
    bur, fin, other = (Runner(tmp_path / h, capsys, desk) for h in ("BUR", "FIN", "OTHER"))
    assert bur("authority", "init", "--name", "某市保密局").code == 0
    shutil.copy(bur.home / "authority" / "root.pem", desk / "root.pem")
    return bur, fin, other, desk, tmp_path


def test_escrow_lost_home_recover_old_package_opens(kmc_setup, monkeypatch):
    bur, fin, other, desk, tmp_path = kmc_setup
    assert fin("init", "--unit", UNIT).code == 0
    assert fin("keys", "request", "-o", "fin.csr").code == 0
    r = bur("authority", "issue", "--escrow", "fin.csr", "--unit", UNIT, "-o", "fin.certs")
    assert r.code == 0, r.err
    assert "ignored" in r.out and "escrow" in r.out
    certs = (desk / "fin.certs").read_text()
    assert certs.count("BEGIN SM2 ENVELOPED KEY") == 1 and certs.count("BEGIN CERTIFICATE") == 3
    assert fin("directory", "trust", "root.pem", "--yes").code == 0
    r = fin("keys", "install", "fin.certs")
    assert r.code == 0, r.err
    assert "1" in r.out and "escrow" in r.out
    # the other office, with keys of its own making
    assert other("init", "--unit", "某市档案局").code == 0
    assert other("keys", "request", "-o", "other.csr").code == 0
    assert bur("authority", "issue", "other.csr", "--unit", "某市档案局", "-o", "other.certs").code == 0
    assert other("directory", "trust", "root.pem", "--yes").code == 0
    assert other("keys", "install", "other.certs").code == 0
    assert bur("authority", "publish", "-o", "d1.bundle").code == 0
    for r_ in (fin, other):
        assert r_("directory", "update", "d1.bundle").code == 0
    (desk / "档案.txt").write_text("二〇二六年档案移交清单", encoding="utf-8")
    assert other("seal", "档案.txt", "--to", UNIT, "-o", "old.smx").code == 0
    assert fin("open", "old.smx", "-o", "first").code == 0

    # the unit loses its home (and with it the escrowed encryption key it held)
    shutil.rmtree(fin.home)
    new = Runner(tmp_path / "FIN2", fin.capsys, desk)
    assert new("init", "--unit", UNIT).code == 0
    assert new("keys", "request", "-o", "new.csr").code == 0
    r = bur("authority", "recover", "--unit", UNIT, "--to", "new.csr", "-o", "fin.recovery")
    assert r.code == 0, r.err
    assert (desk / "fin.recovery").read_text().count("BEGIN SM2 ENVELOPED KEY") == 2
    assert new("directory", "trust", "root.pem", "--yes").code == 0
    r = new("keys", "install", "fin.recovery")
    assert r.code == 0, r.err
    assert bur("authority", "publish", "-o", "d2.bundle").code == 0
    for r_ in (new, other):
        assert r_("directory", "update", "d2.bundle").code == 0, r_.__dict__
    r = new("open", "old.smx", "-o", "again")  # sealed to the lost key, before the loss
    assert r.code == 0, r.err
    assert (desk / "again" / "档案.txt").read_text(encoding="utf-8") == "二〇二六年档案移交清单"
    # new packages go to the new, also escrowed, key
    assert other("seal", "档案.txt", "--to", UNIT, "-o", "new.smx").code == 0
    assert new("open", "new.smx", "-o", "third").code == 0

    # the audit log: intact, then altered, removed, reordered, truncated
    log = bur.home / "authority" / "audit.log"
    r = bur("authority", "audit", "--json")
    assert r.code == 0 and json.loads(r.out)["entries"] == 2, r.out
    good = log.read_bytes()
    lines = good.splitlines(keepends=True)
    assert json.loads(lines[0])["action"] == "escrow" and json.loads(lines[1])["action"] == "recover"
    variants = {
        "altered": good.replace(UNIT.encode(), "某市审计局".encode(), 1),
        "removed": lines[1],
        "reordered": lines[1] + lines[0],
        "truncated": lines[0],
    }
    for what, data in variants.items():
        log.write_bytes(data)
        r = bur("authority", "audit")
        assert r.code == 1, (what, r.out, r.err)
        assert "altered" in r.err, (what, r.err)
    # under a Chinese locale each problem is translated too (templates from keystore/audit.py)
    from smseal.office.messages import ENGLISH_RUN
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    log.write_bytes(variants["altered"])
    r = bur("authority", "audit")
    monkeypatch.delenv("LANGUAGE")
    assert r.code == 1 and "第 1 行" in r.err and not ENGLISH_RUN.search(r.err), r.err
    log.write_bytes(good)
    assert bur("authority", "audit").code == 0


def test_recover_refuses_a_unit_never_escrowed(kmc_setup):
    bur, fin, _other, desk, _ = kmc_setup
    assert fin("init", "--unit", UNIT).code == 0
    assert fin("keys", "request", "-o", "fin.csr").code == 0
    assert bur("authority", "issue", "fin.csr", "--unit", UNIT, "-o", "fin.certs").code == 0
    r = bur("authority", "recover", "--unit", UNIT, "--to", "fin.csr", "-o", "x.recovery")
    assert r.code != 0 and not (desk / "x.recovery").exists()


# --- delivery onto a token ---------------------------------------------------------------------

def test_escrowed_key_installed_on_softhsm_token(softhsm_token: SoftHsm, tmp_path):
    auth = Authority.init(tmp_path / "auth", "某市保密局", password=b"p", iterations=1000)
    escrow_pub = escrow.create_escrow_key(auth.home, b"escrow pass", iterations=1000)
    home = tmp_path / "unit"
    with Keystore(home, passphrase=pin_callback(), kdf_iterations=1000) as ks:
        ident = ks.generate(UNIT, encryption=softhsm_token.uri())
        # SoftHSM2 cannot sign SM2, so its encryption key cannot sign a request: the request's
        # second key is a throwaway one, which the authority ignores anyway when it escrows
        request = bundle.make_request(Name.build(UNIT), ks.signer(UNIT), sm2.PrivateKey.generate())
        issued = kmc.issue_escrowed(auth, request, escrow_key=escrow_pub, unit_name=UNIT)
        Trust(home).pin(auth.root.to_pem(), replace=False)
        office = SimpleNamespace(home=home, keystore=ks, unit=UNIT)
        done = install_certificates(office, issued.file)
        assert done.delivered_keys == 1
        current = ks.get(UNIT).current("enc")
        assert current.on_token and current.public_key == issued.encryption.public_key
        assert current.generation == ident.current("enc").generation + 1
        wrapped = current.public_key.encrypt(b"sixteen byte key")
        kid, dec = ks.find_decrypter([current.key_id])
        assert dec.decrypt(wrapped) == b"sixteen byte key"
        # a substituted envelope (another key, even if addressed to the unit) is refused
        rogue = issued.file.split(b"-----BEGIN SM2 ENVELOPED KEY-----")[0] + x509.pem_encode(
            escrow.PEM_LABEL, escrow.seal_key(sm2.PrivateKey.generate(), ks.signer(UNIT).public_key()))
        with pytest.raises(InvalidKey, match="none of its certificates"):
            install_certificates(office, rogue)
        assert len(ks.get(UNIT).of_role("enc")) == 2  # nothing was added


def test_escrow_through_the_command_onto_a_softhsm_token(kmc_setup, softhsm_token: SoftHsm, monkeypatch):
    """A unit whose encryption key lives on SoftHSM2 (which cannot sign SM2) asks with
    ``keys request --escrow``; the delivered key lands on the token."""
    bur, fin, _other, desk, _ = kmc_setup
    monkeypatch.setenv("SMSEAL_PIN", softhsm_token.pin)
    assert fin("init", "--unit", UNIT, "--token", softhsm_token.uri()).code == 0
    r = fin("keys", "request", "-o", "tok.csr")
    assert r.code != 0  # the token key cannot sign its own request
    r = fin("keys", "request", "--escrow", "-o", "tok.csr")
    assert r.code == 0 and "throwaway" in r.out, r.err
    assert bur("authority", "issue", "--escrow", "tok.csr", "--unit", UNIT, "-o", "tok.certs").code == 0
    assert fin("directory", "trust", "root.pem", "--yes").code == 0
    r = fin("keys", "install", "tok.certs")
    assert r.code == 0, r.err
    with Keystore(fin.home, passphrase=pin_callback(), kdf_iterations=1000) as ks:
        enc = ks.get(UNIT).current("enc")
        assert enc.on_token and enc.generation == 2
        kid, dec = ks.find_decrypter([enc.key_id])
        assert dec.decrypt(enc.public_key.encrypt(b"k" * 16)) == b"k" * 16


def test_escrow_key_on_a_softhsm_token(kmc_setup, softhsm_token: SoftHsm, monkeypatch):
    """The bureau's escrow key made on SoftHSM2: escrow copies are encrypted to it, and recovery
    decrypts them on the token (ECDH), the key never leaving it."""
    bur, fin, _other, desk, tmp_path = kmc_setup
    monkeypatch.setenv("SMSEAL_PIN", softhsm_token.pin)
    r = bur("authority", "escrow-key", "--token", softhsm_token.uri())
    assert r.code == 0, r.err
    assert escrow.escrow_on_token(bur.home / "authority")
    assert not (bur.home / "authority" / escrow.ESCROW_KEY_FILE).exists()
    assert fin("init", "--unit", UNIT).code == 0
    assert fin("keys", "request", "-o", "fin.csr").code == 0
    assert bur("authority", "issue", "--escrow", "fin.csr", "--unit", UNIT, "-o", "fin.certs").code == 0
    new = Runner(tmp_path / "FIN2", fin.capsys, desk)
    assert new("init", "--unit", UNIT).code == 0
    assert new("keys", "request", "-o", "new.csr").code == 0
    r = bur("authority", "recover", "--unit", UNIT, "--to", "new.csr", "-o", "fin.recovery")
    assert r.code == 0, r.err
    assert new("directory", "trust", "root.pem", "--yes").code == 0
    r = new("keys", "install", "fin.recovery")
    assert r.code == 0 and "2" in r.out, r.err
    assert bur("authority", "audit").code == 0
