"""Bringing the directory in line with a verified directory bundle (``Directory.apply_bundle``).

What the bureau's word does to the directory, in one transaction:

- Units and keys.  Each certificate's key is added as its own generation with *its own*
  certificate's notBefore/notAfter (never the unit's widest dates), oldest first by
  (notBefore, serial), so the newest certificate's key ends up current.  A key the
  directory already holds without a certificate (from a card) and that the bundle
  certifies for the same unit and use gets the certificate and its dates.
- The bureau outranks cards.  Once a bundle certifies a unit, every key of that unit the
  directory holds *without* a certificate (a card's, or one added by hand) and that the
  bundle does not certify is revoked for everything it ever signed (from 1970-01-01, as
  keyCompromise): it may be a forger's card imported under the unit's name, and a forger
  backdates.  The leaders such a card named go the same way.  ``BundleApplied.untrusted``
  lists them, so the command can show their fingerprints.
- Revocations (the bundle's CRL).  The key-compromise rule: affiliationChanged,
  superseded, cessationOfOperation and privilegeWithdrawn count from their date
  (``x509.TIME_BOUNDED_REASONS``); every other reason counts from the certificate's
  notBefore, since a thief can backdate a package.  CRL serials are matched against every
  certificate the directory has seen in a bundle (kept in the ``certificate_serials``
  table), because bundles carry only current certificates.
- Conflicts never block revocations: a unit whose key is already registered to another
  unit (a card claimed it) or for the other use is skipped and reported in ``conflicts``,
  and the revocations are applied all the same.

A revocation is never undone or moved later (``Directory.revoke``), so applying an older
bundle again changes nothing; refusing older bundles (rollback) is ``verify_bundle``'s job.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol, Sequence

from shangmi.errors import DuplicateEntry

from .base import Role
from .names import from_text, normalize_name, now, to_text

if TYPE_CHECKING:
    from .bundle import Unit as BundleUnit
    from .directory import Directory
    from .x509 import Certificate, RevokedEntry

#: "Everything the key ever signed": the revocation time of untrusted card keys.
FROM_THE_START = datetime(1970, 1, 1, tzinfo=timezone.utc)
NOT_CERTIFIED = "not certified by the bureau, which certifies this unit with other keys"

_SCHEMA = """CREATE TABLE IF NOT EXISTS certificate_serials(
    serial TEXT PRIMARY KEY,
    key_id BLOB NOT NULL CHECK (length(key_id) = 16),
    not_before TEXT NOT NULL)"""


class BundleContent(Protocol):
    """What ``Directory.apply_bundle`` reads: a ``bundle.VerifiedDirectory``, or any verified
    set of units and CRL entries of the pinned authority (``office.ca_import`` makes one
    from a CA's PEM certificates)."""

    @property
    def units(self) -> Sequence["BundleUnit"]: ...

    @property
    def revocations(self) -> Sequence["RevokedEntry"]: ...


@dataclass(frozen=True)
class UntrustedKey:
    """A key of a unit the bundle certifies that was not certified, now revoked."""

    unit: str
    role: Role
    key_id: bytes
    fingerprint: bytes
    source: str


@dataclass(frozen=True)
class BundleApplied:
    """What ``Directory.apply_bundle`` changed."""

    #: units new to the directory
    units: int = 0
    #: new key generations of units the directory knew before
    keys: int = 0
    #: keys from cards the bundle certified (they keep their place and get the certificate)
    certified: int = 0
    #: keys revoked by the bundle's CRL
    revoked: int = 0
    #: uncertified keys of certified units, no longer trusted (see the module docstring)
    untrusted: tuple[UntrustedKey, ...] = ()
    #: leaders named by such keys' cards, no longer trusted
    untrusted_leaders: tuple[str, ...] = ()
    #: "unit: why" for each unit skipped because a key is registered elsewhere
    conflicts: tuple[str, ...] = ()


def revocation_time(entry: "RevokedEntry", not_before: datetime) -> tuple[datetime, str]:
    """From when a CRL entry counts, and the reason to record (the key-compromise rule)."""
    from .x509 import TIME_BOUNDED_REASONS

    if entry.reason in TIME_BOUNDED_REASONS:
        return entry.date, entry.reason
    # counts for everything the key ever signed: from the certificate's start
    return not_before, f"{entry.reason}, announced {entry.date.date()}"


def generation_order(cert: "Certificate") -> tuple[datetime, int]:
    """Certificates of one unit and use, oldest first: by notBefore, then serial."""
    return cert.not_before, cert.serial


class _Counts:
    def __init__(self) -> None:
        self.units = self.keys = self.certified = self.revoked = 0
        self.untrusted: list[UntrustedKey] = []
        self.leaders: list[str] = []
        self.conflicts: list[str] = []


def apply(directory: "Directory", content: BundleContent) -> BundleApplied:
    """``Directory.apply_bundle``: see the module docstring."""
    counts = _Counts()
    with directory._write() as db:
        db.execute(_SCHEMA)
        for unit in content.units:
            for cert in (*unit.signing, *unit.encryption):
                db.execute("INSERT OR IGNORE INTO certificate_serials VALUES (?, ?, ?)",
                           (f"{cert.serial:x}", cert.public_key.key_id(), to_text(cert.not_before)))
        for unit in content.units:
            db.execute("SAVEPOINT bundle_unit")
            try:
                _apply_unit(directory, db, unit, counts)
            except DuplicateEntry as exc:
                db.execute("ROLLBACK TO bundle_unit")
                counts.conflicts.append(f"{unit.name}: {exc}")
            db.execute("RELEASE bundle_unit")
        held: dict[int, tuple[bytes, str]] | None = None
        for entry in content.revocations:
            found = db.execute("SELECT key_id, not_before FROM certificate_serials WHERE serial = ?",
                               (f"{entry.serial:x}",)).fetchone()
            if found is None:
                held = _directory_serials(db) if held is None else held
                found = held.get(entry.serial)
            if found is not None:   # else: a certificate this office never saw, nothing to revoke
                counts.revoked += _apply_revocation(db, entry, bytes(found[0]), from_text(found[1]))
    return BundleApplied(counts.units, counts.keys, counts.certified, counts.revoked,
                         tuple(counts.untrusted), tuple(counts.leaders), tuple(counts.conflicts))


def _apply_unit(directory: "Directory", db: sqlite3.Connection, unit: "BundleUnit", counts: _Counts) -> None:
    name = normalize_name(unit.name)
    row = db.execute("SELECT id FROM units WHERE name = ?", (name,)).fetchone()
    if row is None:
        unit_id = int(db.execute("INSERT INTO units(name, added_at, source) VALUES (?, ?, 'bundle')",
                                 (name, to_text(now()))).lastrowid or 0)
        counts.units += 1
        known = False
    else:
        unit_id, known = int(row[0]), True
    certified: set[bytes] = set()
    by_role: tuple[tuple[Role, Sequence["Certificate"]], ...] = (("sign", unit.signing), ("enc", unit.encryption))
    for role, certs in by_role:
        for cert in sorted(certs, key=generation_order):
            kid = cert.public_key.key_id()
            certified.add(kid)
            held = db.execute("SELECT unit_id, role, certificate FROM keys WHERE key_id = ?", (kid,)).fetchone()
            if held is not None and held[0] == unit_id:
                if held[1] != role:
                    raise DuplicateEntry("the bureau certifies the {role} key of {name} that this directory holds as"
                                         " its {held} key",
                                         role=str(role), name=str(name), held=str(held[1]))
                if held[2] is None:
                    db.execute("UPDATE keys SET certificate = ?, not_before = ?, not_after = ? "
                               "WHERE key_id = ? AND certificate IS NULL",
                               (cert.der, to_text(cert.not_before), to_text(cert.not_after), kid))
                    counts.certified += 1
                continue
            directory._insert_key(db, unit_id, name, role, cert.public_key, cert.der, cert.not_before, cert.not_after, "bundle")
            counts.keys += known
    _untrust_uncertified(db, unit_id, name, certified, counts)


def _untrust_uncertified(db: sqlite3.Connection, unit_id: int, name: str, certified: set[bytes],
                         counts: _Counts) -> None:
    """Revoke, from the start, the keys of a certified unit that the bureau did not certify."""
    from shangmi import sm2

    start = to_text(FROM_THE_START)
    signing_untrusted = False
    for kid, role, public, source, revoked in db.execute(
            "SELECT key_id, role, public_key, source, revoked_at FROM keys "
            "WHERE unit_id = ? AND certificate IS NULL", (unit_id,)).fetchall():
        kid = bytes(kid)
        if kid in certified:
            continue
        signing_untrusted |= role == "sign"
        if revoked is not None and from_text(revoked) <= FROM_THE_START:
            continue
        db.execute("UPDATE keys SET revoked_at = ?, revocation_reason = ? WHERE key_id = ?",
                   (start, NOT_CERTIFIED, kid))
        fingerprint = sm2.PublicKey.from_bytes(bytes(public)).fingerprint()
        counts.untrusted.append(UntrustedKey(name, role, kid, fingerprint, source))
    has_leaders = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'leaders'").fetchone()
    if not (signing_untrusted and has_leaders):
        return
    # a card's leaders are vouched for by the card's signing key alone
    for lkid, lname in db.execute("SELECT key_id, name FROM leaders WHERE unit_id = ? AND source = 'card' "
                                  "AND (revoked_at IS NULL OR revoked_at > ?)", (unit_id, start)).fetchall():
        db.execute("UPDATE leaders SET revoked_at = ?, revocation_reason = ? WHERE key_id = ?",
                   (start, "named by a card whose signing key the bureau does not certify", lkid))
        counts.leaders.append(f"{name}: {lname}")


def _apply_revocation(db: sqlite3.Connection, entry: "RevokedEntry", kid: bytes, not_before: datetime) -> int:
    """Revoke key ``kid`` (certified from ``not_before``) as ``entry`` says; 1 if that changed it."""
    at, reason = revocation_time(entry, not_before)
    row = db.execute("SELECT revoked_at FROM keys WHERE key_id = ?", (kid,)).fetchone()
    if row is None or (row[0] is not None and from_text(row[0]) <= at):
        return 0
    db.execute("UPDATE keys SET revoked_at = ?, revocation_reason = ? WHERE key_id = ?",
               (to_text(at), str(reason)[:500], kid))
    return 1


def _directory_serials(db: sqlite3.Connection) -> dict[int, tuple[bytes, str]]:
    """Serial -> (key id, notBefore) of every certificate the directory holds (also those added
    before ``certificate_serials`` existed)."""
    from .x509 import Certificate

    out: dict[int, tuple[bytes, str]] = {}
    for kid, der in db.execute("SELECT key_id, certificate FROM keys WHERE certificate IS NOT NULL"):
        cert = Certificate.from_der(bytes(der))
        out.setdefault(cert.serial, (bytes(kid), to_text(cert.not_before)))
    return out
