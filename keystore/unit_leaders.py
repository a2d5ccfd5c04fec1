"""Other units' leaders (签发人) in the directory, and updates from newer cards.

Tables beside the directory's own (same SQLite file, same transactions)::

    leaders(key_id, unit_id, name, public_key, certificate, added_at, source, revoked_at, reason)
    cards(unit_id, issued)           -- the newest card of the unit applied so far

A leader key is trusted for a unit when the unit's card (signed by the
unit's signing key) or a bureau certificate (role 签发人) names it, and it
was not revoked at the time asked about.  A newer card of a known unit,
signed by that unit's current signing key, updates the unit: leaders it no
longer names are revoked from the new card's issue time, new ones are
added, and a new encryption key becomes the unit's next generation.
``card_changes`` says what would change before ``apply_card`` does it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shangmi import sm2
from shangmi.errors import DuplicateEntry, KeyNotFound, PolicyError, RevokedKey, RollbackRefused, UntrustedSender

from .bundle_apply import CARD_NOT_CERTIFIED
from .cards import CardLeader, UnitCard, parse_card
from .directory import Directory, Unit
from .names import from_text, normalize_name, now, to_text, utc

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leaders(
    key_id BLOB PRIMARY KEY CHECK (length(key_id) = 16),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    name TEXT NOT NULL,
    public_key BLOB NOT NULL,
    certificate BLOB,
    added_at TEXT NOT NULL,
    source TEXT NOT NULL,
    revoked_at TEXT,
    revocation_reason TEXT);
CREATE TABLE IF NOT EXISTS cards(unit_id INTEGER PRIMARY KEY REFERENCES units(id), issued TEXT NOT NULL);
"""
_OFF_CARD = "no longer on the unit's card"
#: revocations about a card's claim on a leader key, not about the key itself
_CLAIM_REASONS = (_OFF_CARD, CARD_NOT_CERTIFIED)
_COLS = "key_id, name, public_key, certificate, added_at, source, revoked_at, revocation_reason"


@dataclass(frozen=True)
class DirectoryLeader:
    """A leader of another unit, as the directory records it."""

    unit: str
    name: str
    public_key: sm2.PublicKey
    certificate: bytes | None
    added_at: datetime
    source: str
    revoked_at: datetime | None
    revocation_reason: str | None

    @property
    def key_id(self) -> bytes:
        return self.public_key.key_id()


@dataclass(frozen=True)
class CardChanges:
    """What importing a card changes: a new unit, or an update of a known one."""

    unit: str
    new_unit: bool
    new_encryption_key: sm2.PublicKey | None = None
    leaders_added: tuple[CardLeader, ...] = ()
    leaders_removed: tuple[str, ...] = ()
    issued: datetime | None = None
    unchanged: bool = field(default=False)


def _ensure(d: Directory) -> sqlite3.Connection:
    db = d._db
    if not getattr(d, "_leaders_schema", False):
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        d._leaders_schema = True        # type: ignore[attr-defined]
    return db


def _unit_id(db: sqlite3.Connection, name: str) -> int:
    row = db.execute("SELECT id FROM units WHERE name = ?", (normalize_name(name),)).fetchone()
    if row is None:
        raise KeyNotFound("no unit named {name} in the directory", name=str(name))
    return int(row[0])


def _row(unit: str, r: tuple[Any, ...]) -> DirectoryLeader:
    return DirectoryLeader(unit, r[1], sm2.PublicKey.from_bytes(bytes(r[2])),
                           None if r[3] is None else bytes(r[3]), from_text(r[4]), r[5],
                           None if r[6] is None else from_text(r[6]), r[7])


def leaders_of(d: Directory, unit: str, *, include_revoked: bool = True) -> list[DirectoryLeader]:
    """The leaders the directory records for ``unit`` (by name)."""
    db = _ensure(d)
    name = normalize_name(unit)
    rows = db.execute(f"SELECT {_COLS} FROM leaders WHERE unit_id = ? ORDER BY name, added_at",
                      (_unit_id(db, name),)).fetchall()
    out = [_row(name, r) for r in rows]
    return [x for x in out if include_revoked or x.revoked_at is None]


