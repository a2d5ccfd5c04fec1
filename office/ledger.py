"""The local ledger (SQLite in SMSEAL_HOME): packages sent and received, and receipts.

Two smseal processes at once never corrupt it: WAL journal, a busy timeout,
and every write in a ``BEGIN IMMEDIATE`` transaction.  Package ids are
recorded, so a replayed package is recognised as one.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    package_id TEXT PRIMARY KEY,
    sealed_at TEXT NOT NULL,
    title TEXT, doc_number TEXT, urgency TEXT, due TEXT, label TEXT,
    path TEXT, digest BLOB, transport TEXT
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
"""


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

    @property
    def signed(self) -> int:
        """Recipients whose receipt says received (a 拒收 receipt is an answer, not a signature)."""
        return sum(1 for r in self.recipients if r.signed)


class Ledger:
    def __init__(self, home: Path) -> None:
        self.path = Path(home) / "ledger.sqlite3"
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA foreign_keys = ON")
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    # -- sending ---------------------------------------------------------------------
    def record_sent(self, *, package_id: str, sealed_at: datetime, title: str | None, doc_number: str | None,
                    urgency: str | None, due: date | None, label: str | None, path: str, digest: bytes,
                    transport: str, recipients: list[tuple[str, str, bytes]]) -> None:
        """``recipients`` is a list of (unit, role 'to'|'cc', key_id)."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO sent VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (package_id, sealed_at.isoformat(), title, doc_number, urgency,
                        due.isoformat() if due else None, label, path, digest, transport))
            for unit, role, key_id in recipients:
                db.execute("INSERT OR IGNORE INTO sent_recipients (package_id, unit, role, key_id) VALUES (?,?,?,?)",
                           (package_id, unit, role, key_id))

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

    def sent_status(self, today: date | None = None) -> list[SentState]:
        today = today or date.today()
        out: list[SentState] = []
        with self._connect() as db:
            for row in db.execute("SELECT package_id, sealed_at, title, doc_number, urgency, due "
                                  "FROM sent ORDER BY sealed_at"):
                st = SentState(*row)
                overdue_day = date.fromisoformat(st.due) < today if st.due else False
                for unit, role, key_id, at, status in db.execute(
                        "SELECT unit, role, key_id, receipt_at, receipt_status FROM sent_recipients "
                        "WHERE package_id = ? ORDER BY role DESC, unit", (st.package_id,)):
                    st.recipients.append(RecipientState(unit, role, key_id.hex(), at, status,
                                                        overdue_day and not at))
                out.append(st)
        return out

    # -- receiving -------------------------------------------------------------------
    def already_received(self, package_id: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT opened_at FROM received WHERE package_id = ?", (package_id,)).fetchone()
        return row[0] if row else None

    def record_received(self, *, package_id: str, sender_unit: str | None, sender_key_id: bytes,
                        title: str | None, doc_number: str | None, urgency: str | None, due: date | None,
                        out_dir: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO received (package_id, sender_unit, sender_key_id, title, doc_number,"
                       " urgency, due, opened_at, out_dir) VALUES (?,?,?,?,?,?,?,?,?)",
                       (package_id, sender_unit, sender_key_id, title, doc_number, urgency,
                        due.isoformat() if due else None, now().isoformat(), out_dir))

    def mark_receipt_sent(self, package_id: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE received SET receipt_sent_at = ? WHERE package_id = ?", (now().isoformat(), package_id))

    def received_status(self) -> list[dict]:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT package_id, sender_unit, title, doc_number, urgency, due, opened_at, "
                              "out_dir, receipt_sent_at FROM received ORDER BY opened_at").fetchall()
        return [dict(r) for r in rows]
