"""Vendor profiles: every PKCS#11 mechanism number and encoding smseal uses, in one table.

SM2 is not in the PKCS#11 standard (up to v3.1), so each vendor picked its own
numbers in the vendor-defined range and its own input/output encodings.  A
profile says, for one family of tokens:

* how an SM2 key pair is made: key type, key-generation mechanism, and the
  ``CKA_EC_PARAMS`` (DER of OID 1.2.156.10197.1.301) when the key type is CKK_EC;
* how it signs: the mechanism, whether the token is given e = SM3(Z‖M)
  (``sign_input="digest"``; smseal computes Z with the default signer ID
  1234567812345678) and whether it returns raw r‖s or DER;
* how it decrypts: a vendor SM2 decryption mechanism with the ciphertext layout
  it expects, or ``None`` meaning CKM_ECDH1_DERIVE (CKD_NULL) on C1, after which
  ``shangmi.sm2.decrypt_with_shared_point`` finishes the job in software.

Where the numbers come from, and how sure we are (``status``):

``softhsm2`` / ``ec-derive``  standard CKK_EC + CKM_EC_KEY_PAIR_GEN + CKM_ECDH1_DERIVE.
    Tested here against SoftHSM2 2.6.  No signing: SoftHSM2 (and any token
    that only knows ECDSA) cannot make an SM2 signature; ECDSA on the SM2 curve
    is *not* SM2 and is never used as a stand-in.
``sansec``  三未信安 ``swpkcs11.h``: CKM_SM2 = CKM_VENDOR_DEFINED + 0x8000,
    CKK_SM2 = CKK_VENDOR_DEFINED + 4, CKM_SM2_KEY_PAIR_GEN = CKM_SM2 + 1,
    CKM_SM2_SIGN_NO_DER = CKM_SM2 + 0x105 ("SM2 signature without SM3 digest",
    raw r‖s), CKM_SM2_CIPHER_DER = CKM_SM2 + 0x201 (GM/T 0009 DER ciphertext).
``koal``  格尔 KOAL HSM interface definition: the same CKK_SM2 and CKM_SM2 base;
    TCKM_SM2_SIGN = CKM_SM2 + 0x104 (over the digest, DER r,s as used by
    ChainMaker's HSM code), TCKM_SM2_RAW = CKM_SM2 + 0x200 (C1‖C3‖C2 assumed).
The vendor rows are read from the vendors' published headers and have NOT been
run against the hardware here; the ``assumptions`` text says what is inferred.
Live tests (tests/test_keystore_vendor.py) run them when SMSEAL_TEST_PKCS11_MODULE
names a real module, and every token signature is verified in software before
it is returned, so a wrong row fails loudly instead of producing bad packages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shangmi import der, sm2
from shangmi.errors import DecryptionError, InvalidKey, InvalidSignature, UnsupportedMechanism

# --- standard numbers (PKCS#11 v2.40) -------------------------------------------------
CKK_EC = 0x00000003
CKM_EC_KEY_PAIR_GEN = 0x00001040
CKM_ECDH1_DERIVE = 0x00001050
CKD_NULL = 0x00000001
CKM_VENDOR_DEFINED = 0x80000000
CKK_VENDOR_DEFINED = 0x80000000

# --- vendor numbers ---------------------------------------------------------------------
CKM_SM2 = CKM_VENDOR_DEFINED + 0x8000            # swpkcs11.h, KOAL: base of the SM2 family
CKK_SM2_SANSEC = CKK_VENDOR_DEFINED + 4          # swpkcs11.h CKK_SM2, KOAL TCKK_SM2
CKM_SM2_KEY_PAIR_GEN = CKM_SM2 + 0x0001
CKM_SM2_SIGN = CKM_SM2 + 0x0104                  # sign e, DER output
CKM_SM2_SIGN_NO_DER = CKM_SM2 + 0x0105           # sign e, raw r||s output
CKM_SM2_RAW = CKM_SM2 + 0x0200                   # decrypt, raw ciphertext
CKM_SM2_CIPHER_DER = CKM_SM2 + 0x0201            # decrypt, GM/T 0009 DER ciphertext

SM2_EC_PARAMS = bytes.fromhex("06082a811ccf5501822d")   # DER OID 1.2.156.10197.1.301
assert SM2_EC_PARAMS == der.oid(sm2.CURVE_OID)

SignInput = Literal["digest"]
SignatureEncoding = Literal["raw", "der"]
CiphertextEncoding = Literal["der", "c1c3c2", "c1c2c3"]


@dataclass(frozen=True)
class VendorProfile:
    name: str
    description: str
    key_type: int
    keygen_mechanism: int
    ec_params: bytes | None               # CKA_EC_PARAMS on generation/import (CKK_EC keys)
    sign_mechanism: int | None            # None: this token cannot make SM2 signatures
    signature_encoding: SignatureEncoding
    decrypt_mechanism: int | None         # None: ECDH1_DERIVE on C1
    ciphertext_encoding: CiphertextEncoding
    status: str                           # "tested" or "from vendor header, untested"
    assumptions: str = ""
    sign_input: SignInput = "digest"

    @property
    def can_sign(self) -> bool:
        return self.sign_mechanism is not None

    # -- encodings, pure functions so they can be tested with vectors ---------------
    def sign_payload(self, public_key: sm2.PublicKey, message: bytes,
                     uid: bytes = sm2.DEFAULT_UID) -> bytes:
        """What is passed to C_Sign: e = SM3(Z‖M) for ``sign_input="digest"``."""
        self.require_sign()
        return public_key.message_digest(message, uid)

    def signature_to_der(self, token_output: bytes) -> bytes:
        """The token's signature in smseal's form, DER SEQUENCE{r, s}; strict."""
        fmt: Literal["raw", "der"] = "raw" if self.signature_encoding == "raw" else "der"
        try:
            r, s = sm2.decode_signature(token_output, fmt)
        except InvalidSignature as exc:
            raise InvalidSignature("the token returned a bad signature ({exc})", exc=str(exc)) from None
        return sm2.encode_signature(r, s)

    def ciphertext_for_token(self, ciphertext_der: bytes) -> bytes:
        """Re-encode a GM/T 0009 DER ciphertext in the layout the token's mechanism reads."""
        c1, c3, c2 = sm2.decode_ciphertext(ciphertext_der, "der")
        return sm2.encode_ciphertext(c1[0], c1[1], c3, c2, self.ciphertext_encoding)

    def require_sign(self) -> int:
        if self.sign_mechanism is None:
            raise UnsupportedMechanism("PKCS#11 profile {name} has no SM2 signing mechanism: this token cannot make "
                                       "SM2 signatures. Keep the signing key in a software key file (encryption key "
                                       "on the token), or use a token whose vendor profile signs.",
                                       name=repr(self.name))
        return self.sign_mechanism



