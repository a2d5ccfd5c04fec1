"""The inbox: verified packages waiting to be opened (SMSEAL_HOME/inbox/), what was refused on
the way in, and the 催领 reminders received for waiting packages.

A package is listed only after its sender's signature over every byte verified
and the sender is trusted and valid today; what fails is kept aside under
``inbox/refused/`` and listed as refused, never opened.  A refused item never
takes a package id, so a forged copy cannot squat the id of a real package.
Ordering: 特急 first, then 加急, then normal; within each, oldest first.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from shangmi import ExpiredCertificate, MalformedPackage, RevokedKey, SmsealError, VerificationError, sm2

from .context import Office
from .errors import UsageError
from .fsutil import safe_component
from .i18n import _
from .ledger import now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    package_id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'opened', 'rejected')),
    sender_unit TEXT, sender_key_id BLOB NOT NULL, urgency TEXT NOT NULL, sealed_at TEXT NOT NULL,
    received_at TEXT NOT NULL, source TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL,
    digest BLOB NOT NULL, recipient_key_id BLOB NOT NULL, role TEXT NOT NULL,
    title TEXT, doc_number TEXT, answered_at TEXT, out_dir TEXT, rejected_reason TEXT
);
CREATE INDEX IF NOT EXISTS inbox_by_state ON inbox(state, received_at);
CREATE TABLE IF NOT EXISTS inbox_refused (
    id INTEGER PRIMARY KEY, source TEXT NOT NULL, item TEXT NOT NULL, kind TEXT NOT NULL,
    claimed_id TEXT, reason TEXT NOT NULL, at TEXT NOT NULL, path TEXT
);
CREATE TABLE IF NOT EXISTS reminders_received (
    package_id TEXT NOT NULL, sequence INTEGER NOT NULL, digest BLOB NOT NULL, sender_unit TEXT,
    sent_at TEXT NOT NULL, received_at TEXT NOT NULL, urgency TEXT NOT NULL, notice BLOB NOT NULL,
    PRIMARY KEY (package_id, sequence)
);
CREATE TABLE IF NOT EXISTS fetched (
    source TEXT NOT NULL, item TEXT NOT NULL, outcome TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (source, item)
);
"""

#: What ``inbox/refused/`` keeps as evidence of refused arrivals, in all (README "Receiving");
#: beyond it a refused item keeps only its first ``REFUSED_HEAD`` bytes.
MAX_REFUSED_BYTES = 1024 ** 3
REFUSED_HEAD = 64 * 1024
URGENCY_RANK = {"extra-urgent": 0, "urgent": 1, "normal": 2}
URGENCY_LABEL = {"normal": "", "urgent": "加急", "extra-urgent": "特急"}
_ORDER = ("CASE urgency WHEN 'extra-urgent' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END, received_at, package_id")


def spool_file(folder: Path) -> tuple[Path, BinaryIO]:
    """A new private (0600, never an existing file or link) temporary file in ``folder``."""
    path = folder / f".{os.getpid()}-{secrets.token_hex(8)}.part"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    return path, os.fdopen(fd, "wb")


def write_spool(folder: Path, write: Callable[[BinaryIO], object]) -> Path:
    """A new spool file in ``folder`` filled by ``write`` and synced to disk; on any error
    (a full disk, a refusal inside ``write``) the half-written file is removed."""
    path, f = spool_file(folder)
    try:
        with f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class ReminderSeen:
    """A verified 催领 reminder received for a package."""

    sequence: int
    sender: str | None
    sent_at: str
    received_at: str


