"""Published known answers: GB/T 32905 (SM3), GB/T 32907 (SM4), RFC 8998 (SM4-GCM),
GB/T 32918.5 recommended-curve SM2 examples.  Each file in tests/vectors names its source."""

from __future__ import annotations

import pytest

from shangmi import InvalidSignature, InvalidTag, sm2, sm3, sm4
from tests.shangmi_backends import sm2_backend  # noqa: F401  (fixture)
from tests.vectors import hx, load


@pytest.mark.parametrize("name,v", load("sm3.txt").items())
def test_sm3(name, v):
    msg = hx(v["Msg"])
    assert len(msg) == int(v["Len"])
    assert sm3.digest(msg) == hx(v["MD"])
    h = sm3.SM3()
    for i in range(len(msg)):  # byte by byte through the incremental API
        h.update(msg[i:i + 1])
    assert h.digest() == hx(v["MD"])


@pytest.mark.parametrize("name,v", load("sm4.txt").items())
def test_sm4_block(name, v):
    key, pt = hx(v["Key"]), hx(v["Plaintext"])
    n = int(v["Iterations"])
    assert sm4.iterate_encrypt(key, pt, n) == hx(v["Ciphertext"])
    if n == 1:
        assert sm4.encrypt_block(key, pt) == hx(v["Ciphertext"])


@pytest.mark.parametrize("name,v", load("sm4-gcm.txt").items())
def test_sm4_gcm(name, v):
    g = sm4.SM4GCM(hx(v["Key"]))
    out = g.encrypt(hx(v["IV"]), hx(v["Plaintext"]), hx(v["AAD"]))
    assert out == hx(v["Ciphertext"]) + hx(v["Tag"])
    assert g.decrypt(hx(v["IV"]), out, hx(v["AAD"])) == hx(v["Plaintext"])
    bad = bytearray(out)
    bad[-1] ^= 1
    with pytest.raises(InvalidTag):
        g.decrypt(hx(v["IV"]), bytes(bad), hx(v["AAD"]))
    with pytest.raises(InvalidTag):
        g.decrypt(hx(v["IV"]), out, hx(v["AAD"])[:-1])


SM2 = load("sm2.txt")


def _key(v) -> sm2.PrivateKey:
    return sm2.PrivateKey.from_int(int(v["d"], 16))


def test_sm2_public_key_and_z():
    v = SM2["sign"]
    pub = _key(v).public_key()
    assert (pub.x, pub.y) == (int(v["xA"], 16), int(v["yA"], 16))
    assert pub.z(hx(v["ID"])) == hx(v["ZA"])
    assert sm2.DEFAULT_UID == hx(v["ID"])


def test_sm2_sign_fixed_k():
    v = SM2["sign"]
    r, s = sm2._sign_with_k(_key(v), hx(v["M"]), int(v["k"], 16), uid=hx(v["ID"]))
    assert (r, s) == (int(v["r"], 16), int(v["s"], 16))


def test_sm2_verify_published_signature(sm2_backend):
    v = SM2["sign"]
    pub = _key(v).public_key()
    raw = hx(v["r"]) + hx(v["s"])
    pub.verify(raw, hx(v["M"]), uid=hx(v["ID"]), format="raw")
    der = sm2.encode_signature(int(v["r"], 16), int(v["s"], 16))
    pub.verify(der, hx(v["M"]), uid=hx(v["ID"]))
    with pytest.raises(InvalidSignature):
        pub.verify(der, hx(v["M"]) + b"!", uid=hx(v["ID"]))


def test_sm2_encrypt_fixed_k():
    v = SM2["encrypt"]
    x, y, c3, c2 = sm2._encrypt_with_k(_key(v).public_key(), hx(v["M"]), int(v["k"], 16))
    assert x == int(v["C1x"], 16) and y == int(v["C1y"], 16)
    assert (c3, c2) == (hx(v["C3"]), hx(v["C2"]))


@pytest.mark.parametrize("fmt,prefix", [("der", True), ("c1c3c2", True), ("c1c3c2", False),
                                        ("c1c2c3", True), ("c1c2c3", False)])
def test_sm2_decrypt_published_ciphertext(sm2_backend, fmt, prefix):
    v = SM2["encrypt"]
    ct = sm2.encode_ciphertext(int(v["C1x"], 16), int(v["C1y"], 16), hx(v["C3"]), hx(v["C2"]), fmt)
    if not prefix:
        ct = ct[1:]  # C1x of this vector itself starts with 04: the reader must not be fooled
    assert _key(v).decrypt(ct, format=fmt) == hx(v["M"])
