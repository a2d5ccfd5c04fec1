"""An unlock handle: an identity's keys decrypted once, used many times, dropped on close.

    with keystore.unlock("赤峰市人民政府办公室") as ident:
        seal(pkg, sender=ident.signer, to=..., out=...)          # no PBKDF2 per package
        open_package(src, key=ident.decrypters, trusted=directory, out_dir=...)

What costs what: ``Keystore.signer()``, ``decrypter()`` and ``find_decrypter()`` decrypt a key
file on every call (PBKDF2-HMAC-SM3, about 0.2-0.3 s with the default iteration count, on
purpose: it is what makes a stolen key file expensive to guess).  ``unlock()`` pays that once
per key file of the identity; afterwards a signature costs about 0.7 ms and an unwrap about
1 ms.  Token keys cost a PIN login once per handle, then one token operation per use.

Threads: a handle may be shared by threads.  Software keys sign and decrypt concurrently
(each operation has its own libcrypto context); token keys are serialized by a lock per key
(a PKCS#11 session is not safe to use from two threads at once).

Processes: a handle cannot be pickled (private keys never are); unlock in each worker process
(e.g. in a ``ProcessPoolExecutor`` initializer).

Closing drops every reference the handle holds, frees libcrypto's copy of each private key
(which clears it) and closes token sessions; the key objects handed out refuse to work from
then on.  (A Python integer cannot be overwritten in place: its memory is freed, not zeroed.)
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from shangmi import sm2
from shangmi.errors import KeyNotFound, KeystoreError

from .base import IdentityInfo

if TYPE_CHECKING:
    from types import TracebackType


class _PrivateOps(Protocol):
    def sign(self, data: bytes) -> bytes: ...

    def decrypt(self, wrapped: bytes) -> bytes: ...

    def public_key(self) -> sm2.PublicKey: ...


class UnlockedKey:
    """One private key of an unlock handle: a ``Signer`` and a ``Decrypter`` until closed."""

    __slots__ = ("_key", "_public", "_lock", "role", "generation")

    def __init__(self, key: _PrivateOps, role: str, generation: int, *, serialize: bool) -> None:
        self._key: _PrivateOps | None = key
        self._public = key.public_key()
        self._lock = threading.Lock() if serialize else None
        self.role = role
        self.generation = generation

    def _live(self) -> _PrivateOps:
        key = self._key
        if key is None:
            raise KeystoreError("this unlocked key was closed", hint="unlock the identity again")
        return key

    def sign(self, data: bytes) -> bytes:
        """DER SM2 signature of ``data`` (signer ID 1234567812345678); about 0.7 ms in software."""
        if self._lock is None:
            return self._live().sign(data)
        with self._lock:
            return self._live().sign(data)

    def decrypt(self, wrapped: bytes) -> bytes:
        """Plaintext of a GM/T 0009 DER SM2 ciphertext; ``DecryptionError`` when it does not check."""
        if self._lock is None:
            return self._live().decrypt(wrapped)
        with self._lock:
            return self._live().decrypt(wrapped)

    def public_key(self) -> sm2.PublicKey:
        """The public half (available even after close)."""
        return self._public

    def close(self) -> None:
        """Forget the private key and close its token session; later use raises ``KeystoreError``."""
        key, self._key = self._key, None
        if key is None:
            return
        if isinstance(key, sm2.PrivateKey):
            _forget(key)
        else:
            closer = getattr(key, "close", None)
            if closer is not None:
                closer()

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("unlocked keys cannot be pickled: unlock in each process")

    def __repr__(self) -> str:
        state = "closed" if self._key is None else "open"
        return f"<UnlockedKey {self.role}-{self.generation} {self._public.key_id().hex()} {state}>"


def _forget(key: sm2.PrivateKey) -> None:
    """Drop libcrypto's copy (EVP_PKEY_free clears it) and our reference to the scalar."""
    try:
        key._handle = None       # the handle's finalizer frees the EVP_PKEY
    except AttributeError:
        pass


class UnlockedIdentity:
    """An own identity with its keys unlocked (``Keystore.unlock``); a context manager.

    ``signer``       the current signing key (a ``Signer``);
    ``decrypter``    the current encryption key (a ``Decrypter``);
    ``decrypters``   every encryption key generation, newest first (what ``open_package``'s
                     ``key=`` takes, so packages sealed to an older generation still open);
    ``info``         the identity as the manifest records it (no secret).
    """

    def __init__(self, info: IdentityInfo, signer: UnlockedKey | None,
                 decrypters: list[UnlockedKey]) -> None:
        self.info = info
        self.name = info.name
        self._signer = signer
        self._decrypters: tuple[UnlockedKey, ...] = tuple(decrypters)
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise KeystoreError("this unlock handle was closed", hint="unlock the identity again")

    @property
    def signer(self) -> UnlockedKey:
        """The current signing key (``KeyNotFound`` if it was not unlocked: ``signing=False``)."""
        self._check()
        if self._signer is None:
            raise KeyNotFound("the signing key of {name} was not unlocked (signing=False)", name=str(self.name))
        return self._signer

    @property
    def decrypters(self) -> tuple[UnlockedKey, ...]:
        """Every encryption key, newest generation first (empty with ``decryption=False``)."""
        self._check()
        return self._decrypters

    @property
    def decrypter(self) -> UnlockedKey:
        """The newest encryption key."""
        keys = self.decrypters
        if not keys:
            raise KeyNotFound("no encryption key of {name} was unlocked (decryption=False)", name=str(self.name))
        return keys[0]

    @property
    def closed(self) -> bool:
        """True once ``close()`` ran."""
        return self._closed

    def close(self) -> None:
        """Forget every key (idempotent); keys handed out stop working."""
        keys = ([self._signer] if self._signer is not None else []) + list(self._decrypters)
        self._closed, self._signer, self._decrypters = True, None, ()
        for k in keys:
            k.close()

    def __enter__(self) -> "UnlockedIdentity":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: "TracebackType | None") -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("an unlock handle cannot be pickled: unlock in each process")

    def __repr__(self) -> str:
        n = len(self._decrypters) + (self._signer is not None)
        state = "closed" if self.closed else f"{n} key(s)"
        return f"<UnlockedIdentity {self.name} {state}>"
