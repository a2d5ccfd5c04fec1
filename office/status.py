"""The 督办 view: per package and recipient signed / replied / overdue; per unit and per
template the 办复率 (replied ÷ assigned) and 见面率 (met ÷ assigned, for templates with a
见面 stage), as fractions and percentages.

What counts as an assigned matter (办件):
- a case (``cases``): replied when its written-reply stage is done, met when its 见面 stage is;
- a package sent with a reply deadline (``reply_by``) to its main recipient (主送), unless a
  case was opened on that package for that unit (then the case counts, once): replied when a
  linked reply from that unit arrived.  These are grouped under the template ``限期答复``.

A receipt is overdue after the package's due date (办理期限); a reply after ``reply_by``; a
case stage after its deadline — each judged at ``office.now()`` in the office's time zone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Iterator

from . import clock
from .cases import Case, list_cases
from .copies import copies_of
from .workflow_store import loads
from .context import Office

REPLY_REQUESTED = "限期答复"


@dataclass
class Rate:
    """``done`` of ``total``; ``percent`` is None when nothing was assigned."""

    done: int = 0
    total: int = 0

    @property
    def percent(self) -> float | None:
        return None if self.total == 0 else round(100.0 * self.done / self.total, 1)

    def text(self) -> str:
        p = self.percent
        return f"{self.done}/{self.total}" + ("" if p is None else f" ({p:g}%)")

    def to_json(self) -> dict[str, Any]:
        return {"done": self.done, "total": self.total, "percent": self.percent}


@dataclass
class Rates:
    """办复率 and 见面率 of one unit or one template."""

    reply: Rate = field(default_factory=Rate)       # 办复率
    meeting: Rate = field(default_factory=Rate)     # 见面率
    overdue: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"reply_rate": self.reply.to_json(), "meeting_rate": self.meeting.to_json(),
                "overdue": self.overdue}


@dataclass
class RecipientStatus:
    unit: str
    role: str                           # to | cc
    signed: bool
    signed_at: str | None               # UTC ISO
    rejected: bool
    replied: bool
    replied_at: str | None
    receipt_overdue: bool
    reply_overdue: bool
    copy_number: str | None = None      # 份号 of this recipient's copy
    expects_reply: bool = False         # the matter is assigned to this recipient (a reply is owed)

    @property
    def overdue(self) -> bool:
        return self.receipt_overdue or self.reply_overdue


@dataclass
class PackageStatus:
    package_id: str
    sealed_at: str
    title: str | None
    doc_number: str | None
    doc_type: str | None
    urgency: str | None
    label: str | None
    copy_number: str | None
    signer: str | None
    due: str | None
    reply_by: str | None
    reply_to: str | None
    recipients: list[RecipientStatus]

    @property
    def signed(self) -> int:
        return sum(1 for r in self.recipients if r.signed)


@dataclass
class StatusReport:
    packages: list[PackageStatus]
    cases: list[Case]
    by_unit: dict[str, Rates]
    by_template: dict[str, Rates]
    received: list[dict[str, Any]]
    total: Rates

    def to_json(self, office: Office) -> dict[str, Any]:
        """A JSON-ready dict (times in UTC ISO and in the office's zone)."""
        def case_json(c: Case) -> dict[str, Any]:
            return {"id": c.id, "template": c.template, "unit": c.unit, "title": c.title, "year": c.year,
                    "package_id": c.package_id, "overdue": c.overdue, "replied": c.replied, "met": c.met,
                    "stages": [{"name": s.name, "deadline": s.deadline.isoformat(),
                                "done_on": s.done_on.isoformat() if s.done_on else None,
                                "source": s.source, "overdue": s.overdue} for s in c.stages]}
        return {
            "now": office.now().isoformat(), "timezone": office.tz.key,
            "sent": [{**{k: v for k, v in asdict(p).items() if k != "recipients"},
                      "sealed_at_local": clock.show_seconds(p.sealed_at, office.tz),
                      "signed": p.signed, "total": len(p.recipients),
                      "recipients": [{**asdict(r), "overdue": r.overdue,
                                      "signed_at_local": clock.show_seconds(r.signed_at, office.tz),
                                      "status": ("rejected" if r.rejected else "received" if r.signed else None)}
                                     for r in p.recipients]} for p in self.packages],
            "cases": [case_json(c) for c in self.cases],
            "rates": {"total": self.total.to_json(),
                      "by_unit": {u: r.to_json() for u, r in sorted(self.by_unit.items())},
                      "by_template": {t: r.to_json() for t, r in sorted(self.by_template.items())}},
            "received": self.received,
        }


class StatusView:
    """What the 督办 view adds to a sent package (replies, reply deadlines, overdue at
    ``office.now()``), read once from the workflow store so that it applies to any number
    of packages streamed from the ledger."""

    def __init__(self, office: Office) -> None:
        self.office = office
        self.now = office.now()
        self.tz = office.tz
        today = clock.local_date(self.now, self.tz)
        assert today is not None
        self.today: date = today
        self.cases = list_cases(office)
        self.case_keys = {(c.package_id, c.unit) for c in self.cases if c.package_id}
        self.wf = {r["package_id"]: r for r in office.store.query("SELECT * FROM wf_out")}
        self.copies = copies_of(office)
        self.replies: dict[tuple[str, str], str] = {}
        for r in office.store.query("SELECT original_id, unit, min(replied_at) AS at FROM wf_replies "
                                    "GROUP BY original_id, unit"):
            self.replies[(r["original_id"], r["unit"])] = r["at"]

    def package(self, s: Any, rates: "tuple[dict[str, Rates], dict[str, Rates], Rates] | None" = None
                ) -> PackageStatus:
        """The status of the ledger's ``SentState`` ``s``; with ``rates`` (by unit, by template,
        total) its matters that asked for a reply are counted into them."""
        now, tz = self.now, self.tz
        w = self.wf.get(s.package_id, {})
        reply_by = date.fromisoformat(w["reply_by"]) if w.get("reply_by") else None
        due_over = bool(s.due) and clock.overdue(date.fromisoformat(s.due), now, tz)
        recips = []
        for r in s.recipients:
            replied_at = self.replies.get((s.package_id, r.unit))
            copy = self.copies.get((s.package_id, r.unit))
            assigned = bool(copy["reply"]) if copy is not None else r.role == "to"
            expects_reply = reply_by is not None and assigned
            reply_overdue = expects_reply and replied_at is None and clock.overdue(reply_by, now, tz)
            receipt_overdue = due_over and not r.receipt_at
            recips.append(RecipientStatus(r.unit, r.role, r.signed, r.receipt_at, r.rejected,
                                          replied_at is not None, replied_at, receipt_overdue, reply_overdue,
                                          str(copy["copy_number"]) if copy and copy["copy_number"] else None,
                                          expects_reply))
            if rates is not None and expects_reply and (s.package_id, r.unit) not in self.case_keys:
                by_unit, by_template, total = rates
                for bucket in (by_unit.setdefault(r.unit, Rates()),
                               by_template.setdefault(REPLY_REQUESTED, Rates()), total):
                    bucket.reply.total += 1
                    bucket.reply.done += replied_at is not None
                    bucket.overdue += reply_overdue
        return PackageStatus(s.package_id, s.sealed_at, s.title, s.doc_number, w.get("doc_type"),
                             s.urgency, w.get("label"), w.get("copy_number"), w.get("signer"), s.due,
                             w.get("reply_by"), w.get("reply_to"), recips)

    def sent(self, *, scope: str = "all", recent: int = 20) -> Iterator[tuple[Any, PackageStatus]]:
        """The ledger's sent packages of ``scope`` (``Ledger.iter_sent_status``), oldest first, each
        with its status, read one at a time (``status --all`` streams them)."""
        for s in self.office.ledger.iter_sent_status(today=self.today, scope=scope, recent=recent):
            yield s, self.package(s)


def status(office: Office, *, scope: str = "all", recent: int = 20, packages: bool = True,
           view: StatusView | None = None) -> StatusReport:
    """Everything ``smseal status`` and the page's 发文状态 show, at ``office.now()``.

    ``scope`` chooses the packages listed (``Ledger.sent_status``): ``"all"``, or
    ``"attention"`` (still waiting for an answer or a delivery, plus the ``recent`` newest),
    which stays fast with 100,000 packages.  The rates always count every package that
    asked for a reply.  ``packages=False`` leaves the list empty, for a caller that streams
    it with ``StatusView.sent`` (``view``: one already made for ``office``)."""
    view = view or StatusView(office)
    by_unit: dict[str, Rates] = {}
    by_template: dict[str, Rates] = {}
    total = Rates()
    listed = [view.package(s) for s in office.ledger.iter_sent_status(today=view.today, scope=scope,
                                                                      recent=recent)] if packages else []
    asked = [pid for pid, w in view.wf.items() if w.get("reply_by")]
    for s in office.ledger.iter_sent_status(today=view.today, package_ids=asked):
        view.package(s, (by_unit, by_template, total))
    for c in view.cases:
        for bucket in (by_unit.setdefault(c.unit, Rates()), by_template.setdefault(c.template, Rates()), total):
            if c.reply_stage:
                bucket.reply.total += 1
                bucket.reply.done += c.replied
            if c.meeting_stage:
                bucket.meeting.total += 1
                bucket.meeting.done += c.met
            bucket.overdue += c.overdue
    return StatusReport(listed, view.cases, by_unit, by_template, received_rows(office), total)


def received_rows(office: Office) -> list[dict[str, Any]]:
    """Packages opened here (收文), newest last, with 签发人 / 份号 / reply state."""
    out = []
    for r in office.store.query("SELECT package_id, sender_unit, sealed_at, opened_at, title, doc_number, "
                                "doc_type, urgency, label, copy_number, signer, signer_state, signer_detail, "
                                "due, reply_by, reply_to, role, receipt_at, out_dir, files, replied_at, "
                                "reply_package_id FROM wf_in ORDER BY opened_at"):
        r["files"] = loads(r["files"])
        r["opened_at_local"] = clock.show_seconds(r["opened_at"], office.tz)
        r["reply_overdue"] = bool(r["reply_by"]) and not r["replied_at"] and clock.overdue(
            date.fromisoformat(r["reply_by"]), office.now(), office.tz)
        out.append(r)
    return out
