"""拒收: refuse a waiting package without opening it, with a reason, by a signed receipt whose
status is ``rejected`` and a signed notice that carries the reason (docs/FORMAT.md, "Notices")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from shangmi import VerificationError

from .context import Office
from .delivery import send_answer, transport_for
from .errors import UsageError
from .i18n import _
from .inbox import Inbox


@dataclass(frozen=True)
class RejectOutcome:
    package_id: str
    sender: str
    reason: str
    sent_to: str


@dataclass(frozen=True)
class _Answered:
    """What ``make_receipt`` needs of a package: its id, digest and the stanza key answered for."""

    package_id: bytes
    package_digest: bytes
    recipient_key_id: bytes


def check_reason(reason: str) -> str:
    """The reason of a 拒收 as it will be signed: line breaks and tabs become single spaces,
    the ends are trimmed, and what the notice format refuses in its text (docs/FORMAT.md §14,
    the rule of metadata texts §6.2: controls, bidi and other format characters, U+2028/9,
    Hangul fillers; more than 512 bytes) is refused here with a ``UsageError`` saying which
    character or how long, before anything is verified or sent."""
    from smseal.envelope.notice import MAX_TEXT
    from smseal.envelope.text import text_problem

    reason = re.sub(r"[ \t\r\n]+", " ", reason).strip(" ")
    if not reason:
        raise UsageError(_("Give the reason of the 拒收 with --reason TEXT."))
    for ch in reason:
        if text_problem(ch):
            raise UsageError(_("The reason of the 拒收 contains the character U+{code:04X}, which smseal never "
                               "sends (control, bidirectional or invisible characters); write it as plain "
                               "text.").format(code=ord(ch)))
    size = len(reason.encode("utf-8"))
    if size > MAX_TEXT:
        raise UsageError(_("The reason of the 拒收 is {size} bytes long; at most {limit} are sent (about "
                           "{chars} Chinese characters): shorten it.").format(size=size, limit=MAX_TEXT,
                                                                              chars=MAX_TEXT // 3))
    return reason


def reject(office: Office, package_id_prefix: str, reason: str, *, via: str | None = None) -> RejectOutcome:
    """Refuse (拒收) a waiting package with ``reason``: verify it again, check the way back to
    its sender, then send the signed 拒收 receipt and reason and mark it rejected in the inbox."""
    from smseal.envelope import OpenResult, make_receipt, verify_package
    from smseal.envelope.notice import make_notice

    reason = check_reason(reason)
    inbox = Inbox(office)
    entry = inbox.resolve(package_id_prefix)
    if entry.state != "waiting":
        raise UsageError(_("Package {pid} was already answered here ({state}).").format(
            pid=entry.package_id, state=entry.state))
    res = verify_package(entry.path, trusted=office.directory)
    if res.package_id.hex() != entry.package_id:
        raise VerificationError("the kept package changed since it was fetched")
    sender = res.sender or entry.sender or ""
    with office.ledger._connect() as db:
        row = db.execute("SELECT recipient_key_id FROM inbox WHERE package_id = ?", (entry.package_id,)).fetchone()
    key_id = bytes(row[0])
    transport = transport_for(office, via)
    transport.check([sender])                       # check before acting
    signer = office.keystore.signer(office.unit)
    answered = _Answered(res.package_id, res.package_digest, key_id)
    receipt = make_receipt(cast("OpenResult[Any]", answered), signer=signer, status="rejected")
    notice = make_notice("rejection", package_id=res.package_id, package_digest=res.package_digest,
                         recipient_key_id=key_id, urgency=res.urgency, signer=signer, text=reason)
    where = send_answer(office, transport, receipt.to_bytes(), sender, entry.package_id, notice.to_bytes())
    inbox.mark_rejected(entry.package_id, reason)
    return RejectOutcome(entry.package_id, sender, reason, where)
