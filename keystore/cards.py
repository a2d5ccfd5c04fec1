"""Unit cards: how a unit hands its two public keys to others (when no certificate is used).

A card is one line of canonical JSON (UTF-8, keys sorted, no spaces) and a newline::

    {"encryption_fingerprint":"<hex SM3>","encryption_key":"<base64 SPKI DER>",
     "encryption_signature":"<base64 DER SM2>","format":"smseal-card/2",
     "issued":"2026-11-28T07:26:09.000000Z","signature":"<base64 DER SM2>",
     "signing_fingerprint":"<hex SM3>","signing_key":"<base64 SPKI DER>","unit":"赤峰市人民政府办公室"}

A unit with leaders (签发人, ``keystore.leaders``) adds one more member,
``"leaders":[{"key":"<base64 SPKI DER>","name":"张三","proof":"<base64 DER SM2>"},…]``
sorted by name, absent when the unit has none.  The unit's signatures cover it, so a
card binds each leader's personal key to the unit; ``proof`` is the *leader's own*
signature (signer ID 1234567812345678) over the leader statement
``{"format":"smseal-leader/1","key":"<base64 SPKI DER>","name":"张三","unit":"<unit>"}``
(canonical JSON, ``leader_statement``), so a unit cannot name another unit's leader key
as its own and lock that unit's leaders out (a leader key belongs to one unit).
``CardLeader.proof`` carries it; ``prove_leader`` makes it with the leader's key.

The *body* is the canonical JSON without ``signature`` and ``encryption_signature``
(leaders included).  ``signature`` is the SM2 signature (signer ID 1234567812345678) of
the body with the card's signing key, ``encryption_signature`` the same with the
card's encryption key: the card proves that its maker holds *both* private keys, so
nobody can publish a card carrying another unit's encryption key (and block that
unit's real card, since a key belongs to one unit).  Both are verified.  An
encryption key on a token that cannot sign (most generic tokens) cannot make a
card: such a unit uses the bureau's certificates (``keys request --escrow``).

The signatures prove the card came from whoever holds the keys; they do NOT
prove who that is: compare the signing fingerprint with the unit by telephone or
on paper before trusting a card (``fingerprint_words`` prints it in groups of
four hex digits).

Cards of format ``smseal-card/1`` (signed by the signing key alone, made by
smseal before this rule) are refused with a message asking for a new card, and so
are ``smseal-card/2`` cards that name leaders (their leaders prove nothing); a
``smseal-card/2`` card without leaders is read as it is.  Cards are made as
``smseal-card/3``.

Parsing is strict: size limit, exact member set, canonical form
(``make_card(parse_card(x)) == x``), fingerprints and both signatures must match.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from shangmi import sm2
from shangmi.errors import InvalidKey, InvalidSignature, MalformedInput, UnsupportedMechanism

from .base import Decrypter, Signer
from .errors import MalformedCard
from .names import from_text, normalize_name, now, to_text

FORMAT = "smseal-card/3"
OLD_FORMATS = ("smseal-card/1",)
#: read when the card names no leaders (the body is the same otherwise)
NO_LEADER_FORMATS = ("smseal-card/2",)
LEADER_FORMAT = "smseal-leader/1"
MAX_CARD = 16 * 1024
_MEMBERS = {"format", "unit", "signing_key", "encryption_key", "signing_fingerprint",
            "encryption_fingerprint", "issued", "signature", "encryption_signature"}
MAX_LEADERS = 50
_NO_POSSESSION = ("the encryption key cannot sign (its token only decrypts), so a card cannot prove that the "
                  "unit holds it; use the bureau's certificates instead (keys request --escrow)")


@dataclass(frozen=True)
class CardLeader:
    """A leader (签发人) of the unit and the public key of their personal signing key."""

    name: str
    key: sm2.PublicKey
    #: the leader's own signature over ``leader_statement(unit, name, key)`` (see the module doc)
    proof: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True)
class UnitCard:
    unit: str
    signing_key: sm2.PublicKey
    encryption_key: sm2.PublicKey
    issued: datetime
    signature: bytes
    leaders: tuple[CardLeader, ...] = ()
    #: the body's signature by the encryption key (proof of possession)
    encryption_signature: bytes = b""
    #: the card's format as read (``smseal-card/2`` cards without leaders are still read)
    format: str = FORMAT

    def to_bytes(self) -> bytes:
        """The card as canonical JSON (one line, signed by both keys), as exchanged."""
        return _canonical({**self._body(), "signature": base64.b64encode(self.signature).decode(),
                           "encryption_signature": base64.b64encode(self.encryption_signature).decode()}) + b"\n"

    def _body(self) -> dict[str, Any]:
        leaders = ({"leaders": [{"name": ld.name, "key": base64.b64encode(ld.key.to_der()).decode(),
                                 "proof": base64.b64encode(ld.proof).decode()}
                                for ld in self.leaders]} if self.leaders else {})
        return {**leaders, "format": self.format, "unit": self.unit,
                "signing_key": base64.b64encode(self.signing_key.to_der()).decode(),
                "encryption_key": base64.b64encode(self.encryption_key.to_der()).decode(),
                "signing_fingerprint": self.signing_key.fingerprint().hex(),
                "encryption_fingerprint": self.encryption_key.fingerprint().hex(),
                "issued": to_text(self.issued)}


def _canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def fingerprint_words(key: sm2.PublicKey) -> str:
    """The SM3 fingerprint as 16 groups of 4 hex digits, for reading aloud."""
    h = key.fingerprint().hex().upper()
    return " ".join(h[i:i + 4] for i in range(0, len(h), 4))


def leader_statement(unit: str, name: str, key: sm2.PublicKey) -> bytes:
    """What a leader signs to be named on ``unit``'s card (``CardLeader.proof``)."""
    return _canonical({"format": LEADER_FORMAT, "key": base64.b64encode(key.to_der()).decode(),
                       "name": normalize_name(name), "unit": normalize_name(unit)})


