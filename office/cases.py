"""办件: assigned matters with a template's stages and deadlines (交办 → 见面 → 书面答复 → 总结).

The seed's timetable for 本级建议、提案 is built in::

    建议提案: 交办 05-10, 见面 07-01, 书面答复 08-20, 总结 09-01

Other templates come from ``config.ini``; a stage's date is a month-day in the
case's year, or ``+N`` days after the case was opened::

    [template 人大代表建议]
    stages = 交办 03-31, 见面 05-31, 书面答复 06-30
    [template 督办件]
    stages = 交办 +0, 书面答复 +15
    reply_stage = 书面答复        ; the stage a reply package completes (default 书面答复)
    meeting_stage = 见面          ; the stage 见面率 counts (default 见面, if the template has it)

A case opened on a package this unit sent (``--package ID``) has 交办 done on
the day it was sealed, and its written-reply stage done when the unit's reply
package arrives (``received.record_opened``).  Stages that happen off-line
(a meeting, a paper summary) are recorded with ``record_stage``.  A stage is
overdue from the day after its deadline (the office's time zone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shangmi.errors import KeyNotFound

from smseal.keystore.names import normalize_name

from . import clock
from .errors import ConfigError, UsageError
from .i18n import _
from .context import Office

REPLY_STAGE = "书面答复"
MEETING_STAGE = "见面"
ASSIGN_STAGE = "交办"
BUILTIN: dict[str, tuple[tuple[str, str], ...]] = {"建议提案": ((ASSIGN_STAGE, "05-10"), (MEETING_STAGE, "07-01"), (REPLY_STAGE, "08-20"),
                    ("总结", "09-01"))}
_WHEN = re.compile(r"^(?:(\d{2})-(\d{2})|\+(\d{1,4}))$")


@dataclass(frozen=True)
class Template:
    """Stages in order, each with a due rule (``MM-DD`` or ``+N`` days)."""

    name: str
    stages: tuple[tuple[str, str], ...]
    reply_stage: str | None
    meeting_stage: str | None

    def deadline(self, stage: str, year: int, start: date) -> date:
        rule = dict(self.stages)[stage]
        m = _WHEN.match(rule)
        assert m is not None
        if m.group(3) is not None:
            return start + timedelta(days=int(m.group(3)))
        return date(year, int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True)
class StageState:
    name: str
    deadline: date
    done_on: date | None
    source: str | None          # reply | record | package
    overdue: bool


@dataclass(frozen=True)
class Case:
    id: int
    template: str
    unit: str
    title: str | None
    year: int
    package_id: str | None
    opened_on: date
    stages: tuple[StageState, ...]
    reply_stage: str | None
    meeting_stage: str | None

    @property
    def overdue(self) -> bool:
        return any(s.overdue for s in self.stages)

    def stage(self, name: str) -> StageState | None:
        return next((s for s in self.stages if s.name == name), None)

    @property
    def replied(self) -> bool:
        s = self.stage(self.reply_stage) if self.reply_stage else None
        return bool(s and s.done_on)

    @property
    def met(self) -> bool:
        s = self.stage(self.meeting_stage) if self.meeting_stage else None
        return bool(s and s.done_on)


def _parse_stages(name: str, text: str) -> tuple[tuple[str, str], ...]:
    out = []
    for item in re.split(r"[,，、]", text):
        item = item.strip()
        if not item:
            continue
        parts = item.split()
        if len(parts) != 2 or not _WHEN.match(parts[1]):
            raise ConfigError(_("[template {name}]: a stage is 'NAME MM-DD' or 'NAME +DAYS', not {item!r}.")
                              .format(name=name, item=item))
        if parts[1][0] != "+":
            try:
                date(2000, int(parts[1][:2]), int(parts[1][3:]))
            except ValueError:
                raise ConfigError(_("[template {name}]: {item!r} is not a real date.")
                                  .format(name=name, item=item)) from None
        out.append((parts[0], parts[1]))
    if not out or len({s for s, _w in out}) != len(out):
        raise ConfigError(_("[template {name}] needs stages, each named once.").format(name=name))
    return tuple(out)


def templates(office: Office) -> dict[str, Template]:
    """The built-in 建议提案 timetable and the templates in ``config.ini``."""
    out = {}
    for name, stages in BUILTIN.items():
        out[name] = Template(name, stages, REPLY_STAGE, MEETING_STAGE)
    cp = office.config._cp
    for section in cp.sections():
        if not section.startswith("template "):
            continue
        name = section[len("template "):].strip()
        stages = _parse_stages(name, cp.get(section, "stages", fallback=""))
        names = [s for s, _w in stages]
        reply = cp.get(section, "reply_stage", fallback=REPLY_STAGE if REPLY_STAGE in names else None)
        meeting = cp.get(section, "meeting_stage", fallback=MEETING_STAGE if MEETING_STAGE in names else None)
        for s in (reply, meeting):
            if s is not None and s not in names:
                raise ConfigError(_("[template {name}] names a stage it does not have: {stage}")
                                  .format(name=name, stage=s))
        out[name] = Template(name, stages, reply, meeting)
    return out


def template(office: Office, name: str) -> Template:
    try:
        return templates(office)[name]
    except KeyError:
        raise UsageError(_("No case template named {name}; known: {names}.")
                         .format(name=name, names="、".join(templates(office)))) from None


def new_case(office: Office, template_name: str, *, unit: str, title: str | None = None,
             year: int | None = None, package_id: str | None = None) -> Case:
    """Open a case for ``unit`` (a unit in the directory) under a template.

    With ``package_id`` (a package this unit sent to ``unit``) the 交办 stage is
    done on the day it was sealed, and a reply already received completes the
    written-reply stage."""
    tpl = template(office, template_name)
    unit_name = office.directory.get(unit).name
    now = office.now()
    today = clock.local_date(now, office.tz)
    assert today is not None
    sealed_on = None
    if package_id is not None:
        record = office.ledger.sent_record(package_id)
        if record is None:
            raise KeyNotFound("no package {package_id} was sent from here", package_id=str(package_id))
        _digest, sealed_at, recipients = record
        if unit_name not in {u for u, _r, _k in recipients}:
            raise UsageError(_("Package {pid} was not sent to {unit}.").format(pid=package_id, unit=unit_name))
        sealed_on = clock.local_date(sealed_at, office.tz)
    case_year = year or today.year
    with office.store.tx() as db:
        cur = db.execute("INSERT INTO wf_cases(template, unit, title, year, package_id, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (tpl.name, unit_name, title, case_year, package_id, now.isoformat()))
        case_id = int(cur.lastrowid or 0)
        if sealed_on is not None and ASSIGN_STAGE in dict(tpl.stages):
            db.execute("INSERT INTO wf_case_stages(case_id, stage, done_on, source) VALUES (?, ?, ?, ?)",
                       (case_id, ASSIGN_STAGE, sealed_on.isoformat(), "package"))
    if package_id is not None and tpl.reply_stage:
        for r in office.store.query("SELECT replied_at FROM wf_replies WHERE original_id = ? AND unit = ? "
                                    "ORDER BY replied_at LIMIT 1", (package_id, unit_name)):
            _done(office, case_id, tpl.reply_stage, clock.local_date(r["replied_at"], office.tz), "reply")
    return get_case(office, case_id)


def _done(office: Office, case_id: int, stage: str, on: date | None, source: str) -> None:
    with office.store.tx() as db:
        db.execute("INSERT OR IGNORE INTO wf_case_stages(case_id, stage, done_on, source) VALUES (?, ?, ?, ?)",
                   (case_id, stage, (on or date.today()).isoformat(), source))


def record_stage(office: Office, case_id: int, stage: str, on: date) -> Case:
    """Record that ``stage`` of case ``case_id`` happened on ``on`` (a meeting, a paper reply…)."""
    case = get_case(office, case_id)
    if case.stage(stage) is None:
        raise UsageError(_("Case {id} ({template}) has no stage {stage}; its stages: {stages}.").format(
            id=case_id, template=case.template, stage=stage, stages="、".join(s.name for s in case.stages)))
    with office.store.tx() as db:
        db.execute("INSERT OR REPLACE INTO wf_case_stages(case_id, stage, done_on, source) VALUES (?, ?, ?, ?)",
                   (case_id, stage, on.isoformat(), "record"))
    return get_case(office, case_id)


def complete_reply_stage(office: Office, original_id: str, unit: str, on: date | None) -> None:
    """A reply from ``unit`` to package ``original_id`` arrived: complete the cases opened on it."""
    for row in office.store.query("SELECT id, template FROM wf_cases WHERE package_id = ? AND unit = ?",
                                  (original_id, unit)):
        tpl = templates(office).get(row["template"])
        if tpl is not None and tpl.reply_stage:
            _done(office, row["id"], tpl.reply_stage, on, "reply")


def get_case(office: Office, case_id: int) -> Case:
    rows = office.store.query("SELECT * FROM wf_cases WHERE id = ?", (int(case_id),))
    if not rows:
        raise KeyNotFound("no case {case_id}", case_id=str(case_id))
    return _case(office, rows[0], templates(office))


def list_cases(office: Office) -> list[Case]:
    """Every case, oldest first, with each stage's deadline and state at ``office.now()``."""
    tpls = templates(office)
    return [_case(office, r, tpls) for r in office.store.query("SELECT * FROM wf_cases ORDER BY id")]


def _case(office: Office, row: dict[str, Any], tpls: dict[str, Template]) -> Case:
    tpl = tpls.get(row["template"])
    if tpl is None:
        raise ConfigError(_("Case {id} uses template {name}, which is no longer configured.")
                          .format(id=row["id"], name=row["template"]))
    opened = clock.local_date(row["created_at"], office.tz)
    assert opened is not None
    done = {r["stage"]: r for r in office.store.query(
        "SELECT stage, done_on, source FROM wf_case_stages WHERE case_id = ?", (row["id"],))}
    now = office.now()
    stages = []
    for name, _rule in tpl.stages:
        deadline = tpl.deadline(name, row["year"], opened)
        d = done.get(name)
        done_on = date.fromisoformat(d["done_on"]) if d else None
        stages.append(StageState(name, deadline, done_on, d["source"] if d else None,
                                 done_on is None and clock.overdue(deadline, now, office.tz)))
    return Case(row["id"], tpl.name, row["unit"], row["title"], row["year"], row["package_id"], opened,
                tuple(stages), tpl.reply_stage, tpl.meeting_stage)


def normalize_stage(name: str) -> str:
    return normalize_name(name)
