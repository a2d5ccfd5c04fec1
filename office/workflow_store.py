"""The workflow's own tables in the office ledger (``SMSEAL_HOME/ledger.sqlite3``).

Kept apart from the delivery/receipt tables of ``ledger`` (same file, same
WAL journal and busy timeout, every write one ``BEGIN IMMEDIATE``):

- ``wf_out``: each package this unit sent, with the register's fields (文种, 签发人, 份号,
  答复期限, reply link);
- ``wf_in``: each package opened here (only authenticated, accepted ones: a refused
  package is never registered), keyed by package digest;
- ``wf_replies``: replies received, linked to the package they answer;
- ``wf_groups``: named groups of units (各乡镇 …);
- ``wf_cases`` / ``wf_case_stages``: 办件 with a template's stages and when each was done.

Times are stored in UTC (ISO 8601); dates as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from smseal.keystore.paths import private_file

from . import sqlitedb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS wf_out (
    package_id TEXT PRIMARY KEY, package_digest BLOB NOT NULL, sealed_at TEXT NOT NULL,
    title TEXT, doc_number TEXT, doc_type TEXT, urgency TEXT, label TEXT, copy_number TEXT,
    signer TEXT, due TEXT, reply_by TEXT, reply_to TEXT,
    to_unit TEXT NOT NULL, cc_units TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wf_in (
    package_digest BLOB PRIMARY KEY, package_id TEXT NOT NULL, sender_unit TEXT, sealed_at TEXT NOT NULL,
    opened_at TEXT NOT NULL, title TEXT, doc_number TEXT, doc_type TEXT, urgency TEXT, label TEXT,
    copy_number TEXT, signer TEXT, signer_state TEXT NOT NULL, signer_detail TEXT,
    due TEXT, reply_by TEXT, reply_to TEXT, role TEXT NOT NULL, receipt_at TEXT, out_dir TEXT,
    files TEXT NOT NULL, replied_at TEXT, reply_package_id TEXT
);
CREATE TABLE IF NOT EXISTS wf_copies (
    package_id TEXT NOT NULL, pos INTEGER NOT NULL, unit TEXT NOT NULL, role TEXT NOT NULL,
    copy_number TEXT, reply INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (package_id, pos)
);
CREATE TABLE IF NOT EXISTS wf_replies (
    original_id TEXT NOT NULL, unit TEXT NOT NULL, reply_package_id TEXT NOT NULL,
    reply_digest BLOB NOT NULL, replied_at TEXT NOT NULL,
    PRIMARY KEY (original_id, reply_package_id)
);
CREATE TABLE IF NOT EXISTS wf_groups (
    name TEXT NOT NULL, unit TEXT NOT NULL, pos INTEGER NOT NULL, PRIMARY KEY (name, unit)
);
CREATE TABLE IF NOT EXISTS wf_bureau_groups (
    name TEXT NOT NULL, unit TEXT NOT NULL, pos INTEGER NOT NULL, PRIMARY KEY (name, unit)
);
CREATE TABLE IF NOT EXISTS wf_cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT, template TEXT NOT NULL, unit TEXT NOT NULL, title TEXT,
    year INTEGER NOT NULL, package_id TEXT, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS wf_case_stages (
    case_id INTEGER NOT NULL REFERENCES wf_cases(id), stage TEXT NOT NULL, done_on TEXT NOT NULL,
    source TEXT NOT NULL, PRIMARY KEY (case_id, stage)
);
"""


class WorkflowStore:
    """The workflow tables; see the module docstring."""

    def __init__(self, home: str | Path) -> None:
        self.path = Path(home) / "ledger.sqlite3"
        with self._connect() as db:
            db.executescript(_SCHEMA)
        private_file(self.path)       # the same file as the ledger: 0600, set once, not per connection

    def __repr__(self) -> str:
        return f"<WorkflowStore {self.path}>"

    def _connect(self) -> sqlite3.Connection:
        db = sqlitedb.connect(self.path)
        db.row_factory = sqlite3.Row
        return db

    def tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``)."""
        return sqlitedb.immediate(self._connect)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query, as dicts."""
        db = self._connect()
        try:
            return [dict(r) for r in db.execute(sql, params).fetchall()]
        finally:
            db.close()

    def insert(self, table: str, row: dict[str, Any], *, replace: bool = False) -> int:
        """Insert one row (``INSERT OR IGNORE`` unless ``replace``); return its rowid."""
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        with self.tx() as db:
            cur = db.execute(f"{verb} INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))
            return int(cur.lastrowid or 0)


def dumps(value: Any) -> str:
    """JSON for list columns (unit lists, file lists), Chinese kept readable."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None) -> Any:
    return json.loads(text) if text else []
