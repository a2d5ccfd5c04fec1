"""Unit cards: how a unit hands its two public keys to others (when no certificate is used).

A card is one line of canonical JSON (UTF-8, keys sorted, no spaces) and a newline::

    {"encryption_fingerprint":"<hex SM3>","encryption_key":"<base64 SPKI DER>",
     "format":"smseal-card/1","issued":"2026-11-28T07:26:09.000000Z",
     "signature":"<base64 DER SM2>","signing_fingerprint":"<hex SM3>",
     "signing_key":"<base64 SPKI DER>","unit":"赤峰市人民政府办公室"}

A unit with leaders (签发人, ``keystore.leaders``) adds one more member,
``"leaders":[{"key":"<base64 SPKI DER>","name":"张三"},…]`` sorted by name,
absent when the unit has none.  The unit's signature covers it, so a card
binds each leader's personal key to the unit.

``signature`` is the unit's SM2 signature (signer ID 1234567812345678) with the
card's signing key over the same canonical JSON without the ``signature``
member.  It proves the card came from whoever holds the signing key and binds
the encryption key to it; it does NOT prove who that is: compare the signing
fingerprint with the unit by telephone or on paper before trusting a card
(``fingerprint_words`` prints it in groups of four hex digits).

Parsing is strict: size limit, exact member set, canonical form
(``make_card(parse_card(x)) == x``), fingerprints and signature must match.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from shangmi import sm2
from shangmi.errors import InvalidKey, InvalidSignature, MalformedInput

from .base import Signer
from .errors import MalformedCard
from .names import from_text, normalize_name, now, to_text

FORMAT = "smseal-card/1"
MAX_CARD = 16 * 1024
_MEMBERS = {"format", "unit", "signing_key", "encryption_key", "signing_fingerprint",
            "encryption_fingerprint", "issued", "signature"}
MAX_LEADERS = 50


@dataclass(frozen=True)
class CardLeader:
    """A leader (签发人) of the unit and the public key of their personal signing key."""

    name: str
    key: sm2.PublicKey


@dataclass(frozen=True)
class UnitCard:
    unit: str
    signing_key: sm2.PublicKey
    encryption_key: sm2.PublicKey
    issued: datetime
    signature: bytes
    leaders: tuple[CardLeader, ...] = ()

    def to_bytes(self) -> bytes:
        """The card as canonical JSON (one line, signed), as exchanged."""
        return _canonical({**self._body(), "signature": base64.b64encode(self.signature).decode()}) + b"\n"

    def _body(self) -> dict[str, Any]:
        leaders = ({"leaders": [{"name": ld.name, "key": base64.b64encode(ld.key.to_der()).decode()}
                                for ld in self.leaders]} if self.leaders else {})
        return {**leaders, "format": FORMAT, "unit": self.unit,
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


def _sorted_leaders(leaders: Sequence[CardLeader]) -> tuple[CardLeader, ...]:
    out = tuple(sorted((CardLeader(normalize_name(ld.name), ld.key) for ld in leaders), key=lambda ld: ld.name))
    if len(out) > MAX_LEADERS:
        raise ValueError(f"a card names at most {MAX_LEADERS} leaders")
    if len({ld.name for ld in out}) != len(out) or len({ld.key for ld in out}) != len(out):
        raise ValueError("a leader is named twice")
    return out


def make_card(unit: str, signer: Signer, encryption_key: sm2.PublicKey,
              issued: datetime | None = None, leaders: Sequence[CardLeader] = ()) -> bytes:
    """A signed card for one's own unit (``Keystore.signer(name)`` signs it), with its leaders."""
    unit = normalize_name(unit)
    if signer.public_key() == encryption_key:
        raise InvalidKey("the signing and the encryption key must be different keys")
    issued = issued or now()
    lds = _sorted_leaders(leaders)
    if any(ld.key in (signer.public_key(), encryption_key) for ld in lds):
        raise InvalidKey("a leader's key must be the leader's own, not one of the unit's keys")
    draft = UnitCard(unit, signer.public_key(), encryption_key, issued, b"", lds)
    sig = signer.sign(_canonical(draft._body()))
    return UnitCard(unit, draft.signing_key, encryption_key, issued, sig, lds).to_bytes()


def parse_card(data: bytes) -> UnitCard:
    """Read and verify a card; ``MalformedCard`` or ``InvalidSignature`` when it is not right."""
    if not isinstance(data, (bytes, bytearray)) or len(data) > MAX_CARD:
        raise MalformedCard("a unit card is at most 16 KiB of UTF-8 JSON")
    data = bytes(data)
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedCard("a unit card is one JSON object") from None
    leaders_doc = doc.pop("leaders", None) if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or set(doc) != _MEMBERS or not all(isinstance(v, str) for v in doc.values()):
        raise MalformedCard("a unit card has exactly the members " + ", ".join(sorted(_MEMBERS))
                            + " (and leaders)")
    if doc["format"] != FORMAT:
        raise MalformedCard(f"unknown card format {doc['format'][:40]!r}; this smseal reads {FORMAT}")
    try:
        unit = normalize_name(doc["unit"])
        sign = sm2.PublicKey.from_der(base64.b64decode(doc["signing_key"], validate=True))
        enc = sm2.PublicKey.from_der(base64.b64decode(doc["encryption_key"], validate=True))
        sig = base64.b64decode(doc["signature"], validate=True)
        issued = from_text(doc["issued"])
        leaders = _parse_leaders(leaders_doc)
    except (ValueError, binascii.Error, MalformedInput) as exc:
        raise MalformedCard(f"a card member is malformed ({exc.__class__.__name__})") from None
    card = UnitCard(unit, sign, enc, issued, sig, leaders)
    if card.to_bytes() != data:
        raise MalformedCard("the card is not in canonical form (altered or hand-edited)")
    if sign == enc:
        raise MalformedCard("the signing and the encryption key must be different keys")
    if any(ld.key in (sign, enc) for ld in leaders):
        raise MalformedCard("a leader's key must be the leader's own, not one of the unit's keys")
    sign.verify(sig, _canonical(card._body()))   # InvalidSignature
    return card


def _parse_leaders(doc: Any) -> tuple[CardLeader, ...]:
    if doc is None:
        return ()
    if not isinstance(doc, list) or not 1 <= len(doc) <= MAX_LEADERS:
        raise ValueError("leaders is a non-empty list")
    out = []
    for e in doc:
        if not isinstance(e, dict) or set(e) != {"name", "key"} or not all(isinstance(v, str) for v in e.values()):
            raise ValueError("a leader is {name, key}")
        out.append(CardLeader(normalize_name(e["name"]),
                              sm2.PublicKey.from_der(base64.b64decode(e["key"], validate=True))))
    lds = _sorted_leaders(out)
    if list(lds) != out:
        raise ValueError("leaders are not in canonical order")
    return lds


__all__ = ["UnitCard", "CardLeader", "make_card", "parse_card", "fingerprint_words", "MalformedCard", "InvalidSignature"]
