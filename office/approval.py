"""签发: a leader approves a draft; recipients check the approval and may require it.

Sender side: ``approve_draft`` signs (with the leader's personal key) the
SM3 of the draft's metadata and of each file — FORMAT.md §6.5 — and writes
the approval into the draft; ``check_own_approval`` re-checks it against the
files before ``send`` seals them.

Recipient side: ``check_approval`` judges an opened package's approval
against the leaders the *sending unit* registered (its card; see
``keystore.unit_leaders``): ``verified``, ``missing`` or ``invalid`` with
the reason (altered files, not a leader of that unit, revoked leader, bad
signature).  ``policy_hook`` turns the receiving unit's policy into the
``accept`` hook of ``open_package``, so a refused package leaves nothing
written::

    [policy]
    require_approval = 请示, 报告      ; or: all
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable

from shangmi.errors import KeyNotFound, SmsealError

from smseal.envelope import ApprovalError, OpenResult, verify_approval
from smseal.envelope.workflow import (DOC_TYPES, check_approval_signature, check_file_digests,
                                      make_approval)
from smseal.keystore import unit_leaders

from .drafts import Draft, load_draft, write_approved
from .errors import ApprovalRequired, ConfigError, UsageError
from .i18n import _
from .context import Office

VERIFIED, MISSING, INVALID = "verified", "missing", "invalid"


@dataclass(frozen=True)
class ApprovalStatus:
    """What a recipient learnt about a package's 签发."""

    state: str                       # verified | missing | invalid
    leader: str | None = None        # the name the directory records for the leader key
    approved_at: datetime | None = None
    reason: str | None = None        # why it is invalid

    @property
    def verified(self) -> bool:
        return self.state == VERIFIED


# -- sender side ------------------------------------------------------------------------------

def approval_summary(draft: Draft) -> dict[str, Any]:
    """What the leader is shown before approving, and what the approval signs: title, 文号, 文种,
    urgency, dates, 主送 and 抄送 with the 份号 of each copy, files with their SM3."""
    m = draft.metadata
    return {"title": m.title, "doc_number": m.doc_number, "doc_type": m.doc_type, "to": draft.to,
            "cc": list(draft.cc), "urgency": draft.urgency, "due": m.due, "reply_by": m.reply_by,
            "recipients": [{"role": a.role, "unit": a.unit, "copy_number": a.copy_number,
                            "key_id": a.key_id.hex()} for a in m.recipients],
            "files": [{"name": f.name, "size": f.size, "sm3": f.digest.hex()} for f in draft.files],
            "approved_by": m.approval.leader if m.approval else None}


def approve_draft(office: Office, draft: Draft | str, *, leader: str | None = None) -> Draft:
    """The leader (by name; default the unit's only leader) signs the draft; it is rewritten.

    The draft's 签发人 (``signer_name``) becomes the leader's name; a draft that
    names another 签发人 is refused.  An already approved draft is refused."""
    if not isinstance(draft, Draft):
        draft = load_draft(draft)
    if draft.unit != office.unit:
        raise UsageError(_("This draft was prepared for {unit}, not for this unit.").format(unit=draft.unit))
    if draft.approval is not None:
        raise UsageError(_("This draft is already approved by {leader}.").format(leader=draft.approval.leader))
    info = office.leaders.get(leader) if leader else office.leaders.only()
    meta = draft.metadata
    if meta.signer_name not in (None, info.name):
        raise UsageError(_("The draft names {named} as 签发人, but {leader} is approving it.")
                         .format(named=meta.signer_name, leader=info.name))
    meta = replace(meta, signer_name=info.name, approval=None)
    approval = make_approval(meta.approved_digest(), [f.digest for f in draft.files], leader=info.name,
                             signer=office.leaders.signer(info.name), time=office.now(), urgency=draft.urgency)
    return write_approved(draft, meta, approval)


def check_own_approval(office: Office, draft: Draft) -> None:
    """Before sending: the approval matches these files and metadata and is by an active leader."""
    a = draft.approval
    if a is None:
        return
    check_file_digests(a, [f.digest for f in draft.files])
    check_approval_signature(a, draft.metadata.approved_digest())
    if a.urgency != draft.urgency:
        raise ApprovalError("the urgency was changed after the document was approved", code="approval-urgency")
    if not any(x.public_key == a.key for x in office.leaders.list()):
        raise ApprovalError("{leader} is no longer a leader of this unit", leader=str(a.leader))


