"""The office-workflow fields of the metadata: 文种, reply deadline, reply link and 签发 approval.

They travel inside the encrypted metadata (docs/FORMAT.md §6.5), after the
GB/T 9704 elements, so nobody outside the addressed units learns them.

*Approval* (签发): a leader of the sending unit — a person with a personal
SM2 signing key bound to the unit — signs the SM3 of the metadata (every
field but ``approval`` itself, file names and sizes included) and the SM3
of each file's content.  Recipients check it against the leaders the
sending unit registered (``smseal.office.approval``); this module only knows
the bytes and the signature.

*Reply link*: a reply names the original package by id and package digest
(the SM3 the original sender's ledger recorded), so the link is exact and,
being inside the sender-signed payload, cannot be forged by anyone else.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from shangmi import sm2, sm3
from shangmi.errors import InvalidSignature, MalformedPackage, VerificationError

from .encoding import check_bin, check_str, der_to_raw, fields, pack
from .protocols import Signer
from .text import text_problem

# 党政机关公文处理工作条例 (2012) art. 8: the fifteen kinds of official document (文种).
DOC_TYPES = ("决议", "决定", "命令", "公报", "公告", "通告", "意见", "通知", "通报", "报告",
             "请示", "批复", "议案", "函", "纪要")

LABEL_APPROVAL = b"smseal/v1 approval\x00"
DIGEST_SIZE = 32
MAX_LEADER_NAME = 256
MAX_APPROVAL_TIME = 253402300799      # 9999-12-31T23:59:59Z


class ApprovalError(VerificationError):
    """The 签发 approval is missing, not by a leader of the sending unit, revoked, or does not match."""


def check_doc_type(doc_type: str | None, error: type[Exception] = MalformedPackage) -> None:
    """Raise ``error`` unless ``doc_type`` is None or one of the fifteen 文种."""
    if doc_type is not None and doc_type not in DOC_TYPES:
        raise error(f"document type must be one of {'、'.join(DOC_TYPES)}")


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
    files: tuple[bytes, ...]          # SM3 of each file's content, in package order
    signature: bytes                  # r ‖ s, 64 bytes

    def _signed_obj(self) -> dict[str, Any]:
        return {"leader": self.leader, "key": self.key.to_bytes(),
                "time": int(self.time.timestamp()), "files": list(self.files)}

    def to_obj(self) -> dict[str, Any]:
        """The canonical map that travels in the metadata (FORMAT.md §6.5)."""
        return {**self._signed_obj(), "signature": self.signature}

    @classmethod
    def from_obj(cls, obj: Any) -> "Approval":
        leader, key, t, files, sig = fields(
            obj, [("leader", str), ("key", bytes), ("time", int), ("files", list), ("signature", bytes)],
            "approval")
        leader = check_str(leader, MAX_LEADER_NAME, "approval.leader")
        problem = text_problem(leader)
        if not leader.strip() or problem:
            raise MalformedPackage(f"approval.leader {problem or 'is empty'}")
        check_bin(key, 65, "approval.key")
        try:
            pub = sm2.PublicKey.from_bytes(key)
        except Exception:
            raise MalformedPackage("approval.key is not an SM2 public key") from None
        if not 0 <= t <= MAX_APPROVAL_TIME:
            raise MalformedPackage("approval.time is out of range")
        digests = tuple(check_bin(d, DIGEST_SIZE, "approval.files item") for d in files)
        return cls(leader, pub, datetime.fromtimestamp(t, timezone.utc), digests,
                   check_bin(sig, 64, "approval.signature"))


def approval_message(metadata_digest: bytes, obj_without_signature: dict[str, Any]) -> bytes:
    """``"smseal/v1 approval" 00 ‖ SM3(metadata without approval) ‖ u32be len(A) ‖ A``.

    ``A`` is the canonical msgpack of the approval map without ``signature``.
    """
    a = pack(obj_without_signature)
    return LABEL_APPROVAL + metadata_digest + struct.pack(">I", len(a)) + a


def make_approval(metadata_digest: bytes, file_digests: Sequence[bytes], *, leader: str,
                  signer: Signer, time: datetime) -> Approval:
    """Sign an approval with the leader's key (checked to verify before it is returned)."""
    if time.tzinfo is None:
        raise ValueError("time must be timezone-aware")
    t = datetime.fromtimestamp(int(time.timestamp()), timezone.utc)
    draft = Approval(leader, signer.public_key(), t, tuple(file_digests), b"")
    message = approval_message(metadata_digest, draft._signed_obj())
    raw = der_to_raw(signer.sign(message))
    approval = Approval(leader, draft.key, t, draft.files, raw)
    check_approval_signature(approval, metadata_digest)
    return approval


def check_approval_signature(approval: Approval, metadata_digest: bytes) -> None:
    """Raise ``ApprovalError`` unless ``approval.signature`` is the leader key's signature."""
    try:
        approval.key.verify(approval.signature,
                            approval_message(metadata_digest, approval._signed_obj()), format="raw")
    except InvalidSignature:
        raise ApprovalError("the approval signature does not verify: the document was changed after "
                            "it was approved") from None


def check_file_digests(approval: Approval, digests: Sequence[bytes]) -> None:
    """Raise ``ApprovalError`` naming the first file whose content differs from what was approved."""
    if len(approval.files) != len(digests):
        raise ApprovalError("the approval covers a different number of files than the package holds")
    for i, (want, got) in enumerate(zip(approval.files, digests)):
        if not hmac.compare_digest(want, got):
            # the file name is confidential: the message names its position, the caller may show it
            raise ApprovalError(f"file {i + 1} of {len(digests)} differs from the file the leader approved",
                                index=str(i))


def file_digest() -> "sm3.SM3":
    """A fresh SM3 for one file's content (what ``Approval.files`` holds)."""
    return sm3.SM3()
