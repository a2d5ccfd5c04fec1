"""The pinned authority root and the installed directory bundle's version (SMSEAL_HOME/trust/).

Installing a bundle: verify it completely first (no side effects), then
apply its units, keys and revocations to the directory, then record its
version — so a refused bundle leaves the installed directory unchanged and
an older bundle can never be installed after a newer one (no rollback).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shangmi import DuplicateEntry, KeyNotFound

from .errors import UsageError
from .fsutil import write_atomic
from .i18n import _

if TYPE_CHECKING:
    from smseal.keystore.x509 import Certificate

# Revocations for TIME_BOUNDED_REASONS count from their date; any other
# (keyCompromise, unspecified, ...) counts for everything the key ever signed,
# because a thief can backdate a package.  Same rule as RevokedEntry.applies_at.


class Trust:
    def __init__(self, home: Path) -> None:
        self.dir = Path(home) / "trust"
        self.root_path = self.dir / "root.pem"
        self.state_path = self.dir / "bundle.json"
        self.serials_path = self.dir / "serials.json"

    def pinned_root(self) -> "Certificate":
        """The pinned authority root; a ``UsageError`` if none is pinned yet."""
        from smseal.keystore.bundle import load_root

        if not self.root_path.exists():
            raise UsageError(_("No authority is pinned yet: run 'smseal directory trust root.pem' first."))
        return load_root(self.root_path.read_bytes())

    def pin(self, pem: bytes, *, replace: bool) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(self.root_path, pem, overwrite=replace, mode=0o600)

    def installed_version(self) -> int | None:
        if not self.state_path.exists():
            return None
        return int(json.loads(self.state_path.read_text(encoding="utf-8"))["version"])

    def known_serials(self) -> dict[int, tuple[bytes, datetime]]:
        """Every certificate serial seen in an installed bundle: serial -> (key id, notBefore).

        Bundles carry only current certificates, so a later CRL entry can be mapped
        to its key only if the certificate was seen before."""
        if not self.serials_path.exists():
            return {}
        raw = json.loads(self.serials_path.read_text(encoding="utf-8"))
        return {int(k, 16): (bytes.fromhex(v[0]), datetime.fromisoformat(v[1])) for k, v in raw.items()}

    def save_serials(self, serials: dict[int, tuple[bytes, datetime]]) -> None:
        doc = {f"{k:x}": [v[0].hex(), v[1].isoformat()] for k, v in sorted(serials.items())}
        write_atomic(self.serials_path, json.dumps(doc).encode(), overwrite=True, mode=0o600)

    def record(self, version: int, issued: datetime) -> None:
        write_atomic(self.state_path, json.dumps({"version": version, "issued": issued.isoformat()}).encode(),
                     overwrite=True, mode=0o600)


def revocation_time(entry: Any, not_before: datetime) -> tuple[datetime, str]:
    """From when a CRL entry counts, and the reason to record (see the note above)."""
    from smseal.keystore.x509 import TIME_BOUNDED_REASONS

    if entry.reason in TIME_BOUNDED_REASONS:
        return entry.date, entry.reason
    # counts for everything the key ever signed: from the certificate's start
    return not_before, f"{entry.reason}, announced {entry.date.date()}"


def apply_bundle(directory: Any, verified: Any, serial_to_key: dict[int, tuple[bytes, datetime]] | None = None) -> dict[str, Any]:
    """Bring the directory in line with a verified bundle.

    Revocations are always applied, even when a unit cannot be added (e.g. a
    card imported earlier claims one of its keys): such conflicts are
    reported, never allowed to block a revocation.  Returns what changed.
    """
    from smseal.keystore.x509 import Certificate

    added_units = added_keys = revoked = 0
    conflicts: list[str] = []
    serial_to_key = dict(serial_to_key or {})  # updated copy; returned as "serials"
    for unit in verified.units:
        for certs in (unit.signing, unit.encryption):
            for cert in certs:
                serial_to_key[cert.serial] = (cert.public_key.key_id(), cert.not_before)
    known = {u.name: u for u in directory.list()}
    for unit in verified.units:
        try:
            added_units, added_keys = _add_unit(directory, unit, known.get(unit.name), added_units, added_keys)
        except DuplicateEntry as exc:
            conflicts.append(f"{unit.name}: {exc}")
    # Certificates the directory already holds (from earlier bundles) name revoked serials too.
    for u in directory.list():
        for k in u.keys:
            if k.certificate:
                cert = Certificate.from_der(k.certificate)
                serial_to_key.setdefault(cert.serial, (k.key_id, cert.not_before))
    for entry in verified.revocations:
        found = serial_to_key.get(entry.serial)
        if found is None:
            continue  # a certificate this office never saw: nothing to revoke here
        kid, not_before = found
        at, reason = revocation_time(entry, not_before)
        try:
            dk = directory.find(kid)
        except KeyNotFound:
            continue
        if dk.revoked_at is not None and dk.revoked_at <= at:
            continue
        directory.revoke(kid, at, reason)
        revoked += 1
    return {"units": added_units, "keys": added_keys, "revoked": revoked, "conflicts": conflicts,
            "serials": serial_to_key}


def _add_unit(directory: Any, unit: Any, existing: Any, added_units: int, added_keys: int) -> tuple[int, int]:
    if existing is None:
        directory.add_unit(unit.name, unit.signing[-1].public_key, unit.encryption[-1].public_key,
                           certificate=unit.signing[-1].der, enc_certificate=unit.encryption[-1].der,
                           not_before=unit.not_before, not_after=unit.not_after, source="bundle")
        existing_ids = {unit.signing[-1].public_key.key_id(), unit.encryption[-1].public_key.key_id()}
        added_units += 1
    else:
        existing_ids = {k.key_id for k in existing.keys}
    # oldest first, so generations follow issue order and the newest ends up current
    for role, certs in (("sign", unit.signing), ("enc", unit.encryption)):
        for cert in sorted(certs, key=lambda c: c.not_before):
            if cert.public_key.key_id() in existing_ids:
                continue
            directory.add_key(unit.name, role, cert.public_key, certificate=cert.der,
                              not_before=cert.not_before, not_after=cert.not_after, source="bundle")
            existing_ids.add(cert.public_key.key_id())
            added_keys += 1
    return added_units, added_keys
