"""The office-workflow fields of the metadata: 文种, reply deadline, reply link and 签发 approval.

They travel inside the encrypted metadata (docs/FORMAT.md §6.5), after the
GB/T 9704 elements, so nobody outside the addressed units learns them.

*Recipients* (主送/抄送 with their 份号): the metadata names every
recipient stanza of the header — role, encryption key id, the unit's name
as the sender's directory records it, and the copy number (份号) of that
recipient's copy — in header order; a reader refuses a package whose list
differs from the header's stanzas.

*Approval* (签发): a leader of the sending unit — a person with a personal
SM2 signing key bound to the unit — signs the SM3 of the metadata (every
field but ``approval`` itself: file names and sizes, the recipient list
with names, key ids and copy numbers), the header's urgency and the SM3 of
each file's content: everything the leader was shown.  ``verify_approval``
checks it given a way to tell who the sending unit's leaders are
(``smseal.office.approval`` passes the directory).

*Reply link*: a reply names the original package by id and package digest
(the SM3 the original sender's ledger recorded), so the link is exact and,
being inside the sender-signed payload, cannot be forged by anyone else.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Sequence

from shangmi import sm2, sm3
from shangmi.errors import InvalidSignature, MalformedPackage, SmsealError, VerificationError

from .format import URGENCIES
from .encoding import check_bin, check_str, der_to_raw, fields, pack
from .protocols import Signer
from .text import text_problem

if TYPE_CHECKING:
    from .results import OpenResult

# 党政机关公文处理工作条例 (2012) art. 8: the fifteen kinds of official document (文种).
DOC_TYPES = ("决议", "决定", "命令", "公报", "公告", "通告", "意见", "通知", "通报", "报告",
             "请示", "批复", "议案", "函", "纪要")

LABEL_APPROVAL = b"smseal/v1 approval\x00"
DIGEST_SIZE = 32
MAX_LEADER_NAME = 256
MAX_UNIT_NAME = 256
MAX_COPY_NUMBER = 64
MAX_APPROVAL_TIME = 253402300799      # 9999-12-31T23:59:59Z
# An approval may be dated a little after the sealing time (the leader's and the sender's clocks).
APPROVAL_CLOCK_SKEW = 600


class ApprovalError(VerificationError):
    """The 签发 approval is missing, not by a leader of the sending unit, revoked, or does not match.

    ``code`` says which: ``approval-missing``, ``approval-files-differ`` (context ``index``),
    ``approval-signature`` (the metadata or the recipient list changed after 签发),
    ``approval-urgency``, ``approval-dated-after-sealing``, ``approval-recipient-name``
    (context ``unit``, ``expected``), ``approval-not-a-leader``, ``approval-revoked-leader``.
    """


def check_doc_type(doc_type: str | None, error: type[SmsealError] = MalformedPackage) -> None:
    """Raise ``error`` unless ``doc_type`` is None or one of the fifteen 文种."""
    if doc_type is not None and doc_type not in DOC_TYPES:
        raise error("document type must be one of {doc_types}", doc_types='、'.join(DOC_TYPES))


def _opt_text(v: Any, max_bytes: int, what: str) -> str | None:
    if v is None:
        return None
    text = check_str(v, max_bytes, what)
    if not text:
        raise MalformedPackage("{what} is empty", what=what)
    problem = text_problem(text)
    if problem:
        raise MalformedPackage("{what} {problem}", what=what, problem=problem)
    return text


@dataclass(frozen=True)
class Addressee:
    """One recipient as the metadata names it (FORMAT.md §6.5), in the header's stanza order.

    ``role`` is ``"to"`` (主送) or ``"cc"`` (抄送), ``key_id`` the smseal key id of the
    recipient's encryption key (it must equal the stanza's), ``unit`` the recipient unit's
    name as the sender's directory records it (NFKC, no outer spaces) or None, and
    ``copy_number`` the 份号 of this recipient's copy or None, and ``reply`` whether the matter
    is assigned to this recipient (交办): a written reply is expected from it by ``reply_by``.
    """

    role: str
    key_id: bytes
    unit: str | None = None
    copy_number: str | None = None
    reply: bool = False

    def to_obj(self) -> list[Any]:
        """``[role, key_id, unit, copy_number, reply]``, as it travels in the metadata."""
        return [self.role, self.key_id, self.unit, self.copy_number, self.reply]

    @classmethod
    def from_obj(cls, obj: Any, i: int) -> "Addressee":
        what = f"recipients item {i}"
        if type(obj) is not list or len(obj) != 5:
            raise MalformedPackage("recipients item {i} must be [role, key_id, unit, copy_number, reply]", i=str(i))
        role, kid, unit, copy, reply = obj
        if role not in ("to", "cc") or type(role) is not str:
            raise MalformedPackage("recipients item {i}: role must be to or cc", i=str(i))
        if type(reply) is not bool:
            raise MalformedPackage("recipients item {i}: reply must be true or false", i=str(i))
        return cls(role, check_bin(kid, 16, f"{what}: key_id"), _opt_text(unit, MAX_UNIT_NAME, f"{what}: unit"),
                   _opt_text(copy, MAX_COPY_NUMBER, f"{what}: copy_number"), reply)


def number_copies(first: str, count: int) -> list[str]:
    """``count`` consecutive 份号 from ``first`` (digits; at least six, zero-padded as GB/T 9704 prints them).

    Raises ``ValueError`` unless ``first`` is a positive whole number in ASCII digits."""
    start = first.strip()
    if not start.isascii() or not start.isdigit() or int(start) < 1:
        raise ValueError("a copy number (份号) is a positive whole number, like 000001")
    width = max(6, len(start))
    return [f"{int(start) + i:0{width}d}" for i in range(count)]


def parse_addressees(obj: Any) -> "tuple[Addressee, ...]":
    """The metadata's ``recipients`` array: 1 … 256 items, the first ``to``, the others ``cc``."""
    if type(obj) is not list or not 1 <= len(obj) <= 256:
        raise MalformedPackage("recipients must list 1 to 256 recipients")
    out = tuple(Addressee.from_obj(x, i) for i, x in enumerate(obj))
    if out[0].role != "to" or any(a.role != "cc" for a in out[1:]):
        raise MalformedPackage("recipients: exactly the first one is the main recipient (to)")
    return out


