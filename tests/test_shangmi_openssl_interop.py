"""Interop with the ``openssl`` command line (OpenSSL ≥ 3.0), both directions:
keys, signatures (with an explicit distid), GM/T 0009 ciphertexts, encrypted PKCS#8,
SM3/HMAC/HKDF and SM4 modes.  The tests run under both SM2 backends."""

from __future__ import annotations

import os

import pytest

from shangmi import InvalidSignature, sm2, sm3, sm4
from shangmi import _curve
from tests.openssl_cli import openssl
from tests.shangmi_backends import sm2_backend  # noqa: F401  (fixture)

DISTID = "distid:1234567812345678"
MSG = "关于报送2027年工作安排的通知".encode() * 7


@pytest.fixture(scope="module")
def ossl_key(tmp_path_factory):
    d = tmp_path_factory.mktemp("ossl")
    openssl("genpkey", "-algorithm", "SM2", "-out", d / "k.pem")
    openssl("pkey", "-in", d / "k.pem", "-pubout", "-out", d / "pub.pem")
    return d


def _leading_zero_key(which: str) -> sm2.PrivateKey:
    """A key whose X (or Y) is below 2^248, i.e. starts with a zero byte."""
    for _ in range(20000):
        k = sm2.PrivateKey.generate()
        v = k.public_key().x if which == "x" else k.public_key().y
        if v < 1 << 248:
            return k
    raise AssertionError("no key with a leading zero found")


def test_read_openssl_keys(ossl_key, sm2_backend):
    k = sm2.PrivateKey.from_pem((ossl_key / "k.pem").read_bytes())
    pub = sm2.PublicKey.from_pem((ossl_key / "pub.pem").read_bytes())
    assert k.public_key() == pub
    # SEC1 as `openssl ec` writes it (labelled "SM2 PRIVATE KEY")
    sec1 = openssl("ec", "-in", ossl_key / "k.pem")
    assert sm2.PrivateKey.from_pem(sec1).public_key() == pub


@pytest.mark.parametrize("which", ["x", "y", "none"])
def test_openssl_reads_our_keys(tmp_path, which, sm2_backend):
    k = sm2.PrivateKey.generate() if which == "none" else _leading_zero_key(which)
    (tmp_path / "k.pem").write_bytes(k.to_pem())
    pub_pem = openssl("pkey", "-in", tmp_path / "k.pem", "-pubout")
    assert sm2.PublicKey.from_pem(pub_pem) == k.public_key()
    assert pub_pem == k.public_key().to_pem()
    text = openssl("pkey", "-in", tmp_path / "k.pem", "-noout", "-text").decode()
    assert "SM2" in text
    # and signatures made with such a key verify in OpenSSL
    (tmp_path / "m").write_bytes(MSG)
    (tmp_path / "sig").write_bytes(k.sign(MSG))
    out = openssl("pkeyutl", "-verify", "-pubin", "-inkey", "/dev/stdin", "-rawin", "-in", tmp_path / "m",
                  "-sigfile", tmp_path / "sig", "-digest", "sm3", "-pkeyopt", DISTID, input=pub_pem)
    assert b"Signature Verified Successfully" in out


def test_openssl_verifies_our_signature(ossl_key, tmp_path, sm2_backend):
    k = sm2.PrivateKey.from_pem((ossl_key / "k.pem").read_bytes())
    (tmp_path / "m").write_bytes(MSG)
    (tmp_path / "sig").write_bytes(k.sign(MSG))
    openssl("dgst", "-sm3", "-verify", ossl_key / "pub.pem", "-sigopt", DISTID,
            "-signature", tmp_path / "sig", tmp_path / "m")
    # another ID must not verify
    (tmp_path / "sig2").write_bytes(k.sign(MSG, uid=b"ALICE123@YAHOO.COM"))
    with pytest.raises(AssertionError):
        openssl("dgst", "-sm3", "-verify", ossl_key / "pub.pem", "-sigopt", DISTID,
                "-signature", tmp_path / "sig2", tmp_path / "m")


def test_we_verify_openssl_signature(ossl_key, tmp_path, sm2_backend):
    pub = sm2.PublicKey.from_pem((ossl_key / "pub.pem").read_bytes())
    (tmp_path / "m").write_bytes(MSG)
    openssl("pkeyutl", "-sign", "-inkey", ossl_key / "k.pem", "-rawin", "-in", tmp_path / "m",
            "-digest", "sm3", "-pkeyopt", DISTID, "-out", tmp_path / "sig")
    pub.verify((tmp_path / "sig").read_bytes(), MSG)
    with pytest.raises(InvalidSignature):
        pub.verify((tmp_path / "sig").read_bytes(), MSG + b".")


def test_openssl_without_distid_uses_empty_id(ossl_key, tmp_path, sm2_backend):
    """OpenSSL 3.0 signs with an EMPTY signer ID when no distid is given; we do not."""
    pub = sm2.PublicKey.from_pem((ossl_key / "pub.pem").read_bytes())
    (tmp_path / "m").write_bytes(MSG)
    openssl("dgst", "-sm3", "-sign", ossl_key / "k.pem", "-out", tmp_path / "sig", tmp_path / "m")
    sig = (tmp_path / "sig").read_bytes()
    with pytest.raises(InvalidSignature):
        pub.verify(sig, MSG)
    pub.verify(sig, MSG, uid=b"")


