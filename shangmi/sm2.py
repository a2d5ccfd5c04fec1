"""SM2 public-key cryptography (GB/T 32918-2016) on the curve sm2p256v1.

    k   = sm2.PrivateKey.generate()
    sig = k.sign(message)                   # DER SEQUENCE{r, s}; format="raw" gives r‖s
    k.public_key().verify(sig, message)     # None, or raises shangmi.InvalidSignature
    ct  = k.public_key().encrypt(data)      # GM/T 0009 DER; format="c1c3c2"/"c1c2c3" raw
    k.decrypt(ct)                           # raises shangmi.DecryptionError

The signer ID is explicit (``uid``), ``DEFAULT_UID`` = b"1234567812345678",
and goes into Z = SM3(ENTL‖ID‖a‖b‖xG‖yG‖xA‖yA).  Nonces come from
``secrets`` (pure backend) or OpenSSL's DRBG.  Heavy operations run through
OpenSSL libcrypto when it has SM2, else in pure Python (see ``backend``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Literal, Protocol

from . import _curve as c
from . import _keyfile as kf
from . import der
from .errors import (BackendError, DecryptionError, InvalidArgument, InvalidKey, InvalidSignature,
                     MalformedInput, UnsupportedAlgorithm)
from .sm3 import SM3, digest as sm3_digest

if TYPE_CHECKING:
    from . import _sm2_pure

DEFAULT_UID = b"1234567812345678"
CURVE_OID = kf.OID_SM2_CURVE
SignatureFormat = Literal["der", "raw"]
CiphertextFormat = Literal["der", "c1c3c2", "c1c2c3"]

_ZPREFIX = b"".join(v.to_bytes(32, "big") for v in (c.A, c.B, c.GX, c.GY))


# --- backend selection ---------------------------------------------------------------

class Backend(Protocol):
    """What an SM2 implementation provides (libcrypto through ctypes, or pure Python).

    Key handles are whatever the backend makes of a key (``Any``): they never leave it."""

    name: str
    reason: str

    def private_handle(self, d: int, pub: c.Point) -> Any: ...

    def public_handle(self, pub: c.Point) -> Any: ...

    def generate(self) -> int: ...

    def sign_digest(self, handle: Any, e: bytes) -> tuple[int, int]: ...

    def verify_digest(self, handle: Any, e: bytes, r: int, s: int) -> bool: ...

    def encrypt(self, handle: Any, m: bytes) -> tuple[int, int, bytes, bytes]: ...

    def decrypt(self, handle: Any, c1: c.Point, c3: bytes, c2: bytes) -> bytes: ...


_backend: Backend | None = None
_backend_lock = threading.Lock()


def backend() -> Backend:
    """The active backend: ``.name`` is "openssl" or "pure-python", ``.reason`` says why."""
    global _backend
    if _backend is None:
        with _backend_lock:
            if _backend is None:
                from . import _sm2_openssl, _sm2_pure
                try:
                    _backend = _sm2_openssl.load()
                except BackendError as exc:
                    _backend = _sm2_pure.PureBackend(f"pure Python because {exc}")
    return _backend


def _pure() -> "_sm2_pure.PureBackend":
    from . import _sm2_pure
    return _sm2_pure.PureBackend("requested")


# --- helpers ------------------------------------------------------------------------

def _point_bytes(pt: c.Point) -> bytes:
    return b"\x04" + pt[0].to_bytes(32, "big") + pt[1].to_bytes(32, "big")


def _decode_point(data: bytes) -> c.Point:
    data = bytes(data)
    if len(data) == 65 and data[0] == 4:
        x = int.from_bytes(data[1:33], "big")
        y = int.from_bytes(data[33:], "big")
        if not c.on_curve(x, y):
            raise InvalidKey("the point is not on the SM2 curve")
        return x, y
    if len(data) == 33 and data[0] in (2, 3):
        x = int.from_bytes(data[1:], "big")
        try:
            return x, c.decompress(x, data[0] & 1)
        except ValueError:
            raise InvalidKey("the point is not on the SM2 curve") from None
    raise InvalidKey("an SM2 public key is 65 bytes (04‖X‖Y) or 33 bytes compressed")


def _check_uid(uid: bytes) -> bytes:
    uid = bytes(uid)
    if len(uid) * 8 > 0xFFFF:
        raise InvalidArgument("the signer ID is limited to 8191 bytes")
    return uid


def decode_signature(sig: bytes, format: SignatureFormat = "der") -> tuple[int, int]:
    """(r, s) from a DER ``SEQUENCE{r, s}`` (strict) or a raw 64-byte r‖s.

    Raises ``InvalidSignature`` when malformed or when r or s is outside [1, n−1].
    """
    sig = bytes(sig)
    if format == "raw":
        if len(sig) != 64:
            raise InvalidSignature("a raw SM2 signature is 64 bytes")
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    elif format == "der":
        try:
            rd = der.Reader(sig, InvalidSignature)
            inner = rd.sub()
            rd.done()
            r, s = inner.integer(), inner.integer()
            inner.done()
        except MalformedInput:
            raise InvalidSignature("malformed signature") from None
    else:
        raise InvalidArgument("format must be 'der' or 'raw'")
    if not (0 < r < c.N and 0 < s < c.N):
        raise InvalidSignature("signature value out of range")
    return r, s


def encode_signature(r: int, s: int, format: SignatureFormat = "der") -> bytes:
    """DER ``SEQUENCE{r, s}`` or raw 64-byte r‖s."""
    if format == "raw":
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if format != "der":
        raise InvalidArgument("format must be 'der' or 'raw'")
    return der.seq(der.integer(r), der.integer(s))


def encode_ciphertext(x: int, y: int, c3: bytes, c2: bytes, format: CiphertextFormat = "der") -> bytes:
    """The SM2 ciphertext from its parts: GM/T 0009 DER, or raw C1C3C2 / C1C2C3."""
    if format == "der":
        return der.seq(der.integer(x), der.integer(y), der.octets(c3), der.octets(c2))
    c1 = _point_bytes((x, y))
    if format == "c1c3c2":
        return c1 + c3 + c2
    if format == "c1c2c3":
        return c1 + c2 + c3
    raise InvalidArgument("format must be 'der', 'c1c3c2' or 'c1c2c3'")


def decode_ciphertext(ct: bytes, format: CiphertextFormat = "der") -> tuple[c.Point, bytes, bytes]:
    """Split a ciphertext into (C1, C3, C2); C1 is checked to lie on the curve.

    Raw layouts are accepted with or without the 04 prefix of C1.
    """
    ct = bytes(ct)
    if format == "der":
        try:
            rd = der.Reader(ct, DecryptionError)
            inner = rd.sub()
            rd.done()
            x, y, c3, c2 = inner.integer(), inner.integer(), inner.octets(), inner.octets()
            inner.done()
        except MalformedInput:
            raise DecryptionError("malformed SM2 ciphertext") from None
        if len(c3) != 32:
            raise DecryptionError("malformed SM2 ciphertext")
        if not c.on_curve(x, y):
            raise DecryptionError("C1 is not on the SM2 curve")
        return (x, y), c3, c2
    if format not in ("c1c3c2", "c1c2c3"):
        raise InvalidArgument("format must be 'der', 'c1c3c2' or 'c1c2c3'")
    # Try the 04-prefixed reading first; a misread C1 is not on the curve.
    for off in ((1, 0) if ct[:1] == b"\x04" else (0,)):
        if len(ct) < off + 96:
            continue
        x = int.from_bytes(ct[off:off + 32], "big")
        y = int.from_bytes(ct[off + 32:off + 64], "big")
        if not c.on_curve(x, y):
            continue
        rest = ct[off + 64:]
        if format == "c1c3c2":
            return (x, y), rest[:32], rest[32:]
        return (x, y), rest[-32:], rest[:-32]
    raise DecryptionError("malformed SM2 ciphertext (C1 missing or not on the curve)")


# --- keys -----------------------------------------------------------------------------

class PublicKey:
    """An SM2 public key.  Immutable; compares equal by value."""

    __slots__ = ("_pt", "_handle", "_z", "__weakref__")

    def __init__(self, _point: c.Point) -> None:
        self._pt = _point
        self._handle: tuple[Backend, Any] | None = None
        self._z: dict[bytes, bytes] = {}

    # construction
    @classmethod
    def from_bytes(cls, data: bytes) -> "PublicKey":
        """From 04‖X‖Y (65 bytes) or a compressed point (33 bytes); rejects off-curve points."""
        return cls(_decode_point(data))

    @classmethod
    def from_der(cls, data: bytes) -> "PublicKey":
        return cls.from_bytes(kf.spki_decode(data))

    @classmethod
    def from_pem(cls, data: bytes | str) -> "PublicKey":
        _, body = kf.pem_decode(data, ("PUBLIC KEY",))
        return cls.from_der(body)

    # encoding
    def to_bytes(self, compressed: bool = False) -> bytes:
        """The point as 04‖X‖Y (65 bytes), or 02/03‖X (33 bytes) when ``compressed``."""
        if compressed:
            return bytes([2 | (self._pt[1] & 1)]) + self._pt[0].to_bytes(32, "big")
        return _point_bytes(self._pt)

    def to_der(self) -> bytes:
        """SubjectPublicKeyInfo DER (id-ecPublicKey, curve SM2), as OpenSSL writes it."""
        return kf.spki_encode(self.to_bytes())

    def to_pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM (``PUBLIC KEY``), as OpenSSL writes it."""
        return kf.pem_encode("PUBLIC KEY", self.to_der())

    def fingerprint(self) -> bytes:
        """SM3 of the uncompressed point (32 bytes): what units read out over the phone."""
        return sm3_digest(self.to_bytes())

    def key_id(self) -> bytes:
        """The first 16 bytes of the fingerprint: how packages and the directory name a key.

        16 bytes, so that even a deliberate collision costs about 2^64 work.
        """
        return self.fingerprint()[:16]

    @property
    def x(self) -> int:
        """The affine X coordinate."""
        return self._pt[0]

    @property
    def y(self) -> int:
        """The affine Y coordinate."""
        return self._pt[1]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other._pt == self._pt

    def __hash__(self) -> int:
        return hash(self._pt)

    def __repr__(self) -> str:
        return f"<sm2.PublicKey {self.fingerprint()[:8].hex()}>"

    # operations
    def _h(self) -> tuple[Backend, Any]:
        # The handle belongs to the backend that made it (tests switch backends).
        be = backend()
        h = self._handle
        if h is None or h[0] is not be:
            h = self._handle = (be, be.public_handle(self._pt))
        return be, h[1]

    def z(self, uid: bytes = DEFAULT_UID) -> bytes:
        """Z_A = SM3(ENTL‖ID‖a‖b‖xG‖yG‖xA‖yA)."""
        z = self._z.get(uid)
        if z is None:
            uid = _check_uid(uid)
            z = sm3_digest((len(uid) * 8).to_bytes(2, "big") + uid + _ZPREFIX
                           + self._pt[0].to_bytes(32, "big") + self._pt[1].to_bytes(32, "big"))
            if len(self._z) < 8:
                self._z[uid] = z
        return z

    def message_digest(self, message: bytes, uid: bytes = DEFAULT_UID) -> bytes:
        """e = SM3(Z‖M), the value that is actually signed."""
        h = SM3(self.z(uid))
        h.update(message)
        return h.digest()

    def verify(self, signature: bytes, message: bytes, uid: bytes = DEFAULT_UID,
               *, format: SignatureFormat = "der") -> None:
        """Return None if ``signature`` is valid, else raise ``InvalidSignature``."""
        self.verify_digest(signature, self.message_digest(message, uid), format=format)

    def verify_digest(self, signature: bytes, e: bytes, *, format: SignatureFormat = "der") -> None:
        """Verify a signature over a precomputed e = SM3(Z‖M)."""
        if len(e) != 32:
            raise InvalidArgument("e is a 32-byte SM3 digest")
        r, s = decode_signature(signature, format)
        be, h = self._h()
        if not be.verify_digest(h, e, r, s):
            raise InvalidSignature()

    def encrypt(self, plaintext: bytes, *, format: CiphertextFormat = "der") -> bytes:
        """SM2-encrypt ``plaintext``; GM/T 0009 DER unless a raw layout is asked for."""
        if format not in ("der", "c1c3c2", "c1c2c3"):
            raise InvalidArgument("format must be 'der', 'c1c3c2' or 'c1c2c3'")
        if not plaintext:
            raise InvalidArgument("SM2 cannot encrypt an empty message")
        be, h = self._h()
        x, y, c3, c2 = be.encrypt(h, bytes(plaintext))
        return encode_ciphertext(x, y, c3, c2, format)

    def __reduce__(self) -> tuple[Any, ...]:
        return (PublicKey.from_bytes, (self.to_bytes(),))


