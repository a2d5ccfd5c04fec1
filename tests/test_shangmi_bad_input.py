"""Bad input raises a typed SmsealError subclass; nothing returns None or False."""

from __future__ import annotations

import copy
import pickle

import pytest

from shangmi import (DecryptionError, InvalidKey, InvalidSignature, MalformedInput, SmsealError,
                     UnsupportedAlgorithm, WrongPassphrase, der, sm2, sm4)
from shangmi import _curve
from tests.shangmi_backends import sm2_backend  # noqa: F401  (fixture)

KEY = sm2.PrivateKey.generate()
PUB = KEY.public_key()


def test_error_hierarchy_is_rooted():
    for cls in (DecryptionError, InvalidKey, InvalidSignature, MalformedInput, UnsupportedAlgorithm,
                WrongPassphrase):
        assert issubclass(cls, SmsealError)


def test_point_off_curve_rejected():
    bad = b"\x04" + PUB.x.to_bytes(32, "big") + ((PUB.y + 1) % _curve.P).to_bytes(32, "big")
    with pytest.raises(InvalidKey):
        sm2.PublicKey.from_bytes(bad)
    x_without_point = next(x for x in range(1, 100) if not _has_root(x))
    with pytest.raises(InvalidKey):
        sm2.PublicKey.from_bytes(b"\x02" + x_without_point.to_bytes(32, "big"))
    for wrong in (b"", b"\x04", PUB.to_bytes()[:-1], PUB.to_bytes() + b"\x00", b"\x05" + PUB.to_bytes()[1:]):
        with pytest.raises(InvalidKey):
            sm2.PublicKey.from_bytes(wrong)
    # coordinates ≥ p are not reduced silently
    big = b"\x04" + (PUB.x + _curve.P).to_bytes(33, "big")[1:] + PUB.y.to_bytes(32, "big")
    if (PUB.x + _curve.P) < 1 << 256:
        with pytest.raises(InvalidKey):
            sm2.PublicKey.from_bytes(big)


def _has_root(x: int) -> bool:
    try:
        _curve.decompress(x, 0)
        return True
    except ValueError:
        return False


def test_compressed_roundtrip():
    assert sm2.PublicKey.from_bytes(PUB.to_bytes(compressed=True)) == PUB


@pytest.mark.parametrize("sig", [b"", b"\x30\x00", b"\x30\x06\x02\x01\x01\x02\x01\x01\x00",
                                 b"\x30\x07\x02\x02\x00\x01\x02\x01\x01",  # non-minimal INTEGER
                                 b"\x30\x81\x06\x02\x01\x01\x02\x01\x01",  # non-minimal length
                                 b"\x30\x06\x02\x01\xff\x02\x01\x01"])  # negative r
def test_malformed_signatures(sig, sm2_backend):
    with pytest.raises(InvalidSignature):
        PUB.verify(sig, b"m")


def test_out_of_range_signature_values(sm2_backend):
    for r, s in [(0, 1), (1, 0), (_curve.N, 1), (1, _curve.N)]:
        with pytest.raises(InvalidSignature):
            PUB.verify(der.seq(der.integer(r), der.integer(s)), b"m")
    with pytest.raises(InvalidSignature):
        PUB.verify(b"\x00" * 63, b"m", format="raw")


def test_truncated_and_altered_ciphertext(sm2_backend):
    ct = PUB.encrypt(b"file key material")
    for bad in (ct[:-1], ct[:10], b"", ct + b"\x00"):
        with pytest.raises(DecryptionError):
            KEY.decrypt(bad)
    raw = PUB.encrypt(b"file key material", format="c1c3c2")
    for bad in (raw[:-1], raw[:96], raw[:50]):
        with pytest.raises(DecryptionError):
            KEY.decrypt(bad, format="c1c3c2")


