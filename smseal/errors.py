"""Every error smseal raises, in one place: ``from smseal.errors import ...`` or ``from smseal import ...``.

One hierarchy rooted in ``shangmi.errors.SmsealError``.  The classes are defined where they
belong (``shangmi.errors`` for the primitives and the shared kinds, ``smseal.keystore.errors``
for keys and tokens, ``smseal.office.errors`` for the command's configuration and usage) and
re-exported here so an integrator imports them from the package root.

Each error has a stable ``code`` and a ``context`` of short, non-secret facts (see
``shangmi.errors.SmsealError`` and docs/API.md, "Errors").
"""

from __future__ import annotations

from shangmi.errors import (ArgumentError, BackendError, DecryptionError, DuplicateEntry,
                            ExpiredCertificate, InvalidArgument, InvalidKey, InvalidSignature,
                            InvalidTag, KeyNotFound, KeystoreError, MalformedInput, MalformedPackage,
                            MalformedReceipt,
                            NoMatchingKey, OutputExists, PolicyError, RevokedKey, RollbackRefused,
                            SizeLimitExceeded, SmsealError, TokenError, TransportError, UnknownUnit,
                            UnsupportedAlgorithm, UnsupportedMechanism, UntrustedSender,
                            VerificationError, WrongArgumentType, WrongPassphrase)
from smseal.keystore.errors import (AmbiguousKey, EmptySignerId, KeyIdCollision, MalformedCard, ModuleNotFound,
                                    PassphraseUnavailable, PinLocked, TokenNotFound, WrongKeyUsage,
                                    WrongPin)
from smseal.office.errors import ConfigError, SenderNoLongerValid, UsageError

__all__ = [
    "SmsealError", "ArgumentError", "InvalidArgument", "WrongArgumentType",
    "VerificationError", "InvalidSignature", "EmptySignerId", "InvalidTag", "DecryptionError", "MalformedInput",
    "InvalidKey", "MalformedPackage", "MalformedReceipt", "MalformedCard", "NoMatchingKey", "UntrustedSender",
    "RevokedKey", "ExpiredCertificate", "RollbackRefused", "SenderNoLongerValid",
    "KeystoreError", "WrongPassphrase", "WrongPin", "PinLocked", "PassphraseUnavailable",
    "KeyNotFound", "UnknownUnit", "DuplicateEntry", "KeyIdCollision", "AmbiguousKey", "TokenError",
    "ModuleNotFound", "TokenNotFound", "UnsupportedMechanism",
    "PolicyError", "WrongKeyUsage", "SizeLimitExceeded", "UnsupportedAlgorithm", "BackendError", "OutputExists",
    "TransportError", "UsageError", "ConfigError",
]
