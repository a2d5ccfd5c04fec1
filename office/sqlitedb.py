"""The one way smseal's office files open SQLite: WAL journal, a busy timeout so two smseal
processes wait for each other, foreign keys on, and every write one ``BEGIN IMMEDIATE``."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit, see ``immediate``)."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 30000")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA foreign_keys = ON")
    return db


@contextmanager
def immediate(open_db: Callable[[], sqlite3.Connection]) -> Iterator[sqlite3.Connection]:
    """One write transaction on a fresh connection: committed when the block ends, rolled
    back (nothing half-written) when it raises; the connection is closed either way."""
    db = open_db()
    try:
        db.execute("BEGIN IMMEDIATE")
        yield db
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.close()