def test_ciphertext_with_c1_off_curve(sm2_backend):
    c1, c3, c2 = sm2.decode_ciphertext(PUB.encrypt(b"abc"))
    bad = sm2.encode_ciphertext(c1[0], (c1[1] + 1) % _curve.P, c3, c2)
    with pytest.raises(DecryptionError):
        KEY.decrypt(bad)


def test_wrong_key_cannot_decrypt(sm2_backend):
    with pytest.raises(DecryptionError):
        sm2.PrivateKey.generate().decrypt(PUB.encrypt(b"abc"))


def test_wrong_password():
    pem = KEY.to_pem(password=b"right", iterations=1000)
    for pw in (b"wrong", b"", b"right "):
        with pytest.raises(WrongPassphrase):
            sm2.PrivateKey.from_pem(pem, password=pw)
    with pytest.raises(WrongPassphrase):
        sm2.PrivateKey.from_pem(pem)
    assert sm2.PrivateKey.from_pem(pem, password=b"right").public_key() == PUB


def test_corrupt_key_files():
    pem = KEY.to_pem()
    lines = pem.split(b"\n")
    with pytest.raises(InvalidKey):
        sm2.PrivateKey.from_pem(b"\n".join(lines[:2] + lines[3:]))  # a line missing
    with pytest.raises(InvalidKey):
        sm2.PrivateKey.from_pem(b"not a key")
    with pytest.raises(InvalidKey):
        sm2.PrivateKey.from_der(KEY.to_der()[:-3])
    with pytest.raises(InvalidKey):
        sm2.PublicKey.from_der(PUB.to_der()[:-1])
    with pytest.raises(InvalidKey):
        sm2.PrivateKey.from_pem(PUB.to_pem())
    # A private key stored with a public key that does not belong to it
    from shangmi import _keyfile as kf
    other = sm2.PrivateKey.generate().public_key().to_bytes()
    with pytest.raises(InvalidKey):
        sm2.PrivateKey.from_der(kf.pkcs8_encode(KEY._d, other))


def test_non_sm2_keys_refused(tmp_path):
    from tests.openssl_cli import openssl

    p256 = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
    with pytest.raises(InvalidKey):
        sm2.PrivateKey.from_pem(p256)
    ed = openssl("genpkey", "-algorithm", "ED25519")
    with pytest.raises(InvalidKey):
        sm2.PrivateKey.from_pem(ed)


def test_legacy_pem_encryption_explained():
    pem = (b"-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: SM4-CBC,00\n\nAAAA\n"
           b"-----END EC PRIVATE KEY-----\n")
    with pytest.raises(UnsupportedAlgorithm):
        sm2.PrivateKey.from_pem(pem, password=b"x")


def test_sm4_cbc_padding_checked():
    key, iv = bytes(16), bytes(16)
    ct = bytearray(sm4.SM4CBC(key).encrypt(iv, b"hello"))
    ct[-1] ^= 0x55
    with pytest.raises(DecryptionError):
        sm4.SM4CBC(key).decrypt(iv, bytes(ct))
    with pytest.raises(MalformedInput):
        sm4.SM4CBC(key).decrypt(iv, b"\x00" * 15)


def test_secrets_do_not_leak():
    assert hex(KEY._d)[2:10] not in repr(KEY)
    assert str(KEY._d) not in repr(KEY)
    with pytest.raises(TypeError):
        pickle.dumps(KEY)
    assert copy.deepcopy(KEY) is KEY
    key = bytes(range(16))
    assert repr(sm4.SM4GCM(key)) == "<SM4GCM>" and key.hex() not in repr(sm4.SM4GCM(key))
    with pytest.raises(TypeError):
        pickle.dumps(sm4.SM4GCM(bytes(16)))
    assert pickle.loads(pickle.dumps(PUB)) == PUB


def test_private_scalar_range():
    for d in (0, _curve.N - 1, _curve.N, -1):
        with pytest.raises(InvalidKey):
            sm2.PrivateKey.from_int(d)
