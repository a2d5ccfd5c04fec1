"""Certificates and CRLs from an existing CA (OpenSSL, GmSSL, a commercial CA) into the directory.

``directory update FILE`` takes either smseal's signed bundle or PEM text
with ``CERTIFICATE`` and ``X509 CRL`` blocks in any order (``cat`` of what
``openssl ca`` wrote).  ``directory crl import FILE`` takes CRLs alone.

Nothing from such a file is used before it verifies: every unit certificate
must chain to the pinned authority (``keystore.chain``), every CRL must be
signed by the pinned authority or by a CA certificate verified up to it
(``keystore.crl``).  CA certificates met on the way are remembered in
``trust/authorities.pem`` so that later CRLs of a sub-CA can be checked.
A PEM certificate file carries no version: it can add units, keys and
revocations but never remove any, so replaying an old one changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable

from shangmi import KeyNotFound

from smseal.keystore.bundle_apply import UntrustedKey, revocation_time

from .fsutil import write_atomic
from .trust import Trust

if TYPE_CHECKING:
    from smseal.keystore.crl import CrlStore, StoredCrl
    from smseal.keystore.x509 import Certificate

AUTHORITIES_FILE = "authorities.pem"


def _crl_store(trust: Trust) -> CrlStore:
    from smseal.keystore.crl import CrlStore

    return CrlStore(trust.dir / "crls")


def _stored_authorities(trust: Trust) -> list[Any]:
    """The pinned authority and every CA certificate remembered, revoked ones included."""
    from smseal.keystore import chain

    anchor = trust.pinned_root()
    out = [anchor]
    path = trust.dir / AUTHORITIES_FILE
    if path.exists():
        for cert in chain.read_certificates(path.read_bytes()):
            if cert not in out:
                out.append(cert)
    return out


def _path_of(cert: Certificate, authorities: list[Any]) -> tuple[Any, ...] | None:
    """``cert`` and its issuers up to the pinned ``authorities[0]``, or None (no such chain)."""
    from shangmi import SmsealError

    from smseal.keystore import chain

    if chain.same_authority(cert, authorities[0]):
        return (cert,)                      # the pinned authority: nothing above it is consulted
    try:
        return (cert, *chain.build_chain(cert, authorities[0], authorities[1:]))
    except SmsealError:
        return None


def revoked_authorities(trust: Trust) -> list[tuple[Any, Any]]:
    """Each remembered sub-CA that an installed CRL revokes (itself or an authority above it),
    with the CRL entry that revokes it."""
    store = _crl_store(trust)
    stored = _stored_authorities(trust)
    out = []
    for ca in stored[1:]:
        path = _path_of(ca, stored)
        found = store.revoked_in_path(path) if path else None
        if found is not None:
            out.append((ca, found[1]))
    return out


def trusted_authorities(trust: Trust) -> list[Any]:
    """The pinned authority and every CA certificate verified up to it earlier, except those
    revoked since (a revoked sub-CA signs no CRL, bundle or certificate that smseal accepts)."""
    revoked = [ca for ca, _ in revoked_authorities(trust)]
    return [c for c in _stored_authorities(trust) if c not in revoked]


def refuse_revoked_authority(trust: Trust, cert: Certificate) -> None:
    """``RevokedKey`` when CA certificate ``cert`` chains to the pinned authority through a
    revoked sub-CA, or is itself revoked (``directory trust --replace`` of a revoked sub-CA)."""
    path = _path_of(cert, _stored_authorities(trust))
    if path is not None:
        refuse_revoked_chain(trust, path)


def refuse_revoked_chain(trust: Trust, path: Iterable[Certificate]) -> None:
    """``RevokedKey`` when a CA of ``path`` (a certificate, then its issuers up to the pinned
    authority) was revoked by an installed CRL; called before trusting anything new through it."""
    _crl_store(trust).refuse_revoked(tuple(path))


def remember_authorities(trust: Trust, certs: Iterable[Certificate]) -> int:
    """Add verified CA certificates to ``trust/authorities.pem``; returns how many were new."""
    known = _stored_authorities(trust)
    new = [c for c in certs if c.is_ca and c not in known]
    if not new:
        return 0
    stored = known[1:] + new
    write_atomic(trust.dir / AUTHORITIES_FILE, b"".join(c.to_pem() for c in stored),
                 overwrite=True, mode=0o600)
    return len(new)


@dataclass
class CrlResult:
    """What importing one CRL did."""

    issuer: str
    number: int | None
    next_update: datetime | None
    listed: int
    revoked: int
    stale: bool
    installed: bool


@dataclass
class ImportResult:
    """What importing a certificate/CRL file did."""

    units: int = 0
    keys: int = 0
    revoked: int = 0
    skipped: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    crls: list[CrlResult] = field(default_factory=list)
    #: card keys of units these certificates certify with other keys, no longer trusted
    untrusted: list[UntrustedKey] = field(default_factory=list)
    #: leaders (签发人) the bureau certified, "person (unit)"
    leaders: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Verified:
    """The shape ``Directory.apply_bundle`` reads (units, revocations) for a PEM certificate set."""

    units: tuple[Any, ...]
    revocations: tuple[Any, ...] = ()
    revocations_issuer: Any = None


def import_certificates(directory: Any, trust: Trust, data: bytes, now: datetime) -> ImportResult:
    """Verify and apply a PEM file of certificates (and CRLs) from the pinned CA's hierarchy.

    Unit certificates that are expired or not yet valid ``now`` are skipped
    and named in ``skipped``; one that does not chain to the pinned
    authority refuses the whole file (nothing is applied).
    """
    from shangmi import ExpiredCertificate, MalformedInput

    from smseal.keystore import chain, x509
    from smseal.keystore.bundle import Unit
    from smseal.keystore.bundle_apply import generation_order
    from smseal.keystore.crl import read_crls

    certs = chain.read_certificates(data)
    crls = read_crls(data) if b"-----BEGIN X509 CRL-----" in data else []
    if not certs and not crls:
        raise MalformedInput("the file holds no certificates and no CRLs")
    anchor = trust.pinned_root()
    pool = [c for c in certs if c.is_ca] + trusted_authorities(trust)[1:]
    learned: list[Any] = []
    grouped: dict[str, dict[str, list[Any]]] = {}
    result = ImportResult()
    leaders: list[Any] = []
    for cert in certs:
        if cert.is_ca:
            continue
        path = chain.build_chain(cert, anchor, pool, now)
        refuse_revoked_chain(trust, (cert, *path))
        usage = cert.usage
        if usage == "root":
            continue
        if usage == "leader":           # a leader (签发人) of a unit: never a unit key
            if cert.valid_at(now):
                leaders.append(cert)
                learned.extend(c for c in path if c not in learned)
            else:
                result.skipped.append(f"{cert.person} ({cert.unit_name}): the leader certificate is not valid now")
            continue
        try:
            x509.check_certificate(cert, now, None, usage=usage)
        except ExpiredCertificate as exc:
            result.skipped.append(f"{cert.unit_name}: {exc}")
            continue
        learned.extend(c for c in path if c not in learned)
        grouped.setdefault(cert.unit_name, {"sign": [], "enc": []})[usage].append(cert)
    units = []
    for name, g in sorted(grouped.items()):
        if not g["sign"] or not g["enc"]:
            result.skipped.append(f"{name}: the file holds only its "
                                  f"{'signing' if g['sign'] else 'encryption'} certificate")
            continue
        newest: Callable[[list[Any]], tuple[Any, ...]] = lambda cs: tuple(  # noqa: E731
            sorted(cs, key=generation_order, reverse=True))
        units.append(Unit(name, newest(g["sign"]), newest(g["enc"])))
    remember_authorities(trust, [c for c in learned if c != anchor])
    applied = directory.apply_bundle(_Verified(tuple(units)))
    result.units, result.keys, result.conflicts = applied.units, applied.keys, list(applied.conflicts)
    result.untrusted = list(applied.untrusted)
    if leaders:
        from smseal.keystore.unit_leaders import apply_leader_certificates
        result.skipped.extend(apply_leader_certificates(directory, leaders))
        result.leaders = [f"{c.person} ({c.unit_name})" for c in leaders]
    if crls:
        result.crls = import_crls(directory, trust, crls, now)
        result.revoked = sum(c.revoked for c in result.crls)
    return result


def revoke_through_revoked_authorities(directory: Any, trust: Trust) -> int:
    """Revoke every directory key whose certificate was issued through a revoked sub-CA.

    The key counts as revoked from the CA's revocation date when the CA's entry has a
    time-bounded reason, otherwise from the key certificate's start (``revocation_time``):
    a stolen CA key can certify a key and backdate packages.  Returns how many keys changed.
    """
    from smseal.keystore.x509 import Certificate

    revoked = revoked_authorities(trust)
    if not revoked:
        return 0
    stored = _stored_authorities(trust)
    changed = 0
    for unit in directory.list():
        for key in unit.keys:
            if not key.certificate:
                continue
            cert = Certificate.from_der(key.certificate)
            path = _path_of(cert, stored) or ()
            hit = next((entry for ca, entry in revoked if ca in path[1:]), None)
            if hit is None:
                continue
            at, reason = revocation_time(hit, cert.not_before)
            if key.revoked_at is not None and key.revoked_at <= at:
                continue
            try:
                directory.revoke(key.key_id, at, f"authority revoked: {reason}")
            except KeyNotFound:
                continue
            changed += 1
    return changed


def import_crls(directory: Any, trust: Trust, crls: Iterable[Any], now: datetime) -> list[CrlResult]:
    """Verify each CRL (see ``keystore.crl``), keep the newest per authority, apply revocations.

    Every CRL is verified before any is applied.
    """
    from smseal.keystore.crl import is_stale, verify_crl

    authorities = trusted_authorities(trust)
    checked = [(crl, verify_crl(crl, authorities, now)) for crl in crls]
    store = _crl_store(trust)
    out = []
    for crl, issuer in checked:
        installed = store.save(crl, issuer)
        revoked = apply_crl(directory, crl)
        out.append(CrlResult(issuer.unit_name, crl.number, crl.next_update, len(crl.revoked),
                             revoked, is_stale(crl, now), installed))
    if out:
        out[-1].revoked += revoke_through_revoked_authorities(directory, trust)
    return out


def apply_crl(directory: Any, crl: Any) -> int:
    """Revoke every directory key whose certificate (same issuer, same serial) ``crl`` lists,
    and every leader (签发人) the bureau certified whose certificate it lists."""
    from smseal.keystore.unit_leaders import apply_leader_certificates
    from smseal.keystore.x509 import Certificate

    revoked = 0
    if not crl.revoked:
        return 0
    apply_leader_certificates(directory, (), crl)
    for unit in directory.list():
        for key in unit.keys:
            if not key.certificate:
                continue
            cert = Certificate.from_der(key.certificate)
            entry = crl.lookup(cert.serial) if cert.issuer == crl.issuer else None
            if entry is None:
                continue
            at, reason = revocation_time(entry, cert.not_before)
            if key.revoked_at is not None and key.revoked_at <= at:
                continue
            try:
                directory.revoke(key.key_id, at, reason)
            except KeyNotFound:
                continue
            revoked += 1
    return revoked


def record_bundle_crl(trust: Trust, verified: Any) -> None:
    """Keep a verified bundle's CRL and chain beside the imported ones (``directory crl list``).

    Refuses (``RevokedKey``) a bundle published by a sub-CA that an installed CRL revokes."""
    refuse_revoked_chain(trust, verified.chain)
    remember_authorities(trust, [c for c in verified.chain if c != trust.pinned_root()])
    _crl_store(trust).save(verified.crl, verified.authority)


def installed_crls(trust: Trust) -> list[StoredCrl]:
    """The installed CRL of each trusted authority (``keystore.crl.StoredCrl``)."""
    return _crl_store(trust).installed(trusted_authorities(trust))
