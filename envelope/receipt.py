"""Receipts (签收回执): a recipient's signed statement that it received a package.

    receipt = RECEIPT_MAGIC (8) ‖ u16be body length ‖ body (canonical msgpack) ‖ r ‖ s (64)

The body names the package id, the package digest (which covers every byte
of the sealed package), the recipient encryption key that opened it, the
recipient's signing key, the time and the status.  The signature is by the
recipient's signing key over "smseal/v1 receipt\\0" ‖ everything before it.
A receipt travels as bytes or, armored, in a mail body.
"""

from __future__ import annotations

import hmac
import struct
import time as _time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Union

from shangmi import sm2
from shangmi.errors import (InvalidArgument, InvalidKey, InvalidSignature, MalformedReceipt, SmsealError,
                            VerificationError)

from . import armor as _armor
from . import primitives as p
from .encoding import check_bin, der_to_raw, fields, pack, unpack
from .format import KEY_ID_SIZE, MAX_TIME, PUBLIC_KEY_SIZE, SIGNATURE_SIZE
from .open import scan
from .protocols import Signer, Trusted, as_trust_store, check_sender_now
from .results import OpenResult, ReceiptInfo, SealResult
from .source import Src, read_small

RECEIPT_MAGIC = b"SMSRCPT\x01"
STATUSES = ("received", "rejected")        # 已签收 / 拒收
MAX_RECEIPT_BODY = 1024
MAX_RECEIPT_FILE = 64 * 1024        # a receipt read from a file or stream, armored or not
_SCHEMA = (("package_id", bytes), ("package_digest", bytes), ("recipient_key_id", bytes),
           ("signer", bytes), ("time", int), ("status", str))


@dataclass(frozen=True)
class Receipt:
    """A parsed receipt; ``to_bytes()`` / ``armor()`` give its transport forms."""

    package_id: bytes
    package_digest: bytes
    recipient_key_id: bytes
    signer: bytes
    time: int
    status: str
    signature: bytes

    def signed_part(self) -> bytes:
        """The bytes the recipient signs (magic, length, canonical body), without the signature."""
        body = pack({"package_id": self.package_id, "package_digest": self.package_digest,
                     "recipient_key_id": self.recipient_key_id, "signer": self.signer,
                     "time": self.time, "status": self.status})
        return RECEIPT_MAGIC + struct.pack(">H", len(body)) + body

    def to_bytes(self) -> bytes:
        """The binary receipt: signed part followed by the 64-byte signature."""
        return self.signed_part() + self.signature

    def armor(self) -> bytes:
        """The receipt as armored text (bytes), for a mail body."""
        return _armor.encode(self.to_bytes(), _armor.RECEIPT)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Receipt":
        """Parse binary or armored; raise ``MalformedReceipt`` (a ``MalformedPackage``) on anything non-canonical."""
        data = bytes(data)
        if not data.startswith(RECEIPT_MAGIC):
            if data.lstrip(b" \t\r\n").startswith(b"-----BEGIN"):
                data = _armor.decode(data, _armor.RECEIPT)
        if data[:7] != RECEIPT_MAGIC[:7]:
            raise MalformedReceipt("this is not an smseal receipt (bad magic)")
        if data[7:8] != RECEIPT_MAGIC[7:]:
            raise MalformedReceipt("this receipt version is not supported")
        if len(data) < 10:
            raise MalformedReceipt("the receipt is truncated")
        (n,) = struct.unpack(">H", data[8:10])
        if len(data) != 10 + n + SIGNATURE_SIZE:
            raise MalformedReceipt("the receipt has the wrong length")
        obj = unpack(data[10:10 + n], "the receipt", max_len=MAX_RECEIPT_BODY)
        pid, digest, kid, signer, t, status = fields(obj, _SCHEMA, "the receipt")
        check_bin(pid, p.PACKAGE_ID_SIZE, "the package id")
        check_bin(digest, 32, "the package digest")
        check_bin(kid, KEY_ID_SIZE, "the recipient key id")
        check_bin(signer, PUBLIC_KEY_SIZE, "the signer key")
        if not 0 <= t <= MAX_TIME:
            raise MalformedReceipt("the receipt time is after 9999-12-31T23:59:59Z or negative")
        if status not in STATUSES:
            raise MalformedReceipt("unknown receipt status")
        try:
            sm2.PublicKey.from_bytes(signer)
        except InvalidKey:
            raise MalformedReceipt("the signer key is not on the SM2 curve") from None
        return cls(pid, digest, kid, signer, t, status, data[10 + n:])


def make_receipt(res: OpenResult[Any], *, signer: Signer, status: str = "received",
                 when: datetime | None = None) -> Receipt:
    """Sign a receipt for an opened package with the recipient unit's signing key."""
    if status not in STATUSES:
        raise InvalidArgument("status must be one of {statuses}", statuses=', '.join(STATUSES),
                              code='bad-receipt-status')
    if when is not None and (when.tzinfo is None or when.utcoffset() is None):
        raise InvalidArgument("naive datetime: give a timezone (e.g. timezone.utc)", code="naive-datetime",
                              field="when")
    t = int(_time.time()) if when is None else int(when.timestamp())
    if not 0 <= t <= MAX_TIME:
        raise InvalidArgument("a receipt time lies between 1970 and 9999-12-31T23:59:59Z",
                              code="bad-receipt-time")
    draft = Receipt(res.package_id, res.package_digest, res.recipient_key_id,
                    signer.public_key().to_bytes(), t, status, b"")
    message = p.LABEL_RECEIPT + draft.signed_part()
    raw = der_to_raw(signer.sign(message))
    signer.public_key().verify(raw, message, format="raw")
    return Receipt(**{**draft.__dict__, "signature": raw})


