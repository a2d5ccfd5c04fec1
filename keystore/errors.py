"""Keystore-specific refinements of the one exception hierarchy in ``shangmi.errors``.

Each class here subclasses the shangmi class a caller already catches, so
``except shangmi.TokenError`` still sees a missing module, and the CLI can
map the finer classes to finer messages where it wants to.
"""

from __future__ import annotations

from shangmi.errors import (DuplicateEntry, InvalidSignature, KeyNotFound, KeystoreError,
                            MalformedInput, PolicyError, TokenError, WrongPassphrase)


class WrongPin(WrongPassphrase):
    """The token refused the PIN."""


class PinLocked(WrongPassphrase):
    """The token's user PIN is locked after too many wrong attempts."""


class PassphraseUnavailable(KeystoreError):
    """No passphrase or PIN was supplied (no callback, or the variable is not set)."""


class ModuleNotFound(TokenError):
    """The PKCS#11 module (shared library) cannot be loaded."""


class TokenNotFound(TokenError):
    """No token matches the URI, or several do."""


class AmbiguousKey(KeystoreError):
    """Several keys match the lookup; name the key more precisely (id=, object=)."""


class KeyIdCollision(DuplicateEntry):
    """A different public key with the same 16-byte key id is already registered."""


class MalformedCard(MalformedInput):
    """The unit card is not well-formed."""


class WrongKeyUsage(PolicyError):
    """The certificate's key usage does not allow this use."""


class EmptySignerId(InvalidSignature):
    """Signed with OpenSSL's default empty SM2 ID instead of 1234567812345678 (not altered)."""


__all__ = ["MalformedCard", "WrongKeyUsage", "EmptySignerId", "WrongPin", "PinLocked", "PassphraseUnavailable", "ModuleNotFound", "TokenNotFound",
           "AmbiguousKey", "KeyIdCollision", "KeyNotFound"]