class PrivateKey:
    """An SM2 private key.  It never shows its value in a repr and cannot be pickled."""

    __slots__ = ("_d", "_pub", "_handle", "__weakref__")

    def __init__(self, _d: int, _pub: c.Point | None = None) -> None:
        if not 1 <= _d <= c.N - 2:
            raise InvalidKey("the private scalar is out of range")
        pub = c.mul_g(_d) if _pub is None else _pub
        if pub is None:
            raise InvalidKey("the private scalar is out of range")
        self._d = _d
        self._pub = PublicKey(pub)
        self._handle: tuple[Backend, Any] | None = None

    @classmethod
    def generate(cls) -> "PrivateKey":
        return cls(backend().generate())

    @classmethod
    def from_int(cls, d: int) -> "PrivateKey":
        return cls(d)

    @classmethod
    def from_der(cls, data: bytes, password: bytes | None = None) -> "PrivateKey":
        """From PKCS#8 (plain or encrypted) or SEC1 DER."""
        data = bytes(data)
        if password is not None:
            try:
                return cls._from_plain_der(kf.decrypt_pkcs8(data, password))
            except InvalidKey:
                pass  # not encrypted PKCS#8: fall through to the plain forms
        return cls._from_plain_der(data)

    @classmethod
    def _from_plain_der(cls, data: bytes) -> "PrivateKey":
        try:
            d, point = kf.pkcs8_decode(data)
        except InvalidKey:
            d, point = kf.sec1_decode(data)
        return cls._checked(d, point)

    @classmethod
    def _checked(cls, d: int, point: bytes | None) -> "PrivateKey":
        key = cls(d)
        if point is not None and _decode_point(point) != key._pub._pt:
            raise InvalidKey("the public key stored with the private key does not match it")
        return key

    @classmethod
    def from_pem(cls, data: bytes | str, password: bytes | None = None) -> "PrivateKey":
        """From PEM: ``PRIVATE KEY``, ``ENCRYPTED PRIVATE KEY``, or SEC1 ``EC PRIVATE KEY``
        (which ``openssl ec`` labels ``SM2 PRIVATE KEY``)."""
        if isinstance(password, str):
            password = password.encode()
        label, body = kf.pem_decode(data, ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY",
                                                 "SM2 PRIVATE KEY"))
        if label == "ENCRYPTED PRIVATE KEY":
            if password is None:
                from .errors import WrongPassphrase
                raise WrongPassphrase("this key file is encrypted: a passphrase is needed")
            plain = kf.decrypt_pkcs8(body, password)
            try:
                return cls._from_plain_der(plain)
            except (MalformedInput, ValueError):
                # A wrong passphrase passes the CBC padding check about once in 256 tries; the
                # strict parse of what it decrypted to is the second check (module docstring).
                from .errors import WrongPassphrase
                raise WrongPassphrase("wrong passphrase, or the key file is damaged") from None
        if label == "PRIVATE KEY":
            d, point = kf.pkcs8_decode(body)
        else:
            d, point = kf.sec1_decode(body)
        return cls._checked(d, point)

    def to_der(self, password: bytes | None = None, *, prf: str = "hmac-sm3",
               iterations: int | None = None) -> bytes:
        """PKCS#8 DER; encrypted (PBES2 + SM4-CBC) when ``password`` is given."""
        plain = kf.pkcs8_encode(self._d, self._pub.to_bytes())
        if password is None:
            return plain
        return kf.encrypt_pkcs8(plain, password, prf=prf, iterations=iterations)

    def to_pem(self, password: bytes | None = None, *, prf: str = "hmac-sm3",
               iterations: int | None = None) -> bytes:
        """PKCS#8 PEM; encrypted (PBES2, SM4-CBC) when a password is given.

        ``prf="hmac-sm3"`` writes GmSSL's form; ``prf="hmac-sha256"`` one that
        OpenSSL 3.0 reads.
        """
        if password is None:
            return kf.pem_encode("PRIVATE KEY", self.to_der())
        return kf.pem_encode("ENCRYPTED PRIVATE KEY",
                             self.to_der(password, prf=prf, iterations=iterations))

    def to_sec1_pem(self) -> bytes:
        """Unencrypted SEC1 ``EC PRIVATE KEY`` PEM (for tools that want it; handle with care)."""
        return kf.pem_encode("EC PRIVATE KEY", kf.sec1_encode(self._d, self._pub.to_bytes()))

    def public_key(self) -> PublicKey:
        """The public half of this key."""
        return self._pub

    def private_bytes(self) -> bytes:
        """The 32-byte big-endian private scalar, for moving the key onto a token
        (PKCS#11 CKA_VALUE).  It is the secret itself: never log or store it."""
        return self._d.to_bytes(32, "big")

    def _h(self) -> tuple[Backend, Any]:
        be = backend()
        h = self._handle
        if h is None or h[0] is not be:
            h = self._handle = (be, be.private_handle(self._d, self._pub._pt))
        return be, h[1]

    def sign(self, message: bytes, uid: bytes = DEFAULT_UID, *, format: SignatureFormat = "der") -> bytes:
        """Sign ``message`` under signer ID ``uid``."""
        return self.sign_digest(self._pub.message_digest(message, uid), format=format)

    def sign_digest(self, e: bytes, *, format: SignatureFormat = "der") -> bytes:
        """Sign a precomputed e = SM3(Z‖M)."""
        if len(e) != 32:
            raise InvalidArgument("e is a 32-byte SM3 digest")
        be, h = self._h()
        r, s = be.sign_digest(h, e)
        return encode_signature(r, s, format)

    def decrypt(self, ciphertext: bytes, *, format: CiphertextFormat = "der") -> bytes:
        """Decrypt; C1 must be on the curve and C3 must match (checked in constant time)."""
        c1, c3, c2 = decode_ciphertext(ciphertext, format)
        be, h = self._h()
        return be.decrypt(h, c1, c3, c2)

    def __repr__(self) -> str:
        return f"<sm2.PrivateKey for {self._pub.fingerprint()[:8].hex()}>"

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("SM2 private keys cannot be pickled")

    def __copy__(self) -> "PrivateKey":
        return self

    def __deepcopy__(self, memo: object) -> "PrivateKey":
        return self


