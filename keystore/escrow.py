"""Key escrow and recovery (the KMC half of China's dual-certificate practice).

A unit makes its own signing key; its *encryption* key pair is made by the
bureau's authority (``authority issue --escrow``), kept escrowed, certified
and delivered to the unit.  When a unit loses its token or its home, the
authority re-delivers every encryption key the unit ever had
(``authority recover``), so packages sealed to those keys years ago still
open.

Wire format: GM/T 0009-2012 §7.4 ``SM2EnvelopedKey``, PEM label
``SM2 ENVELOPED KEY``, as SKF/PKCS#11 middleware imports it::

    SM2EnvelopedKey ::= SEQUENCE {
      symAlgID                AlgorithmIdentifier,  -- SM4-ECB 1.2.156.10197.1.104.1, no parameters
      symEncryptedKey         SM2Cipher,            -- the 16-byte SM4 key, SM2-encrypted to the
                                                    -- recipient (GM/T 0009 SEQUENCE{x, y, hash, ct})
      sm2PublicKey            BIT STRING,           -- 04 ‖ X ‖ Y of the delivered key pair
      sm2EncryptedPrivateKey  BIT STRING }          -- SM4-ECB(key, d as 32 bytes), no padding

Delivery envelopes are encrypted to the unit's *signing* public key (from
its request, proof of possession checked); escrow copies to the bureau's
escrow key: ``authority/escrow.key`` (encrypted PKCS#8 under its own
passphrase) or a non-extractable key on a PKCS#11 token (``escrow.token``
holds its URI, without PIN; the token decrypts by ECDH as for units'
keys); the public half is in ``escrow.pem`` either way.

Security properties
- The SM4 key is fresh from ``secrets`` for every envelope and wraps one
  32-byte random scalar, so ECB leaks nothing; the SM2 ciphertext's C3 is
  checked on decryption.  ECB itself is unauthenticated: ``open_key`` accepts
  the result only if d·G equals the enclosed public key, and ``keys install``
  only if that key is certified (by the pinned CA) as this unit's
  encryption key — a substituted envelope is refused, never installed.
- Private scalars never reach logs, reprs or exceptions; the escrow copies in
  ``state.json`` are encrypted to the escrow key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pyasn1.type import namedtype, univ

from shangmi import sm2, sm4
from shangmi.errors import InvalidKey, MalformedInput, WrongPassphrase

from . import asn1_types as t
from .atomic import create_atomic
from .prompts import PassphraseCallback

if TYPE_CHECKING:
    from .pkcs11 import TokenKey

OID_SM4_ECB = "1.2.156.10197.1.104.1"
PEM_LABEL = "SM2 ENVELOPED KEY"
ESCROW_KEY_FILE, ESCROW_PUBLIC_FILE, ESCROW_TOKEN_FILE = "escrow.key", "escrow.pem", "escrow.token"


class SM2EnvelopedKey(univ.Sequence):
    """GM/T 0009 §7.4 (see the module docstring)."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("symAlgID", t.AlgorithmIdentifier()),
        namedtype.NamedType("symEncryptedKey", univ.Any()),
        namedtype.NamedType("sm2PublicKey", univ.BitString()),
        namedtype.NamedType("sm2EncryptedPrivateKey", univ.BitString()),
    )


class _Decrypter(Protocol):
    def decrypt(self, wrapped: bytes) -> bytes: ...


def seal_key(key: sm2.PrivateKey, to: sm2.PublicKey) -> bytes:
    """``key`` as a DER ``SM2EnvelopedKey`` that only the holder of ``to`` can open."""
    sym = secrets.token_bytes(16)
    env = SM2EnvelopedKey()
    env["symAlgID"]["algorithm"] = univ.ObjectIdentifier(OID_SM4_ECB)
    env["symEncryptedKey"] = univ.Any(to.encrypt(sym))
    env["sm2PublicKey"] = univ.BitString.fromOctetString(key.public_key().to_bytes())
    env["sm2EncryptedPrivateKey"] = univ.BitString.fromOctetString(
        sm4.ecb_wrap(sym, key.private_bytes()))
    return t.encode(env)


def _parse(data: bytes) -> tuple[bytes, sm2.PublicKey, bytes]:
    env = t.strict_decode(data, SM2EnvelopedKey(), "SM2EnvelopedKey")
    alg = env["symAlgID"]
    if str(alg["algorithm"]) != OID_SM4_ECB or alg["parameters"].isValue:
        raise MalformedInput("SM2EnvelopedKey: unsupported key wrapping {alg} (only SM4-ECB without parameters)",
                             alg=str(alg['algorithm']))
    point = t.signature_bytes(env["sm2PublicKey"], "SM2EnvelopedKey public key")
    wrapped = t.signature_bytes(env["sm2EncryptedPrivateKey"], "SM2EnvelopedKey private key")
    if len(wrapped) != 32:
        raise MalformedInput("SM2EnvelopedKey: the encrypted private key is not 32 bytes")
    return bytes(env["symEncryptedKey"]), sm2.PublicKey.from_bytes(point), wrapped


def enveloped_public_key(data: bytes) -> sm2.PublicKey:
    """The public key an envelope delivers, read without opening it."""
    return _parse(data)[1]


