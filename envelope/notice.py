"""Notices: small signed messages about one sealed package — 催领 reminders and 拒收 reasons.

    notice = NOTICE_MAGIC (8) ‖ u16be body length ‖ body (canonical msgpack) ‖ r ‖ s (64)

A *reminder* is sent by the sender of a package to a recipient that has not
signed for it yet; a *rejection* carries the reason of a 拒收 from the
recipient back to the sender, next to the signed receipt whose status is
``rejected``.  Both are signed by the signing key of the unit that sends the
notice, over ``"smseal/v1 notice\\0"`` ‖ everything before the signature, and
name the exact package (id and digest), so nobody can forge one to spam an
office or attach a made-up reason to someone else's 拒收.  See docs/FORMAT.md
("Notices").
"""

from __future__ import annotations

import struct
import time as _time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal, Union

from shangmi import sm2
from shangmi.errors import InvalidKey, InvalidSignature, MalformedReceipt, VerificationError

from . import armor as _armor
from . import primitives as p
from .encoding import check_bin, der_to_raw, fields, pack, unpack
from .format import KEY_ID_SIZE, MAX_TIME, PUBLIC_KEY_SIZE, SIGNATURE_SIZE, URGENCIES
from .protocols import Signer, Trusted, as_trust_store, check_sender_now
from .text import text_problem

NOTICE_MAGIC = b"SMSNOTC\x01"
LABEL_NOTICE = b"smseal/v1 notice\x00"
ARMOR_LABEL = "SMSEAL NOTICE"
KINDS = ("reminder", "rejection")
MAX_NOTICE_BODY = 1024
MAX_TEXT = 512                 # bytes of UTF-8 in ``text`` (a 拒收 reason)
MAX_SEQUENCE = 1000
NoticeKind = Literal["reminder", "rejection"]
_SCHEMA = (("kind", str), ("package_id", bytes), ("package_digest", bytes), ("recipient_key_id", bytes),
           ("signer", bytes), ("time", int), ("urgency", str), ("sequence", int), ("text", str))


@dataclass(frozen=True)
class Notice:
    """A parsed notice; ``to_bytes()`` / ``armor()`` give its transport forms.

    ``recipient_key_id`` names the recipient the notice is about: the stanza
    key the reminder is addressed to, or the key of the unit that refuses.
    ``sequence`` numbers the reminders of one recipient (1, 2, ...); it is 0
    in a rejection.  ``text`` is the reason of a rejection ("" in a reminder).
    """

    kind: str
    package_id: bytes
    package_digest: bytes
    recipient_key_id: bytes
    signer: bytes
    time: int
    urgency: str
    sequence: int
    text: str
    signature: bytes

    def signed_part(self) -> bytes:
        """The bytes the sender signs (magic, length, canonical body), without the signature."""
        body = pack({"kind": self.kind, "package_id": self.package_id, "package_digest": self.package_digest,
                     "recipient_key_id": self.recipient_key_id, "signer": self.signer, "time": self.time,
                     "urgency": self.urgency, "sequence": self.sequence, "text": self.text})
        return NOTICE_MAGIC + struct.pack(">H", len(body)) + body

    def to_bytes(self) -> bytes:
        """The binary notice: signed part followed by the 64-byte signature."""
        return self.signed_part() + self.signature

    def armor(self) -> bytes:
        """The notice as armored text (bytes), for a mail body."""
        return _armor.encode(self.to_bytes(), ARMOR_LABEL)

    @property
    def datetime(self) -> datetime:
        """The notice's time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time, timezone.utc)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Notice":
        """Parse binary or armored; raise ``MalformedReceipt`` (a ``MalformedPackage``) on anything non-canonical."""
        data = bytes(data)
        if not data.startswith(NOTICE_MAGIC) and data.lstrip(b" \t\r\n").startswith(b"-----BEGIN"):
            data = _armor.decode(data, ARMOR_LABEL)
        if data[:7] != NOTICE_MAGIC[:7]:
            raise MalformedReceipt("this is not an smseal notice (bad magic)")
        if data[7:8] != NOTICE_MAGIC[7:]:
            raise MalformedReceipt("this notice version is not supported")
        if len(data) < 10:
            raise MalformedReceipt("the notice is truncated")
        (n,) = struct.unpack(">H", data[8:10])
        if len(data) != 10 + n + SIGNATURE_SIZE:
            raise MalformedReceipt("the notice has the wrong length")
        obj = unpack(data[10:10 + n], "the notice", max_len=MAX_NOTICE_BODY)
        kind, pid, digest, kid, signer, t, urgency, seq, text = fields(obj, _SCHEMA, "the notice")
        if kind not in KINDS:
            raise MalformedReceipt("unknown notice kind")
        check_bin(pid, p.PACKAGE_ID_SIZE, "the package id")
        check_bin(digest, 32, "the package digest")
        check_bin(kid, KEY_ID_SIZE, "the recipient key id")
        check_bin(signer, PUBLIC_KEY_SIZE, "the signer key")
        if not 0 <= t <= MAX_TIME:
            raise MalformedReceipt("the notice time is out of range")
        if urgency not in URGENCIES:
            raise MalformedReceipt("unknown urgency in the notice")
        _check_kind_fields(kind, seq, text)
        try:
            sm2.PublicKey.from_bytes(signer)
        except InvalidKey:
            raise MalformedReceipt("the signer key is not on the SM2 curve") from None
        return cls(kind, pid, digest, kid, signer, t, urgency, seq, text, data[10 + n:])


def _check_kind_fields(kind: str, sequence: int, text: str) -> None:
    if kind == "reminder":
        if not 1 <= sequence <= MAX_SEQUENCE:
            raise MalformedReceipt("a reminder's sequence must be 1 to 1000")
        if text:
            raise MalformedReceipt("a reminder carries no text")
    else:
        if sequence != 0:
            raise MalformedReceipt("a rejection's sequence must be 0")
        if not text.strip():
            raise MalformedReceipt("a rejection must give its reason")
    if len(text.encode("utf-8")) > MAX_TEXT:
        raise MalformedReceipt("the notice text is longer than {max_text} bytes", max_text=str(MAX_TEXT))
    if text:
        why = text_problem(text)
        if why:
            raise MalformedReceipt("the notice text {why}", why=str(why))


def make_notice(kind: NoticeKind, *, package_id: bytes, package_digest: bytes, recipient_key_id: bytes,
                urgency: str, signer: Signer, sequence: int = 0, text: str = "",
                when: datetime | None = None) -> Notice:
    """Sign a notice with the signing key of the unit that sends it.

    Raises ``ValueError`` for a field the format does not allow (unknown kind
    or urgency, a reminder without a sequence number, a rejection without a
    reason, a reason longer than 512 bytes or holding control characters).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if urgency not in URGENCIES:
        raise ValueError(f"urgency must be one of {', '.join(URGENCIES)}")
    try:
        _check_kind_fields(kind, sequence, text)
    except MalformedReceipt as exc:
        raise ValueError(str(exc)) from None
    t = int(_time.time()) if when is None else int(when.timestamp())
    draft = Notice(kind, bytes(package_id), bytes(package_digest), bytes(recipient_key_id),
                   signer.public_key().to_bytes(), t, urgency, sequence, text, b"")
    check_bin(draft.package_id, p.PACKAGE_ID_SIZE, "the package id")
    check_bin(draft.package_digest, 32, "the package digest")
    check_bin(draft.recipient_key_id, KEY_ID_SIZE, "the recipient key id")
    message = LABEL_NOTICE + draft.signed_part()
    raw = der_to_raw(signer.sign(message))
    signer.public_key().verify(raw, message, format="raw")
    return Notice(**{**draft.__dict__, "signature": raw})