def check_addressees(addressees: Sequence[Addressee], stanzas: Sequence[tuple[str, bytes]]) -> None:
    """Raise ``MalformedPackage`` unless the metadata's recipients are the header's stanzas.

    ``stanzas`` are the header's ``(role, key_id)`` pairs, in order."""
    if [(a.role, a.key_id) for a in addressees] != [(r, k) for r, k in stanzas]:
        raise MalformedPackage("the metadata's recipient list differs from the header's recipient stanzas")


@dataclass(frozen=True)
class ReplyTo:
    """The original package a reply answers: its id and its package digest (FORMAT.md §8)."""

    package_id: bytes
    package_digest: bytes

    def to_obj(self) -> dict[str, bytes]:
        """The canonical map that travels in the metadata (FORMAT.md §6.5)."""
        return {"package_id": self.package_id, "package_digest": self.package_digest}

    @classmethod
    def from_obj(cls, obj: Any) -> "ReplyTo":
        pid, digest = fields(obj, [("package_id", bytes), ("package_digest", bytes)], "reply_to")
        return cls(check_bin(pid, 16, "reply_to.package_id"),
                   check_bin(digest, DIGEST_SIZE, "reply_to.package_digest"))


@dataclass(frozen=True)
class Approval:
    """A leader's 签发: name as the leader signed it, public key, time, file digests, signature."""

    leader: str
    key: sm2.PublicKey
    time: datetime
    urgency: str                      # the header's urgency the leader approved
    files: tuple[bytes, ...]          # SM3 of each file's content, in package order
    signature: bytes                  # r ‖ s, 64 bytes

    def _signed_obj(self) -> dict[str, Any]:
        return {"leader": self.leader, "key": self.key.to_bytes(),
                "time": int(self.time.timestamp()), "urgency": self.urgency, "files": list(self.files)}

    def to_obj(self) -> dict[str, Any]:
        """The canonical map that travels in the metadata (FORMAT.md §6.5)."""
        return {**self._signed_obj(), "signature": self.signature}

    @classmethod
    def from_obj(cls, obj: Any) -> "Approval":
        leader, key, t, urgency, files, sig = fields(
            obj, [("leader", str), ("key", bytes), ("time", int), ("urgency", str), ("files", list),
                  ("signature", bytes)], "approval")
        leader = check_str(leader, MAX_LEADER_NAME, "approval.leader")
        problem = text_problem(leader)
        if not leader.strip() or problem:
            raise MalformedPackage("approval.leader {problem}", problem=str(problem or 'is empty'))
        check_bin(key, 65, "approval.key")
        try:
            pub = sm2.PublicKey.from_bytes(key)
        except Exception:
            raise MalformedPackage("approval.key is not an SM2 public key") from None
        if not 0 <= t <= MAX_APPROVAL_TIME:
            raise MalformedPackage("approval.time is out of range")
        if urgency not in URGENCIES:
            raise MalformedPackage("approval.urgency must be normal, urgent or extra-urgent")
        digests = tuple(check_bin(d, DIGEST_SIZE, "approval.files item") for d in files)
        return cls(leader, pub, datetime.fromtimestamp(t, timezone.utc), urgency, digests,
                   check_bin(sig, 64, "approval.signature"))


def approval_message(metadata_digest: bytes, obj_without_signature: dict[str, Any]) -> bytes:
    """``"smseal/v1 approval" 00 ‖ SM3(metadata without approval) ‖ u32be len(A) ‖ A``.

    ``A`` is the canonical msgpack of the approval map without ``signature``.
    """
    a = pack(obj_without_signature)
    return LABEL_APPROVAL + metadata_digest + struct.pack(">I", len(a)) + a