def decrypt_with_shared_point(ciphertext: bytes, shared_x: bytes,
                              *, format: CiphertextFormat = "der") -> bytes:
    """Finish an SM2 decryption when a token computed only x2 of d·C1 (ECDH derive).

    Both roots y and p−y are tried; only the one whose C3 matches succeeds.
    Raises ``DecryptionError`` when neither does.
    """
    from ._sm2_pure import finish_decrypt

    c1, c3, c2 = decode_ciphertext(ciphertext, format)
    if len(shared_x) != 32:
        raise DecryptionError("the shared secret must be 32 bytes")
    x2 = int.from_bytes(shared_x, "big")
    try:
        y = c.decompress(x2, 0)
    except ValueError:
        raise DecryptionError() from None
    for y2 in (y, c.P - y):
        try:
            return finish_decrypt(x2, y2, c3, c2)
        except DecryptionError:
            continue
    raise DecryptionError()


# --- known-answer hooks (not public API) ------------------------------------------

def _sign_with_k(key: PrivateKey, message: bytes, k: int, uid: bytes = DEFAULT_UID) -> tuple[int, int]:
    """Sign with a fixed nonce: only for the published known-answer tests."""
    return _pure().sign_digest(key._d, key._pub.message_digest(message, uid), k=k)


def _encrypt_with_k(pub: PublicKey, message: bytes, k: int) -> tuple[int, int, bytes, bytes]:
    """Encrypt with a fixed nonce: only for the published known-answer tests."""
    return _pure().encrypt(pub._pt, message, k=k)


__all__ = ["PrivateKey", "PublicKey", "DEFAULT_UID", "CURVE_OID", "backend",
           "decode_signature", "encode_signature",
           "decrypt_with_shared_point", "encode_ciphertext", "decode_ciphertext",
           "UnsupportedAlgorithm"]
