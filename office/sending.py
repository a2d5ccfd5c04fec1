"""Sealing and sending for the office: recipients resolved, the package signed by the
unit, recorded in the ledger (receipts, status, 发文登记), and delivered.

    with compose(office, "通知.pdf", ["附件1.txt"], to="财政局", cc_groups=["各乡镇"],
                 title=..., doc_type="通知", reply_by=date(2027, 5, 10)) as outgoing:
        sent = send(office, outgoing)                    # outbox or SMTP, per config
    sent = send_draft(office, "draft.smd")               # an approved draft (签发)

A draft's approval is checked against its files before anything is sealed.
"""

from __future__ import annotations

import os
import secrets
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Sequence

from smseal.envelope import Package, ReplyTo, SealResult, seal

from .approval import check_own_approval
from .copies import addressees, check_keys_unchanged, copy_range
from .drafts import Draft, load_draft
from .errors import UsageError
from .fsutil import atomic_output
from .groups import expand_recipients
from .i18n import _
from .transport import PACKAGE_SUFFIX
from .workflow_store import dumps
from .context import Office

Wrap = Callable[[BinaryIO], BinaryIO]


@dataclass
class Outgoing:
    """A package ready to seal: the ``Package`` and its resolved recipients (主送 first)."""

    package: Package
    to: str
    cc: list[str]


@dataclass(frozen=True)
class Sent:
    """A sealed (and perhaps delivered) package, as recorded in the ledger."""

    package_id: str
    package_digest: bytes
    sealed_at: object
    size: int
    path: Path
    to: str
    cc: tuple[str, ...]
    urgency: str
    deliveries: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    report: Any = None            # delivery.DeliveryReport after ``send``

    @property
    def recipients(self) -> list[tuple[str, str]]:
        return [(self.to, "to"), *((u, "cc") for u in self.cc)]


@contextmanager
def compose(office: Office, main: str | os.PathLike[str], attachments: Sequence[str | os.PathLike[str]] = (), *,
            to: str, cc: Sequence[str] = (), cc_groups: Sequence[str] = (), wrap: Wrap | None = None,
            title: str | None = None, doc_number: str | None = None, doc_type: str | None = None,
            label: str | None = None, urgency: str = "normal", due: date | None = None,
            reply_by: date | None = None, remarks: str | None = None, copy_number: str | None = None,
            signer_name: str | None = None, reply_to: ReplyTo | None = None,
            reply_from: Sequence[str] = ()) -> Iterator[Outgoing]:
    """An ``Outgoing`` from files on disk (groups expanded; ``wrap`` may count bytes for a progress bar).

    ``copy_number`` is the 份号 of the main recipient's copy (default 000001); each copy
    recipient's copy gets the next number (``copies``).  With ``reply_by`` a written reply is
    expected from the main recipient and from the copy recipients named in ``reply_from``."""
    main_unit, cc_units = expand_recipients(office, to, cc, cc_groups)
    listed = addressees(office, main_unit, cc_units, copy_number, reply_by=reply_by, reply_from=reply_from)
    paths = [Path(main), *map(Path, attachments)]
    for p in paths:
        if not p.is_file():
            raise UsageError(_("File not found: {path}").format(path=p))
    with ExitStack() as stack:
        streams = [stack.enter_context(open(p, "rb")) for p in paths]
        specs = [(p.name, wrap(f) if wrap else f) for p, f in zip(paths, streams)]
        pkg = Package(specs[0], specs[1:], title=title, doc_number=doc_number, label=label, urgency=urgency,
                      due=due, remarks=remarks, sender_unit=office.unit, signer_name=signer_name,
                      doc_type=doc_type, reply_by=reply_by, reply_to=reply_to, addressees=listed)
        yield Outgoing(pkg, main_unit, cc_units)


@contextmanager
def from_draft(office: Office, draft: Draft | str | os.PathLike[str]) -> Iterator[Outgoing]:
    """An ``Outgoing`` from a draft; its approval must match its files (``ApprovalError``)."""
    if not isinstance(draft, Draft):
        draft = load_draft(draft)
    if draft.unit != office.unit:
        raise UsageError(_("This draft was prepared for {unit}, not for this unit.").format(unit=draft.unit))
    check_own_approval(office, draft)
    check_keys_unchanged(office, draft.metadata.recipients)
    with draft.package() as pkg:
        yield Outgoing(pkg, draft.to, list(draft.cc))