@dataclass(frozen=True)
class InboxEntry:
    """A package in the inbox.  ``title``/``doc_number`` are known only once it was opened."""

    package_id: str
    state: str                 # waiting | opened | rejected
    sender: str | None         # the unit the directory vouched for
    urgency: str               # normal | urgent | extra-urgent
    sealed_at: str
    received_at: str
    source: str
    path: str
    size: int
    role: str                  # to (主送) | cc (抄送)
    title: str | None = None
    doc_number: str | None = None
    answered_at: str | None = None
    rejected_reason: str | None = None
    reminders: tuple[ReminderSeen, ...] = field(default_factory=tuple)

    def waited_seconds(self, at: datetime | None = None) -> int:
        """How long it has waited since it arrived (until it was answered, if it was)."""
        end = datetime.fromisoformat(self.answered_at) if self.answered_at else (at or now())
        return max(0, int((end - datetime.fromisoformat(self.received_at)).total_seconds()))

    def to_dict(self, at: datetime | None = None) -> dict[str, object]:
        return {"package_id": self.package_id, "state": self.state, "sender": self.sender,
                "urgency": self.urgency, "sealed_at": self.sealed_at, "received_at": self.received_at,
                "waited_seconds": self.waited_seconds(at), "source": self.source, "size": self.size,
                "role": self.role, "title": self.title, "doc_number": self.doc_number,
                "answered_at": self.answered_at, "rejected_reason": self.rejected_reason,
                "reminders": [{"sequence": r.sequence, "sender": r.sender, "sent_at": r.sent_at,
                               "received_at": r.received_at} for r in self.reminders]}


@dataclass(frozen=True)
class RefusedItem:
    """Something that arrived and was refused (altered, untrusted sender, not for us...)."""

    id: int
    source: str
    item: str
    kind: str
    claimed_id: str | None     # the package id its (unauthenticated) header claims
    reason: str
    at: str
    path: str | None

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "source": self.source, "item": self.item, "kind": self.kind,
                "claimed_package_id": self.claimed_id, "reason": self.reason, "at": self.at, "path": self.path}


@dataclass(frozen=True)
class Arrival:
    """What happened to one package offered to the inbox."""

    outcome: str               # new | duplicate | refused
    entry: InboxEntry | None = None
    refused: RefusedItem | None = None


def one_line(text: str, limit: int = 300) -> str:
    """Text safe to print and store: one line, no control characters, bounded."""
    cleaned = "".join(" " if (ord(c) < 32 or 0x7f <= ord(c) < 0xa0 or c in "\u2028\u2029\u202e\u202d")
                      else c for c in str(text))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 1] + "…"


def error_line(exc: BaseException) -> str:
    """A refusal reason for the inbox: the error's class and message, one line."""
    return one_line(f"{type(exc).__name__}: {exc}")


