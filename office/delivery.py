"""Delivering a sealed package to each recipient, recording the outcome per recipient in the
ledger (delivered where and when; failed and why; saved to a folder only), and ``resend``: the
*same* package bytes again to those it did not reach (a new package id would be a new document).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shangmi import SmsealError, TransportError

from .context import Office
from .errors import UsageError
from .i18n import _
from .inbox import one_line
from .transport import OutboxTransport, Transport, make


@dataclass(frozen=True)
class DeliveryOutcome:
    unit: str
    state: str                 # delivered | failed | saved
    where: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"unit": self.unit, "state": self.state, "where": self.where, "reason": self.reason}


@dataclass
class DeliveryReport:
    package_id: str
    path: str
    outcomes: list[DeliveryOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[DeliveryOutcome]:
        return [o for o in self.outcomes if o.state == "failed"]

    @property
    def reached(self) -> list[DeliveryOutcome]:
        return [o for o in self.outcomes if o.state != "failed"]

    def raise_if_failed(self) -> None:
        """A ``TransportError`` naming exactly who has the package and who does not."""
        if not self.failed:
            return
        have = ", ".join(o.unit for o in self.reached) or _("nobody")
        lacking = "; ".join(f"{o.unit} ({o.reason})" for o in self.failed)
        raise TransportError(_("Delivered to: {have}. NOT delivered to: {lacking}. The package is kept at {path}; "
                               "fix the cause, then run: smseal resend {pid}").format(
            have=have, lacking=lacking, path=self.path, pid=self.package_id))


def saves_only(office: Office, transport: Transport) -> bool:
    """True when nothing but a local folder is configured: the package is saved, not delivered."""
    return isinstance(transport, OutboxTransport) and not office.config.has_transport()


def transport_for(office: Office, via: str | None = None, *, armor: bool = False) -> Transport:
    return make(office.config, via, armor=armor)


def deliver(office: Office, transport: Transport, package: Path, package_id: str, urgency: str,
            units: list[str]) -> DeliveryReport:
    """Deliver ``package`` to each unit in turn; a failure for one does not stop the others.
    Every outcome is recorded in the ledger before this returns."""
    report = DeliveryReport(package_id, str(package))
    saved = saves_only(office, transport)
    for unit in units:
        try:
            where = transport.deliver_package(package, unit, package_id, urgency)
            outcome = DeliveryOutcome(unit, "saved" if saved else "delivered", where)
        except SmsealError as exc:
            outcome = DeliveryOutcome(unit, "failed", reason=one_line(str(exc), 240))
        office.ledger.record_delivery(package_id, unit, outcome.state, via=transport.name, address=outcome.where,
                                      reason=outcome.reason)
        report.outcomes.append(outcome)
    return report


def resend(office: Office, package_id_prefix: str, *, unit: str | None = None, via: str | None = None,
           armor: bool = False) -> DeliveryReport:
    """Send the kept bytes of a sent package again: to ``unit``, or to every recipient whose
    delivery failed (or was only saved).  The package id and bytes stay the same."""
    found = office.ledger.find_sent(package_id_prefix)
    if not found:
        raise UsageError(_("No package sent from here has an id starting with {text}.").format(
            text=one_line(package_id_prefix, 80)))
    if len(found) > 1:
        raise UsageError(_("Several sent packages start with {text}; give more digits.").format(
            text=package_id_prefix))
    state = office.ledger.sent_package(found[0])
    assert state is not None
    recipients = [r.unit for r in state.recipients]
    if unit is not None:
        if unit not in recipients:
            raise UsageError(_("{unit} is not a recipient of package {pid}.").format(unit=unit, pid=state.package_id))
        targets = [unit]
    else:
        targets = [r.unit for r in state.recipients
                   if r.delivery in ("failed", "saved", None) and not r.receipt_status]
        if not targets:
            raise UsageError(_("Every recipient of package {pid} has it already; name one with --to UNIT to "
                               "send it again anyway.").format(pid=state.package_id))
    path = Path(state.path or "")
    if not path.is_file():
        raise UsageError(_("The sent package {pid} is no longer kept at {path}; it cannot be resent.").format(
            pid=state.package_id, path=path))
    transport = transport_for(office, via, armor=armor)
    transport.check(targets)
    return deliver(office, transport, path, state.package_id, state.urgency or "normal", targets)


def send_answer(office: Office, transport: Transport, receipt: bytes, sender: str, package_id: str,
                notice: bytes | None = None) -> str:
    """Send a signed receipt (and the signed reason of a 拒收) back to the sender.  A copy is kept
    under SMSEAL_HOME/receipts first, so a failed delivery loses nothing."""
    from .fsutil import write_atomic

    copy = office.home / "receipts" / f"{package_id}.receipt"
    copy.parent.mkdir(mode=0o700, exist_ok=True)
    write_atomic(copy, receipt, overwrite=True, mode=0o600)
    if notice is not None:
        write_atomic(copy.with_suffix(".notice"), notice, overwrite=True, mode=0o600)
    try:
        return transport.deliver_receipt(receipt, sender, package_id, notice)
    except TransportError as exc:
        raise TransportError(_("{why}. The signed receipt is saved at {path}: send that file to {unit}.").format(
            why=str(exc).rstrip("."), path=copy, unit=sender)) from None
