"""The two things a private key does for smseal, as protocols: ``Signer`` and ``Decrypter``.

One definition for the whole project: ``smseal.envelope`` seals and opens with them,
``smseal.keystore`` hands them out (key files, PKCS#11 tokens, unlock handles) and issues
certificates with a ``Signer``.  ``shangmi.sm2.PrivateKey`` satisfies both, and so does any
object with these methods (a remote HSM client, for instance): nobody needs to subclass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .sm2 import PublicKey


@runtime_checkable
class Signer(Protocol):
    """Makes SM2 signatures with one private key.

    ``sign(data)`` returns the DER ``SEQUENCE{r, s}`` SM2 signature of the message ``data``
    under the default signer ID 1234567812345678 (Z is computed from the signer's public key,
    so ``data`` is the message, not a digest).  Raises a ``shangmi.SmsealError`` subclass on
    failure (``TokenError`` from a token, for instance).
    """

    def sign(self, data: bytes) -> bytes:
        """DER SM2 signature of ``data`` under the default signer ID."""

    def public_key(self) -> PublicKey:
        """The public key of this signer."""


@runtime_checkable
class Decrypter(Protocol):
    """Decrypts SM2 ciphertexts addressed to one private key.

    ``decrypt(wrapped)`` returns the plaintext of a GM/T 0009 DER SM2 ciphertext and raises
    ``shangmi.DecryptionError`` when it does not check (C3 mismatch, point not on the curve).
    """

    def decrypt(self, wrapped: bytes) -> bytes:
        """Plaintext of a GM/T 0009 DER SM2 ciphertext; ``DecryptionError`` if it does not check."""

    def public_key(self) -> PublicKey:
        """The public key ciphertexts are addressed to."""


__all__ = ["Signer", "Decrypter"]
