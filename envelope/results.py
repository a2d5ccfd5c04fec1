"""What seal, open, inspect and receipts return: plain immutable records, no secrets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Mapping, TypeVar
from datetime import datetime

from shangmi import sm2
from shangmi.errors import MalformedInput

from .metadata import Metadata


@dataclass(frozen=True)
class RecipientInfo:
    """One recipient stanza of a package, as the clear header names it."""

    role: str          # "to" (主送) or "cc" (抄送)
    key_id: bytes      # first 16 bytes of the SM3 fingerprint of the encryption key


@dataclass(frozen=True)
class SealResult:
    """What the sender's ledger records.  ``package_digest`` is what receipts sign.

    ``to_dict()`` / ``from_dict()`` give a JSON-ready form (ids in hex, time in ISO 8601)
    to store and to rebuild it exactly, e.g. to check receipts that arrive days later.
    """

    package_id: bytes
    package_digest: bytes
    sealed_at: datetime
    recipients: tuple[RecipientInfo, ...]
    size: int

    def to_dict(self) -> dict[str, Any]:
        """``{"package_id", "package_digest", "sealed_at", "recipients": [{"role", "key_id"}], "size"}``."""
        return {"package_id": self.package_id.hex(), "package_digest": self.package_digest.hex(),
                "sealed_at": self.sealed_at.isoformat(),
                "recipients": [{"role": r.role, "key_id": r.key_id.hex()} for r in self.recipients],
                "size": self.size}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SealResult":
        """The inverse of ``to_dict``; ``MalformedInput`` if ``d`` is not such a record."""
        try:
            res = cls(package_id=bytes.fromhex(d["package_id"]),
                      package_digest=bytes.fromhex(d["package_digest"]),
                      sealed_at=datetime.fromisoformat(d["sealed_at"]),
                      recipients=tuple(RecipientInfo(r["role"], bytes.fromhex(r["key_id"]))
                                       for r in d["recipients"]),
                      size=d["size"])
            ok = (len(res.package_id) == 16 and len(res.package_digest) == 32
                  and res.sealed_at.tzinfo is not None and type(res.size) is int and res.size >= 0
                  and res.recipients and all(r.role in ("to", "cc") and len(r.key_id) == 16
                                             for r in res.recipients))
        except (KeyError, TypeError, ValueError, AttributeError):
            ok = False
        if not ok:
            raise MalformedInput("not a SealResult record (see SealResult.to_dict)")
        return res


@dataclass(frozen=True)
class PackageInfo:
    """The clear header, as anyone holding the package can read it (``inspect``)."""

    version: int
    package_id: bytes
    sealed_at: datetime
    urgency: str
    sender_key: sm2.PublicKey
    recipients: tuple[RecipientInfo, ...]
    header_size: int
    payload_size: int | None      # ciphertext bytes, when the source size is known
    armored: bool

    @property
    def sender_key_id(self) -> bytes:
        """The 16-byte key id of the sender's signing key (unauthenticated in ``inspect``)."""
        return self.sender_key.key_id()


@dataclass(frozen=True)
class VerifyResult:
    """A package whose sender signature verified (``verify_package``); nothing was decrypted."""

    package_id: bytes
    package_digest: bytes
    sealed_at: datetime
    urgency: str
    sender: str | None
    sender_key: sm2.PublicKey
    recipients: tuple[RecipientInfo, ...]
    sender_no_longer_valid: str | None = None    # set only with accept_before_revocation=True


F = TypeVar("F")


@dataclass(frozen=True, repr=False)
class OpenResult(Generic[F]):
    """An opened package; everything in it was authenticated.

    ``files`` are the paths written by ``open_package`` (``OpenResult[Path]``) or the readers
    of ``open_stream`` (``OpenResult[OpenedFile]``), main document first.
    """

    package_id: bytes
    package_digest: bytes
    sealed_at: datetime
    urgency: str
    sender: str | None            # the unit name the trust store vouched for
    sender_key: sm2.PublicKey
    recipient_key_id: bytes       # the stanza that was opened
    role: str
    recipients: tuple[RecipientInfo, ...]
    metadata: Metadata
    files: tuple[F, ...]          # main document first, then attachments
    # SM3 of each file's content, filled when the metadata carries a 签发 approval (else ())
    file_digests: tuple[bytes, ...] = ()
    # Why the sender is no longer valid today; set only when the caller passed
    # accept_before_revocation=True (otherwise such a package is refused).
    sender_no_longer_valid: str | None = None

    @property
    def main(self) -> F:
        """The main document (正文): the first file."""
        return self.files[0]

    def __repr__(self) -> str:    # file names and titles are confidential: ids and counts only
        return (f"<OpenResult {self.package_id.hex()} from {self.sender_key.key_id().hex()} "
                f"as {self.role}, {len(self.files)} file(s)>")


@dataclass(frozen=True)
class ReceiptInfo:
    """A verified receipt (签收回执)."""

    package_id: bytes
    package_digest: bytes
    recipient_key_id: bytes
    signer_key: sm2.PublicKey
    signer_unit: str | None
    time: datetime
    status: str
    signer_no_longer_valid: str | None = None    # set only with accept_before_revocation=True
