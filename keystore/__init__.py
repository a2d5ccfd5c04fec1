"""keystore layer of smseal: own identities, the directory of other units, trust.

    from smseal.keystore import Keystore, Directory, env_passphrase
    ks = Keystore(passphrase=env_passphrase())        # SMSEAL_HOME or ~/.smseal
    ks.generate("赤峰市人民政府办公室")                 # software signing + encryption keys
    signer = ks.signer("赤峰市人民政府办公室")         # -> envelope's Signer
    kid, dec = ks.find_decrypter(stanza_key_ids)      # -> envelope's Decrypter
    with Directory() as d:                            # -> envelope's trust store
        d.import_card(card_bytes)
        d.encryption_key("某某局")

    with ks.unlock("赤峰市人民政府办公室") as ident:   # key files decrypted once (PBKDF2)
        ...  # ident.signer, ident.decrypters: share them across threads

Names are imported lazily at run time (``import smseal.keystore`` stays cheap and
``smseal.keystore.x509`` does not load PyKCS11); type checkers see the real imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (AmbiguousKey, KeyIdCollision, MalformedCard, ModuleNotFound,
                     PassphraseUnavailable, PinLocked, TokenNotFound, WrongKeyUsage, WrongPin)

if TYPE_CHECKING:   # what the lazy table below resolves to, spelled out for type checkers
    from .base import Decrypter, IdentityInfo, KeyInfo, Role, Signer
    from .cards import UnitCard, fingerprint_words, make_card, parse_card
    from .directory import Directory, DirectoryKey, Unit
    from .identities import SOFTWARE, Keystore, read_private_key
    from .paths import smseal_home
    from .pkcs11 import TokenKey, TokenSession, list_tokens
    from .pkcs11_profiles import PROFILES, get_profile
    from .pkcs11_uri import Pkcs11Uri
    from .prompts import PassphraseCallback, Prompt, Purpose, env_passphrase
    from .unlocked import UnlockedIdentity, UnlockedKey

_EXPORTS = {
    "Keystore": "identities", "SOFTWARE": "identities", "read_private_key": "identities",
    "IdentityInfo": "base", "KeyInfo": "base", "Role": "base", "Signer": "base", "Decrypter": "base",
    "Directory": "directory", "Unit": "directory", "DirectoryKey": "directory",
    "make_card": "cards", "parse_card": "cards", "fingerprint_words": "cards", "UnitCard": "cards",
    "env_passphrase": "prompts", "Prompt": "prompts", "Purpose": "prompts",
    "PassphraseCallback": "prompts",
    "Pkcs11Uri": "pkcs11_uri", "TokenKey": "pkcs11", "TokenSession": "pkcs11", "list_tokens": "pkcs11",
    "PROFILES": "pkcs11_profiles", "get_profile": "pkcs11_profiles",
    "smseal_home": "paths",
    "UnlockedIdentity": "unlocked", "UnlockedKey": "unlocked",
}
_ERRORS = ["AmbiguousKey", "KeyIdCollision", "MalformedCard", "ModuleNotFound", "PassphraseUnavailable",
           "PinLocked", "TokenNotFound", "WrongKeyUsage", "WrongPin"]

__all__ = sorted([*_EXPORTS, *_ERRORS])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value          # resolve once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
