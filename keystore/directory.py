"""The directory of other units: who they are, their public keys, which are trusted when.

Stored in SQLite (``SMSEAL_HOME/directory.sqlite``) in WAL mode with a busy
timeout; every change is one ``BEGIN IMMEDIATE`` transaction, so two
processes can write at once without losing or half-writing anything.
Nothing is ever overwritten or deleted: a duplicate unit name raises
``DuplicateEntry``, a different key under an existing 16-byte key id raises
``KeyIdCollision``, a revocation can be added but never moved later or undone.

A unit has generations of signing keys and of encryption keys (rotation adds
one).  ``check_sender`` accepts any generation of a signing key that was not
revoked at or before ``sealed_at`` and is inside its validity period, so old
packages still verify; ``encryption_key`` hands out only the newest
encryption key and refuses revoked or expired units.

X.509: certificates are stored as DER beside the key they certify, with the
validity the caller read from them.  Parsing and chain verification belong to
``keystore.x509``; it calls ``add_unit`` / ``add_key`` with the key and dates
it extracted and ``certificate=der``.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shangmi import sm2
from shangmi.errors import (DuplicateEntry, ExpiredCertificate, InvalidArgument, KeyNotFound, KeystoreError,
                            RevokedKey, UnknownUnit, UntrustedSender, WrongArgumentType)

from .base import ROLES, Role
from .cards import parse_card
from .errors import KeyIdCollision
from .names import from_text, normalize_name, now, to_text, utc
from .paths import ensure_private_dir, private_file, smseal_home
from .skeleton import refuse_confusable
from .suggest import closest

if TYPE_CHECKING:
    from .bundle_apply import BundleApplied, BundleContent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    added_at TEXT NOT NULL,
    source TEXT NOT NULL,
    revoked_at TEXT,
    revocation_reason TEXT);
CREATE TABLE IF NOT EXISTS keys(
    key_id BLOB PRIMARY KEY CHECK (length(key_id) = 16),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    role TEXT NOT NULL CHECK (role IN ('sign', 'enc')),
    generation INTEGER NOT NULL,
    public_key BLOB NOT NULL,
    certificate BLOB,
    not_before TEXT,
    not_after TEXT,
    added_at TEXT NOT NULL,
    source TEXT NOT NULL,
    revoked_at TEXT,
    revocation_reason TEXT,
    UNIQUE (unit_id, role, generation));
"""
SCHEMA_VERSION = "1"
_KEY_COLS = ("key_id, role, generation, public_key, certificate, not_before, not_after, added_at, "
             "source, revoked_at, revocation_reason")


def _age(k: "DirectoryKey") -> tuple[bool, datetime, int, int]:
    if k.certificate is None or k.not_before is None:
        return False, k.added_at, 0, k.generation
    return True, k.not_before, _serial(k.certificate), k.generation


@functools.lru_cache(maxsize=4096)
def _serial(der: bytes) -> int:
    """The serial of a stored certificate (0 for bytes that do not parse: ``add_unit`` stores
    what its caller gives, and ordering must not fail on it)."""
    from shangmi.errors import SmsealError

    from .x509 import Certificate

    try:
        return Certificate.from_der(der).serial
    except SmsealError:
        return 0


def _clock_skew() -> timedelta:
    from .x509 import CLOCK_SKEW  # imported late: x509 is not needed for card-only use
    return CLOCK_SKEW


def _opt(text: str | None) -> datetime | None:
    return None if text is None else from_text(text)


@dataclass(frozen=True)
class DirectoryKey:
    unit: str
    key_id: bytes
    role: Role
    generation: int
    public_key: sm2.PublicKey
    certificate: bytes | None
    not_before: datetime | None
    not_after: datetime | None
    added_at: datetime
    source: str
    revoked_at: datetime | None
    revocation_reason: str | None


@dataclass(frozen=True)
class Unit:
    name: str
    added_at: datetime
    source: str
    revoked_at: datetime | None
    revocation_reason: str | None
    keys: tuple[DirectoryKey, ...]

    def of_role(self, role: Role) -> list[DirectoryKey]:
        """This unit's keys of ``role``, oldest first, the current one last.

        Certified keys are ordered by their certificate's notBefore, then serial (a later
        bundle may bring a certificate older than one already held); keys without a
        certificate (cards) come before certified ones and follow their generation."""
        return sorted((k for k in self.keys if k.role == role), key=_age)


