"""What the office records when it opens a package: the 收文登记 row, and the reply link.

``record_opened`` is called after ``open_package`` succeeded (so only
authenticated, accepted packages are registered; a refused one never is).
When the package is a reply (``reply_to``, FORMAT.md §6.5) to a package this
unit sent, the link is made only if the original id *and* digest match what
the ledger recorded and the replying unit was one of its recipients; the
reply then counts for 办复率 and completes the written-reply stage of a case
that was opened on the original package.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smseal.envelope import OpenResult

from . import clock
from .approval import ApprovalStatus
from .copies import own_copy_number
from .workflow_store import dumps
from .context import Office


@dataclass(frozen=True)
class ReplyLink:
    """Whether an opened reply was linked to the package it answers."""

    original_id: str
    linked: bool
    reason: str | None = None         # why not
    title: str | None = None          # of the original
    doc_number: str | None = None


def record_opened(office: Office, result: OpenResult[Any], out_dir: str | Path,
                  approval: ApprovalStatus) -> ReplyLink | None:
    """Register ``result`` (收文登记) and link it if it is a reply; return the link, if any."""
    meta = result.metadata
    office.store.insert("wf_in", {
        "package_digest": result.package_digest, "package_id": result.package_id.hex(),
        "sender_unit": result.sender, "sealed_at": result.sealed_at.isoformat(),
        "opened_at": office.now().isoformat(), "title": meta.title, "doc_number": meta.doc_number,
        "doc_type": meta.doc_type, "urgency": result.urgency, "label": meta.label,
        "copy_number": own_copy_number(meta, result.recipient_key_id),
        "signer": approval.leader if approval.verified else meta.signer_name,
        "signer_state": approval.state, "signer_detail": approval.reason,
        "due": meta.due.isoformat() if meta.due else None,
        # 答复期限 only when the matter is assigned to this unit (its recipient entry's reply flag)
        "reply_by": meta.reply_by.isoformat() if meta.reply_by and _assigned(meta, result) else None,
        "reply_to": meta.reply_to.package_id.hex() if meta.reply_to else None,
        "role": result.role, "out_dir": str(Path(out_dir).resolve()),
        "files": dumps([p.name for p in result.files])})
    if meta.reply_to is None:
        return None
    return _link_reply(office, result)


def _assigned(meta: Any, result: OpenResult[Any]) -> bool:
    entry = meta.addressee(result.recipient_key_id)
    return bool(entry.reply) if entry is not None else result.role == "to"


def _link_reply(office: Office, result: OpenResult[Any]) -> ReplyLink:
    rt = result.metadata.reply_to
    assert rt is not None
    original = rt.package_id.hex()
    rows = office.store.query("SELECT package_digest, to_unit, cc_units, title, doc_number FROM wf_out "
                              "WHERE package_id = ?", (original,))
    record = office.ledger.sent_record(original)
    if record is None:
        return ReplyLink(original, False, "no package with this id was sent from here")
    digest, _sealed, recipients = record
    if not hmac.compare_digest(bytes(digest), rt.package_digest):
        return ReplyLink(original, False, "the reply names a different package under the same id")
    if result.sender not in {u for u, _role, _kid in recipients}:
        return ReplyLink(original, False, f"{result.sender} was not a recipient of that package")
    with office.store.tx() as db:
        db.execute("INSERT OR IGNORE INTO wf_replies(original_id, unit, reply_package_id, reply_digest, "
                   "replied_at) VALUES (?, ?, ?, ?, ?)",
                   (original, result.sender, result.package_id.hex(), result.package_digest,
                    result.sealed_at.isoformat()))
    from .cases import complete_reply_stage

    complete_reply_stage(office, original, result.sender or "",
                         clock.local_date(result.sealed_at, office.tz))
    title = rows[0]["title"] if rows else None
    number = rows[0]["doc_number"] if rows else None
    return ReplyLink(original, True, None, title, number)


def mark_receipt(office: Office, result: OpenResult[Any]) -> None:
    """The receipt for ``result`` was signed now (签收时间 in the 收文登记)."""
    with office.store.tx() as db:
        db.execute("UPDATE wf_in SET receipt_at = ? WHERE package_digest = ? AND receipt_at IS NULL",
                   (office.now().isoformat(), result.package_digest))