class Inbox:
    """The inbox of one office; every method is safe to call from the command and the page."""

    def __init__(self, office: Office) -> None:
        self.office = office
        self.folder = office.home / "inbox"
        self._batch: sqlite3.Connection | None = None
        self._own_keys: set[bytes] | None = None
        db = office.ledger._connect()
        try:
            db.executescript(_SCHEMA)
        finally:
            db.close()

    # -- one transaction for many arrivals ----------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        if self._batch is not None:
            yield self._batch
            return
        db = self.office.ledger._connect()
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self._batch is not None:
            yield self._batch
            return
        with self.office.ledger._tx() as db:
            yield db

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Record everything done inside in one ledger transaction, committed at the end (what
        ``fetch`` does per batch of mails: one commit instead of several per package)."""
        if self._batch is not None:
            yield
            return
        with self.office.ledger._tx() as db:
            self._batch = db
            try:
                yield
            finally:
                self._batch = None

    @contextmanager
    def outside_batch(self) -> Iterator[None]:
        """Commit what the batch holds so far, run the block with its own transactions (receipts
        and notices are recorded by the ledger itself), then go on batching."""
        db = self._batch
        if db is None:
            yield
            return
        db.execute("COMMIT")
        self._batch = None
        try:
            yield
        finally:
            db.execute("BEGIN IMMEDIATE")
            self._batch = db

    def own_key_ids(self) -> set[bytes]:
        if self._own_keys is None:
            self._own_keys = self.office.own_encryption_key_ids()
        return self._own_keys

    # -- folders -------------------------------------------------------------------------
    def _dir(self, name: str) -> Path:
        self.folder.mkdir(mode=0o700, exist_ok=True)     # never parents=True: that makes them 0755
        d = self.folder / name
        d.mkdir(mode=0o700, exist_ok=True)
        return d

    def spool(self) -> tuple[Path, BinaryIO]:
        """A new private temporary file inside the inbox (same file system as its final place)."""
        return spool_file(self._dir("incoming"))

    def spool_write(self, write: Callable[[BinaryIO], object]) -> Path:
        """A new spool file filled by ``write`` (``write_spool``: removed again on any error)."""
        return write_spool(self._dir("incoming"), write)

    def spool_bytes(self, data: bytes) -> Path:
        return self.spool_write(lambda f: f.write(data))

    def spool_stream(self, src: BinaryIO, *, limit: int | None = None) -> Path:
        """Copy the open file ``src`` (from where it stands to its end) into a new spool file;
        ``MalformedPackage`` when it holds more than ``limit`` bytes (it grew while being read)."""
        def copy(f: BinaryIO) -> None:
            copied = 0
            while piece := src.read(1 << 20):
                copied += len(piece)
                if limit is not None and copied > limit:
                    raise MalformedPackage(_("the file grew while it was being read"))
                f.write(piece)
        return self.spool_write(copy)

    # -- arrivals ------------------------------------------------------------------------
    def add_package(self, spooled: Path, *, source: str, item: str) -> Arrival:
        """Verify the package in ``spooled`` (a file from ``spool*``) and list it, or refuse it.

        The file is moved into the inbox (or aside into ``refused/``) in every case
        but a duplicate, which is deleted.  Never raises for a bad package: the
        refusal is recorded and returned.
        """
        from smseal.envelope import inspect, verify_package

        claimed = None
        try:
            info = inspect(spooled)
            claimed = info.package_id.hex()
            ours = self.own_key_ids()
            mine = [r for r in info.recipients if r.key_id in ours]
            if not mine:
                raise VerificationError(_("not addressed to this unit (密件不许代领); pass it on unopened"))
            res = verify_package(spooled, trusted=self.office.directory)
            self._check_valid_today(res.sender_key)
        except (SmsealError, OSError) as exc:
            return Arrival("refused", refused=self.refuse(source, item, "package", error_line(exc),
                                                          claimed_id=claimed, keep=spooled))
        pid = res.package_id.hex()
        with self._read() as db:
            row = db.execute("SELECT digest FROM inbox WHERE package_id = ?", (pid,)).fetchone()
        seen = self.office.ledger.seen(pid, res.package_digest)     # opened before: by digest, not id
        if row is not None or not seen.new:
            import hmac

            if seen.conflict or (row is not None and not hmac.compare_digest(bytes(row[0]), res.package_digest)):
                return Arrival("refused", refused=self.refuse(
                    source, item, "package", _("another package with this id is already in the inbox"),
                    claimed_id=pid, keep=spooled))
            spooled.unlink(missing_ok=True)
            return Arrival("duplicate", entry=self.get(pid) if row is not None else None)
        dest = self._dir("packages") / f"{pid}.smx"
        os.replace(spooled, dest)
        stanza = mine[0]
        with self._write() as db:
            db.execute("INSERT INTO inbox (package_id, state, sender_unit, sender_key_id, urgency, sealed_at, "
                       "received_at, source, path, size, digest, recipient_key_id, role) "
                       "VALUES (?, 'waiting', ?,?,?,?,?,?,?,?,?,?,?)",
                       (pid, res.sender, res.sender_key.key_id(), res.urgency, res.sealed_at.isoformat(),
                        now().isoformat(), one_line(source), str(dest), dest.stat().st_size, res.package_digest,
                        stanza.key_id, stanza.role))
        return Arrival("new", entry=self.get(pid))

    def _check_valid_today(self, sender_key: "sm2.PublicKey") -> None:
        try:
            self.office.directory.check_sender(sender_key, now())
        except (RevokedKey, ExpiredCertificate) as exc:
            raise VerificationError(_("the sender's key is no longer valid today ({detail}); open it by hand "
                                      "with --accept-before-revocation only after a phone call").format(
                detail=exc)) from None

    def refuse(self, source: str, item: str, kind: str, reason: str, *, claimed_id: str | None = None,
               keep: Path | None = None) -> RefusedItem:
        """Record a refused arrival; move ``keep`` (a spooled file) aside as evidence."""
        kept = None
        if keep is not None and keep.exists() and self._refused_bytes() + keep.stat().st_size > MAX_REFUSED_BYTES:
            with open(keep, "r+b") as f:    # refused/ is full: keep only the start as evidence
                f.truncate(REFUSED_HEAD)
            reason += " " + _("(only its first {size:,} bytes are kept: refused copies take at most {limit:,} "
                              "bytes)").format(size=REFUSED_HEAD, limit=MAX_REFUSED_BYTES)
        if keep is not None and keep.exists():
            kept = self._dir("refused") / f"{now().strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}-" \
                                          f"{safe_component(one_line(item, 80))[:80]}"
            os.replace(keep, kept)
        at = now().isoformat()
        with self._write() as db:
            cur = db.execute("INSERT INTO inbox_refused (source, item, kind, claimed_id, reason, at, path) "
                             "VALUES (?,?,?,?,?,?,?)", (one_line(source), one_line(item), kind, claimed_id,
                                                        one_line(reason), at, str(kept) if kept else None))
            rid = int(cur.lastrowid or 0)
        return RefusedItem(rid, one_line(source), one_line(item), kind, claimed_id, one_line(reason), at,
                           str(kept) if kept else None)

    def _refused_bytes(self) -> int:
        total = 0
        with os.scandir(self._dir("refused")) as it:
            for e in it:
                try:
                    total += e.stat(follow_symlinks=False).st_size
                except OSError:
                    pass
        return total

    def add_reminder(self, data: bytes) -> ReminderSeen | None:
        """Verify a 催领 reminder and record it; None if it was recorded before.

        Refused (``VerificationError`` and kin) unless it is signed by a trusted unit,
        addressed to one of this office's keys, for a package already here, signed by that
        package's sender and naming its exact digest.
        """
        from smseal.envelope.notice import Notice, check_notice_package, verify_notice

        n = Notice.from_bytes(data)
        if n.kind != "reminder":
            raise VerificationError("this notice is not a reminder")
        if n.recipient_key_id not in self.own_key_ids():
            raise VerificationError("the reminder is for another unit")
        info = verify_notice(n, trusted=self.office.directory)
        pid = n.package_id.hex()
        with self._read() as db:
            row = db.execute("SELECT digest, sender_unit FROM inbox WHERE package_id = ?", (pid,)).fetchone()
        if row is None:
            # A reminder binds to a package this office holds: otherwise any trusted unit could
            # raise alarms for made-up ids, or send reminders early under another sender's
            # package id and take its sequence numbers.  Reminders repeat, so nothing is lost.
            raise VerificationError("the reminder is for a package that has not arrived here")
        check_notice_package(info, n.package_id, bytes(row[0]))
        if info.signer_unit != row[1]:
            raise VerificationError("the reminder is signed by {signer_unit}, not by the sender {sender}",
                                    signer_unit=str(info.signer_unit), sender=str(row[1]))
        seen = ReminderSeen(n.sequence, info.signer_unit, info.time.isoformat(), now().isoformat())
        with self._write() as db:
            cur = db.execute("INSERT OR IGNORE INTO reminders_received VALUES (?,?,?,?,?,?,?,?)",
                             (pid, n.sequence, n.package_digest, info.signer_unit, seen.sent_at, seen.received_at,
                              n.urgency, n.to_bytes()))
            return seen if cur.rowcount == 1 else None

    # -- what was fetched already (idempotency) -----------------------------------------
    def seen(self, source: str, item: str) -> bool:
        with self._read() as db:
            return db.execute("SELECT 1 FROM fetched WHERE source = ? AND item = ?", (source, item)).fetchone() \
                is not None

    def seen_items(self, source: str) -> set[str]:
        with self._read() as db:
            return {r[0] for r in db.execute("SELECT item FROM fetched WHERE source = ?", (source,))}

    def mark_seen(self, source: str, item: str, outcome: str) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO fetched VALUES (?,?,?,?)", (source, item, outcome, now().isoformat()))

    # -- listing -------------------------------------------------------------------------
    def _entries(self, where: str, args: tuple[str, ...] = ()) -> list[InboxEntry]:
        with self._read() as db:
            rows = db.execute("SELECT package_id, state, sender_unit, urgency, sealed_at, received_at, source, path, "
                              "size, role, title, doc_number, answered_at, rejected_reason, digest "
                              f"FROM inbox {where} ORDER BY {_ORDER}", args).fetchall()
            reminders: dict[str, list[ReminderSeen]] = {}
            if rows:
                q = ("SELECT r.package_id, r.sequence, r.sender_unit, r.sent_at, r.received_at, r.digest FROM "
                     "reminders_received r JOIN inbox i ON i.package_id = r.package_id AND i.digest = r.digest "
                     "AND i.sender_unit IS r.sender_unit "
                     f"WHERE r.package_id IN (SELECT package_id FROM inbox {where}) ORDER BY r.package_id, r.sequence")
                for pid, seq, sender, sent_at, received_at, _d in db.execute(q, args):
                    reminders.setdefault(pid, []).append(ReminderSeen(seq, sender, sent_at, received_at))
        return [InboxEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
                           reminders=tuple(reminders.get(r[0], ()))) for r in rows]

    def entries(self, *, include_answered: bool = False) -> list[InboxEntry]:
        """Packages waiting to be opened, most urgent first, then oldest first; with
        ``include_answered`` also those opened or refused (拒收) here, which show their titles."""
        if include_answered:
            return self._entries("")
        return self._entries("WHERE state = 'waiting'")

    def refused(self) -> list[RefusedItem]:
        """Everything refused on the way in, newest first."""
        with self._read() as db:
            rows = db.execute("SELECT id, source, item, kind, claimed_id, reason, at, path FROM inbox_refused "
                              "ORDER BY id DESC").fetchall()
        return [RefusedItem(*r) for r in rows]

    def get(self, package_id: str) -> InboxEntry:
        found = self._entries("WHERE package_id = ?", (package_id,))
        if not found:
            raise UsageError(_("No package {pid} in the inbox.").format(pid=package_id))
        return found[0]

    def next(self) -> InboxEntry:
        """The most urgent waiting package (特急 first, then 加急, then the oldest)."""
        waiting = self._entries("WHERE state = 'waiting'")
        if not waiting:
            raise UsageError(_("Nothing is waiting in the inbox. Run 'smseal fetch' to look for new packages."))
        return waiting[0]

    def resolve(self, prefix: str) -> InboxEntry:
        """The package whose id starts with ``prefix`` (at least 4 hex digits); a ``UsageError``
        when none or several match."""
        p = prefix.strip().lower()
        if len(p) < 4 or any(c not in "0123456789abcdef" for c in p):
            raise UsageError(_("{text} is neither a file nor the start of a package id (at least 4 hex digits).")
                             .format(text=one_line(prefix, 80)))
        found = self._entries("WHERE package_id >= ? AND package_id < ?", (p, p + "g"))
        if not found:
            raise UsageError(_("No file {text}, and no package in the inbox whose id starts with it.")
                             .format(text=p))
        if len(found) > 1:
            raise UsageError(_("{n} packages in the inbox start with {text}: {ids}. Give more digits.").format(
                n=len(found), text=p, ids=", ".join(e.package_id[:12] for e in found[:5])))
        return found[0]

    # -- answering -----------------------------------------------------------------------
    def mark_opened(self, package_id: str, *, title: str | None, doc_number: str | None, out_dir: str) -> None:
        with self._write() as db:
            db.execute("UPDATE inbox SET state = 'opened', title = ?, doc_number = ?, out_dir = ?, answered_at = ? "
                       "WHERE package_id = ?", (title, doc_number, out_dir, now().isoformat(), package_id))

    def mark_rejected(self, package_id: str, reason: str) -> None:
        with self._write() as db:
            db.execute("UPDATE inbox SET state = 'rejected', rejected_reason = ?, answered_at = ? "
                       "WHERE package_id = ?", (reason, now().isoformat(), package_id))

    def waiting_count(self) -> int:
        with self._read() as db:
            return int(db.execute("SELECT count(*) FROM inbox WHERE state = 'waiting'").fetchone()[0])
