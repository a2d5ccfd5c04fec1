"""催领: reminders for 特急 and 加急 packages that a recipient has not signed for.

For each urgent package sent from here and each recipient without a receipt (and
whose delivery did not fail: that needs ``resend``, not a reminder), a reminder is
due when ``[reminders] extra-urgent`` (default 30m) or ``urgent`` (default 4h) has
passed since sealing or since the last reminder, up to ``max`` (default 3).
A reminder is a notice signed by this unit's signing key (docs/FORMAT.md,
"Notices"), so the recipient can check it came from the sender and nobody can
forge one to spam an office.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shangmi import SmsealError

from .context import Office
from .delivery import transport_for
from .inbox import one_line
from .ledger import now


@dataclass(frozen=True)
class DueReminder:
    package_id: str
    unit: str
    urgency: str
    sequence: int
    waiting_since: str

    def to_dict(self) -> dict[str, object]:
        return {"package_id": self.package_id, "unit": self.unit, "urgency": self.urgency,
                "sequence": self.sequence, "waiting_since": self.waiting_since}


@dataclass(frozen=True)
class ReminderResult:
    reminder: DueReminder
    sent: bool
    where: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {**self.reminder.to_dict(), "sent": self.sent, "where": self.where, "error": self.error}


def due_reminders(office: Office, at: datetime | None = None) -> list[DueReminder]:
    """The reminders due now (nothing is sent or recorded)."""
    at = at or now()
    limit = office.config.reminder_max()
    intervals = {u: office.config.reminder_interval(u) for u in ("extra-urgent", "urgent")}
    due: list[DueReminder] = []
    if limit == 0:
        return due
    with office.ledger._connect() as db:
        rows = db.execute(
            "SELECT s.package_id, s.sealed_at, s.urgency, r.unit, "
            "(SELECT count(*) FROM reminders_sent m WHERE m.package_id = r.package_id AND m.unit = r.unit), "
            "(SELECT max(at) FROM reminders_sent m WHERE m.package_id = r.package_id AND m.unit = r.unit), "
            "d.state FROM sent_recipients r JOIN sent s ON s.package_id = r.package_id "
            "LEFT JOIN deliveries d ON d.package_id = r.package_id AND d.unit = r.unit "
            "WHERE r.receipt_at IS NULL AND s.urgency IN ('extra-urgent', 'urgent') "
            "ORDER BY s.sealed_at").fetchall()
    for pid, sealed_at, urgency, unit, count, last, delivery in rows:
        interval = intervals.get(urgency)
        if interval is None or count >= limit or delivery == "failed":
            continue
        since = datetime.fromisoformat(last or sealed_at)
        if at - since >= timedelta(seconds=interval):
            due.append(DueReminder(pid, unit, urgency, count + 1, sealed_at))
    return due


def send_due_reminders(office: Office, *, dry_run: bool = False, at: datetime | None = None,
                       via: str | None = None) -> list[ReminderResult]:
    """Sign and send every due reminder and record each one sent; with ``dry_run`` only list them.

    A reminder that cannot be delivered is reported (``error``) and tried again next time."""
    from smseal.envelope.notice import make_notice

    due = due_reminders(office, at)
    if dry_run or not due:
        return [ReminderResult(d, False) for d in due]
    transport = transport_for(office, via)
    signer = office.keystore.signer(office.unit)
    results: list[ReminderResult] = []
    for d in due:
        record = office.ledger.sent_record(d.package_id)
        assert record is not None
        digest, _sealed, recips = record
        key_id = next(kid for u, _role, kid in recips if u == d.unit)
        when = now()
        notice = make_notice("reminder", package_id=bytes.fromhex(d.package_id), package_digest=digest,
                             recipient_key_id=key_id, urgency=d.urgency, signer=signer, sequence=d.sequence,
                             when=when)
        try:
            where = transport.deliver_notice(notice.to_bytes(), d.unit, d.package_id, d.urgency, d.sequence)
        except SmsealError as exc:
            results.append(ReminderResult(d, False, error=one_line(str(exc), 240)))
            continue
        office.ledger.record_reminder(d.package_id, d.unit, d.sequence, when)
        results.append(ReminderResult(d, True, where))
    return results
