"""Vendor profiles: mechanism numbers and encodings, checked with published SM2 vectors.

The SM2 values are the recommended-curve examples of GB/T 32918.5 / GM/T 0003.5
(tests/vectors/sm2.txt): key d, message "message digest", signer ID
1234567812345678, e = SM3(Z‖M) = F0B43E94…0D28640 and the fixed-k signature
(r, s); and the encryption example (C1, C3, C2).  The mechanism numbers are the
ones printed in the vendors' headers (see keystore/pkcs11_profiles.py).
"""

from __future__ import annotations

import threading

import PyKCS11
import pytest

from smseal.keystore import pkcs11_profiles as prof
from smseal.keystore.pkcs11 import TokenKey
from shangmi import der, sm2
from shangmi.errors import DecryptionError, InvalidKey, InvalidSignature, TokenError, UnsupportedMechanism
from tests.vectors import load

V = load("sm2.txt")
SIGN, ENC = V["sign"], V["encrypt"]
KEY = sm2.PrivateKey.from_int(int(SIGN["d"], 16))
PUB = KEY.public_key()
M = bytes.fromhex(SIGN["M"])
E = bytes.fromhex("F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640")
R, S = int(SIGN["r"], 16), int(SIGN["s"], 16)
RAW_SIG = R.to_bytes(32, "big") + S.to_bytes(32, "big")
DER_SIG = der.seq(der.integer(R), der.integer(S))


def test_mechanism_numbers():
    assert prof.SM2_EC_PARAMS == bytes.fromhex("06082a811ccf5501822d")
    assert prof.CKM_SM2 == 0x80008000 and prof.CKK_SM2_SANSEC == 0x80000004
    assert prof.CKM_SM2_KEY_PAIR_GEN == 0x80008001
    assert (prof.CKM_SM2_SIGN, prof.CKM_SM2_SIGN_NO_DER) == (0x80008104, 0x80008105)
    assert (prof.CKM_SM2_RAW, prof.CKM_SM2_CIPHER_DER) == (0x80008200, 0x80008201)
    assert (prof.CKM_ECDH1_DERIVE, prof.CKD_NULL, prof.CKK_EC) == (PyKCS11.CKM_ECDH1_DERIVE, PyKCS11.CKD_NULL,
                                                                    PyKCS11.CKK_EC)
    soft = prof.get_profile(None)
    assert soft.name == "softhsm2" and soft.ec_params == prof.SM2_EC_PARAMS and not soft.can_sign
    assert soft.decrypt_mechanism is None                      # ECDH derive
    assert prof.get_profile("Sansec").sign_mechanism == 0x80008105
    with pytest.raises(UnsupportedMechanism, match="known"):
        prof.get_profile("acme")


def test_sign_payload_is_e_of_the_standard():
    for name in ("sansec", "koal"):
        assert prof.get_profile(name).sign_payload(PUB, M) == E
    with pytest.raises(UnsupportedMechanism, match="cannot make SM2 signatures"):
        prof.get_profile("softhsm2").sign_payload(PUB, M)


def test_signature_decoding():
    sansec, koal = prof.get_profile("sansec"), prof.get_profile("koal")
    assert sansec.signature_to_der(RAW_SIG) == DER_SIG
    assert koal.signature_to_der(DER_SIG) == DER_SIG
    PUB.verify(DER_SIG, M)                                     # the vector itself verifies
    for bad in (RAW_SIG[:-1], RAW_SIG + b"\0", DER_SIG, b"\0" * 64):
        with pytest.raises(InvalidSignature):
            sansec.signature_to_der(bad)
    for bad in (RAW_SIG, DER_SIG + b"\0", DER_SIG[:-1]):
        with pytest.raises(InvalidSignature):
            koal.signature_to_der(bad)


def test_ciphertext_layouts():
    x, y = int(ENC["C1x"], 16), int(ENC["C1y"], 16)
    c3, c2 = bytes.fromhex(ENC["C3"]), bytes.fromhex(ENC["C2"])
    der_ct = sm2.encode_ciphertext(x, y, c3, c2, "der")
    assert prof.get_profile("sansec").ciphertext_for_token(der_ct) == der_ct
    assert prof.get_profile("koal").ciphertext_for_token(der_ct) == (
        b"\x04" + bytes.fromhex(ENC["C1x"] + ENC["C1y"]) + c3 + c2)
    assert sm2.PrivateKey.from_int(int(ENC["d"], 16)).decrypt(der_ct) == bytes.fromhex(ENC["M"])
    with pytest.raises(DecryptionError):
        prof.get_profile("koal").ciphertext_for_token(der_ct[:-1] + b"\x00\x00")


def test_derive_finish_with_vector():
    # x(d·C1) is x2 of the standard's example; the software finish recovers M
    d = int(ENC["d"], 16)
    x, y = int(ENC["C1x"], 16), int(ENC["C1y"], 16)
    der_ct = sm2.encode_ciphertext(x, y, bytes.fromhex(ENC["C3"]), bytes.fromhex(ENC["C2"]))
    from shangmi import _curve as c
    x2 = c.mul(d, (x, y))[0].to_bytes(32, "big")
    assert prof.finish_derive_decrypt(der_ct, x2) == bytes.fromhex(ENC["M"])
    with pytest.raises(DecryptionError):
        prof.finish_derive_decrypt(der_ct, x2[:31])


def test_ec_point_forms():
    point = PUB.to_bytes()
    assert prof.encode_ec_point(PUB) == b"\x04\x41" + point
    for form in (b"\x04\x41" + point, point, point[1:]):
        assert prof.decode_ec_point(form) == PUB
    for bad in (point[:-1], b"\x04\x41" + point[:-1] + b"\x00", PUB.to_bytes(compressed=True)):
        with pytest.raises(InvalidKey):
            prof.decode_ec_point(bad)


class _VendorSession:
    """A stand-in for a vendor token's session that answers C_Sign with the
    standard's fixed-k signature, so the plumbing (mechanism, input, output
    decoding, verification) is checked against a published value."""

    def __init__(self, answer: bytes) -> None:
        self.answer, self.calls = answer, []

    def sign(self, handle, data, mechanism):
        self.calls.append((handle, bytes(data), mechanism.to_native().mechanism))
        return list(self.answer)


class _Holder:
    def __init__(self, session) -> None:
        self.session, self.lock = session, threading.RLock()
        self.token = type("T", (), {"label": "vendor"})()

    def close(self) -> None:
        pass


@pytest.mark.parametrize("name,answer", [("sansec", RAW_SIG), ("koal", DER_SIG)])
def test_token_sign_plumbing_with_vector(name, answer):
    session = _VendorSession(answer)
    key = TokenKey(_Holder(session), 7, PUB, prof.get_profile(name))   # type: ignore[arg-type]
    assert key.sign(M) == DER_SIG
    assert session.calls == [(7, E, prof.get_profile(name).sign_mechanism)]


def test_token_signature_that_does_not_verify_is_refused():
    wrong = (R + 1).to_bytes(32, "big") + S.to_bytes(32, "big")
    key = TokenKey(_Holder(_VendorSession(wrong)), 7, PUB, prof.get_profile("sansec"))  # type: ignore[arg-type]
    with pytest.raises(TokenError, match="does not verify"):
        key.sign(M)
