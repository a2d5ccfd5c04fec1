"""Property tests (hypothesis): round trips, any bit flip rejected, and a differential
test that runs the OpenSSL and pure-Python SM2 backends against each other."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from shangmi import DecryptionError, InvalidSignature, InvalidTag, sm2, sm4
from tests.shangmi_backends import use

KEY = sm2.PrivateKey.generate()
PUB = KEY.public_key()
FORMATS = ["der", "c1c3c2", "c1c2c3"]


@pytest.fixture(params=["openssl", "pure-python"])
def backend_name(request):
    return request.param


def _with(name, monkeypatch):
    monkeypatch.setattr(sm2, "_backend", use(name))


@given(msg=st.binary(max_size=300), uid=st.binary(max_size=40))
def test_sign_verify_roundtrip(msg, uid):
    for fmt in ("der", "raw"):
        PUB.verify(KEY.sign(msg, uid, format=fmt), msg, uid, format=fmt)


@given(msg=st.binary(min_size=1, max_size=300), fmt=st.sampled_from(FORMATS))
def test_encrypt_decrypt_roundtrip(msg, fmt):
    assert KEY.decrypt(PUB.encrypt(msg, format=fmt), format=fmt) == msg


@given(msg=st.binary(max_size=64), bit=st.integers(min_value=0))
def test_any_signature_bit_flip_rejected(msg, bit):
    sig = bytearray(KEY.sign(msg))
    bit %= len(sig) * 8
    sig[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(InvalidSignature):
        PUB.verify(bytes(sig), msg)


@given(msg=st.binary(min_size=1, max_size=64), bit=st.integers(min_value=0), fmt=st.sampled_from(FORMATS))
def test_any_ciphertext_bit_flip_rejected(msg, bit, fmt):
    ct = bytearray(PUB.encrypt(msg, format=fmt))
    bit %= len(ct) * 8
    ct[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(DecryptionError):
        KEY.decrypt(bytes(ct), format=fmt)


@given(data=st.binary(max_size=200), aad=st.binary(max_size=40), bit=st.integers(min_value=0))
def test_sm4_gcm_roundtrip_and_bit_flip(data, aad, bit):
    key, nonce = bytes(range(16)), bytes(12)
    g = sm4.SM4GCM(key)
    ct = g.encrypt(nonce, data, aad)
    assert g.decrypt(nonce, ct, aad) == data
    bad = bytearray(ct)
    bit %= len(bad) * 8
    bad[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(InvalidTag):
        g.decrypt(nonce, bytes(bad), aad)


@given(data=st.binary(max_size=200))
def test_sm4_cbc_ctr_roundtrip(data):
    key, iv = bytes(range(16)), bytes(16)
    assert sm4.SM4CBC(key).decrypt(iv, sm4.SM4CBC(key).encrypt(iv, data)) == data
    assert sm4.SM4CTR(key).decrypt(iv, sm4.SM4CTR(key).encrypt(iv, data)) == data


@pytest.mark.parametrize("signer,verifier", [("openssl", "pure-python"), ("pure-python", "openssl")])
def test_differential_signatures(signer, verifier, monkeypatch):
    for i in range(20):
        msg = bytes([i]) * i
        _with(signer, monkeypatch)
        k = sm2.PrivateKey.generate()
        sig = k.sign(msg)
        _with(verifier, monkeypatch)
        k.public_key().verify(sig, msg)
        with pytest.raises(InvalidSignature):
            k.public_key().verify(sig, msg + b"x")


@pytest.mark.parametrize("enc,dec", [("openssl", "pure-python"), ("pure-python", "openssl")])
def test_differential_encryption(enc, dec, monkeypatch):
    for i in range(1, 20):
        msg = bytes(range(i * 7 % 256)) or b"z"
        _with(enc, monkeypatch)
        k = sm2.PrivateKey.generate()
        ct = k.public_key().encrypt(msg)
        _with(dec, monkeypatch)
        assert k.decrypt(ct) == msg


def test_signatures_are_randomised():
    assert KEY.sign(b"m") != KEY.sign(b"m")
    assert PUB.encrypt(b"m") != PUB.encrypt(b"m")
