"""SM4-GCM over a batch of independent messages under one key, on the fastest backend present.

    seal_many(key, [(nonce, plaintext), ...]) -> pieces of ciphertext_0 ‖ tag_0 ‖ ciphertext_1 ‖ tag_1 ‖ …
    open_many(key, [(nonce, ciphertext ‖ tag), ...]) -> pieces of plaintext_0 ‖ plaintext_1 ‖ …

The result is a list of buffers to be written (or hashed) one after the
other, never joined: joining would copy every byte once more.  Backends:

- ``libgcrypt`` (``shangmi._gcrypt``): SM4 with AES-NI/AVX2 and GHASH
  with PCLMUL, about five times pyca's speed on x86-64; used when a libgcrypt
  ≥ 1.10.0 is installed and passes the RFC 8998 known answer;
- ``openssl``: pyca ``cryptography``'s OpenSSL, the portable fallback.

Both release the GIL, so batches can run on every core in threads, and both
give the same bytes (tests/test_shangmi_sm4_batch.py checks them against each
other both ways, against the published vectors and against the ``openssl``
command).  ``SHANGMI_GCRYPT=off`` in the environment forces the fallback.

Keys, nonces, data and AAD may be any bytes-like objects: they are taken as their
bytes (:func:`shangmi._bytes.byte_view`), so sizes count bytes, not items, and
both backends see the same input.
"""

from __future__ import annotations

import threading
from typing import Protocol, Sequence, Union

from cryptography.exceptions import InvalidTag as _CInvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ._bytes import BytesLike, byte_items, byte_view
from .errors import BackendError, InvalidArgument, InvalidTag

__all__ = ["seal_many", "open_many", "backend", "Backend", "TAG_SIZE", "NONCE_SIZE"]

TAG_SIZE = 16
NONCE_SIZE = 12
Piece = Union[bytes, bytearray]


class Backend(Protocol):
    """What a backend offers: :func:`seal_many` and :func:`open_many` for a checked key and nonces."""

    name: str
    reason: str

    def seal_many(self, key: BytesLike, items: Sequence[tuple[BytesLike, BytesLike]],
                  aad: BytesLike | None = None) -> list[Piece]:
        """See :func:`seal_many`."""
        ...

    def open_many(self, key: BytesLike, items: Sequence[tuple[BytesLike, BytesLike]],
                  aad: BytesLike | None = None) -> list[Piece]:
        """See :func:`open_many`."""
        ...


class OpenSSLBatch:
    """The fallback backend: one pyca SM4-GCM context per message."""

    name = "openssl"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def seal_many(self, key: BytesLike, items: Sequence[tuple[BytesLike, BytesLike]],
                  aad: BytesLike | None = None) -> list[Piece]:
        """See :func:`seal_many`."""
        out: list[Piece] = []
        key, aad = byte_view(key), None if aad is None else byte_view(aad)
        for nonce, pt in byte_items(items):
            enc = Cipher(algorithms.SM4(bytes(key)), modes.GCM(nonce)).encryptor()
            if aad:
                enc.authenticate_additional_data(aad)
            out += (enc.update(pt), enc.finalize(), enc.tag)
        return out

    def open_many(self, key: BytesLike, items: Sequence[tuple[BytesLike, BytesLike]],
                  aad: BytesLike | None = None) -> list[Piece]:
        """See :func:`open_many`."""
        out: list[Piece] = []
        key, aad = byte_view(key), None if aad is None else byte_view(aad)
        for i, (nonce, ct) in enumerate(byte_items(items)):
            if len(ct) < TAG_SIZE:
                raise InvalidTag("message {index} is shorter than its tag", index=str(i))
            dec = Cipher(algorithms.SM4(bytes(key)), modes.GCM(nonce, bytes(ct[-TAG_SIZE:]))).decryptor()
            if aad:
                dec.authenticate_additional_data(aad)
            try:
                out += (dec.update(memoryview(ct)[:-TAG_SIZE]), dec.finalize())
            except _CInvalidTag:
                raise InvalidTag("message {index} failed authentication", index=str(i)) from None
        return out


_backend: Backend | None = None
_lock = threading.Lock()


def backend() -> Backend:
    """The active backend: ``.name`` is "libgcrypt" or "openssl", ``.reason`` says why."""
    global _backend
    if _backend is None:
        with _lock:
            if _backend is None:
                from . import _gcrypt
                try:
                    _backend = _gcrypt.load().sm4_gcm
                except BackendError as exc:
                    _backend = OpenSSLBatch(f"pyca cryptography's OpenSSL because {exc}")
    return _backend


def _check(key: BytesLike, items: Sequence[tuple[BytesLike, BytesLike]]) -> None:
    if len(key) != 16:
        raise InvalidArgument("SM4 keys are 16 bytes")
    if any(len(nonce) != NONCE_SIZE for nonce, _ in items):
        raise InvalidArgument("SM4-GCM nonces are 12 bytes")


def seal_many(key: BytesLike, items: Sequence[tuple[BytesLike, BytesLike]],
              aad: BytesLike | None = None) -> list[Piece]:
    """Encrypt each (12-byte nonce, plaintext), with ``aad`` as every message's associated data;
    return ciphertext ‖ tag of each, in order, as pieces.

    No nonce may ever repeat under one key; this function does not choose them.
    """
    key, items = byte_view(key), byte_items(items)
    _check(key, items)
    return backend().seal_many(key, items, aad)


def open_many(key: BytesLike, items: Sequence[tuple[BytesLike, BytesLike]],
              aad: BytesLike | None = None) -> list[Piece]:
    """Decrypt each (12-byte nonce, ciphertext ‖ 16-byte tag); return the plaintexts in order, as pieces.

    Raises :class:`shangmi.InvalidTag` (``context["index"]`` = which message) if any tag fails;
    then nothing is returned.
    """
    key, items = byte_view(key), byte_items(items)
    _check(key, items)
    return backend().open_many(key, items, aad)
