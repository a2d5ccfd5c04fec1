"""keystore layer of smseal: own identities, the directory of other units, trust.

    from smseal.keystore import Keystore, Directory, env_passphrase
    ks = Keystore(passphrase=env_passphrase())        # SMSEAL_HOME or ~/.smseal
    ks.generate("赤峰市人民政府办公室")                 # software signing + encryption keys
    signer = ks.signer("赤峰市人民政府办公室")         # -> envelope's Signer
    kid, dec = ks.find_decrypter(stanza_key_ids)      # -> envelope's Decrypter
    with Directory() as d:                            # -> envelope's trust store
        d.import_card(card_bytes)
        d.encryption_key("某某局")

Names are imported lazily so that ``keystore.x509`` does not load PyKCS11.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Keystore": "identities", "SOFTWARE": "identities", "read_private_key": "identities",
    "IdentityInfo": "base", "KeyInfo": "base", "Signer": "base", "Decrypter": "base",
    "Directory": "directory", "Unit": "directory", "DirectoryKey": "directory",
    "make_card": "cards", "parse_card": "cards", "fingerprint_words": "cards", "UnitCard": "cards",
    "env_passphrase": "prompts", "Prompt": "prompts", "Purpose": "prompts",
    "PassphraseCallback": "prompts",
    "Pkcs11Uri": "pkcs11_uri", "TokenKey": "pkcs11", "TokenSession": "pkcs11", "list_tokens": "pkcs11",
    "PROFILES": "pkcs11_profiles", "get_profile": "pkcs11_profiles",
    "smseal_home": "paths",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(f".{module}", __name__), name)