@dataclass(frozen=True)
class NoticeInfo:
    """A notice whose signature verified and whose signer the trust store vouched for."""

    kind: str
    package_id: bytes
    package_digest: bytes
    recipient_key_id: bytes
    signer_key: sm2.PublicKey
    signer_unit: str | None
    time: datetime
    urgency: str
    sequence: int
    text: str
    signer_no_longer_valid: str | None = None    # set only with accept_before_revocation=True


def verify_notice(notice: Union[Notice, bytes], *, trusted: Trusted,
                  accept_before_revocation: bool = False) -> NoticeInfo:
    """Check a notice's signature and that its signer is trusted at the notice's time *and
    still valid today* — the rule packages and receipts follow (``protocols.check_sender_now``):
    a revoked or expired unit could backdate a 催领 or a 拒收 reason, so that raises
    ``SenderNoLongerValid`` unless ``accept_before_revocation=True`` (then
    ``NoticeInfo.signer_no_longer_valid`` says why).

    Raises ``MalformedReceipt``, ``InvalidSignature`` or what the trust store
    raises.  The caller checks that the notice concerns a package it knows,
    with that digest, and that ``signer_unit`` is the unit it should be (the
    package's sender for a reminder, the addressed recipient for a rejection).
    """
    n = notice if isinstance(notice, Notice) else Notice.from_bytes(notice)
    key = sm2.PublicKey.from_bytes(n.signer)
    try:
        key.verify(n.signature, LABEL_NOTICE + n.signed_part(), format="raw")
    except InvalidSignature:
        raise InvalidSignature("the notice's signature does not verify") from None
    unit, no_longer = check_sender_now(as_trust_store(trusted), key, n.datetime,
                                       accept_before_revocation=accept_before_revocation)
    return NoticeInfo(n.kind, n.package_id, n.package_digest, n.recipient_key_id, key, unit, n.datetime,
                      n.urgency, n.sequence, n.text, no_longer)


def check_notice_package(info: NoticeInfo, package_id: bytes, package_digest: bytes) -> None:
    """Raise ``VerificationError`` unless the notice names exactly this package."""
    import hmac

    if not (hmac.compare_digest(info.package_id, package_id)
            and hmac.compare_digest(info.package_digest, package_digest)):
        raise VerificationError("the notice is for another package (id or digest differ)")