def add_leader(d: Directory, unit: str, name: str, key: sm2.PublicKey, *, source: str = "manual",
               certificate: bytes | None = None) -> DirectoryLeader:
    """Record ``key`` as the signing key of leader ``name`` of ``unit``."""
    db = _ensure(d)
    with d._write():
        _insert(db, _unit_id(db, unit), name, key, source, certificate)
    return next(x for x in leaders_of(d, unit) if x.public_key == key)


def _insert(db: sqlite3.Connection, unit_id: int, name: str, key: sm2.PublicKey, source: str,
            certificate: bytes | None) -> None:
    kid = key.key_id()
    clash = db.execute("SELECT 1 FROM keys WHERE key_id = ?", (kid,)).fetchone()
    row = db.execute("SELECT unit_id, public_key, certificate FROM leaders WHERE key_id = ?", (kid,)).fetchone()
    if (certificate is not None and not clash and row is not None and row[0] != unit_id and row[2] is None
            and bytes(row[1]) == key.to_bytes()):
        _take_for_certified(db, kid, unit_id, name, source, certificate)
        return
    if clash or (row is not None and (row[0] != unit_id or bytes(row[1]) != key.to_bytes())):
        raise DuplicateEntry("this leader key is already registered to another unit or role")
    if row is None:
        db.execute(f"INSERT INTO leaders({_COLS}, unit_id) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?)",
                   (kid, normalize_name(name), key.to_bytes(), certificate, to_text(now()), source, unit_id))


def _take_for_certified(db: sqlite3.Connection, kid: bytes, unit_id: int, name: str, source: str,
                        certificate: bytes) -> None:
    """The bureau's 签发人 certificate outranks a card's claim: the leader key another unit's card
    (or a hand-added entry) holds without a certificate moves to the certified unit and person.
    A revocation of the key is kept (never undone); the claim's "no longer on the card" one is not
    about the key and goes."""
    db.execute("UPDATE leaders SET unit_id = ?, name = ?, certificate = ?, source = ?, added_at = ?, "
               "revoked_at = CASE WHEN revocation_reason IN (?, ?) THEN NULL ELSE revoked_at END, "
               "revocation_reason = CASE WHEN revocation_reason IN (?, ?) THEN NULL ELSE revocation_reason END "
               "WHERE key_id = ?", (unit_id, normalize_name(name), certificate, source, to_text(now()),
                                    *_CLAIM_REASONS, *_CLAIM_REASONS, kid))


def revoke_leader(d: Directory, key: sm2.PublicKey, at: datetime, reason: str) -> None:
    """Revoke a leader key from ``at`` on; an earlier revocation is never moved later."""
    db = _ensure(d)
    with d._write():
        _revoke(db, key.key_id(), at, reason)


def _revoke(db: sqlite3.Connection, kid: bytes, at: datetime, reason: str) -> None:
    row = db.execute("SELECT revoked_at FROM leaders WHERE key_id = ?", (kid,)).fetchone()
    if row is None:
        raise KeyNotFound("no such leader key")
    if row[0] is None or from_text(row[0]) > utc(at):
        db.execute("UPDATE leaders SET revoked_at = ?, revocation_reason = ? WHERE key_id = ?",
                   (to_text(at), str(reason)[:500], kid))


