"""Unit cards: how a unit hands its two public keys to others (when no certificate is used).

A card is one line of canonical JSON (UTF-8, keys sorted, no spaces) and a newline::

    {"encryption_fingerprint":"<hex SM3>","encryption_key":"<base64 SPKI DER>",
     "format":"smseal-card/1","issued":"2026-11-28T07:26:09.000000Z",
     "signature":"<base64 DER SM2>","signing_fingerprint":"<hex SM3>",
     "signing_key":"<base64 SPKI DER>","unit":"赤峰市人民政府办公室"}

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

from shangmi import sm2
from shangmi.errors import InvalidKey, InvalidSignature, MalformedInput

from .base import Signer
from .errors import MalformedCard
from .names import from_text, normalize_name, now, to_text

FORMAT = "smseal-card/1"
MAX_CARD = 16 * 1024
_MEMBERS = {"format", "unit", "signing_key", "encryption_key", "signing_fingerprint",
            "encryption_fingerprint", "issued", "signature"}


@dataclass(frozen=True)
class UnitCard:
    unit: str
    signing_key: sm2.PublicKey
    encryption_key: sm2.PublicKey
    issued: datetime
    signature: bytes

    def to_bytes(self) -> bytes:
        return _canonical({**self._body(), "signature": base64.b64encode(self.signature).decode()}) + b"\n"

    def _body(self) -> dict[str, str]:
        return {"format": FORMAT, "unit": self.unit,
                "signing_key": base64.b64encode(self.signing_key.to_der()).decode(),
                "encryption_key": base64.b64encode(self.encryption_key.to_der()).decode(),
                "signing_fingerprint": self.signing_key.fingerprint().hex(),
                "encryption_fingerprint": self.encryption_key.fingerprint().hex(),
                "issued": to_text(self.issued)}


def _canonical(doc: dict[str, str]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def fingerprint_words(key: sm2.PublicKey) -> str:
    """The SM3 fingerprint as 16 groups of 4 hex digits, for reading aloud."""
    h = key.fingerprint().hex().upper()
    return " ".join(h[i:i + 4] for i in range(0, len(h), 4))


def make_card(unit: str, signer: Signer, encryption_key: sm2.PublicKey,
              issued: datetime | None = None) -> bytes:
    """A signed card for one's own unit (``Keystore.signer(name)`` signs it)."""
    unit = normalize_name(unit)
    if signer.public_key() == encryption_key:
        raise InvalidKey("the signing and the encryption key must be different keys")
    issued = issued or now()
    draft = UnitCard(unit, signer.public_key(), encryption_key, issued, b"")
    sig = signer.sign(_canonical(draft._body()))
    return UnitCard(unit, draft.signing_key, encryption_key, issued, sig).to_bytes()


def parse_card(data: bytes) -> UnitCard:
    """Read and verify a card; ``MalformedCard`` or ``InvalidSignature`` when it is not right."""
    if not isinstance(data, (bytes, bytearray)) or len(data) > MAX_CARD:
        raise MalformedCard("a unit card is at most 16 KiB of UTF-8 JSON")
    data = bytes(data)
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedCard("a unit card is one JSON object") from None
    if not isinstance(doc, dict) or set(doc) != _MEMBERS or not all(isinstance(v, str) for v in doc.values()):
        raise MalformedCard("a unit card has exactly the members " + ", ".join(sorted(_MEMBERS)))
    if doc["format"] != FORMAT:
        raise MalformedCard(f"unknown card format {doc['format'][:40]!r}; this smseal reads {FORMAT}")
    try:
        unit = normalize_name(doc["unit"])
        sign = sm2.PublicKey.from_der(base64.b64decode(doc["signing_key"], validate=True))
        enc = sm2.PublicKey.from_der(base64.b64decode(doc["encryption_key"], validate=True))
        sig = base64.b64decode(doc["signature"], validate=True)
        issued = from_text(doc["issued"])
    except (ValueError, binascii.Error, MalformedInput) as exc:
        raise MalformedCard(f"a card member is malformed ({exc.__class__.__name__})") from None
    card = UnitCard(unit, sign, enc, issued, sig)
    if card.to_bytes() != data:
        raise MalformedCard("the card is not in canonical form (altered or hand-edited)")
    if sign == enc:
        raise MalformedCard("the signing and the encryption key must be different keys")
    sign.verify(sig, _canonical(card._body()))   # InvalidSignature
    return card


__all__ = ["UnitCard", "make_card", "parse_card", "fingerprint_words", "MalformedCard", "InvalidSignature"]
