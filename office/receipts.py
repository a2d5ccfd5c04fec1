"""Recording what comes back to the sender: signed receipts (签收回执, also 拒收) and the signed
reasons of a 拒收 — every rule checked here, for the command, ``fetch`` and the page alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shangmi import VerificationError

from .context import Office
from .errors import UsageError
from .i18n import _


class NotSentHere(UsageError):
    """A receipt (or 拒收) for a package this home never sent: it was imported at the wrong unit."""


CLOCK_SKEW = timedelta(minutes=10)  # office clocks differ a little; more is suspicious


def _sent_here(office: Office, pid: str) -> tuple[bytes, str, list[tuple[str, str, bytes]]]:
    """The ledger's record of package ``pid``; ``NotSentHere`` when this home never sent it."""
    record = office.ledger.sent_record(pid)
    if record is None:
        raise NotSentHere(_("This receipt is for package {pid}, which this office did not send: the receipt is "
                            "not damaged, it belongs to the office that sent the package, and is imported "
                            "there. If this computer keeps the records of more than one office, check "
                            "--home or SMSEAL_HOME (now {home}).").format(
            pid=pid, home=office.home), package=pid)
    return record


@dataclass(frozen=True)
class ReceiptOutcome:
    """A receipt that verified and was recorded (``new`` False: that recipient had answered already)."""

    package_id: str
    unit: str
    status: str          # received | rejected
    time: datetime
    new: bool
    signer_no_longer_valid: str | None = None   # only with accept_before_revocation=True

    def sentence(self) -> str:
        """What happened, in one translated line (as the command prints it)."""
        if not self.new:
            msg = _("{unit} had already answered for package {pid}; nothing changed.")
        elif self.status == "rejected":
            msg = _("{unit} REFUSED package {pid} (拒收) on {time}.")
        else:
            msg = _("{unit} signed for package {pid} on {time}.")
        line = msg.format(unit=self.unit, pid=self.package_id, time=self.time)
        if self.signer_no_longer_valid:
            line += " " + _("Warning: the key of {unit} is no longer valid today ({detail}); the receipt says "
                            "it was signed before that.").format(unit=self.unit, detail=self.signer_no_longer_valid)
        return line

    def to_dict(self) -> dict[str, object]:
        return {"package_id": self.package_id, "unit": self.unit, "status": self.status,
                "time": self.time.isoformat(), "new": self.new}


def import_receipt(office: Office, data: bytes, *, accept_before_revocation: bool = False) -> ReceiptOutcome:
    """Verify a receipt (binary or armored) against the package sent from here and record it.

    Every rule is the library's (``verify_receipt``): this package and digest, a key it was
    addressed to, signed by the unit the ledger recorded for that key, not dated before
    sealing, and the signer still valid today (a revoked unit could backdate receipts;
    ``SenderNoLongerValid`` unless ``accept_before_revocation``, then ``signer_no_longer_valid``
    says why).  Refused with ``VerificationError`` (or ``MalformedPackage``,
    ``InvalidSignature``, what the directory raises), or ``NotSentHere``.
    """
    from smseal.envelope import Receipt, verify_receipt

    r = Receipt.from_bytes(data)
    pid = r.package_id.hex()
    _digest, _sealed_at, recips = _sent_here(office, pid)
    sealed = office.ledger.seal_result(pid)         # what seal() returned, kept in the ledger
    if sealed is None:
        raise NotSentHere(_("This office's records do not say how package {pid} was sealed; its receipts "
                            "cannot be checked here.").format(pid=pid), package=pid)
    addressed = {bytes(kid): u for u, _role, kid in recips}
    unit = addressed.get(r.recipient_key_id)
    if unit is None:
        raise VerificationError("the receipt names a key the package was not addressed to", package=pid)
    info = verify_receipt(r, package=sealed, trusted=office.directory, expect_unit=unit,
                          not_before=sealed.sealed_at - CLOCK_SKEW,
                          accept_before_revocation=accept_before_revocation)
    new = office.ledger.record_receipt(pid, info.recipient_key_id, info.time, info.status, r.to_bytes())
    return ReceiptOutcome(pid, unit, info.status, info.time, new, info.signer_no_longer_valid)


@dataclass(frozen=True)
class RejectionReason:
    package_id: str
    unit: str
    reason: str
    time: datetime
    new: bool


def import_rejection(office: Office, data: bytes) -> RejectionReason:
    """Verify the signed reason of a 拒收 and keep it next to the recipient in the ledger.

    The notice must name a package sent from here (id and digest), a key it was
    addressed to, and be signed by that recipient unit.
    """
    from smseal.envelope.notice import Notice, check_notice_package, verify_notice

    n = Notice.from_bytes(data)
    if n.kind != "rejection":
        raise VerificationError("this notice is not the reason of a 拒收")
    pid = n.package_id.hex()
    record = _sent_here(office, pid)
    digest, _sealed_at, recips = record
    info = verify_notice(n, trusted=office.directory)
    check_notice_package(info, n.package_id, digest)
    units = [u for u, _role, kid in recips if kid == info.recipient_key_id]
    if not units:
        raise VerificationError("the 拒收 names a key the package was not addressed to")
    if info.signer_unit != units[0]:
        raise VerificationError("the 拒收 is signed by {signer_unit}, not by {units}",
                                signer_unit=str(info.signer_unit), units=str(units[0]))
    new = office.ledger.record_rejection_reason(pid, units[0], info.text, info.time, n.to_bytes())
    return RejectionReason(pid, units[0], info.text, info.time, new)