def open_key(data: bytes, decrypter: _Decrypter) -> sm2.PrivateKey:
    """Open a DER ``SM2EnvelopedKey`` with the recipient's key (file or token).

    Raises ``MalformedInput`` for a malformed envelope, ``DecryptionError``
    when it is not addressed to ``decrypter``, ``InvalidKey`` when the
    unwrapped scalar is not the private key of the enclosed public key.
    """
    encrypted_sym, public, wrapped = _parse(data)
    sym = decrypter.decrypt(encrypted_sym)
    if len(sym) != 16:
        raise MalformedInput("SM2EnvelopedKey: the wrapped SM4 key is not 16 bytes")
    d = int.from_bytes(sm4.ecb_unwrap(sym, wrapped), "big")
    try:
        key = sm2.PrivateKey.from_int(d)
    except (ValueError, InvalidKey):
        raise InvalidKey("SM2EnvelopedKey: the delivered private key is not valid") from None
    if key.public_key() != public:
        raise InvalidKey("SM2EnvelopedKey: the delivered private key does not match its public key")
    return key


def read_envelopes(data: bytes | str) -> list[bytes]:
    """The DER bodies of every ``SM2 ENVELOPED KEY`` block in a certificates or recovery file."""
    return t.pem_blocks(data, PEM_LABEL)


# --- the bureau's escrow key ------------------------------------------------------------------

def escrow_public_key(home: Path) -> sm2.PublicKey | None:
    """The escrow key's public half, or None before the first escrow."""
    path = Path(home) / ESCROW_PUBLIC_FILE
    return sm2.PublicKey.from_pem(path.read_bytes()) if path.exists() else None


def create_escrow_key(home: Path, password: bytes, *, iterations: int | None = None) -> sm2.PublicKey:
    """Make the escrow key pair (``DuplicateEntry`` if one exists); its file is encrypted."""
    if not password:
        raise ValueError("the escrow key needs a non-empty passphrase")
    key = sm2.PrivateKey.generate()
    create_atomic(Path(home) / ESCROW_KEY_FILE, key.to_pem(password, iterations=iterations))
    create_atomic(Path(home) / ESCROW_PUBLIC_FILE, key.public_key().to_pem())
    return key.public_key()


def create_token_escrow_key(home: Path, uri: str, *, profile: str | None = None,
                            passphrase: PassphraseCallback | None = None) -> sm2.PublicKey:
    """Make the escrow key pair on a PKCS#11 token (sensitive, non-extractable; the token
    must be able to decrypt: ECDH derive or its own SM2 mechanism).  ``passphrase`` answers
    the PIN prompt; ``DuplicateEntry`` if an escrow key exists."""
    from .pkcs11 import TokenSession
    from .pkcs11_profiles import get_profile
    from .pkcs11_uri import Pkcs11Uri

    home = Path(home)
    if (home / ESCROW_PUBLIC_FILE).exists():
        from shangmi.errors import DuplicateEntry
        raise DuplicateEntry("this authority already has an escrow key")
    p = get_profile(profile)
    with TokenSession(Pkcs11Uri.parse(uri), passphrase=passphrase) as ts:
        public, where = ts.generate(p, "enc", f"smseal escrow {secrets.token_hex(4)}")
    create_atomic(home / ESCROW_TOKEN_FILE, f"{where}\n{p.name}\n".encode())
    create_atomic(home / ESCROW_PUBLIC_FILE, public.to_pem())
    return public


def escrow_on_token(home: Path) -> bool:
    """True when the escrow key lives on a token (``create_token_escrow_key``)."""
    return (Path(home) / ESCROW_TOKEN_FILE).exists()


def open_token_escrow_key(home: Path, passphrase: PassphraseCallback | None = None) -> TokenKey:
    """The escrow key on its token (a ``TokenKey``: decrypts, never leaves the token)."""
    from .pkcs11 import TokenKey

    uri, profile = (Path(home) / ESCROW_TOKEN_FILE).read_text().split("\n")[:2]
    return TokenKey.open(uri, profile=profile or None, passphrase=passphrase,
                         expected=escrow_public_key(home))


def open_escrow_key(home: Path, password: bytes) -> sm2.PrivateKey:
    """The escrow private key (``WrongPassphrase`` if the passphrase is wrong)."""
    from .software import load_key

    try:
        key = load_key(Path(home) / ESCROW_KEY_FILE, password)
    except WrongPassphrase:
        raise WrongPassphrase("wrong passphrase for the escrow key") from None
    if key.public_key() != escrow_public_key(home):
        raise InvalidKey("escrow.key and escrow.pem do not belong together")
    return key


@dataclass(frozen=True)
class EscrowRecord:
    """One escrowed encryption key of a unit, as the authority's state keeps it."""

    unit: str
    serial: int
    public_key: sm2.PublicKey
    escrowed: bytes          # SM2EnvelopedKey to the escrow key
    date: datetime

    def to_json(self) -> dict[str, Any]:
        import base64
        return {"unit": self.unit, "serial": format(self.serial, "x"),
                "public_key": self.public_key.to_bytes().hex(),
                "escrowed": base64.b64encode(self.escrowed).decode(), "date": self.date.isoformat()}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "EscrowRecord":
        import base64
        try:
            return cls(str(doc["unit"]), int(doc["serial"], 16),
                       sm2.PublicKey.from_bytes(bytes.fromhex(doc["public_key"])),
                       base64.b64decode(doc["escrowed"], validate=True),
                       datetime.fromisoformat(doc["date"]))
        except (KeyError, TypeError, ValueError):
            raise MalformedInput("an escrow record in the authority's state is damaged") from None