def prove_leader(unit: str, name: str, leader: Signer) -> CardLeader:
    """Leader ``name`` of ``unit`` with the proof signed by the leader's own key ``leader``."""
    key = leader.public_key()
    return CardLeader(normalize_name(name), key, leader.sign(leader_statement(unit, name, key)))


def check_leader_proof(unit: str, leader: CardLeader) -> None:
    """``InvalidSignature`` unless ``leader.proof`` is the leader key's signature of the statement."""
    leader.key.verify(leader.proof, leader_statement(unit, leader.name, leader.key))


def _sorted_leaders(leaders: Sequence[CardLeader]) -> tuple[CardLeader, ...]:
    out = tuple(sorted((CardLeader(normalize_name(ld.name), ld.key, ld.proof) for ld in leaders),
                       key=lambda ld: ld.name))
    if len(out) > MAX_LEADERS:
        raise ValueError(f"a card names at most {MAX_LEADERS} leaders")
    if len({ld.name for ld in out}) != len(out) or len({ld.key for ld in out}) != len(out):
        raise ValueError("a leader is named twice")
    return out


def make_card(unit: str, signer: Signer, encryption: Signer | Decrypter,
              issued: datetime | None = None, leaders: Sequence[CardLeader] = ()) -> bytes:
    """A card for one's own unit, with its leaders, signed by both of its keys.

    ``signer`` is the unit's signing key (``Keystore.signer(name)``), ``encryption`` its
    current encryption key, which must be able to sign too (``Keystore.decrypter(name)``
    of a software key; ``UnsupportedMechanism`` for a token that only decrypts).  Each
    leader carries its proof (``prove_leader``; ``InvalidSignature`` when it does not verify)."""
    unit = normalize_name(unit)
    if not isinstance(encryption, Signer):     # a Decrypter that cannot sign proves nothing
        raise UnsupportedMechanism(_NO_POSSESSION)
    encryption_key = encryption.public_key()
    if signer.public_key() == encryption_key:
        raise InvalidKey("the signing and the encryption key must be different keys")
    issued = issued or now()
    lds = _sorted_leaders(leaders)
    if any(ld.key in (signer.public_key(), encryption_key) for ld in lds):
        raise InvalidKey("a leader's key must be the leader's own, not one of the unit's keys")
    for ld in lds:
        check_leader_proof(unit, ld)
    draft = UnitCard(unit, signer.public_key(), encryption_key, issued, b"", lds)
    body = _canonical(draft._body())
    sig = signer.sign(body)
    try:
        enc_sig = encryption.sign(body)
    except UnsupportedMechanism:
        raise UnsupportedMechanism(_NO_POSSESSION) from None
    encryption_key.verify(enc_sig, body)       # a token that signed wrongly makes no card
    return UnitCard(unit, draft.signing_key, encryption_key, issued, sig, lds, enc_sig).to_bytes()


