"""The local ledger (SQLite in SMSEAL_HOME): packages sent and received, and receipts.

Two smseal processes at once never corrupt it: WAL journal, a busy timeout,
and every write in a ``BEGIN IMMEDIATE`` transaction.  The file is 0600.

Received packages are keyed by their digest (which covers every byte of the
sealed package), not by the package id: the id is chosen by the sender and
readable in the clear header, so a hostile unit can seal its own package
under another's id.  ``record_received`` / ``seen`` tell a replay (same
digest) from a squatted id (same id, different package: ``Replay.conflict``).
Texts that came from other units are stored through ``textsafe.printable``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal

from smseal.envelope.results import SealResult
from smseal.keystore.paths import private_file

from . import sqlitedb
from .textsafe import printable_or_none

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    package_id TEXT PRIMARY KEY,
    sealed_at TEXT NOT NULL,
    title TEXT, doc_number TEXT, urgency TEXT, due TEXT, label TEXT,
    path TEXT, digest BLOB, transport TEXT,
    seal_result TEXT    -- since schema 3: SealResult.to_dict() as JSON, what seal() returned
);
CREATE TABLE IF NOT EXISTS sent_recipients (
    package_id TEXT NOT NULL REFERENCES sent(package_id),
    unit TEXT NOT NULL, role TEXT NOT NULL, key_id BLOB NOT NULL,
    receipt_at TEXT, receipt_status TEXT, receipt BLOB,
    PRIMARY KEY (package_id, key_id)
);
CREATE TABLE IF NOT EXISTS received (
    package_id TEXT PRIMARY KEY,
    sender_unit TEXT, sender_key_id BLOB,
    title TEXT, doc_number TEXT, urgency TEXT, due TEXT,
    opened_at TEXT NOT NULL, out_dir TEXT, receipt_sent_at TEXT
);
CREATE INDEX IF NOT EXISTS sent_by_time ON sent(sealed_at);
CREATE INDEX IF NOT EXISTS sent_recipients_unanswered ON sent_recipients(package_id) WHERE receipt_at IS NULL;
CREATE TABLE IF NOT EXISTS deliveries (
    package_id TEXT NOT NULL, unit TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('delivered', 'failed', 'saved')),
    via TEXT, address TEXT, at TEXT NOT NULL, reason TEXT, attempts INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (package_id, unit)
);
CREATE TABLE IF NOT EXISTS reminders_sent (
    package_id TEXT NOT NULL, unit TEXT NOT NULL, sequence INTEGER NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (package_id, unit, sequence)
);
CREATE TABLE IF NOT EXISTS rejection_reasons (
    package_id TEXT NOT NULL, unit TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL, notice BLOB,
    PRIMARY KEY (package_id, unit)
);
-- Since schema 2: received packages keyed by digest (the table above is kept, read-only,
-- for ledgers written before, and its rows are copied here once, with an unknown digest).
CREATE TABLE IF NOT EXISTS received_packages (
    id INTEGER PRIMARY KEY,
    package_id TEXT NOT NULL,
    package_digest BLOB UNIQUE,
    sender_unit TEXT, sender_key_id BLOB,
    title TEXT, doc_number TEXT, urgency TEXT, due TEXT,
    opened_at TEXT NOT NULL, out_dir TEXT, receipt_sent_at TEXT
);
CREATE INDEX IF NOT EXISTS received_packages_id ON received_packages(package_id);
"""
SCHEMA_VERSION = 3


