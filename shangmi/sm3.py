"""SM3 hash (GB/T 32905-2016) and what is built on it: HMAC-SM3, HKDF-SM3
(RFC 5869 with SM3) and the key derivation function of GB/T 32918.4-2016.

SM3 itself comes from pyca ``cryptography`` (OpenSSL); the incremental
:class:`SM3` used for large data takes libgcrypt's AVX/BMI2 SM3 instead when it
is installed (about 30 % faster here, see ``shangmi._gcrypt``).  Both release
the GIL.
"""

from __future__ import annotations

import hmac as _hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _chmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import _gcrypt
from ._bytes import byte_view
from .errors import BackendError, InvalidArgument

__all__ = ["SM3", "HMAC", "digest", "hmac", "hmac_verify", "hkdf", "kdf", "DIGEST_SIZE", "BLOCK_SIZE"]

DIGEST_SIZE = 32
BLOCK_SIZE = 64


def _new_hash() -> "hashes.Hash | _gcrypt.GcryptSM3":
    try:
        return _gcrypt.load().sm3()
    except BackendError:
        return hashes.Hash(hashes.SM3())


class SM3:
    """Incremental SM3: ``h = SM3(); h.update(b); h.digest()``.

    ``digest()`` may be called more than once and does not end the object.  Data may be any
    bytes-like object: its bytes are hashed (an ``array('I')`` of 4 items is 16 bytes; a strided
    view is hashed as the bytes it shows), the same on both backends.
    """

    digest_size = DIGEST_SIZE
    block_size = BLOCK_SIZE
    name = "sm3"

    __slots__ = ("_h",)

    def __init__(self, data: bytes = b"") -> None:
        self._h: hashes.Hash | _gcrypt.GcryptSM3 = _new_hash()
        self._h.update(byte_view(data))

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Hash more data (the bytes of any bytes-like object)."""
        self._h.update(byte_view(data))

    def copy(self) -> "SM3":
        """An independent copy of the running hash."""
        c = SM3.__new__(SM3)
        c._h = self._h.copy()
        return c

    def digest(self) -> bytes:
        """The 32-byte SM3 digest of everything so far (the object stays usable)."""
        return self._h.copy().finalize()

    def hexdigest(self) -> str:
        """``digest()`` in lower-case hex."""
        return self.digest().hex()


def digest(data: bytes) -> bytes:
    """SM3 of ``data`` (32 bytes; ``data`` is taken as its bytes, like :class:`SM3`)."""
    h = hashes.Hash(hashes.SM3())
    h.update(byte_view(data))
    return h.finalize()


class HMAC:
    """Incremental HMAC-SM3."""

    __slots__ = ("_h",)

    def __init__(self, key: bytes, data: bytes = b"") -> None:
        self._h = _chmac.HMAC(key, hashes.SM3())
        if data:
            self._h.update(data)

    def update(self, data: bytes) -> None:
        """Authenticate more data."""
        self._h.update(data)

    def digest(self) -> bytes:
        """The 32-byte HMAC-SM3 tag of everything so far."""
        return self._h.copy().finalize()

    def __repr__(self) -> str:  # never show the key
        return "<HMAC-SM3>"


def hmac(key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 of ``data`` under ``key``."""
    return HMAC(key, data).digest()


def hmac_verify(key: bytes, data: bytes, tag: bytes) -> bool:
    """Constant-time comparison of ``tag`` with HMAC-SM3(key, data)."""
    return _hmac.compare_digest(hmac(key, data), tag)


def hkdf(ikm: bytes, *, salt: bytes | None, info: bytes, length: int = 32) -> bytes:
    """HKDF (RFC 5869) with SM3."""
    return HKDF(hashes.SM3(), length, salt, info).derive(ikm)


def kdf(z: bytes, klen: int) -> bytes:
    """The KDF of GB/T 32918.4-2016 §5.4.3: SM3(Z ‖ ct) for ct = 1, 2, … (32-bit big-endian)."""
    if klen < 0:
        raise InvalidArgument("klen must be non-negative")
    out = bytearray()
    ct = 1
    while len(out) < klen:
        h = hashes.Hash(hashes.SM3())
        h.update(z)
        h.update(ct.to_bytes(4, "big"))
        out += h.finalize()
        ct += 1
    return bytes(out[:klen])
