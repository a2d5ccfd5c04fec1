"""The one exception hierarchy of smseal.

Every error the project raises on purpose derives from :class:`SmsealError`.
Messages never contain key material, passwords, PINs or plaintext.  Classes
are deliberately coarse where detail would help an attacker (``InvalidTag``,
``InvalidSignature`` and ``DecryptionError`` say nothing about *why*).

The command line maps each class to a translated sentence and an exit code;
``exit_code`` here is the default it uses (see README, "Exit codes").
"""

from __future__ import annotations


def _kebab(name: str) -> str:
    return "".join(("-" + c.lower()) if c.isupper() and i else c.lower() for i, c in enumerate(name))


class SmsealError(Exception):
    """Base of every error smseal raises on purpose.

    ``code``     a stable string naming the kind of failure (``"invalid-signature"``,
                 ``"unsafe-file-name"`` ...; the list is in docs/API.md).  Every class has one
                 (by default its name in kebab-case); a raise site may refine it with ``code=``.
                 Codes are part of the public API: they never change within a major version.
    ``context``  facts about the failure as short strings (package and key ids in hex, unit
                 names, indexes, reasons).  Never key material, passphrases, plaintext,
                 titles or file names from inside a package.
    ``hint``     what to do next, in English, or None.
    """

    exit_code: int = 3
    code: str = "smseal-error"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = _kebab(cls.__name__)

    def __init__(self, message: str = "", *, hint: str | None = None, code: str | None = None,
                 **context: str) -> None:
        # A message with {fields} named in ``context`` is a template: str(exc) is the English
        # sentence, and ``template`` lets the command render it in the user's language.
        self.template: str | None = None
        if context and "{" in message:
            try:
                message, self.template = message.format(**context), message
            except (KeyError, IndexError, ValueError):
                pass
        super().__init__(message or self.__class__.__doc__ or self.__class__.__name__)
        self.hint = hint
        if code is not None:
            self.code = code
        # Structured facts for user-facing messages (e.g. unit=, reason=, package_id=);
        # the command line formats them into translated sentences.  Never secrets.
        self.context = context

    def add_context(self, **facts: str) -> None:
        """Add facts the raise site did not know (e.g. the package id); existing ones win."""
        for k, v in facts.items():
            self.context.setdefault(k, v)


# --- the library was called wrongly (exit 2) -------------------------------------------

class ArgumentError(SmsealError):
    """A function of the library was called with an argument it refuses (a programming or
    usage error, not hostile input).  Also a ``ValueError`` or ``TypeError``, see below."""

    exit_code = 2


class InvalidArgument(ArgumentError, ValueError):
    """An argument has the right type but a refused value (bad urgency, duplicate recipient,
    unsafe file name, naive datetime ...); ``code`` says which."""


class WrongArgumentType(ArgumentError, TypeError):
    """An argument has a type the function does not take."""


# --- verification and decryption refused (exit 1) ---------------------------------

class VerificationError(SmsealError):
    """Something did not verify or decrypt; the input was refused."""

    exit_code = 1


class InvalidSignature(VerificationError):
    """The signature does not verify."""


class InvalidTag(VerificationError):
    """Authentication tag mismatch: the data was altered or the key is wrong."""


class DecryptionError(VerificationError):
    """The ciphertext could not be decrypted (altered, truncated or wrong key)."""


class MalformedInput(VerificationError):
    """The input is not well-formed (bad encoding, wrong length, size limit)."""


class InvalidKey(MalformedInput):
    """The key is malformed, or the point is not on the SM2 curve."""


class MalformedPackage(MalformedInput):
    """The sealed package is not well-formed."""


class MalformedReceipt(MalformedPackage):
    """A signed receipt (签收回执, 拒收) or notice (催领, a 拒收's reason) is not well-formed.
    A ``MalformedPackage`` too, so code written before it existed still catches it."""


class NoMatchingKey(VerificationError):
    """None of the keys held can open this package (it is not addressed to us)."""


class UntrustedSender(VerificationError):
    """The sender's key is not in the trusted set."""


class RevokedKey(VerificationError):
    """The key or certificate has been revoked."""


class ExpiredCertificate(VerificationError):
    """The certificate is outside its validity period."""


class SenderNoLongerValid(VerificationError):
    """The signer's key was valid when the item says it was signed, but is revoked or expired today.

    A revoked or expired unit could backdate what it signs, so this is refused
    unless the caller opts out (``accept_before_revocation=True``) after
    confirming with the signer.  ``context`` holds ``unit``, ``reason`` and
    ``sealed`` (the claimed time)."""


class RollbackRefused(VerificationError):
    """An older directory bundle than the installed one was offered."""


# --- keys and stores (exit 4) -------------------------------------------------------

class KeystoreError(SmsealError):
    """A problem with the local keystore, a key file or a token."""

    exit_code = 4


class WrongPassphrase(KeystoreError):
    """The passphrase or PIN is wrong."""


class KeyNotFound(KeystoreError):
    """No such key, identity or unit."""


class UnknownUnit(KeyNotFound):
    """No unit of that name is in the directory (``context['suggestions']`` names the nearest).

    A name the user typed wrongly: the command exits with the usage code, 2."""

    exit_code = 2


class DuplicateEntry(KeystoreError):
    """An entry with this name or key id already exists."""


class TokenError(KeystoreError):
    """The PKCS#11 module or token failed or is missing."""


class UnsupportedMechanism(KeystoreError):
    """The token cannot perform this operation."""


# --- policy, usage, environment -----------------------------------------------------

class PolicyError(SmsealError):
    """The operation is refused by policy (e.g. classified label, revoked recipient)."""

    exit_code = 5


class SizeLimitExceeded(PolicyError):
    """The input is larger than the limit the caller set (``open_stream(max_bytes=)``);
    ``context`` has ``limit`` (and ``size`` when known)."""


class UnsupportedAlgorithm(SmsealError):
    """The algorithm or encoding is not supported."""


class BackendError(SmsealError):
    """The cryptographic backend failed unexpectedly."""


class OutputExists(SmsealError):
    """The output already exists and overwriting was not asked for.

    ``path`` is the existing file when it must not appear in the message: a name that came
    from inside a package (confidential; the caller who opened it may show it), else None."""

    path: str | None = None

    exit_code = 6


class TransportError(SmsealError):
    """Delivery through the outbox or SMTP failed."""

    exit_code = 7


# Spelled out (not computed) so type checkers see the names; a test checks nothing is missing.
__all__ = ["SmsealError", "ArgumentError", "InvalidArgument", "WrongArgumentType",
           "VerificationError", "InvalidSignature", "InvalidTag", "DecryptionError",
           "MalformedInput", "InvalidKey", "MalformedPackage", "MalformedReceipt", "NoMatchingKey", "UntrustedSender",
           "RevokedKey", "ExpiredCertificate", "RollbackRefused", "SenderNoLongerValid", "KeystoreError",
           "WrongPassphrase", "KeyNotFound", "UnknownUnit", "DuplicateEntry", "TokenError",
           "UnsupportedMechanism", "PolicyError", "SizeLimitExceeded", "UnsupportedAlgorithm",
           "BackendError", "OutputExists", "TransportError"]