def _migrate(db: sqlite3.Connection) -> None:
    """Bring an older ledger to ``SCHEMA_VERSION`` (additive: nothing is dropped)."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version < 2:
        db.execute("INSERT INTO received_packages (package_id, package_digest, sender_unit, sender_key_id, "
                   "title, doc_number, urgency, due, opened_at, out_dir, receipt_sent_at) "
                   "SELECT package_id, NULL, sender_unit, sender_key_id, title, doc_number, urgency, due, "
                   "opened_at, out_dir, receipt_sent_at FROM received")
    if version < 3:
        if "seal_result" not in {r[1] for r in db.execute("PRAGMA table_info(sent)")}:
            db.execute("ALTER TABLE sent ADD COLUMN seal_result TEXT")
        # Packages sent before: their result rebuilt from what was recorded, the size from the
        # copy kept at ``path`` (the only fact the ledger did not have).
        for (pid,) in db.execute("SELECT package_id FROM sent WHERE seal_result IS NULL").fetchall():
            rebuilt = _rebuilt_result(db, pid)
            if rebuilt is not None:
                db.execute("UPDATE sent SET seal_result = ? WHERE package_id = ?", (json.dumps(rebuilt), pid))
    if version < SCHEMA_VERSION:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _rebuilt_result(db: sqlite3.Connection, package_id: str) -> dict[str, Any] | None:
    """``SealResult.to_dict()`` of a package recorded without one: ids, digest, time and
    recipients (in the order they were sealed to) from the ledger; the size of the kept copy,
    or 0 when that file is gone.  None when the ledger lacks the digest."""
    row = db.execute("SELECT sealed_at, digest, path FROM sent WHERE package_id = ?", (package_id,)).fetchone()
    if row is None or row[1] is None:
        return None
    try:
        size = os.stat(row[2]).st_size if row[2] else 0
    except OSError:
        size = 0
    recips = db.execute("SELECT role, key_id FROM sent_recipients WHERE package_id = ? ORDER BY rowid",
                        (package_id,)).fetchall()
    return {"package_id": package_id, "package_digest": bytes(row[1]).hex(), "sealed_at": row[0],
            "recipients": [{"role": r, "key_id": bytes(k).hex()} for r, k in recips], "size": size}


@dataclass(frozen=True)
class Replay:
    """What the ledger knew about a received package before it was recorded.

    ``kind`` is ``"new"``; ``"repeat"`` (these exact bytes were received
    before: a repeat delivery or a replay); or ``"conflict"`` (a *different*
    package with the same id was received before: one of them squats the
    other's id — say so loudly).  ``earlier`` lists (opened_at, sender_unit)
    of the earlier records with this id.
    """

    kind: Literal["new", "repeat", "conflict"]
    earlier: tuple[tuple[str, str | None], ...] = ()

    @property
    def new(self) -> bool:
        return self.kind == "new"

    @property
    def repeat(self) -> bool:
        return self.kind == "repeat"

    @property
    def conflict(self) -> bool:
        return self.kind == "conflict"

    @property
    def first_opened_at(self) -> str | None:
        return self.earlier[0][0] if self.earlier else None


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class RecipientState:
    unit: str
    role: str
    key_id: str
    receipt_at: str | None
    receipt_status: str | None
    overdue: bool
    delivery: str | None = None          # delivered | failed | saved (None: sealed to a file only)
    delivered_at: str | None = None
    delivery_where: str | None = None    # the address or folder it went to
    delivery_reason: str | None = None   # why the last delivery failed, in one line
    reminders: int = 0                   # 催领 reminders sent to this recipient
    last_reminder_at: str | None = None
    rejection_reason: str | None = None  # the signed reason of a 拒收

    @property
    def failed(self) -> bool:
        """The last delivery to this recipient failed and no receipt came anyway."""
        return self.delivery == "failed" and not self.receipt_status

    @property
    def signed(self) -> bool:
        return self.receipt_status == "received"

    @property
    def rejected(self) -> bool:
        return self.receipt_status == "rejected"


@dataclass
class SentState:
    package_id: str
    sealed_at: str
    title: str | None
    doc_number: str | None
    urgency: str | None
    due: str | None
    recipients: list[RecipientState] = field(default_factory=list)
    path: str | None = None
    transport: str | None = None

    @property
    def answered(self) -> int:
        """Recipients who answered, signed or refused."""
        return sum(1 for r in self.recipients if r.receipt_status)

    @property
    def signed(self) -> int:
        """Recipients whose receipt says received (a 拒收 receipt is an answer, not a signature)."""
        return sum(1 for r in self.recipients if r.signed)


class Ledger:
    """The ledger of one SMSEAL_HOME.  Each call opens its own connection (safe across threads)."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / "ledger.sqlite3"
        private_file(self.path)
        with self._tx() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            _migrate(db)
        private_file(self.path)

    def _connect(self) -> sqlite3.Connection:
        return sqlitedb.connect(self.path)

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlitedb.immediate(self._connect)

    # -- sending ---------------------------------------------------------------------
    def record_sent(self, *, package_id: str, sealed_at: datetime, title: str | None, doc_number: str | None,
                    urgency: str | None, due: date | None, label: str | None, path: str, digest: bytes,
                    transport: str, recipients: list[tuple[str, str, bytes]],
                    result: SealResult | None = None) -> None:
        """``recipients`` is a list of (unit, role 'to'|'cc', key_id); ``result`` what ``seal``
        returned, kept whole (``seal_result``); without it, it is rebuilt from the other facts
        and the size of the file at ``path``."""
        if result is not None and (result.package_id.hex() != package_id or result.package_digest != digest):
            raise ValueError("result is not the package recorded")
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO sent (package_id, sealed_at, title, doc_number, urgency, due, label, "
                       "path, digest, transport, seal_result) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (package_id, sealed_at.isoformat(), printable_or_none(title), printable_or_none(doc_number),
                        urgency, due.isoformat() if due else None, printable_or_none(label),
                        printable_or_none(path), digest, transport,
                        json.dumps(result.to_dict()) if result is not None else None))
            for unit, role, key_id in recipients:
                db.execute("INSERT OR IGNORE INTO sent_recipients (package_id, unit, role, key_id) VALUES (?,?,?,?)",
                           (package_id, printable_or_none(unit), role, key_id))
            if result is None:
                rebuilt = _rebuilt_result(db, package_id)
                if rebuilt is not None:
                    db.execute("UPDATE sent SET seal_result = ? WHERE package_id = ?",
                               (json.dumps(rebuilt), package_id))

    def seal_result(self, package_id: str) -> SealResult | None:
        """What ``seal`` returned for a package sent from here (``SealResult.from_dict`` of the
        record), or None when this office did not send it."""
        with self._connect() as db:
            row = db.execute("SELECT seal_result FROM sent WHERE package_id = ?", (package_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        return SealResult.from_dict(json.loads(row[0]))

    def sent_record(self, package_id: str) -> tuple[bytes, str, list[tuple[str, str, bytes]]] | None:
        """(package digest, sealed_at, [(unit, role, key_id)]) of a package we sent, or None."""
        with self._connect() as db:
            row = db.execute("SELECT digest, sealed_at FROM sent WHERE package_id = ?", (package_id,)).fetchone()
            if row is None:
                return None
            recips = db.execute("SELECT unit, role, key_id FROM sent_recipients WHERE package_id = ?",
                                (package_id,)).fetchall()
        return row[0], row[1], [tuple(r) for r in recips]

    def record_receipt(self, package_id: str, key_id: bytes, at: datetime, status: str, receipt: bytes) -> bool:
        """Mark a recipient as having signed; False if that recipient was already recorded."""
        with self._tx() as db:
            row = db.execute("SELECT receipt_at FROM sent_recipients WHERE package_id = ? AND key_id = ?",
                             (package_id, key_id)).fetchone()
            if row is None:
                raise KeyError(package_id)
            if row[0]:
                return False
            db.execute("UPDATE sent_recipients SET receipt_at = ?, receipt_status = ?, receipt = ? "
                       "WHERE package_id = ? AND key_id = ?", (at.isoformat(), status, receipt, package_id, key_id))
            return True

    def sent_status(self, today: date | None = None, *, scope: str = "all", recent: int = 20,
                    package_id: str | None = None, package_ids: Iterable[str] | None = None) -> list[SentState]:
        """Sent packages, oldest first, each with every recipient's receipt, delivery and reminders.

        ``scope="all"`` lists every package; ``"attention"`` only those still waiting for
        an answer or with a failed delivery, plus the ``recent`` newest ones (what a
        secretary looks at; fast with 100,000 packages); ``package_id`` one package,
        ``package_ids`` those packages.  ``iter_sent_status`` yields the same one by one.
        """
        return list(self.iter_sent_status(today, scope=scope, recent=recent, package_id=package_id,
                                          package_ids=package_ids))

    def iter_sent_status(self, today: date | None = None, *, scope: str = "all", recent: int = 20,
                         package_id: str | None = None,
                         package_ids: Iterable[str] | None = None) -> Iterator[SentState]:
        """``sent_status`` one package at a time, read from one SQLite cursor as it is consumed:
        the first package comes at once and memory stays that of one package, whatever the
        ledger holds (``status --all`` with a million recipient rows prints as it reads)."""
        today = today or date.today()
        db = self._connect()
        try:
            where = ""
            if package_id is not None or package_ids is not None:
                db.execute("CREATE TEMP TABLE pick (package_id TEXT PRIMARY KEY)")
                picked = [package_id] if package_id is not None else list(package_ids or ())
                db.executemany("INSERT OR IGNORE INTO pick VALUES (?)", ((p,) for p in picked))
                where = "WHERE s.package_id IN (SELECT package_id FROM pick)"
            elif scope == "attention":
                db.execute("CREATE TEMP TABLE pick (package_id TEXT PRIMARY KEY)")
                db.execute("INSERT OR IGNORE INTO pick SELECT package_id FROM sent_recipients "
                           "WHERE receipt_at IS NULL")
                db.execute("INSERT OR IGNORE INTO pick SELECT package_id FROM deliveries WHERE state = 'failed'")
                db.execute("INSERT OR IGNORE INTO pick SELECT package_id FROM sent ORDER BY sealed_at DESC "
                           "LIMIT ?", (recent,))
                where = "WHERE s.package_id IN (SELECT package_id FROM pick)"
            elif scope != "all":
                raise ValueError("scope must be 'all' or 'attention'")
            rows = db.execute(
                "SELECT s.package_id, s.sealed_at, s.title, s.doc_number, s.urgency, s.due, s.path, s.transport, "
                "r.unit, r.role, r.key_id, r.receipt_at, r.receipt_status, "
                "d.state, d.at, d.address, d.reason, "
                "coalesce(m.n, 0), m.last, j.reason "
                f"FROM sent s JOIN sent_recipients r ON r.package_id = s.package_id "
                "LEFT JOIN deliveries d ON d.package_id = r.package_id AND d.unit = r.unit "
                "LEFT JOIN (SELECT package_id, unit, count(*) AS n, max(at) AS last FROM reminders_sent "
                "GROUP BY package_id, unit) m ON m.package_id = r.package_id AND m.unit = r.unit "
                "LEFT JOIN rejection_reasons j ON j.package_id = r.package_id AND j.unit = r.unit "
                f"{where} ORDER BY s.sealed_at, s.package_id, r.role DESC, r.unit")
            current: SentState | None = None
            overdue_day = False
            for (pid, sealed_at, title, doc_number, urgency, due, path, transport, unit, role, key_id, at, status,
                 dstate, dat, daddr, dreason, nrem, lastrem, jreason) in rows:
                if current is None or current.package_id != pid:
                    if current is not None:
                        yield current
                    current = SentState(pid, sealed_at, title, doc_number, urgency, due, path=path,
                                        transport=transport)
                    overdue_day = date.fromisoformat(due) < today if due else False
                current.recipients.append(RecipientState(
                    unit, role, key_id.hex(), at, status, overdue_day and not at, dstate, dat, daddr, dreason,
                    nrem, lastrem, jreason))
            if current is not None:
                yield current
        finally:
            db.close()

    def sent_count(self) -> int:
        """How many packages were sent from here."""
        with self._connect() as db:
            return int(db.execute("SELECT count(*) FROM sent").fetchone()[0])

    # -- delivery, reminders, 拒收 reasons (sender's side) ------------------------------------
    def record_delivery(self, package_id: str, unit: str, state: str, *, via: str | None = None,
                        address: str | None = None, reason: str | None = None,
                        at: datetime | None = None) -> None:
        """Record the outcome of one delivery attempt to ``unit``: ``delivered`` (where),
        ``failed`` (the reason, one line) or ``saved`` (kept in a folder only)."""
        if state not in ("delivered", "failed", "saved"):
            raise ValueError("state must be delivered, failed or saved")
        when = (at or now()).isoformat()
        with self._tx() as db:
            db.execute("INSERT INTO deliveries (package_id, unit, state, via, address, at, reason) "
                       "VALUES (?,?,?,?,?,?,?) ON CONFLICT (package_id, unit) DO UPDATE SET state = excluded.state, "
                       "via = excluded.via, address = excluded.address, at = excluded.at, "
                       "reason = excluded.reason, attempts = attempts + 1",
                       (package_id, unit, state, via, address, when, reason))

    def sent_package(self, package_id: str) -> SentState | None:
        """One sent package with its recipients, or None."""
        found = self.sent_status(package_id=package_id)
        return found[0] if found else None

    def find_sent(self, prefix: str) -> list[str]:
        """Ids of sent packages that start with ``prefix`` (a hex id or the start of one)."""
        prefix = prefix.strip().lower()
        if not prefix or any(c not in "0123456789abcdef" for c in prefix):
            return []
        with self._connect() as db:
            return [r[0] for r in db.execute("SELECT package_id FROM sent WHERE package_id >= ? AND package_id < ? "
                                             "ORDER BY package_id LIMIT 10", (prefix, prefix + "g"))]

    def record_reminder(self, package_id: str, unit: str, sequence: int, at: datetime) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO reminders_sent VALUES (?,?,?,?)",
                       (package_id, unit, sequence, at.isoformat()))

    def record_rejection_reason(self, package_id: str, unit: str, reason: str, at: datetime,
                                notice: bytes) -> bool:
        """Keep the signed reason of a 拒收; False if one was recorded already."""
        with self._tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO rejection_reasons VALUES (?,?,?,?,?)",
                             (package_id, unit, reason, at.isoformat(), notice))
            return cur.rowcount == 1

    # -- receiving -------------------------------------------------------------------
    def seen(self, package_id: str, package_digest: bytes) -> Replay:
        """Whether this package (by digest) or another with its id was received before."""
        with self._connect() as db:
            return _replay(db, package_id, package_digest)

    def already_received(self, package_id: str) -> str | None:
        """When a package with this id was first received (any digest), or None."""
        with self._connect() as db:
            row = db.execute("SELECT min(opened_at) FROM received_packages WHERE package_id = ?",
                             (package_id,)).fetchone()
        return row[0] if row else None

    def record_received(self, *, package_id: str, package_digest: bytes, sender_unit: str | None,
                        sender_key_id: bytes, title: str | None, doc_number: str | None, urgency: str | None,
                        due: date | None, out_dir: str) -> Replay:
        """Record an opened (authenticated) package; return what was known before, atomically.

        A repeat of the same bytes is not recorded twice; a different package with
        the same id is recorded beside the earlier one (``Replay.conflict``)."""
        with self._tx() as db:
            replay = _replay(db, package_id, package_digest)
            if not replay.repeat:
                db.execute("INSERT INTO received_packages (package_id, package_digest, sender_unit, sender_key_id,"
                           " title, doc_number, urgency, due, opened_at, out_dir) VALUES (?,?,?,?,?,?,?,?,?,?)",
                           (package_id, bytes(package_digest), printable_or_none(sender_unit), sender_key_id,
                            printable_or_none(title), printable_or_none(doc_number), urgency,
                            due.isoformat() if due else None, now().isoformat(), printable_or_none(out_dir)))
        return replay

    def mark_receipt_sent(self, package_id: str, package_digest: bytes | None = None) -> None:
        """Note that the receipt for this package (by digest when given) was sent."""
        with self._tx() as db:
            if package_digest is None:
                db.execute("UPDATE received_packages SET receipt_sent_at = ? WHERE package_id = ?",
                           (now().isoformat(), package_id))
            else:
                db.execute("UPDATE received_packages SET receipt_sent_at = ? WHERE package_digest = ?",
                           (now().isoformat(), bytes(package_digest)))

    def received_status(self) -> list[dict[str, Any]]:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT package_id, package_digest, sender_unit, title, doc_number, urgency, due, "
                              "opened_at, out_dir, receipt_sent_at FROM received_packages "
                              "ORDER BY opened_at, id").fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["package_digest"] = d["package_digest"].hex() if d["package_digest"] is not None else None
            out.append(d)
        return out


def _replay(db: sqlite3.Connection, package_id: str, package_digest: bytes) -> Replay:
    rows = db.execute("SELECT opened_at, sender_unit, package_digest FROM received_packages WHERE package_id = ? "
                      "ORDER BY opened_at, id", (package_id,)).fetchall()
    earlier = tuple((r[0], r[1]) for r in rows)
    if not rows:
        return Replay("new")
    if any(r[2] is not None and bytes(r[2]) == bytes(package_digest) for r in rows):
        return Replay("repeat", earlier)
    if all(r[2] is None for r in rows):
        return Replay("repeat", earlier)   # recorded before digests were kept: assume the same package
    return Replay("conflict", earlier)
