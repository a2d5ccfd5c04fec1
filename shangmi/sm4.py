"""SM4 block cipher (GB/T 32907-2016) in GCM (RFC 8998), CBC with PKCS#7 and CTR.

All modes come from pyca ``cryptography`` (OpenSSL); version 50 or later
releases the GIL during SM4, so chunks can be processed on both cores.
A cipher object holds only its key: there is no mutable "direction" state,
and every call takes its own nonce/IV.
"""

from __future__ import annotations

import hmac as _hmac

from cryptography.exceptions import InvalidTag as _CInvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import DecryptionError, InvalidArgument, InvalidTag, MalformedInput

__all__ = ["SM4GCM", "SM4CBC", "SM4CTR", "encrypt_block", "iterate_encrypt", "KEY_SIZE", "BLOCK_SIZE",
           "GCM_NONCE_SIZE", "GCM_TAG_SIZE"]

KEY_SIZE = 16
BLOCK_SIZE = 16
GCM_NONCE_SIZE = 12
GCM_TAG_SIZE = 16


def _check_key(key: bytes) -> bytes:
    key = bytes(key)
    if len(key) != KEY_SIZE:
        raise InvalidArgument("SM4 keys are 16 bytes")
    return key


class _KeyHolder:
    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = _check_key(key)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __reduce__(self) -> tuple[object, ...]:  # keys do not travel through pickle
        raise TypeError(f"{type(self).__name__} objects cannot be pickled")


class SM4GCM(_KeyHolder):
    """SM4-GCM AEAD: ``encrypt(nonce, data, aad) -> ciphertext ‖ tag``.

    The nonce is 12 bytes and must never repeat under one key; this class
    does not choose nonces for you.
    """

    __slots__ = ()

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None = None) -> bytes:
        """Ciphertext ‖ 16-byte tag; the 12-byte ``nonce`` must never repeat under one key."""
        if len(nonce) != GCM_NONCE_SIZE:
            raise InvalidArgument("SM4-GCM nonces are 12 bytes")
        enc = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        if associated_data:
            enc.authenticate_additional_data(associated_data)
        ct = enc.update(data) + enc.finalize()
        return ct + enc.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None = None) -> bytes:
        """Return the plaintext, or raise :class:`shangmi.InvalidTag`."""
        if len(nonce) != GCM_NONCE_SIZE:
            raise InvalidArgument("SM4-GCM nonces are 12 bytes")
        if len(data) < GCM_TAG_SIZE:
            raise InvalidTag()
        body, tag = data[:-GCM_TAG_SIZE], data[-GCM_TAG_SIZE:]
        dec = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        if associated_data:
            dec.authenticate_additional_data(associated_data)
        try:
            return dec.update(body) + dec.finalize()
        except _CInvalidTag:
            raise InvalidTag() from None


class SM4CBC(_KeyHolder):
    """SM4-CBC with PKCS#7 padding, checked in full on decryption.

    CBC is malleable: use it only where a signature or MAC covers the
    ciphertext (e.g. PKCS#8 key files), never alone for messages.
    """

    __slots__ = ()

    def encrypt(self, iv: bytes, data: bytes) -> bytes:
        """SM4-CBC with PKCS#7 padding under the 16-byte ``iv``."""
        if len(iv) != BLOCK_SIZE:
            raise InvalidArgument("SM4-CBC IVs are 16 bytes")
        pad = BLOCK_SIZE - len(data) % BLOCK_SIZE
        enc = Cipher(algorithms.SM4(self._key), modes.CBC(iv)).encryptor()
        return enc.update(bytes(data) + bytes([pad]) * pad) + enc.finalize()

    def decrypt(self, iv: bytes, data: bytes) -> bytes:
        """Return the unpadded plaintext, or raise :class:`shangmi.DecryptionError`."""
        if len(iv) != BLOCK_SIZE:
            raise InvalidArgument("SM4-CBC IVs are 16 bytes")
        if not data or len(data) % BLOCK_SIZE:
            raise MalformedInput("SM4-CBC ciphertext length is not a positive multiple of 16")
        dec = Cipher(algorithms.SM4(self._key), modes.CBC(iv)).decryptor()
        pt = dec.update(data) + dec.finalize()
        pad = pt[-1]
        # Check every padding byte without an early exit.
        good = 1 <= pad <= BLOCK_SIZE
        expect = bytes([pad]) * pad if good else bytes(BLOCK_SIZE)
        good &= _hmac.compare_digest(pt[-len(expect):], expect)
        if not good:
            raise DecryptionError("bad padding: wrong key or altered data")
        return pt[:-pad]


class SM4CTR(_KeyHolder):
    """SM4-CTR (16-byte initial counter block). Unauthenticated: pair it with a MAC."""

    __slots__ = ()

    def _run(self, nonce: bytes, data: bytes) -> bytes:
        """Encrypt or decrypt (the same operation) under the 16-byte initial counter block."""
        if len(nonce) != BLOCK_SIZE:
            raise InvalidArgument("SM4-CTR initial counter blocks are 16 bytes")
        c = Cipher(algorithms.SM4(self._key), modes.CTR(nonce)).encryptor()
        return c.update(data) + c.finalize()

    encrypt = _run
    decrypt = _run


def encrypt_block(key: bytes, block: bytes) -> bytes:
    """One raw SM4 block encryption (for known-answer tests)."""
    if len(block) != BLOCK_SIZE:
        raise InvalidArgument("SM4 blocks are 16 bytes")
    enc = Cipher(algorithms.SM4(_check_key(key)), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def iterate_encrypt(key: bytes, block: bytes, times: int) -> bytes:
    """Encrypt ``block`` ``times`` times under one key (the GB/T 32907 1,000,000x example)."""
    enc = Cipher(algorithms.SM4(_check_key(key)), modes.ECB()).encryptor()
    for _ in range(times):
        block = enc.update(block)
    return block


def ecb_wrap(key: bytes, data: bytes) -> bytes:
    """SM4-ECB without padding over whole blocks: only for wrapping a single random secret
    under a fresh single-use key (GM/T 0009 ``SM2EnvelopedKey``), where equal plaintext
    blocks cannot occur in a way that leaks anything."""
    if not data or len(data) % BLOCK_SIZE:
        raise InvalidArgument("SM4-ECB wraps whole 16-byte blocks")
    enc = Cipher(algorithms.SM4(_check_key(key)), modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


def ecb_unwrap(key: bytes, data: bytes) -> bytes:
    """The inverse of ``ecb_wrap``; unauthenticated: the caller checks the result
    (for a private key: that it matches the public key it came with)."""
    if not data or len(data) % BLOCK_SIZE:
        raise InvalidArgument("SM4-ECB unwraps whole 16-byte blocks")
    dec = Cipher(algorithms.SM4(_check_key(key)), modes.ECB()).decryptor()
    return dec.update(data) + dec.finalize()