# -- recipient side ---------------------------------------------------------------------------

def check_approval(directory: Any, result: OpenResult[Any], own_unit: str | None = None) -> ApprovalStatus:
    """Judge ``result``'s approval with ``envelope.verify_approval`` against this directory:
    the sending unit's registered leaders and the units it knows for the recipients' keys
    (the key this unit opened the package with is ``own_unit``'s, when given).
    Never raises for a bad approval: the verdict says why."""
    if result.metadata.approval is None:
        return ApprovalStatus(MISSING)
    a = result.metadata.approval

    def leader_of(unit: str, key: Any, at: datetime) -> str:
        return unit_leaders.check_leader(directory, unit, key, at).name

    try:
        name = verify_approval(result, leader_of=leader_of,
                               unit_of=lambda kid: (own_unit if own_unit and kid == result.recipient_key_id
                                                    else _unit_of(directory, kid)))
    except ApprovalError as exc:
        return ApprovalStatus(INVALID, reason=_reason(exc))
    except SmsealError as exc:
        return ApprovalStatus(INVALID, reason=str(exc))
    return ApprovalStatus(VERIFIED, leader=name, approved_at=a.time)


def _unit_of(directory: Any, key_id: bytes) -> str | None:
    try:
        return str(directory.find(key_id).unit)
    except KeyNotFound:
        return None


def _reason(exc: ApprovalError) -> str:
    """The translated reason a recipient is shown for an invalid approval."""
    c = exc.context
    if exc.code == "approval-files-differ":
        return _("file {n} differs from the file the leader approved").format(n=int(c.get("index", "0")) + 1)
    if exc.code == "approval-signature":
        return _("the document or its recipient list was changed after it was approved")
    if exc.code == "approval-urgency":
        return _("the urgency was changed after the document was approved")
    if exc.code == "approval-dated-after-sealing":
        return _("the approval is dated after the package was sealed")
    if exc.code == "approval-recipient-name":
        return _("the approved recipient list names {named} for a key of {unit}").format(
            named=c.get("named", ""), unit=c.get("unit", ""))
    if exc.code == "approval-not-a-leader":
        return _("the approving key is not a leader of {unit}").format(unit=c.get("unit", ""))
    if exc.code == "approval-revoked-leader":
        return _("the approving leader's key was revoked ({when})").format(when=c.get("reason", ""))
    return str(exc)


def required_types(office: Office) -> frozenset[str] | None:
    """The 文种 for which this unit requires approval (``None``: not required; all: every type)."""
    raw = office.config.get("policy", "require_approval")
    if not raw or not raw.strip():
        return None
    items = [x.strip() for x in raw.replace("，", ",").replace("、", ",").split(",") if x.strip()]
    if any(x.lower() in ("all", "*", "全部") for x in items):
        return frozenset(DOC_TYPES) | {""}
    unknown = [x for x in items if x not in DOC_TYPES]
    if unknown:
        raise ConfigError(_("[policy] require_approval names unknown document types: {types}")
                          .format(types="、".join(unknown)))
    return frozenset(items)


def enforce(office: Office, result: OpenResult[Any], status: ApprovalStatus) -> None:
    """Raise ``ApprovalRequired`` when policy requires approval for this 文种 and it is not verified."""
    need = required_types(office)
    if need is None or status.verified:
        return
    if (result.metadata.doc_type or "") not in need:
        return
    what = result.metadata.doc_type or _("documents")
    if status.state == MISSING:
        raise ApprovalRequired("this unit requires 签发 for {doc_type} and the package carries none", doc_type=what,
                               reason=_('the package carries none'))
    raise ApprovalRequired("this unit requires 签发 for {doc_type}; the approval is invalid: {reason}", doc_type=what,
                           reason=status.reason or '')


def policy_hook(office: Office) -> tuple[Callable[[OpenResult[Any]], None], list[ApprovalStatus]]:
    """An ``accept`` hook for ``open_package`` and the list it appends its verdict to."""
    verdicts: list[ApprovalStatus] = []

    def accept(result: OpenResult[Any]) -> None:
        status = check_approval(office.directory, result, office.unit)
        verdicts.append(status)
        enforce(office, result, status)

    return accept, verdicts