def parse_card(data: bytes) -> UnitCard:
    """Read and verify a card; ``MalformedCard`` or ``InvalidSignature`` when it is not right."""
    if not isinstance(data, (bytes, bytearray)) or len(data) > MAX_CARD:
        raise MalformedCard("a unit card is at most 16 KiB of UTF-8 JSON")
    data = bytes(data)
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedCard("a unit card is one JSON object") from None
    if isinstance(doc, dict) and doc.get("format") in OLD_FORMATS:
        raise MalformedCard("this card ({fmt}) was made by an older smseal and does not prove that the unit "
                            "holds its encryption key; ask the unit for a new card", fmt=str(doc["format"]),
                            code="old-card-format")
    leaders_doc = doc.pop("leaders", None) if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or set(doc) != _MEMBERS or not all(isinstance(v, str) for v in doc.values()):
        raise MalformedCard("a unit card has exactly the members {members} (and leaders)",
                            members=", ".join(sorted(_MEMBERS)))
    if doc["format"] in NO_LEADER_FORMATS and leaders_doc is not None:
        raise MalformedCard("this card ({fmt}) was made by an older smseal and does not prove that its leaders "
                            "hold their keys; ask the unit for a new card", fmt=doc["format"], code="old-card-format")
    if doc["format"] != FORMAT and doc["format"] not in NO_LEADER_FORMATS:
        raise MalformedCard("unknown card format {found}; this smseal reads {format}",
                            found=repr(doc['format'][:40]), format=str(FORMAT))
    try:
        unit = normalize_name(doc["unit"])
        sign = sm2.PublicKey.from_der(base64.b64decode(doc["signing_key"], validate=True))
        enc = sm2.PublicKey.from_der(base64.b64decode(doc["encryption_key"], validate=True))
        sig = base64.b64decode(doc["signature"], validate=True)
        enc_sig = base64.b64decode(doc["encryption_signature"], validate=True)
        issued = from_text(doc["issued"])
        leaders = _parse_leaders(leaders_doc)
    except (ValueError, binascii.Error, MalformedInput) as exc:
        raise MalformedCard("a card member is malformed ({kind})", kind=str(exc.__class__.__name__)) from None
    card = UnitCard(unit, sign, enc, issued, sig, leaders, enc_sig, doc["format"])
    if card.to_bytes() != data:
        raise MalformedCard("the card is not in canonical form (altered or hand-edited)")
    if sign == enc:
        raise MalformedCard("the signing and the encryption key must be different keys")
    if any(ld.key in (sign, enc) for ld in leaders):
        raise MalformedCard("a leader's key must be the leader's own, not one of the unit's keys")
    body = _canonical(card._body())
    sign.verify(sig, body)          # InvalidSignature: not made by the signing key's holder
    enc.verify(enc_sig, body)       # ... nor by the encryption key's (proof of possession)
    for ld in leaders:              # ... each leader by the leader's own key
        check_leader_proof(unit, ld)
    return card


def _parse_leaders(doc: Any) -> tuple[CardLeader, ...]:
    if doc is None:
        return ()
    if not isinstance(doc, list) or not 1 <= len(doc) <= MAX_LEADERS:
        raise ValueError("leaders is a non-empty list")
    out = []
    for e in doc:
        if (not isinstance(e, dict) or set(e) != {"name", "key", "proof"}
                or not all(isinstance(v, str) for v in e.values())):
            raise ValueError("a leader is {name, key, proof}")
        out.append(CardLeader(normalize_name(e["name"]),
                              sm2.PublicKey.from_der(base64.b64decode(e["key"], validate=True)),
                              base64.b64decode(e["proof"], validate=True)))
    lds = _sorted_leaders(out)
    if list(lds) != out:
        raise ValueError("leaders are not in canonical order")
    return lds


__all__ = ["UnitCard", "CardLeader", "make_card", "parse_card", "fingerprint_words", "MalformedCard", "InvalidSignature",
           "leader_statement", "prove_leader", "check_leader_proof"]