def seal_to(office: Office, outgoing: Outgoing, dest: str | os.PathLike[str], *, overwrite: bool = False,
            armor: bool = False, transport: str = "file",
            kept_at: Callable[[str], Path] | None = None) -> Sent:
    """Seal ``outgoing`` into ``dest`` and record it (ledger and 发文登记).

    Recipient keys come from the directory, refusing revoked or expired units.
    ``kept_at(package_id)`` names where the package will be kept, when that
    depends on the id (``send`` keeps it under SMSEAL_HOME/sent)."""
    recipients = [(outgoing.to, "to"), *((u, "cc") for u in outgoing.cc)]
    keys = [office.directory.encryption_key(u) for u, _role in recipients]
    signer = office.keystore.signer(office.unit)
    with atomic_output(dest, overwrite=overwrite) as out:
        res = seal(outgoing.package, sender=signer, to=keys[0], cc=keys[1:], out=out, armor=armor)
    where = kept_at(res.package_id.hex()) if kept_at else Path(dest)
    _record(office, outgoing, res, where, transport, keys)
    return Sent(res.package_id.hex(), res.package_digest, res.sealed_at, res.size, where,
                outgoing.to, tuple(outgoing.cc), outgoing.package.urgency)


def _record(office: Office, outgoing: Outgoing, res: SealResult, path: Path, transport: str, keys: Any) -> None:
    meta = outgoing.package.metadata()
    recipients = [(outgoing.to, "to"), *((u, "cc") for u in outgoing.cc)]
    office.ledger.record_sent(package_id=res.package_id.hex(), sealed_at=res.sealed_at, title=meta.title,
                              doc_number=meta.doc_number, urgency=outgoing.package.urgency, due=meta.due,
                              label=meta.label, path=str(path.resolve()), digest=res.package_digest,
                              transport=transport,
                              recipients=[(u, role, k.key_id()) for (u, role), k in zip(recipients, keys)],
                              result=res)
    office.store.insert("wf_out", {
        "package_id": res.package_id.hex(), "package_digest": res.package_digest,
        "sealed_at": res.sealed_at.isoformat(), "title": meta.title, "doc_number": meta.doc_number,
        "doc_type": meta.doc_type, "urgency": outgoing.package.urgency, "label": meta.label,
        "copy_number": copy_range([a.copy_number for a in meta.recipients]),
        "signer": meta.approval.leader if meta.approval else meta.signer_name,
        "due": meta.due.isoformat() if meta.due else None,
        "reply_by": meta.reply_by.isoformat() if meta.reply_by else None,
        "reply_to": meta.reply_to.package_id.hex() if meta.reply_to else None,
        "to_unit": outgoing.to, "cc_units": dumps(list(outgoing.cc))}, replace=True)
    with office.store.tx() as db:              # 发文登记: one row per copy, each with its own 份号
        db.execute("DELETE FROM wf_copies WHERE package_id = ?", (res.package_id.hex(),))
        for pos, ((unit, role), a) in enumerate(zip(recipients, meta.recipients)):
            db.execute("INSERT INTO wf_copies(package_id, pos, unit, role, copy_number, reply) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (res.package_id.hex(), pos, unit, role, a.copy_number, int(a.reply)))


def send(office: Office, outgoing: Outgoing, *, via: str | None = None, armor: bool = False) -> Sent:
    """Seal into ``SMSEAL_HOME/sent/<id>.smx`` (kept for resends and receipts) and deliver to every
    recipient through the outbox folder or SMTP (``via``, default config; ``armor`` for mail bodies).

    Keys and the way to every unit are checked before anything is sealed.  Each recipient's
    delivery is recorded (``delivery.deliver``); ``Sent.report.raise_if_failed()`` raises a
    ``TransportError`` naming who has the package and who does not."""
    from .delivery import deliver, transport_for

    transport = transport_for(office, via, armor=armor)
    units = [outgoing.to, *outgoing.cc]
    for u in units:
        office.directory.encryption_key(u)
    transport.check(units)
    sent_dir = office.home / "sent"
    sent_dir.mkdir(mode=0o700, exist_ok=True)
    tmp = sent_dir / f".sealing-{os.getpid()}-{secrets.token_hex(4)}{PACKAGE_SUFFIX}"

    def kept_at(pid: str) -> Path:
        return sent_dir / (pid + PACKAGE_SUFFIX)

    try:
        sent = seal_to(office, outgoing, tmp, transport=transport.name, kept_at=kept_at)
        os.replace(tmp, sent.path)
    finally:
        tmp.unlink(missing_ok=True)
    report = deliver(office, transport, sent.path, sent.package_id, sent.urgency, units)
    return Sent(sent.package_id, sent.package_digest, sent.sealed_at, sent.size, sent.path, sent.to, sent.cc,
                sent.urgency, tuple(o.to_dict() for o in report.outcomes), report)


def send_draft(office: Office, draft: Draft | str | os.PathLike[str], *, via: str | None = None) -> Sent:
    """Seal an (approved) draft with its approval inside the encrypted metadata, and deliver it."""
    with from_draft(office, draft) as outgoing:
        sent = send(office, outgoing, via=via)
    sent.report.raise_if_failed()
    return sent