Package = Union[Src, OpenResult[Any], SealResult]


RECEIPT_CLOCK_SKEW = timedelta(minutes=10)   # office clocks differ a little; more is suspicious


def verify_receipt(receipt: Union[Receipt, Src], *, package: Package, trusted: Trusted,
                   expect_unit: str | None = None, not_before: datetime | None = None,
                   accept_before_revocation: bool = False) -> ReceiptInfo:
    """Check a receipt against the package it claims to acknowledge (docs/FORMAT.md §9).

    ``receipt`` is a ``Receipt`` or, under the one ``Src`` rule, a path (``str`` or
    ``os.PathLike``), its bytes (binary or armored) or a binary stream; armored text held in
    a ``str`` is passed as ``text.encode()``.
    ``package`` is the sealed package (path/bytes/stream) or the
    ``SealResult``/``OpenResult`` recorded for it.  Checked: the receipt names this package
    (id and digest) and a key it was addressed to; the signature; the signer is trusted at
    the receipt's time; it is not dated before ``not_before`` (default: the package's
    sealing time less ``RECEIPT_CLOCK_SKEW``); and the signer is the addressed unit —
    ``expect_unit`` when given, else the unit the trust store files the addressed key
    under when it can tell (``find(key_id).unit``, as ``Directory`` can).  Raises
    ``MalformedReceipt`` (bad encoding), ``VerificationError`` (another package, a key the
    package was not addressed to, a date before sealing, another unit's signature),
    ``InvalidSignature``, or what the trust store raises for the signer.  The signer
    must also still be valid today (a revoked unit could backdate its receipts):
    ``SenderNoLongerValid`` unless ``accept_before_revocation=True``, and then
    ``ReceiptInfo.signer_no_longer_valid`` says why.
    """
    r = receipt if isinstance(receipt, Receipt) else Receipt.from_bytes(
        read_small(receipt, MAX_RECEIPT_FILE, "the receipt"))
    pid, digest, key_ids, sealed_at = _package_facts(package)
    if not (hmac.compare_digest(r.package_id, pid) and hmac.compare_digest(r.package_digest, digest)):
        raise VerificationError("the receipt is for another package (id or digest differ)")
    if r.recipient_key_id not in key_ids:
        raise VerificationError("the receipt names a key the package was not addressed to")
    key = sm2.PublicKey.from_bytes(r.signer)
    try:
        key.verify(r.signature, p.LABEL_RECEIPT + r.signed_part(), format="raw")
    except InvalidSignature:
        raise InvalidSignature("the receipt's signature does not verify") from None
    when = datetime.fromtimestamp(r.time, timezone.utc)
    limit = not_before if not_before is not None else sealed_at - RECEIPT_CLOCK_SKEW
    if when < limit:
        raise VerificationError("the receipt is dated {when}, before the package was sealed ({sealed_at})",
                                when=when.isoformat(), sealed_at=sealed_at.isoformat(),
                                package=pid.hex())
    trust = as_trust_store(trusted)
    unit, no_longer = check_sender_now(trust, key, when, accept_before_revocation=accept_before_revocation)
    wanted = expect_unit if expect_unit is not None else _owner(trust, r.recipient_key_id)
    if wanted is not None and (unit is None or not _same_name(unit, wanted)):
        raise VerificationError("the receipt is signed by {signer}, not by the addressed unit {unit}",
                                signer=str(unit or 'an unnamed key'), unit=str(wanted),
                                package=pid.hex())
    return ReceiptInfo(r.package_id, r.package_digest, r.recipient_key_id, key, unit, when, r.status,
                       signer_no_longer_valid=no_longer)


def _same_name(a: str, b: str) -> bool:
    return unicodedata.normalize("NFKC", a).strip() == unicodedata.normalize("NFKC", b).strip()


def _owner(trust: object, key_id: bytes) -> str | None:
    """The unit the trust store files ``key_id`` under, when it can tell (``Directory.find``)."""
    find = getattr(trust, "find", None)
    if find is None:
        return None
    try:
        found = find(key_id)
    except SmsealError:
        return None      # not in the directory: nothing to compare with
    owner = getattr(found, "unit", None)
    return owner if isinstance(owner, str) else None


def _package_facts(package: Package) -> tuple[bytes, bytes, set[bytes], datetime]:
    if isinstance(package, (OpenResult, SealResult)):
        return (package.package_id, package.package_digest, {x.key_id for x in package.recipients},
                package.sealed_at)
    header, digest = scan(package)
    return header.package_id, digest, {s.key_id for s in header.recipients}, header.sealed_datetime