def check_leader(d: Directory, unit: str, key: sm2.PublicKey, at: datetime) -> DirectoryLeader:
    """The leader of ``unit`` whose signing key is ``key``, valid at ``at``.

    ``UntrustedSender`` when ``key`` is not a leader key of that unit (another
    unit's leader, or nobody's); ``RevokedKey`` when it was revoked at or before ``at``."""
    when = utc(at)
    for x in leaders_of(d, unit):
        if x.public_key == key:
            if x.certificate is not None:
                _check_leader_certificate(x, when)
            u = d.get(unit)
            if u.revoked_at is not None and u.revoked_at <= when:
                raise RevokedKey("unit {unit} was revoked", unit=u.name, reason=str(u.revocation_reason))
            if x.revoked_at is not None and x.revoked_at <= when:
                reason = f"{to_text(x.revoked_at)}: {x.revocation_reason}"
                raise RevokedKey("the key of leader {leader} of {unit} was revoked on {reason}", unit=u.name,
                                 reason=reason, leader=x.name)
            return x
    raise UntrustedSender("the approving key is not a leader key of {unit}", unit=str(normalize_name(unit)))


def _check_leader_certificate(x: DirectoryLeader, when: datetime) -> None:
    """A bureau-certified leader key counts only within its certificate's dates."""
    from .x509 import Certificate

    cert = Certificate.from_der(x.certificate or b"")
    if not cert.valid_at(when):
        raise RevokedKey("the leader certificate of {leader} of {unit} is not valid at that time", unit=x.unit,
                         reason='certificate not valid then', leader=x.name)


def add_certified_leader(d: Directory, cert: Any) -> DirectoryLeader:
    """Record a bureau-certified leader (``x509.Certificate`` whose ``usage`` is "leader"): the
    person (CN) as a leader of the unit (O), which must be in the directory.  The caller has
    verified the certificate's chain to the pinned authority (``office.ca_import``).

    Only a leader certificate is taken — a unit's signing or encryption certificate raises
    ``WrongKeyUsage`` — and the subject must carry the title 签发人."""
    from .errors import WrongKeyUsage
    from .x509 import LEADER_TITLE

    if cert.usage != "leader":
        raise WrongKeyUsage("the certificate of {unit} is not a leader's (签发人) certificate", unit=cert.unit_name,
                            reason='key usage')
    if cert.subject.get("title") != LEADER_TITLE or not cert.person:
        raise WrongKeyUsage("the leader certificate for {unit} does not name a person with the role {leader_title}",
                            leader_title=str(LEADER_TITLE), unit=cert.unit_name, reason='role')
    db = _ensure(d)
    with d._write():
        _insert(db, _unit_id(db, cert.unit_name), cert.person, cert.public_key, "bureau", cert.der)
        db.execute("UPDATE leaders SET certificate = ? WHERE key_id = ? AND certificate IS NULL",
                   (cert.der, cert.public_key.key_id()))
    return next(x for x in leaders_of(d, cert.unit_name) if x.public_key == cert.public_key)


def apply_leader_certificates(d: Directory, certs: Any, crl: Any = None) -> list[str]:
    """Record the bureau's leader certificates (already verified) whose unit is in the directory,
    and revoke every recorded leader certificate the verified ``crl`` (``x509.CRL``) lists for
    its issuer (a time-bounded reason from its date, any other from the certificate's start).
    Returns what was skipped, and why."""
    from .x509 import TIME_BOUNDED_REASONS

    from .x509 import Certificate

    skipped = []
    for cert in certs:
        try:
            add_certified_leader(d, cert)
        except (KeyNotFound, DuplicateEntry) as exc:
            skipped.append(f"{cert.person} ({cert.unit_name}): {exc}")
    by_serial = {e.serial: e for e in crl.revoked} if crl is not None else {}
    if by_serial:       # every leader the bureau certified, this bundle's or an earlier one's
        for (der,) in _ensure(d).execute("SELECT certificate FROM leaders WHERE certificate IS NOT NULL").fetchall():
            stored = Certificate.from_der(bytes(der))
            entry = by_serial.get(stored.serial)
            if entry is not None and stored.issuer == crl.issuer:
                at = entry.date if entry.reason in TIME_BOUNDED_REASONS else stored.not_before
                revoke_leader(d, stored.public_key, at, f"certificate revoked: {entry.reason}")
    return skipped


# -- cards ------------------------------------------------------------------------------------

