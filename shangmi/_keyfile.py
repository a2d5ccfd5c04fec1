"""Key encodings as OpenSSL and GmSSL write them: SPKI, PKCS#8 (plain and
PBES2-encrypted), SEC1 ``EC PRIVATE KEY``, and PEM armour.

Encrypted PKCS#8 is PBES2 = PBKDF2 + SM4-CBC.  Three PBKDF2 PRFs are read:
  * HMAC-SM3 as GmSSL writes it, OID 1.2.156.10197.1.401.2 (our default);
  * HMAC-SM3 as newer OpenSSL lists it, OID 1.2.156.10197.1.401.3.1;
  * hmacWithSHA256, which is all OpenSSL 3.0 can use (``prf="hmac-sha256"``).
A wrong password is detected by the padding check and then by the strict
DER parse of the result; either raises ``WrongPassphrase``.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from . import der
from .errors import (DecryptionError, InvalidArgument, InvalidKey, MalformedInput, UnsupportedAlgorithm,
                     WrongPassphrase)
from .sm4 import SM4CBC

OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
OID_SM2_CURVE = "1.2.156.10197.1.301"
OID_PBES2 = "1.2.840.113549.1.5.13"
OID_PBKDF2 = "1.2.840.113549.1.5.12"
OID_SM4_CBC = "1.2.156.10197.1.104.2"
OID_HMAC_SHA256 = "1.2.840.113549.2.9"
OID_HMAC_SM3_GMSSL = "1.2.156.10197.1.401.2"
OID_HMAC_SM3_OPENSSL = "1.2.156.10197.1.401.3.1"

PRFS = {
    "hmac-sm3": (OID_HMAC_SM3_GMSSL, hashes.SM3),
    "hmac-sm3-openssl": (OID_HMAC_SM3_OPENSSL, hashes.SM3),
    "hmac-sha256": (OID_HMAC_SHA256, hashes.SHA256),
}
_PRF_BY_OID = {oid: h for oid, h in PRFS.values()}

# About 0.3 s on one 2026 core for each: the cost a thief pays per guess.
DEFAULT_ITERATIONS = {"hmac-sm3": 600_000, "hmac-sm3-openssl": 600_000, "hmac-sha256": 2_000_000}
MAX_ITERATIONS = 50_000_000

_PEM_RE = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)


# --- PEM ---------------------------------------------------------------------------

def pem_encode(label: str, body: bytes) -> bytes:
    b64 = base64.b64encode(body)
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return (f"-----BEGIN {label}-----\n".encode() + b"\n".join(lines)
            + f"\n-----END {label}-----\n".encode())


def pem_decode(data: bytes | str, labels: tuple[str, ...]) -> tuple[str, bytes]:
    """Return (label, DER) of the first PEM block whose label is in ``labels``."""
    if isinstance(data, str):
        data = data.encode()
    for m in _PEM_RE.finditer(data):
        label = m.group(1).decode()
        if label not in labels:
            continue
        body = m.group(2)
        if b"Proc-Type:" in body:
            raise UnsupportedAlgorithm(
                "legacy PEM encryption (Proc-Type) is not supported; "
                "convert with: openssl pkcs8 -topk8 -v2 sm4-cbc")
        try:
            return label, base64.b64decode(b"".join(body.split()), validate=True)
        except binascii.Error:
            raise InvalidKey("PEM body is not valid base64") from None
    raise InvalidKey("no PEM block labelled {labels}", labels=" or ".join(labels))


# --- public keys -------------------------------------------------------------------

def _check_alg(rd: der.Reader) -> None:
    alg = rd.sub()
    oid = alg.oid()
    if oid == OID_EC_PUBLIC_KEY:
        if alg.oid() != OID_SM2_CURVE:
            raise InvalidKey("the EC key is not on the SM2 curve")
    elif oid != OID_SM2_CURVE:
        raise InvalidKey("not an SM2 key (algorithm {oid})", oid=str(oid))
    alg.done()


def _alg_id() -> bytes:
    return der.seq(der.oid(OID_EC_PUBLIC_KEY), der.oid(OID_SM2_CURVE))


def spki_encode(point: bytes) -> bytes:
    return der.seq(_alg_id(), der.bit_string(point))


def spki_decode(data: bytes) -> bytes:
    """Return the encoded point from a SubjectPublicKeyInfo."""
    rd = der.Reader(data, InvalidKey)
    top = rd.sub()
    rd.done()
    _check_alg(top)
    point = top.bit_string()
    top.done()
    return point


# --- private keys (unencrypted) ----------------------------------------------------

def sec1_encode(d: int, point: bytes, with_params: bool = True) -> bytes:
    parts = [der.integer(1), der.octets(d.to_bytes(32, "big"))]
    if with_params:
        parts.append(der.tlv(0xA0, der.oid(OID_SM2_CURVE)))
    parts.append(der.tlv(0xA1, der.bit_string(point)))
    return der.seq(*parts)


def sec1_decode(data: bytes) -> tuple[int, bytes | None]:
    """Return (d, encoded public point or None) from an ECPrivateKey."""
    rd = der.Reader(data, InvalidKey)
    top = rd.sub()
    rd.done()
    if top.integer() != 1:
        raise InvalidKey("unsupported ECPrivateKey version")
    raw = top.octets()
    if not 1 <= len(raw) <= 32:
        raise InvalidKey("private scalar has the wrong length")
    d = int.from_bytes(raw, "big")
    point = None
    if not top.at_end() and top.peek_tag() == 0xA0:
        p = top.sub(0xA0)
        if p.oid() != OID_SM2_CURVE:
            raise InvalidKey("the EC key is not on the SM2 curve")
        p.done()
    if not top.at_end() and top.peek_tag() == 0xA1:
        p = top.sub(0xA1)
        point = p.bit_string()
        p.done()
    top.done()
    return d, point


def pkcs8_encode(d: int, point: bytes) -> bytes:
    # OpenSSL puts the curve in the AlgorithmIdentifier and omits it from SEC1.
    return der.seq(der.integer(0), _alg_id(), der.octets(sec1_encode(d, point, with_params=False)))


def pkcs8_decode(data: bytes) -> tuple[int, bytes | None]:
    rd = der.Reader(data, InvalidKey)
    top = rd.sub()
    rd.done()
    if top.integer() not in (0, 1):
        raise InvalidKey("unsupported PKCS#8 version")
    _check_alg(top)
    inner = top.octets()
    while not top.at_end():  # [0] attributes, [1] public key (PKCS#8 v2): ignored
        if top.peek_tag() not in (0xA0, 0x81, 0xA1):
            raise InvalidKey("unexpected field in PKCS#8")
        top.element()
    return sec1_decode(inner)


# --- encrypted PKCS#8 --------------------------------------------------------------

def _pbkdf2(prf: type, password: bytes, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(prf(), 16, salt, iterations).derive(password)


def encrypt_pkcs8(plain: bytes, password: bytes, *, prf: str = "hmac-sm3",
                  iterations: int | None = None) -> bytes:
    if prf not in PRFS:
        raise UnsupportedAlgorithm("unknown PRF {prf}; choose one of {prfs}", prf=repr(prf), prfs=', '.join(PRFS))
    if not password:
        raise InvalidArgument("an empty password does not protect a key")
    oid, h = PRFS[prf]
    iterations = iterations or DEFAULT_ITERATIONS[prf]
    salt = os.urandom(16)
    iv = os.urandom(16)
    key = _pbkdf2(h, password, salt, iterations)
    ct = SM4CBC(key).encrypt(iv, plain)
    # GmSSL 3 writes its HMAC-SM3 PRF as SEQUENCE{OID} and refuses a NULL parameter
    # (pbkdf2_prf_from_der insists nothing follows the OID); OpenSSL writes NULL for SHA-256.
    prf_id = der.seq(der.oid(oid)) if prf == "hmac-sm3" else der.seq(der.oid(oid), der.null())
    kdf = der.seq(der.oid(OID_PBKDF2),
                  der.seq(der.octets(salt), der.integer(iterations), der.integer(16), prf_id))
    enc = der.seq(der.oid(OID_SM4_CBC), der.octets(iv))
    alg = der.seq(der.oid(OID_PBES2), der.seq(kdf, enc))
    return der.seq(alg, der.octets(ct))


def decrypt_pkcs8(data: bytes, password: bytes) -> bytes:
    rd = der.Reader(data, InvalidKey)
    top = rd.sub()
    rd.done()
    alg = top.sub()
    if alg.oid() != OID_PBES2:
        raise UnsupportedAlgorithm("encrypted key is not PBES2; re-export it with -v2 sm4-cbc")
    params = alg.sub()
    alg.done()
    kdf = params.sub()
    if kdf.oid() != OID_PBKDF2:
        raise UnsupportedAlgorithm("encrypted key does not use PBKDF2")
    kp = kdf.sub()
    kdf.done()
    salt = kp.octets()
    iterations = kp.integer()
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise InvalidKey("PBKDF2 iteration count out of range")
    keylen = 16
    prf: type[hashes.HashAlgorithm] = hashes.SHA1
    if not kp.at_end() and kp.peek_tag() == der.INTEGER:
        keylen = kp.integer()
    if not kp.at_end():
        p = kp.sub()
        poid = p.oid()
        if not p.at_end():
            p.null()
        p.done()
        if poid not in _PRF_BY_OID:
            raise UnsupportedAlgorithm("unsupported PBKDF2 PRF {poid}", poid=str(poid))
        prf = _PRF_BY_OID[poid]  # type: ignore[type-abstract]  # the table holds concrete classes
    kp.done()
    if prf is hashes.SHA1:
        raise UnsupportedAlgorithm("PBKDF2 with HMAC-SHA1 is not accepted; re-export with a modern PRF")
    enc = params.sub()
    params.done()
    if enc.oid() != OID_SM4_CBC:
        raise UnsupportedAlgorithm("encrypted key does not use SM4-CBC")
    iv = enc.octets()
    enc.done()
    if keylen != 16 or len(iv) != 16:
        raise InvalidKey("SM4-CBC parameters have the wrong length")
    ct = top.octets()
    top.done()
    key = _pbkdf2(prf, password, salt, iterations)
    try:
        return SM4CBC(key).decrypt(iv, ct)
    except (DecryptionError, MalformedInput):
        raise WrongPassphrase("wrong passphrase, or the key file is damaged") from None