_EC_DERIVE = dict(key_type=CKK_EC, keygen_mechanism=CKM_EC_KEY_PAIR_GEN, ec_params=SM2_EC_PARAMS,
                  sign_mechanism=None, signature_encoding="der", decrypt_mechanism=None,
                  ciphertext_encoding="der")

PROFILES: dict[str, VendorProfile] = {
    "softhsm2": VendorProfile(
        name="softhsm2", description="SoftHSM2 2.6 (and any token with CKK_EC keys on the SM2 curve "
        "and CKM_ECDH1_DERIVE): decrypts through ECDH derive; cannot sign SM2",
        status="tested", **_EC_DERIVE),  # type: ignore[arg-type]
    "ec-derive": VendorProfile(
        name="ec-derive", description="generic: CKK_EC on the SM2 curve with CKM_ECDH1_DERIVE; no SM2 signing",
        status="tested with SoftHSM2 2.6", **_EC_DERIVE),  # type: ignore[arg-type]
    "sansec": VendorProfile(
        name="sansec", description="三未信安 (Sansec) swpkcs11.h SM2 mechanisms",
        key_type=CKK_SM2_SANSEC, keygen_mechanism=CKM_SM2_KEY_PAIR_GEN, ec_params=None,
        sign_mechanism=CKM_SM2_SIGN_NO_DER, signature_encoding="raw",
        decrypt_mechanism=CKM_SM2_CIPHER_DER, ciphertext_encoding="der",
        status="from vendor header, untested",
        assumptions="CKM_SM2_SIGN_NO_DER signs the 32-byte e = SM3(Z||M) and returns r||s; "
                    "CKM_SM2_CIPHER_DER decrypts GM/T 0009 DER; the public point is in CKA_EC_POINT"),
    "koal": VendorProfile(
        name="koal", description="格尔 (KOAL) HSM SM2 mechanisms",
        key_type=CKK_SM2_SANSEC, keygen_mechanism=CKM_SM2_KEY_PAIR_GEN, ec_params=None,
        sign_mechanism=CKM_SM2_SIGN, signature_encoding="der",
        decrypt_mechanism=CKM_SM2_RAW, ciphertext_encoding="c1c3c2",
        status="from vendor header, untested",
        assumptions="TCKM_SM2_SIGN signs the 32-byte e and returns DER; TCKM_SM2_RAW decrypts "
                    "04||C1||C3||C2; the public point is in CKA_EC_POINT"),
}

DEFAULT_PROFILE = "softhsm2"


def get_profile(name: str | None) -> VendorProfile:
    """The profile called ``name`` (default ``softhsm2``); ``UnsupportedMechanism`` if unknown."""
    key = (name or DEFAULT_PROFILE).strip().lower()
    try:
        return PROFILES[key]
    except KeyError:
        raise UnsupportedMechanism("unknown PKCS#11 vendor profile {name}; known: {known}", name=repr(name),
                                   known=', '.join(sorted(PROFILES))) from None


def decode_ec_point(value: bytes) -> sm2.PublicKey:
    """A public key from a token's CKA_EC_POINT.

    PKCS#11 says the attribute is DER OCTET STRING(04‖X‖Y); some tokens give
    the bare 65-byte point and some vendor SM2 keys 64 bytes X‖Y.  All three
    are accepted; the point must be on the curve.
    """
    value = bytes(value)
    if len(value) == 67 and value[:2] == b"\x04\x41":
        value = value[2:]
    elif len(value) == 64:
        value = b"\x04" + value
    if len(value) != 65 or value[0] != 4:
        raise InvalidKey("the token's CKA_EC_POINT is not an uncompressed SM2 point")
    return sm2.PublicKey.from_bytes(value)


def encode_ec_point(public_key: sm2.PublicKey) -> bytes:
    """CKA_EC_POINT as PKCS#11 v2.40 writes it: DER OCTET STRING(04‖X‖Y)."""
    return der.octets(public_key.to_bytes())


def finish_derive_decrypt(ciphertext_der: bytes, shared_x: bytes) -> bytes:
    """Complete an SM2 decryption from x(d·C1) as returned by ECDH1_DERIVE/CKD_NULL."""
    if len(shared_x) != 32:
        raise DecryptionError("the token returned a shared secret of the wrong length")
    return sm2.decrypt_with_shared_point(ciphertext_der, shared_x)