def _last_issued(db: sqlite3.Connection, unit_id: int) -> datetime | None:
    row = db.execute("SELECT issued FROM cards WHERE unit_id = ?", (unit_id,)).fetchone()
    return None if row is None else from_text(row[0])


def card_changes(d: Directory, card: UnitCard | bytes) -> CardChanges:
    """What importing ``card`` would change (verifies it first if given as bytes).

    A known unit's card must be signed by that unit's current signing key
    (``DuplicateEntry`` otherwise: someone else claims the name) and be newer
    than the last card applied (``RollbackRefused`` otherwise)."""
    if not isinstance(card, UnitCard):
        card = parse_card(card)
    db = _ensure(d)
    try:
        unit = d.get(card.unit)
    except KeyNotFound:
        return CardChanges(card.unit, True, card.encryption_key, card.leaders, (), card.issued)
    return _changes_of_known(db, d, unit, card)


def _changes_of_known(db: sqlite3.Connection, d: Directory, unit: Unit, card: UnitCard) -> CardChanges:
    signing = unit.of_role("sign")
    if not signing or signing[-1].public_key != card.signing_key:
        raise DuplicateEntry("a unit named {name} is already in the directory with another signing key; a card can "
                             "update a unit only when signed by the unit's own signing key",
                             name=str(unit.name))
    last = _last_issued(db, _unit_id(db, unit.name))
    if last is not None and card.issued < last:
        raise RollbackRefused("this card of {name} ({issued}) is older than the one applied ({applied})",
                              name=str(unit.name), issued=str(to_text(card.issued)),
                              applied=str(to_text(last)))
    enc = unit.of_role("enc")
    new_enc = None if enc and enc[-1].public_key == card.encryption_key else card.encryption_key
    if new_enc is not None and any(k.certificate is not None for k in unit.keys):
        # the bureau's word outranks cards (keystore.bundle_apply): no uncertified key beside it
        raise PolicyError("the bureau certifies {unit}: its encryption key changes only through the "
                          "bureau's certificates, not through a card", unit=unit.name)
    known = {x.public_key: x for x in leaders_of(d, unit.name) if x.revoked_at is None}
    added = tuple(ld for ld in card.leaders if ld.key not in known)
    on_card = {ld.key for ld in card.leaders}
    removed = tuple(x.name for k, x in known.items() if k not in on_card and x.source == "card")
    unchanged = not (new_enc or added or removed)
    if unchanged and (last is None or card.issued == last):
        raise DuplicateEntry("a unit named {name} is already in the directory with this card", name=str(unit.name))
    return CardChanges(unit.name, False, new_enc, added, removed, card.issued, unchanged=unchanged)


def apply_card(d: Directory, data: bytes, *, source: str = "card") -> CardChanges:
    """Verify ``data`` and add its unit, or update the known unit it names (see module doc)."""
    card = parse_card(data)
    changes = card_changes(d, card)
    db = _ensure(d)
    with d._write():        # the unit and its leaders in one transaction: all or nothing
        if changes.new_unit:
            d._add_unit(db, card.unit, card.signing_key, card.encryption_key, source=source)
        unit_id = _unit_id(db, card.unit)
        if not changes.new_unit and changes.new_encryption_key is not None:
            d._insert_key(db, unit_id, card.unit, "enc", card.encryption_key, None, None, None, source)
        for ld in changes.leaders_added:
            _insert(db, unit_id, ld.name, ld.key, "card", None)
        for x in leaders_of(d, card.unit):
            if x.revoked_at is None and x.name in changes.leaders_removed and x.source == "card" \
                    and x.public_key not in {ld.key for ld in card.leaders}:
                # package times are whole seconds: revoke from the card's second, so a package
                # sealed in that second after the card counts as after the revocation (fail safe)
                _revoke(db, x.key_id, card.issued.replace(microsecond=0), _OFF_CARD)
        db.execute("INSERT OR REPLACE INTO cards(unit_id, issued) VALUES (?, ?)", (unit_id, to_text(card.issued)))
    return changes