def test_we_decrypt_openssl_ciphertext(ossl_key, tmp_path, sm2_backend):
    k = sm2.PrivateKey.from_pem((ossl_key / "k.pem").read_bytes())
    for n in (1, 16, 32, 100, 1000):
        pt = os.urandom(n)
        (tmp_path / "pt").write_bytes(pt)
        openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", ossl_key / "pub.pem",
                "-in", tmp_path / "pt", "-out", tmp_path / "ct")
        assert k.decrypt((tmp_path / "ct").read_bytes()) == pt


def test_openssl_decrypts_our_ciphertext(ossl_key, tmp_path, sm2_backend):
    pub = sm2.PublicKey.from_pem((ossl_key / "pub.pem").read_bytes())
    for n in (1, 16, 32, 1000):
        pt = os.urandom(n)
        (tmp_path / "ct").write_bytes(pub.encrypt(pt))
        assert openssl("pkeyutl", "-decrypt", "-inkey", ossl_key / "k.pem", "-in", tmp_path / "ct") == pt


def test_read_openssl_encrypted_pkcs8(ossl_key, tmp_path):
    enc = openssl("pkcs8", "-topk8", "-v2", "sm4-cbc", "-in", ossl_key / "k.pem", "-passout", "pass:机要室口令")
    assert b"ENCRYPTED PRIVATE KEY" in enc
    k = sm2.PrivateKey.from_pem(enc, password="机要室口令".encode())
    assert k.public_key() == sm2.PublicKey.from_pem((ossl_key / "pub.pem").read_bytes())


def test_openssl_reads_our_sha256_export(tmp_path):
    k = sm2.PrivateKey.generate()
    (tmp_path / "e.pem").write_bytes(k.to_pem(password=b"pw-123", prf="hmac-sha256", iterations=2048))
    plain = openssl("pkcs8", "-in", tmp_path / "e.pem", "-passin", "pass:pw-123")
    assert sm2.PrivateKey.from_pem(plain).public_key() == k.public_key()


def test_default_export_is_gmssl_hmac_sm3(tmp_path):
    """GmSSL 3's form: PRF AlgorithmIdentifier = SEQUENCE{OID 1.2.156.10197.1.401.2} with no
    parameters (GmSSL's pbkdf2_prf_from_der refuses anything after the OID), SM4-CBC."""
    k = sm2.PrivateKey.generate()
    pem = k.to_pem(password=b"pw", iterations=1000)
    (tmp_path / "e.pem").write_bytes(pem)
    dump = openssl("asn1parse", "-in", tmp_path / "e.pem").decode()
    assert "1.2.156.10197.1.401.2" in dump and "sm4-cbc" in dump
    prf_line = next(i for i, line in enumerate(dump.splitlines()) if "1.2.156.10197.1.401.2" in line)
    assert "NULL" not in dump.splitlines()[prf_line + 1]
    assert sm2.PrivateKey.from_pem(pem, password=b"pw").public_key() == k.public_key()


def test_sm3_hmac_hkdf_match_openssl(tmp_path):
    data = os.urandom(3000)
    (tmp_path / "d").write_bytes(data)
    assert openssl("dgst", "-sm3", "-r", tmp_path / "d").split()[0].decode() == sm3.digest(data).hex()
    out = openssl("dgst", "-sm3", "-hmac", "机要", "-r", tmp_path / "d").split()[0].decode()
    assert out == sm3.hmac("机要".encode(), data).hex()
    ikm, salt, info = os.urandom(32), os.urandom(16), b"smseal test"
    got = openssl("kdf", "-keylen", "48", "-kdfopt", "digest:SM3", "-kdfopt", f"hexkey:{ikm.hex()}",
                  "-kdfopt", f"hexsalt:{salt.hex()}", "-kdfopt", f"hexinfo:{info.hex()}", "HKDF")
    assert bytes.fromhex(got.decode().strip().replace(":", "")) == sm3.hkdf(ikm, salt=salt, info=info, length=48)


@pytest.mark.parametrize("mode", ["cbc", "ctr"])
def test_sm4_modes_match_openssl(tmp_path, mode):
    key, iv = os.urandom(16), os.urandom(16)
    for n in (0, 1, 15, 16, 17, 1000):
        pt = os.urandom(n)
        (tmp_path / "pt").write_bytes(pt)
        ours = sm4.SM4CBC(key).encrypt(iv, pt) if mode == "cbc" else sm4.SM4CTR(key).encrypt(iv, pt)
        theirs = openssl("enc", f"-sm4-{mode}", "-K", key.hex(), "-iv", iv.hex(), "-in", tmp_path / "pt")
        assert ours == theirs
        (tmp_path / "ct").write_bytes(theirs)
        back = openssl("enc", "-d", f"-sm4-{mode}", "-K", key.hex(), "-iv", iv.hex(), "-in", tmp_path / "ct")
        assert back == pt
        assert (sm4.SM4CBC(key).decrypt(iv, theirs) if mode == "cbc" else sm4.SM4CTR(key).decrypt(iv, theirs)) == pt


def test_compressed_point_matches_openssl(ossl_key):
    pub = sm2.PublicKey.from_pem((ossl_key / "pub.pem").read_bytes())
    comp = openssl("ec", "-pubin", "-in", ossl_key / "pub.pem", "-conv_form", "compressed", "-pubout", "-outform", "DER")
    assert comp[-33:] == pub.to_bytes(compressed=True)
    assert sm2.PublicKey.from_bytes(comp[-33:]) == pub
    assert _curve.on_curve(pub.x, pub.y)