class Directory:
    """The directory of units; also the envelope's trust store (``check_sender``).

    Threads and processes: one ``Directory`` may be shared by the threads of a service (a
    thread pool, FastAPI handlers): each thread gets its own SQLite connection, made on its
    first use (about 0.1 ms), so reads run side by side and every change stays one
    transaction.  After ``os.fork`` the child makes its own connections too, and a
    ``Directory`` pickles as its path, so it can be handed to a process pool; each process
    then opens the same file (SQLite's WAL locking keeps writers apart).  ``close()`` closes
    the connections of every thread.  Costs: ``check_sender`` is two indexed lookups (tens of
    microseconds); ``list()`` reads the whole directory.
    """

    def __init__(self, home: str | Path | None = None, *, path: str | Path | None = None,
                 timeout: float = 30.0) -> None:
        self._home: Path | None = None
        if path is None:
            self._home = ensure_private_dir(smseal_home(home))
            path = self._home / "directory.sqlite"
        self.path = Path(path)
        self._timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()           # guards _conns (the list, not the connections)
        self._conns: list[tuple[int, sqlite3.Connection]] = []
        self._closed = False
        private_file(self.path)       # 0600 even when SMSEAL_HOME existed before (docs/KEYS.md)
        self._db.execute("PRAGMA journal_mode = WAL")
        with self._write():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        (version,) = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if version != SCHEMA_VERSION:
            raise DuplicateEntry("directory schema {version} is newer than this smseal understands",
                                 version=str(version))
        private_file(self.path)       # and the -wal/-shm files WAL mode just made

    @property
    def _db(self) -> sqlite3.Connection:
        """This thread's connection (made on first use; a forked child makes its own)."""
        if self._closed:
            raise KeystoreError("the directory is closed")
        pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == pid:
            return conn
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None,
                               check_same_thread=False)   # only close() touches it from elsewhere
        conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        self._local.conn, self._local.pid = conn, pid
        with self._lock:
            self._conns.append((pid, conn))
        return conn

    def close(self) -> None:
        """Close the connections every thread made; the directory cannot be used afterwards."""
        with self._lock:
            self._closed = True
            conns, self._conns = self._conns, []
        for pid, conn in conns:
            if pid == os.getpid():          # a connection inherited over fork belongs to the parent
                conn.close()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the path: the other process opens its own connections to the same file."""
        return (_reopen, (None if self._home is None else str(self._home), str(self.path), self._timeout))

    def __enter__(self) -> "Directory":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Directory {self.path}>"


    # -- transactions --------------------------------------------------------------------
    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                     tb: object) -> None:
            self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")

    def _write(self) -> "Directory._Tx":
        return Directory._Tx(self._db)

    # -- adding ----------------------------------------------------------------------------
    def add_unit(self, name: str, sign_key: sm2.PublicKey, enc_key: sm2.PublicKey, *,
                 certificate: bytes | None = None, enc_certificate: bytes | None = None,
                 not_before: datetime | None = None, not_after: datetime | None = None,
                 source: str = "manual") -> Unit:
        """Register a new unit with its first signing and encryption key.

        A name that only *looks* like a known unit's (the same UTS #39 skeleton, e.g. Cyrillic
        ``а`` for Latin ``a``, katakana ``エ`` for ``工``) is refused (``PolicyError``, code
        ``confusable-unit-name``): such a unit could pose as the other.  There is no override;
        units named by the bureau's bundles are the bureau's word and are not checked here
        (``Authority.issue`` checks them).

        ``certificate`` / ``enc_certificate``: DER of the X.509 certificates of the
        two keys, stored as given; ``not_before``/``not_after`` their validity."""
        name = normalize_name(name)
        with self._write() as db:
            self._add_unit(db, name, sign_key, enc_key, certificate=certificate, enc_certificate=enc_certificate,
                           not_before=not_before, not_after=not_after, source=source)
        return self.get(name)

    def _add_unit(self, db: sqlite3.Connection, name: str, sign_key: sm2.PublicKey, enc_key: sm2.PublicKey, *,
                  certificate: bytes | None = None, enc_certificate: bytes | None = None,
                  not_before: datetime | None = None, not_after: datetime | None = None,
                  source: str = "manual") -> int:
        """``add_unit`` inside the caller's write transaction ``db``; returns the unit's row id."""
        name = normalize_name(name)
        if sign_key == enc_key:
            raise DuplicateEntry("the signing and the encryption key must be different keys")
        if db.execute("SELECT 1 FROM units WHERE name = ?", (name,)).fetchone():
            raise DuplicateEntry("a unit named {name} is already in the directory", name=str(name))
        refuse_confusable(name, [r[0] for r in db.execute("SELECT name FROM units")])
        unit_id: int = db.execute("INSERT INTO units(name, added_at, source) VALUES (?, ?, ?)",
                                  (name, to_text(now()), source)).lastrowid  # type: ignore[assignment]
        self._insert_key(db, unit_id, name, "sign", sign_key, certificate, not_before, not_after, source)
        self._insert_key(db, unit_id, name, "enc", enc_key, enc_certificate, not_before, not_after, source)
        return unit_id

    def add_key(self, name: str, role: Role, key: sm2.PublicKey, *, certificate: bytes | None = None,
                not_before: datetime | None = None, not_after: datetime | None = None,
                source: str = "manual") -> DirectoryKey:
        """Add a new generation of a unit's ``role`` key (rotation); older ones stay."""
        name = normalize_name(name)
        if role not in ROLES:
            raise InvalidArgument("role is 'sign' or 'enc'", code="bad-role")
        with self._write() as db:
            row = db.execute("SELECT id FROM units WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise self._unknown_unit(name, db)
            self._insert_key(db, row[0], name, role, key, certificate, not_before, not_after, source)
        return self.find(key.key_id())

    def apply_bundle(self, bundle: "BundleContent") -> "BundleApplied":
        """Bring the directory in line with a verified directory bundle, in one transaction.

        ``bundle`` comes from ``smseal.keystore.bundle.verify_bundle`` (signature, chain,
        rollback and validity already checked: nothing unverified may be passed here).
        Adds its units and keys (each key with its own certificate's dates, generations by
        notBefore then serial), revokes for everything they ever signed the keys of a unit
        it certifies that it does not certify (a card imported under that name), and
        applies its CRL with the key-compromise rule (docs/KEYS.md).  Units whose keys
        another unit already holds are skipped and reported, never blocking a revocation.
        Returns what changed (``bundle_apply.BundleApplied``); see ``keystore.bundle_apply``.
        """
        from .bundle_apply import apply

        return apply(self, bundle)

    def import_card(self, data: bytes, *, source: str = "card") -> Unit:
        """Verify a unit card (``keystore.cards``) and add its unit."""
        card = parse_card(data)
        return self.add_unit(card.unit, card.signing_key, card.encryption_key, source=source)

    def _insert_key(self, db: sqlite3.Connection, unit_id: int, name: str, role: Role, key: sm2.PublicKey,
                    certificate: bytes | None, not_before: datetime | None, not_after: datetime | None,
                    source: str) -> None:
        if not isinstance(key, sm2.PublicKey):
            raise WrongArgumentType("an sm2.PublicKey is needed", code="not-a-public-key")
        if not_before is not None and not_after is not None and utc(not_after) < utc(not_before):
            raise InvalidArgument("not_after is before not_before", code="bad-validity")
        kid = key.key_id()
        row = db.execute("SELECT public_key, units.name FROM keys JOIN units ON units.id = keys.unit_id "
                         "WHERE key_id = ?", (kid,)).fetchone()
        if row is not None:
            if bytes(row[0]) != key.to_bytes():
                raise KeyIdCollision("key id {kid} already names a different key (of {unit}); refusing a crafted "
                                     "collision",
                                     kid=kid.hex(), unit=str(row[1]))
            raise DuplicateEntry("this key is already registered (to {unit})", unit=str(row[1]))
        (gen,) = db.execute("SELECT coalesce(max(generation), 0) + 1 FROM keys WHERE unit_id = ? AND role = ?",
                            (unit_id, role)).fetchone()
        db.execute(f"INSERT INTO keys({_KEY_COLS}, unit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)",
                   (kid, role, gen, key.to_bytes(), certificate,
                    None if not_before is None else to_text(not_before),
                    None if not_after is None else to_text(not_after),
                    to_text(now()), source, unit_id))

    # -- revocation ------------------------------------------------------------------------
    def revoke(self, key_id_or_name: bytes | str, at: datetime, reason: str) -> None:
        """Revoke one key (by 16-byte key id) or a whole unit (by name) from ``at`` on.

        A revocation is never undone and never moved later: revoking again keeps the
        earlier time (so replaying an old directory update cannot roll it back)."""
        when = to_text(at)
        reason = str(reason)[:500]
        with self._write() as db:
            value: bytes | str
            if isinstance(key_id_or_name, (bytes, bytearray)):
                table, col, value = "keys", "key_id", bytes(key_id_or_name)
            else:
                table, col, value = "units", "name", normalize_name(key_id_or_name)
            row = db.execute(f"SELECT revoked_at FROM {table} WHERE {col} = ?", (value,)).fetchone()
            if row is None:
                if table == "keys":
                    raise KeyNotFound("nothing to revoke: no key {key_id}", key_id=repr(value))
                raise KeyNotFound("nothing to revoke: no unit {unit}", unit=repr(value))
            if row[0] is None or from_text(row[0]) > from_text(when):
                db.execute(f"UPDATE {table} SET revoked_at = ?, revocation_reason = ? WHERE {col} = ?",
                           (when, reason, value))

    # -- lookup ------------------------------------------------------------------------------
    def _key_row(self, unit: str, r: tuple[Any, ...]) -> DirectoryKey:
        return DirectoryKey(unit=unit, key_id=bytes(r[0]), role=r[1], generation=r[2],
                            public_key=sm2.PublicKey.from_bytes(bytes(r[3])),
                            certificate=None if r[4] is None else bytes(r[4]),
                            not_before=_opt(r[5]), not_after=_opt(r[6]), added_at=from_text(r[7]),
                            source=r[8], revoked_at=_opt(r[9]), revocation_reason=r[10])

    def _unit(self, row: tuple[Any, ...]) -> Unit:
        unit_id, name, added, source, revoked, reason = row
        keys = tuple(self._key_row(name, r) for r in self._db.execute(
            f"SELECT {_KEY_COLS} FROM keys WHERE unit_id = ? ORDER BY role, generation", (unit_id,)))
        return Unit(name, from_text(added), source, _opt(revoked), reason, keys)

    def get(self, name: str) -> Unit:
        """The unit named ``name`` with all its keys (``UnknownUnit`` if there is none)."""
        name = normalize_name(name)
        row = self._db.execute("SELECT id, name, added_at, source, revoked_at, revocation_reason FROM units "
                               "WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise self._unknown_unit(name, self._db)
        return self._unit(row)

    @staticmethod
    def _unknown_unit(name: str, db: sqlite3.Connection) -> UnknownUnit:
        """The error for a unit name that is not here, naming the nearest ones (did you mean…)."""
        names = [r[0] for r in db.execute("SELECT name FROM units")]
        near = closest(name, names)
        return UnknownUnit("no unit named {unit} in the directory", unit=name, suggestions="、".join(near))

    def list(self) -> list[Unit]:
        """Every unit with its keys, by name (reads the whole directory)."""
        rows = self._db.execute("SELECT id, name, added_at, source, revoked_at, revocation_reason "
                                "FROM units ORDER BY name").fetchall()
        return [self._unit(r) for r in rows]

    def find(self, key_id: bytes) -> DirectoryKey:
        """The key with this 16-byte key id (``PublicKey.key_id()``)."""
        row = self._db.execute(f"SELECT units.name, {', '.join('keys.' + c.strip() for c in _KEY_COLS.split(','))} "
                               "FROM keys JOIN units ON units.id = keys.unit_id WHERE key_id = ?",
                               (bytes(key_id),)).fetchone()
        if row is None:
            raise KeyNotFound("no key with id {key_id} in the directory", key_id=bytes(key_id).hex())
        return self._key_row(row[0], row[1:])

    # -- policy ------------------------------------------------------------------------------
    def check_sender(self, key: sm2.PublicKey, sealed_at: datetime) -> str:
        """Return the sender unit's name when ``key`` is a trusted signing key at ``sealed_at``;
        raise ``UntrustedSender`` / ``RevokedKey`` (revoked at or before ``sealed_at``) /
        ``ExpiredCertificate`` otherwise."""
        at = utc(sealed_at)
        try:
            k = self.find(key.key_id())
        except KeyNotFound:
            own = self._own_signer(key)
            if own is not None:
                return own
            raise UntrustedSender("the sender's signing key is not in the directory",
                                  key_id=key.key_id().hex()) from None
        if k.public_key != key:
            raise UntrustedSender("the sender's key only shares a key id with a directory key",
                                  key_id=key.key_id().hex())
        if k.role != "sign":
            raise UntrustedSender("this key of {unit} is an encryption key, not a signing key",
                                  key_id=key.key_id().hex(), unit=k.unit)
        unit = self.get(k.unit)
        self._check_valid(unit, k, at)
        return unit.name

    def _own_signer(self, key: sm2.PublicKey) -> str | None:
        """The name of this home's own identity whose signing key (any generation) is ``key``.

        A unit trusts its own keys for its own copies (``verify_package`` of what it sent)
        without listing itself in its directory.  Only for a ``Directory`` opened from a home;
        an own key that *is* in the directory (e.g. from a bundle) follows the directory's
        rules instead, revocations included."""
        if self._home is None:
            return None
        from .identities import Keystore      # lazily: the keystore loads the PKCS#11 layer

        for ident in Keystore(self._home).list():
            if any(k.public_key == key for k in ident.of_role("sign")):
                return ident.name
        return None

    def current_key(self, name: str, role: Role, at: datetime | None = None) -> DirectoryKey:
        """The newest ``role`` key of ``name`` (the last in ``Unit.of_role`` order), refused when
        revoked or expired at ``at`` (now): no silent fallback to an older generation."""
        unit = self.get(name)
        keys = unit.of_role(role)
        if not keys:
            raise KeyNotFound("unit {name} has no {role} key", name=str(unit.name), role=str(role))
        self._check_valid(unit, keys[-1], utc(at) if at is not None else now())
        return keys[-1]

    def encryption_key(self, name: str, at: datetime | None = None) -> sm2.PublicKey:
        """The key to seal new packages to ``name`` (its newest encryption key)."""
        return self.current_key(name, "enc", at).public_key

    @staticmethod
    def _check_valid(unit: Unit, k: DirectoryKey, at: datetime) -> None:
        # unit= and reason= let the command line name both in a translated sentence.
        if unit.revoked_at is not None and unit.revoked_at <= at:
            reason = f"{to_text(unit.revoked_at)}: {unit.revocation_reason}"
            raise RevokedKey("unit {unit} was revoked on {reason}", unit=unit.name, reason=reason)
        if k.revoked_at is not None and k.revoked_at <= at:
            reason = f"{to_text(k.revoked_at)}: {k.revocation_reason}"
            if k.role == "sign":
                raise RevokedKey("this signing key of {unit} was revoked on {reason}", unit=unit.name, reason=reason)
            raise RevokedKey("this encryption key of {unit} was revoked on {reason}", unit=unit.name, reason=reason)
        # the same small allowance for clock drift as certificates get (x509.CLOCK_SKEW)
        if k.not_before is not None and at < k.not_before - _clock_skew():
            raise ExpiredCertificate("the key of {unit} is not valid before {time}", unit=unit.name,
                                     time=to_text(k.not_before), reason=f"not valid before {to_text(k.not_before)}")
        if k.not_after is not None and at > k.not_after:
            raise ExpiredCertificate("the key of {unit} expired on {time}", unit=unit.name,
                                     time=to_text(k.not_after), reason=f"expired on {to_text(k.not_after)}")


def _reopen(home: str | None, path: str, timeout: float) -> Directory:
    d = Directory(path=path, timeout=timeout)
    d._home = None if home is None else Path(home)
    return d
