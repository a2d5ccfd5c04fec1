"""What every key backend hands out: ``Signer`` and ``Decrypter``.

``envelope`` takes these protocols and never learns whether the private key
sits in a file or on a token.  ``shangmi.sm2.PrivateKey`` satisfies both.

Signer.sign(data)        DER SEQUENCE{r, s} SM2 signature over ``data`` with the
                         default signer ID 1234567812345678 (Z is computed from
                         the signer's public key, so ``data`` is the message).
Decrypter.decrypt(ct)    plaintext of a GM/T 0009 DER SM2 ciphertext; raises
                         ``shangmi.DecryptionError`` when C3 does not match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shangmi import sm2
from shangmi.protocols import Decrypter as Decrypter, Signer as Signer  # the one definition, re-exported

Role = Literal["sign", "enc"]
ROLES: tuple[Role, ...] = ("sign", "enc")


@dataclass(frozen=True)
class KeyInfo:
    """One key of an identity, as the manifest records it (no secret in here).

    ``ref`` is ``file:<name>`` for a software key file beside the manifest or a
    ``pkcs11:`` URI (without any PIN) for a key on a token; ``profile`` names
    the vendor profile used for token keys.
    """

    role: Role
    generation: int
    public_key: sm2.PublicKey
    ref: str
    created: str
    profile: str | None = None

    @property
    def key_id(self) -> bytes:
        """The 16-byte smseal key id of the public key."""
        return self.public_key.key_id()

    @property
    def on_token(self) -> bool:
        """True when the private key lives on a PKCS#11 token."""
        return self.ref.startswith("pkcs11:")


@dataclass(frozen=True)
class IdentityInfo:
    """An own unit identity: its name and every key generation, newest last."""

    name: str
    keys: tuple[KeyInfo, ...] = field(default_factory=tuple)

    def of_role(self, role: Role) -> list[KeyInfo]:
        """This identity's keys of ``role``, oldest generation first."""
        return sorted((k for k in self.keys if k.role == role), key=lambda k: k.generation)

    def current(self, role: Role) -> KeyInfo:
        """The newest key of ``role`` (``KeyNotFound`` if there is none)."""
        keys = self.of_role(role)
        if not keys:
            from shangmi.errors import KeyNotFound
            raise KeyNotFound("identity {name} has no {role} key", name=str(self.name), role=str(role))
        return keys[-1]