def make_approval(metadata_digest: bytes, file_digests: Sequence[bytes], *, leader: str,
                  signer: Signer, time: datetime, urgency: str) -> Approval:
    """Sign an approval with the leader's key (checked to verify before it is returned).

    ``metadata_digest`` is ``Metadata.approved_digest()`` of metadata that names every
    recipient (``Addressee.unit`` set); ``urgency`` is the urgency the package will carry."""
    if time.tzinfo is None:
        raise ValueError("time must be timezone-aware")
    if urgency not in URGENCIES:
        raise ValueError("urgency must be normal, urgent or extra-urgent")
    t = datetime.fromtimestamp(int(time.timestamp()), timezone.utc)
    draft = Approval(leader, signer.public_key(), t, urgency, tuple(file_digests), b"")
    message = approval_message(metadata_digest, draft._signed_obj())
    raw = der_to_raw(signer.sign(message))
    approval = Approval(leader, draft.key, t, urgency, draft.files, raw)
    check_approval_signature(approval, metadata_digest)
    return approval


def check_approval_signature(approval: Approval, metadata_digest: bytes) -> None:
    """Raise ``ApprovalError`` unless ``approval.signature`` is the leader key's signature."""
    try:
        approval.key.verify(approval.signature,
                            approval_message(metadata_digest, approval._signed_obj()), format="raw")
    except InvalidSignature:
        raise ApprovalError("the approval signature does not verify: the document or its recipient list "
                            "was changed after it was approved", code="approval-signature") from None


def check_file_digests(approval: Approval, digests: Sequence[bytes]) -> None:
    """Raise ``ApprovalError`` naming the first file whose content differs from what was approved."""
    if len(approval.files) != len(digests):
        raise ApprovalError("the approval covers a different number of files than the package holds",
                            code="approval-files-differ", index="0")
    for i, (want, got) in enumerate(zip(approval.files, digests)):
        if not hmac.compare_digest(want, got):
            # the file name is confidential: the message names its position, the caller may show it
            raise ApprovalError("file {number} of {total} differs from the file the leader approved",
                                number=str(i + 1), total=str(len(digests)), code="approval-files-differ",
                                index=str(i))


LeaderCheck = Callable[[str, sm2.PublicKey, datetime], str]


def verify_approval(result: "OpenResult[Any]", *, leader_of: LeaderCheck,
                    unit_of: Callable[[bytes], str | None] = lambda key_id: None) -> str:
    """Check an opened package's 签发 (FORMAT.md §6.5); return the leader's name, or raise.

    ``leader_of(unit, key, time)`` returns the name the reader's directory records for
    ``key`` as a leader of the sending ``unit`` at ``time``, and raises ``UntrustedSender``
    (not a leader of that unit) or ``RevokedKey``.  ``unit_of(key_id)`` returns the unit the
    reader's directory records for a recipient's encryption key id, or None when it does
    not know the key: every recipient name the leader approved must be the unit the reader
    knows for that key.  Raises ``ApprovalError`` (see its ``code``) for anything else.
    """
    from shangmi.errors import RevokedKey, UntrustedSender

    a = result.metadata.approval
    if a is None:
        raise ApprovalError("the package carries no approval (签发)", code="approval-missing")
    if result.sender is None:
        raise ApprovalError("the sender is not a named unit", code="approval-not-a-leader")
    check_file_digests(a, result.file_digests)
    check_approval_signature(a, result.metadata.approved_digest())
    if a.urgency != result.urgency:
        raise ApprovalError("the urgency was changed after the document was approved", code="approval-urgency")
    if a.time.timestamp() > result.sealed_at.timestamp() + APPROVAL_CLOCK_SKEW:
        raise ApprovalError("the approval is dated after the package was sealed",
                            code="approval-dated-after-sealing")
    for entry in result.metadata.recipients:
        known = unit_of(entry.key_id)
        if known is not None and not _same_unit(known, entry.unit):
            raise ApprovalError("the approved recipient list names {named} for a key of {unit}",
                                code="approval-recipient-name", unit=known, named=entry.unit or "")
    try:
        return leader_of(result.sender, a.key, result.sealed_at)
    except UntrustedSender:
        raise ApprovalError("the approving key is not a leader of {unit}", code="approval-not-a-leader",
                            unit=result.sender) from None
    except RevokedKey as exc:
        raise ApprovalError("the approving leader's key was revoked ({reason})", code="approval-revoked-leader",
                            reason=str(exc.context.get("reason", ""))) from None


def _same_unit(a: str, b: str | None) -> bool:
    import unicodedata

    return b is not None and unicodedata.normalize("NFKC", a).strip() == unicodedata.normalize("NFKC", b).strip()


def file_digest() -> "sm3.SM3":
    """A fresh SM3 for one file's content (what ``Approval.files`` holds)."""
    return sm3.SM3()
