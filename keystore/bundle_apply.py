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
  lists them, so the command can show their fingerprints.  This runs for every unit the
  bundle names, also when the unit itself could not be applied (a conflict never keeps a
  card's keys trusted).
- A key the bundle certifies that the directory holds *without* a certificate under another
  unit, or for the other use (an old card claiming someone's public key as its encryption
  key, a key added by hand), is taken from that holder and recorded as the bureau says:
  the holder's claim is listed in ``untrusted`` (``certified_as`` names the new owner), and
  if the claim was the holder's signing key, the leaders its card named go too.  So a card
  can neither block a unit from the bundle nor survive it by claiming the unit's key.
- Revocations (the bundle's CRL).  The key-compromise rule: affiliationChanged,
  superseded, cessationOfOperation and privilegeWithdrawn count from their date
  (``x509.TIME_BOUNDED_REASONS``); every other reason counts from the certificate's
  notBefore, since a thief can backdate a package.  CRL entries are matched, by the CRL's
  issuer *and* serial (serials are unique only per issuer), against every certificate the
  directory has seen in a bundle (kept in the ``certificate_serials`` table), because
  bundles carry only current certificates.
- Conflicts never block revocations: a unit whose key is already *certified* to another
  unit or for the other use (two certificates disagree) is skipped and reported in
  ``conflicts``, and the untrusting above and the revocations are applied all the same.
  ``units`` counts a new unit only once it is really in.

A revocation is never undone or moved later (``Directory.revoke``), so applying an older
bundle again changes nothing; refusing older bundles (rollback) is ``verify_bundle``'s job.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol, Sequence

from shangmi.errors import DuplicateEntry, InvalidArgument

from .base import Role
from .errors import KeyIdCollision
from .names import from_text, normalize_name, now, to_text

if TYPE_CHECKING:
    from .bundle import Unit as BundleUnit
    from .directory import Directory
    from .asn1_types import Name
    from .x509 import Certificate, RevokedEntry

#: "Everything the key ever signed": the revocation time of untrusted card keys.
FROM_THE_START = datetime(1970, 1, 1, tzinfo=timezone.utc)
NOT_CERTIFIED = "not certified by the bureau, which certifies this unit with other keys"
CARD_NOT_CERTIFIED = "named by a card whose signing key the bureau does not certify"

#: Every certificate seen in a bundle, by its issuer's name (DER) and serial: serials are
#: only unique per issuer (sequential ``openssl ca`` serials of two sub-CAs collide).
_SCHEMA = """CREATE TABLE IF NOT EXISTS certificate_serials(
    issuer BLOB NOT NULL,
    serial TEXT NOT NULL,
    key_id BLOB NOT NULL CHECK (length(key_id) = 16),
    not_before TEXT NOT NULL,
    PRIMARY KEY (issuer, serial))"""


class BundleContent(Protocol):
    """What ``Directory.apply_bundle`` reads: a ``bundle.VerifiedDirectory``, or any verified
    set of units and CRL entries of the pinned authority (``office.ca_import`` makes one
    from a CA's PEM certificates)."""

    @property
    def units(self) -> Sequence["BundleUnit"]: ...

    @property
    def revocations(self) -> Sequence["RevokedEntry"]: ...

    @property
    def revocations_issuer(self) -> "Name | None":
        """The issuer of the CRL the revocations come from (None when there are none): a
        CRL entry names a serial *of that issuer*."""


@dataclass(frozen=True)
class UntrustedKey:
    """A key of a unit the bundle certifies that was not certified, now revoked."""

    unit: str
    role: Role
    key_id: bytes
    fingerprint: bytes
    source: str
    #: set when the bureau certifies this very key for another unit or use: the unit that
    #: now holds it (the claim, ``unit``'s ``role`` key, is what is no longer trusted)
    certified_as: str | None = None
    certified_role: Role | None = None


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

    def mark(self) -> tuple[int, int, int, int]:
        return self.keys, self.certified, len(self.untrusted), len(self.leaders)

    def back_to(self, mark: tuple[int, int, int, int]) -> None:
        self.keys, self.certified = mark[0], mark[1]
        del self.untrusted[mark[2]:], self.leaders[mark[3]:]


def apply(directory: "Directory", content: BundleContent) -> BundleApplied:
    """``Directory.apply_bundle``: see the module docstring."""
    counts = _Counts()
    issuer = content.revocations_issuer
    if content.revocations and issuer is None:
        raise InvalidArgument("revocations without their CRL's issuer cannot be matched", code="crl-issuer-missing")
    with directory._write() as db:
        _serials_table(db)
        for unit in content.units:
            for cert in (*unit.signing, *unit.encryption):
                db.execute("INSERT OR IGNORE INTO certificate_serials VALUES (?, ?, ?, ?)",
                           (cert.issuer.der, f"{cert.serial:x}", cert.public_key.key_id(), to_text(cert.not_before)))
        for unit in content.units:
            db.execute("SAVEPOINT bundle_unit")
            before = counts.mark()
            try:
                new = _apply_unit(directory, db, unit, counts)
            except DuplicateEntry as exc:
                db.execute("ROLLBACK TO bundle_unit")
                counts.back_to(before)   # what the rolled-back unit counted did not happen
                counts.conflicts.append(f"{unit.name}: {exc}")
                new = False
            db.execute("RELEASE bundle_unit")
            counts.units += new          # only once the unit is really in
            # outside the savepoint: a conflict never keeps a card's keys trusted
            _untrust_uncertified(db, normalize_name(unit.name),
                                 {c.public_key.key_id() for c in (*unit.signing, *unit.encryption)}, counts)
        held: dict[tuple[bytes, int], tuple[bytes, str]] | None = None
        for entry in content.revocations:
            assert issuer is not None
            found = db.execute("SELECT key_id, not_before FROM certificate_serials WHERE issuer = ? AND serial = ?",
                               (issuer.der, f"{entry.serial:x}")).fetchone()
            if found is None:
                held = _directory_serials(db) if held is None else held
                found = held.get((issuer.der, entry.serial))
            if found is not None:   # else: a certificate this office never saw, nothing to revoke
                counts.revoked += _apply_revocation(db, entry, bytes(found[0]), from_text(found[1]))
    return BundleApplied(counts.units, counts.keys, counts.certified, counts.revoked,
                         tuple(counts.untrusted), tuple(counts.leaders), tuple(counts.conflicts))


def _apply_unit(directory: "Directory", db: sqlite3.Connection, unit: "BundleUnit", counts: _Counts) -> bool:
    """Add ``unit``'s certified keys; True if the unit is new to the directory.  Raises
    ``DuplicateEntry`` when a key it certifies is already certified to another unit or use."""
    name = normalize_name(unit.name)
    row = db.execute("SELECT id FROM units WHERE name = ?", (name,)).fetchone()
    if row is None:
        unit_id = int(db.execute("INSERT INTO units(name, added_at, source) VALUES (?, ?, 'bundle')",
                                 (name, to_text(now()))).lastrowid or 0)
        known = False
    else:
        unit_id, known = int(row[0]), True
    by_role: tuple[tuple[Role, Sequence["Certificate"]], ...] = (("sign", unit.signing), ("enc", unit.encryption))
    for role, certs in by_role:
        for cert in sorted(certs, key=generation_order):
            kid = cert.public_key.key_id()
            held = db.execute("SELECT unit_id, role, certificate FROM keys WHERE key_id = ?", (kid,)).fetchone()
            if held is not None and held[0] == unit_id and held[1] == role:
                if held[2] is None:
                    db.execute("UPDATE keys SET certificate = ?, not_before = ?, not_after = ? "
                               "WHERE key_id = ? AND certificate IS NULL",
                               (cert.der, to_text(cert.not_before), to_text(cert.not_after), kid))
                    counts.certified += 1
                continue
            if held is not None and held[2] is not None:
                holder = _unit_name(db, int(held[0]))
                raise DuplicateEntry("the bureau certifies the {role} key of {name} that is already"
                                     " certified as the {held} key of {holder}",
                                     role=str(role), name=str(name), held=str(held[1]), holder=holder)
            if held is not None:    # held without a certificate: the bureau's word wins
                _displace(db, kid, unit_id, name, role, cert, counts)
            else:
                directory._insert_key(db, unit_id, name, role, cert.public_key, cert.der, cert.not_before,
                                      cert.not_after, "bundle")
            counts.keys += known
    return not known


def _unit_name(db: sqlite3.Connection, unit_id: int) -> str:
    return str(db.execute("SELECT name FROM units WHERE id = ?", (unit_id,)).fetchone()[0])


def _displace(db: sqlite3.Connection, kid: bytes, unit_id: int, owner: str, role: Role,
              cert: "Certificate", counts: _Counts) -> None:
    """Give key ``kid`` to ``owner`` as its ``role`` key, as the bureau's ``cert`` says, taking it
    from the uncertified holder (a card, a hand-added key) that claims it for another unit or use.

    The key id is the directory's primary key, so the claim cannot stay beside the certified
    key: the row moves to ``owner`` with the certificate and its dates, and the holder's claim
    is reported in ``untrusted`` (with ``certified_as``).  If it was the holder's signing key,
    the leaders its card named are no longer trusted either.  A revocation of the key itself
    (``Directory.revoke``) stays, never undone; an earlier "not certified" mark was about the
    claim, not the key, and goes."""
    from shangmi import sm2

    holder_id, holder_role, public, source, reason = db.execute(
        "SELECT unit_id, role, public_key, source, revocation_reason FROM keys WHERE key_id = ?",
        (kid,)).fetchone()
    if bytes(public) != cert.public_key.to_bytes():
        raise KeyIdCollision("key id {kid} already names a different key; refusing a crafted collision",
                             kid=kid.hex())
    holder = _unit_name(db, int(holder_id))
    counts.untrusted.append(UntrustedKey(holder, holder_role, kid, sm2.PublicKey.from_bytes(bytes(public)).fingerprint(),
                                         source, certified_as=owner, certified_role=role))
    (gen,) = db.execute("SELECT coalesce(max(generation), 0) + 1 FROM keys WHERE unit_id = ? AND role = ?",
                        (unit_id, role)).fetchone()
    db.execute("UPDATE keys SET unit_id = ?, role = ?, generation = ?, certificate = ?, not_before = ?, "
               "not_after = ?, source = 'bundle' WHERE key_id = ?",
               (unit_id, role, gen, cert.der, to_text(cert.not_before), to_text(cert.not_after), kid))
    if reason == NOT_CERTIFIED:
        db.execute("UPDATE keys SET revoked_at = NULL, revocation_reason = NULL WHERE key_id = ?", (kid,))
    if holder_role == "sign":
        _untrust_card_leaders(db, int(holder_id), holder, counts)


def _untrust_uncertified(db: sqlite3.Connection, name: str, certified: set[bytes], counts: _Counts) -> None:
    """Revoke, from the start, the keys of unit ``name`` (named by the bundle) that the bureau
    did not certify, and the leaders its card named if its signing key is among them."""
    from shangmi import sm2

    row = db.execute("SELECT id FROM units WHERE name = ?", (name,)).fetchone()
    if row is None:
        return
    unit_id = int(row[0])
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
    if signing_untrusted:
        _untrust_card_leaders(db, unit_id, name, counts)


def _untrust_card_leaders(db: sqlite3.Connection, unit_id: int, name: str, counts: _Counts) -> None:
    """A card's leaders are vouched for by the card's signing key alone: when that key is no
    longer trusted, neither are they."""
    start = to_text(FROM_THE_START)
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'leaders'").fetchone():
        return
    for lkid, lname in db.execute("SELECT key_id, name FROM leaders WHERE unit_id = ? AND source = 'card' "
                                  "AND (revoked_at IS NULL OR revoked_at > ?)", (unit_id, start)).fetchall():
        db.execute("UPDATE leaders SET revoked_at = ?, revocation_reason = ? WHERE key_id = ?",
                   (start, CARD_NOT_CERTIFIED, lkid))
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


def _directory_serials(db: sqlite3.Connection) -> dict[tuple[bytes, int], tuple[bytes, str]]:
    """(Issuer name DER, serial) -> (key id, notBefore) of every certificate the directory
    holds (also those added before ``certificate_serials`` existed)."""
    from .x509 import Certificate

    out: dict[tuple[bytes, int], tuple[bytes, str]] = {}
    for kid, der in db.execute("SELECT key_id, certificate FROM keys WHERE certificate IS NOT NULL"):
        cert = Certificate.from_der(bytes(der))
        out.setdefault((cert.issuer.der, cert.serial), (bytes(kid), to_text(cert.not_before)))
    return out


def _serials_table(db: sqlite3.Connection) -> None:
    """Create ``certificate_serials``, or migrate the first version (keyed by serial alone).

    An old row is kept when the directory still holds its key with the certificate of that
    serial, which names the issuer; a row whose key now has another certificate cannot be
    given an issuer and goes: a serial alone would match the wrong issuer's revocation, the
    very confusion the migration removes.  Every certificate the directory holds is then
    recorded by its issuer and serial (``_directory_serials``), also one whose serial the
    old table had given to another issuer's certificate."""
    columns = [r[1] for r in db.execute("PRAGMA table_info(certificate_serials)")]
    if not columns or "issuer" in columns:
        db.execute(_SCHEMA)
        return
    old = db.execute("SELECT serial, key_id, not_before FROM certificate_serials").fetchall()
    db.execute("DROP TABLE certificate_serials")
    db.execute(_SCHEMA)
    certified = _directory_serials(db)
    held = {(kid, serial): issuer for (issuer, serial), (kid, _nb) in certified.items()}
    for serial, kid, not_before in old:
        issuer_der = held.get((bytes(kid), int(serial, 16)))
        if issuer_der is not None:
            db.execute("INSERT OR IGNORE INTO certificate_serials VALUES (?, ?, ?, ?)",
                       (issuer_der, serial, bytes(kid), not_before))
    # and every certificate the directory holds, also those whose serial another issuer's took
    db.executemany("INSERT OR IGNORE INTO certificate_serials VALUES (?, ?, ?, ?)",
                   [(issuer_der, f"{serial:x}", kid, nb) for (issuer_der, serial), (kid, nb) in certified.items()])
