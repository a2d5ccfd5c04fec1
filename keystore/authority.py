"""The confidentiality bureau's (保密局) certification authority.

    home/
      authority.key   the root key, encrypted PKCS#8 (PBES2 + SM4-CBC), 0600 — absent
                      when the key lives on a token (``signer=``)
      root.pem        the authority's certificate: the self-signed root offices pin, or,
                      for an adopted sub-CA, its certificate (``adopt``)
      chain.pem       an adopted sub-CA's issuers up to the root (absent otherwise)
      escrow.key/.pem the escrow key pair (``keystore.escrow``), made at the first escrow
      audit.log       signed, hash-chained log of escrows and recoveries (``keystore.audit``)
      state.json      issued certificates, revocations, CRL number, bundle version (0600)
      lock            serialises writers (flock)

    a = Authority.init(home, "某市保密局", password=b"...")       # or signer=token_key
    certs = a.issue(request_file_bytes, unit_name="某市财政局")   # [signing DER, encryption DER]
    a.revoke("某市财政局", "keyCompromise")                      # or a serial
    bundle = a.publish()                                          # signed directory bundle

Security properties
- The root key is written once, encrypted, 0600 and atomically; it is never
  logged, shown or kept in ``state.json``.  A token key never leaves the token.
- ``issue`` certifies a key only after checking both proofs of possession,
  the dual-key rule (signing ≠ encryption key) and that the key is not
  already certified to another unit or for the other usage, and not a key
  revoked for compromise.  Serials are 127 random bits (positive, 16 octets).
- Revocations are permanent and stay in every later CRL, also after the
  certificate expires: a thief of a revoked key could otherwise backdate a
  package to before the expiry.
- CRL numbers and bundle versions only grow (kept in ``state.json`` and
  written atomically under the lock), so offices can refuse rollbacks.
- Every certificate, CRL and bundle is re-parsed and verified before it is
  returned: a faulty signer cannot produce an unverifiable artefact.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

from shangmi import sm2
from shangmi.errors import (DuplicateEntry, InvalidArgument, KeyNotFound, KeystoreError, MalformedInput,
                            PolicyError, SmsealError, UnknownUnit, WrongPassphrase)

from . import audit as audit_log
from . import bundle, chain, skeleton, x509
from .atomic import create_atomic, write_atomic
from .names import comparable_name, normalize_name
from .suggest import closest
from .x509 import CRL, Certificate, Name, RevokedEntry, Signer

STATE_FORMAT = "smseal-authority-v1"
KEY_FILE, ROOT_FILE, STATE_FILE, LOCK_FILE = "authority.key", "root.pem", "state.json", "lock"
CHAIN_FILE, AUDIT_FILE = "chain.pem", "audit.log"
ROOT_VALIDITY_DAYS = 20 * 365
UNIT_VALIDITY_DAYS = 2 * 365
CRL_VALIDITY_DAYS = 30
_MAX_STATE = 64 * 1024 * 1024


@dataclass(frozen=True)
class IssuedCertificate:
    """One certificate the authority issued, as its state records it."""

    certificate: Certificate
    revoked: RevokedEntry | None

    @property
    def serial(self) -> int:
        return self.certificate.serial

    @property
    def unit(self) -> str:
        """The unit's name as offices compare it (``names.normalize_name``)."""
        return comparable_name(self.certificate.unit_name)


class Authority:
    """An opened authority: its root certificate and a signer for its key."""

    def __init__(self, home: Path, root: Certificate, signer: Signer) -> None:
        self.home = home
        self.root = root
        self._signer = signer

    def __repr__(self) -> str:
        return f"<Authority {self.name} at {self.home}>"

    @property
    def name(self) -> str:
        return self.root.unit_name

    # --- creation and opening -------------------------------------------------------------

    @classmethod
    def init(cls, home: str | Path, name: str = "某市保密局", *, password: bytes | None = None,
             signer: Signer | None = None, organization: str | None = None,
             country: str | None = "CN", validity_days: int = ROOT_VALIDITY_DAYS,
             iterations: int | None = None, now: datetime | None = None) -> "Authority":
        """Create the authority in the empty or new folder ``home``.

        Exactly one of ``password`` (a new software key, written encrypted)
        and ``signer`` (an existing key, e.g. on a token) is given.
        ``DuplicateEntry`` if an authority already lives there.
        """
        home = Path(home)
        if (password is None) == (signer is None):
            raise InvalidArgument("give either password= (a new key file) or signer= (a token key)")
        if password is not None and not password:
            raise InvalidArgument("the authority key needs a non-empty passphrase")
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        if (home / STATE_FILE).exists() or (home / KEY_FILE).exists():
            raise DuplicateEntry("an authority already exists in {home}", home=str(home))
        key = sm2.PrivateKey.generate() if signer is None else None
        active: Signer = key if key is not None else signer  # type: ignore[assignment]
        now = now or x509.utcnow()
        subject = Name.build(name, organization=organization, country=country)
        root = x509.issue_certificate(active, None, subject, active.public_key(),
                                      serial=_new_serial(set()), not_before=now,
                                      not_after=now + timedelta(days=validity_days),
                                      profile="root")
        with _locked(home):
            if key is not None:
                create_atomic(home / KEY_FILE, key.to_pem(password, iterations=iterations))
            create_atomic(home / ROOT_FILE, root.to_pem())
            _save(home, {"format": STATE_FORMAT, "key": "file" if key else "external",
                         "crl_number": 0, "bundle_version": 0, "issued": []})
        return cls(home, root, active)

    @classmethod
    def adopt(cls, home: str | Path, key: sm2.PrivateKey, certificates: bytes | str, *,
              password: bytes, iterations: int | None = None,
              now: datetime | None = None) -> "Authority":
        """Take over an existing CA (made by OpenSSL, GmSSL, ...) in the new folder ``home``.

        ``certificates`` holds the CA's certificate for ``key`` and, for a
        sub-CA, its issuers up to the root, in any order.  The authority's
        name is its certificate's subject.  The key is stored again,
        encrypted under ``password`` in smseal's format.  The chain must
        verify (``keystore.chain``) and the CA certificate be valid ``now``.
        Serials the old CA issued are unknown here; new ones are 127 random
        bits, so they do not collide in practice.
        """
        home = Path(home)
        if not password:
            raise ValueError("the authority key needs a non-empty passphrase")
        certs = chain.read_certificates(certificates)
        own = [c for c in certs if c.public_key == key.public_key()]
        if not own:
            raise KeystoreError("none of the certificates given is for this key")
        mine = chain.check_anchor(own[0])
        path = chain.order_chain(mine, certs)[1:]
        at = now or x509.utcnow()
        if path:
            top = path[-1]
            if top.issuer == top.subject:
                chain.check_anchor(top)
            chain.build_chain(mine, top, path, at)
        if not mine.valid_at(at):
            raise PolicyError("the authority certificate of {unit_name} is not valid now",
                              unit_name=str(mine.unit_name))
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        if (home / STATE_FILE).exists() or (home / KEY_FILE).exists():
            raise DuplicateEntry("an authority already exists in {home}", home=str(home))
        with _locked(home):
            create_atomic(home / KEY_FILE, key.to_pem(password, iterations=iterations))
            create_atomic(home / ROOT_FILE, mine.to_pem())
            if path:
                create_atomic(home / CHAIN_FILE, b"".join(c.to_pem() for c in path))
            _save(home, {"format": STATE_FORMAT, "key": "file", "adopted": True,
                         "crl_number": 0, "bundle_version": 0, "issued": []})
        return cls(home, mine, key)

    @property
    def chain(self) -> tuple[Certificate, ...]:
        """An adopted sub-CA's issuers up to the root (empty for a root)."""
        path = self.home / CHAIN_FILE
        if not path.exists():
            return ()
        return tuple(chain.read_certificates(path.read_bytes()))

    @classmethod
    def open(cls, home: str | Path, *, password: bytes | None = None,
             signer: Signer | None = None) -> "Authority":
        """Open an existing authority with its key file's passphrase or its token signer."""
        home = Path(home)
        state = _load(home)
        root = bundle.load_root((home / ROOT_FILE).read_bytes())
        if state["key"] == "file":
            if signer is not None or password is None:
                raise InvalidArgument("this authority's key is a file: give password=")
            try:
                signer = sm2.PrivateKey.from_pem((home / KEY_FILE).read_bytes(), password=password)
            except WrongPassphrase:
                raise WrongPassphrase("wrong passphrase for the authority key") from None
        elif signer is None:
            raise InvalidArgument("this authority's key is on a token: give signer=")
        if signer.public_key() != root.public_key:
            raise KeystoreError("the key given is not the key of {unit_name}", unit_name=str(root.unit_name))
        return cls(home, root, signer)

    # --- issuing ------------------------------------------------------------------------

    def issue(self, request: bytes | str, *, unit_name: str, rotate: bool = False,
              validity_days: int = UNIT_VALIDITY_DAYS, now: datetime | None = None) -> list[bytes]:
        """Certify a unit request file for the unit ``unit_name``; returns [signing DER, encryption DER].

        The bureau decides which unit a request is for, not the request: ``unit_name`` must
        be given and equal the requested common name (``PolicyError``).  The subject is the
        request's, rewritten in this authority's encoding (UTF8String; only C, ST, L, O, OU
        and CN, each once).  Both certificates share notBefore/notAfter (capped at the
        root's notAfter).  A unit that already holds valid certificates gets new keys only
        as an explicit rotation, ``rotate=True`` (``PolicyError`` naming the current keys'
        fingerprints otherwise; ``current_certificates`` lists them): the old certificates
        stay valid until they expire or are revoked.
        """
        req = bundle.parse_request(request)
        if comparable_name(req.name) != comparable_name(unit_name):
            raise PolicyError("the request is for {name}, not for {unit}", name=str(req.name), unit=unit_name)
        return self.certify(req.subject, [(req.signing.public_key, "sign"),
                                          (req.encryption.public_key, "enc")],
                            validity_days=validity_days, now=now, rotate=rotate)

    def current_certificates(self, unit: str, *, now: datetime | None = None) -> list[Certificate]:
        """The unit's certificates that are neither revoked nor expired ``now``, in issue order."""
        return _live(_records(_load(self.home)), comparable_name(unit), now or x509.utcnow())

    def certify(self, requested: Name, keys: list[tuple[sm2.PublicKey, str]], *,
                validity_days: int = UNIT_VALIDITY_DAYS, now: datetime | None = None, rotate: bool = False,
                record: Callable[[dict[str, Any], list[Certificate]], None] | None = None) -> list[bytes]:
        """Certify ``keys`` ((public key, "sign"|"enc"), ...) for the unit ``requested`` names.

        The checks of ``issue`` apply (subject rewritten, key reuse refused,
        validity capped at the authority's, other keys for a unit with valid
        certificates only with ``rotate=True``).  ``record(state, certificates)``
        runs inside the same locked transaction, before the state is saved
        (escrow records and audit entries: ``keystore.kmc``).
        """
        subject = _unit_subject(requested)
        require_normal_form(subject.common_name)
        return self._certify(subject, subject.common_name, keys, validity_days=validity_days, now=now,
                             rotate=rotate, record=record)

    def issue_leader(self, request: bytes | str, *, unit_name: str | None = None,
                     validity_days: int = UNIT_VALIDITY_DAYS, now: datetime | None = None) -> bytes:
        """Certify a leader's (签发人's) request; returns the leader certificate (DER).

        The request is one PKCS#10 request made with the leader's own key (proof of
        possession) asking for the leader's purpose (``keys leader request``); its subject
        names the person (CN) and the unit (O).  The certificate's subject is rewritten as
        ``O=unit, title=签发人, CN=person`` and it carries the critical extendedKeyUsage
        ``OID_KP_LEADER_APPROVAL`` (docs/CA.md), so it can never serve as a unit's signing
        certificate, and a unit's certificate never as a leader's.  ``unit_name``, when
        given, must equal the requested unit (``PolicyError``)."""
        req = x509.CertificationRequest.from_pem(request)
        req.verify()
        if req.usage != "leader":
            raise x509.WrongKeyUsage("this request is not a leader's (签发人) request: make one with "
                                     "'smseal keys leader request NAME'", reason="key usage")
        unit, person = req.subject.get("O"), req.subject.get("CN")
        if not unit or not person:
            raise PolicyError("a leader's request names the person (CN) and the unit (O)")
        if unit_name is not None and comparable_name(unit) != comparable_name(unit_name):
            raise PolicyError("the request is for a leader of {requested}, not of {unit}", requested=unit,
                              unit=unit_name)
        require_normal_form(unit)
        require_normal_form(person)
        subject = Name.build(person, organization=unit, title=x509.LEADER_TITLE)
        # a unit may have several leaders: a leader's certificate is no rotation of the unit's keys
        (der,) = self._certify(subject, unit, [(req.public_key, "leader")], validity_days=validity_days, now=now,
                               rotate=True)
        return der

    def _certify(self, subject: Name, unit: str, keys: list[tuple[sm2.PublicKey, str]], *,
                 validity_days: int, now: datetime | None, rotate: bool,
                 record: Callable[[dict[str, Any], list[Certificate]], None] | None = None) -> list[bytes]:
        now = now or x509.utcnow()
        not_after = min(now + timedelta(days=validity_days), self.root.not_after)
        if not_after <= now:
            raise PolicyError("the authority certificate of {name} has expired", name=str(self.name))
        with self._transaction() as state:
            records = _records(state)
            for key, usage in keys:
                _check_key_reuse(records, key, unit, usage, now)
            if not rotate:
                _refuse_silent_rotation(records, unit, [k for k, _ in keys], now)
            if not any(r.unit == unit for r in records):   # a new unit: not a look-alike of a known one
                skeleton.refuse_confusable(unit, sorted({r.unit for r in records}))
            serials = {r.serial for r in records}
            out = []
            for key, usage in keys:
                serial = _new_serial(serials)
                serials.add(serial)
                cert = x509.issue_certificate(self._signer, self.root, subject, key,
                                              serial=serial, not_before=now,
                                              not_after=not_after, profile=usage)  # type: ignore[arg-type]
                state["issued"].append({"serial": x509.serial_hex(serial), "unit": unit,
                                        "usage": usage,
                                        "certificate": base64.b64encode(cert.der).decode(),
                                        "revoked": None})
                out.append(cert)
            if record is not None:
                record(state, out)
        return [c.der for c in out]

    def audit(self, state: dict[str, Any], action: str, details: dict[str, Any], now: datetime) -> None:
        """Append a signed entry to ``audit.log`` (inside a ``certify``/``record`` transaction)."""
        state["audit_head"] = audit_log.append(self.home / AUDIT_FILE, self._signer,
                                               state.get("audit_head"), action, details, now)

    def verify_audit(self) -> "audit_log.AuditReport":
        """Check ``audit.log`` against this authority's key and recorded head (``keystore.audit``)."""
        return audit_log.verify(self.home / AUDIT_FILE, self.root.public_key,
                                _load(self.home).get("audit_head"))

    def issue_file(self, request: bytes | str, **kwargs: Any) -> bytes:
        """``issue`` and encode the result as the unit certificates file (PEM)."""
        sign, enc = (Certificate.from_der(d) for d in self.issue(request, **kwargs))
        return bundle.encode_unit_certificates(sign, enc, self.root, self.chain)

    # --- revocation -------------------------------------------------------------------------

    def revoke(self, target: str | int, reason: str = "unspecified", *,
               now: datetime | None = None) -> list[int]:
        """Revoke one certificate (serial, as int or hex) or every unexpired one of a unit.

        Returns the serials revoked.  ``KeyNotFound`` if nothing matches or all
        matching certificates are already revoked.
        """
        if reason not in x509.revocation_reasons():
            raise InvalidArgument("reason must be one of: {revocation_reasons}",
                                  revocation_reasons=', '.join(x509.revocation_reasons()))
        now = now or x509.utcnow()
        with self._transaction() as state:
            records = _records(state)
            chosen = _select(records, target, now)
            todo = [r for r in chosen if r.revoked is None]
            if not todo:
                raise KeyNotFound("{unit}: already revoked", unit=str(target))
            wanted = {x509.serial_hex(r.serial) for r in todo}
            for entry in state["issued"]:
                if entry["serial"] in wanted:
                    entry["revoked"] = {"date": now.isoformat(), "reason": reason}
        return sorted(r.serial for r in todo)

    def certificates(self) -> list[IssuedCertificate]:
        """Everything issued so far, in issue order."""
        return _records(_load(self.home))

    # --- publication ------------------------------------------------------------------------

    def crl(self, *, now: datetime | None = None,
            validity_days: int = CRL_VALIDITY_DAYS) -> CRL:
        """A new CRL (next CRL number) listing every revocation ever made."""
        now = now or x509.utcnow()
        with self._transaction() as state:
            return self._new_crl(state, now, validity_days)

    def set_group(self, name: str, units: list[str]) -> tuple[str, tuple[str, ...]]:
        """Publish group ``name`` (抄送 groups such as 各乡镇) with ``units`` from the next bundle on;
        every unit must hold a valid certificate from this authority (``UnknownUnit`` otherwise)."""
        from .names import normalize_name

        name = normalize_name(name)
        members = tuple(dict.fromkeys(normalize_name(u) for u in units))
        if not members:
            raise InvalidArgument("a group needs at least one unit", code="bad-unit-name")
        now = x509.utcnow()
        with self._transaction() as state:
            certified = {r.unit for r in _records(state) if r.revoked is None and r.certificate.valid_at(now)}
            for u in members:
                if u not in certified:
                    raise UnknownUnit("no unit named {unit} holds a valid certificate of this authority", unit=u,
                                      suggestions="、".join(closest(u, sorted(certified))))
            state.setdefault("groups", {})[name] = list(members)
        return name, members

    def remove_group(self, name: str) -> None:
        """Stop publishing group ``name`` (``KeyNotFound`` if there is none)."""
        from .names import normalize_name

        name = normalize_name(name)
        with self._transaction() as state:
            if name not in state.get("groups", {}):
                raise KeyNotFound("no group named {name}", name=str(name))
            del state["groups"][name]

    def groups(self) -> dict[str, tuple[str, ...]]:
        """The groups the next bundle publishes."""
        return {k: tuple(v) for k, v in sorted(_load(self.home).get("groups", {}).items())}

    def publish(self, *, now: datetime | None = None,
                crl_validity_days: int = CRL_VALIDITY_DAYS) -> bytes:
        """The next signed directory bundle: unrevoked, unexpired certificates, a new CRL and the
        groups (members no longer certified are left out, and so is a group left empty)."""
        now = now or x509.utcnow()
        with self._transaction() as state:
            crl = self._new_crl(state, now, crl_validity_days)
            current = [r.certificate for r in _records(state)
                       if r.revoked is None and r.certificate.valid_at(now)]
            state["bundle_version"] += 1
            version = state["bundle_version"]
            chain_certs = [self.root, *self.chain] if self.chain else []  # adopted sub-CA
            certified = {c.unit_name for c in current if not c.is_leader}
            groups = tuple((n, tuple(u for u in units if u in certified))
                           for n, units in sorted(state.get("groups", {}).items()))
            data = bundle.build_bundle(self._signer, self.root, current + chain_certs, crl,
                                       version=version, issued=now, groups=tuple(g for g in groups if g[1]))
            bundle.verify_bundle(data, self.root, installed_version=version - 1)
        return data

    def _new_crl(self, state: dict[str, Any], now: datetime, validity_days: int) -> CRL:
        state["crl_number"] += 1
        revoked = [r.revoked for r in _records(state) if r.revoked is not None]
        return x509.issue_crl(self._signer, self.root, number=state["crl_number"],
                              this_update=now, next_update=now + timedelta(days=validity_days),
                              revoked=revoked)

    @contextmanager
    def _transaction(self) -> Iterator[dict[str, Any]]:
        """Load the state under the lock, let the caller change it, save it if no error."""
        with _locked(self.home):
            state = _load(self.home)
            yield state
            _save(self.home, state)


# --- state ---------------------------------------------------------------------------------

@contextmanager
def _locked(home: Path) -> Iterator[None]:
    fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _load(home: Path) -> dict[str, Any]:
    try:
        with open(home / STATE_FILE, "rb") as f:
            raw = f.read(_MAX_STATE + 1)
    except FileNotFoundError:
        raise KeyNotFound("no authority in {home} (run 'smseal authority init')", home=str(home)) from None
    try:
        state = json.loads(raw)
    except ValueError:
        raise MalformedInput("{path} is damaged", path=str(home / STATE_FILE)) from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise MalformedInput("{path} is not an smseal authority state", path=str(home / STATE_FILE))
    return state


def _save(home: Path, state: dict[str, Any]) -> None:
    data = json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True).encode()
    write_atomic(home / STATE_FILE, data)


def _records(state: dict[str, Any]) -> list[IssuedCertificate]:
    out = []
    try:
        for entry in state["issued"]:
            cert = Certificate.from_der(base64.b64decode(entry["certificate"], validate=True))
            rev = entry["revoked"]
            revoked = None if rev is None else RevokedEntry(
                cert.serial, datetime.fromisoformat(rev["date"]), rev["reason"])
            out.append(IssuedCertificate(cert, revoked))
    except (KeyError, TypeError, ValueError):
        raise MalformedInput("the authority's {state_file} is damaged", state_file=str(STATE_FILE)) from None
    return out


def require_normal_form(unit: str) -> None:
    """Refuse to certify a common name offices would read as another name (``PolicyError``).

    Offices compare unit names after NFKC with outer spaces removed, so a certificate for
    ``⾦融局`` (Kangxi radical U+2FA6) is one for ``金融局``: certifying such a variant would
    give the unit a second set of live certificates without the rotation check.  Only names
    already in that form are certified."""
    try:
        normal = normalize_name(unit)
    except SmsealError:
        raise PolicyError("the unit name {unit} cannot be certified: a unit name is printable "
                          "characters without control or invisible ones", unit=unit,
                          code="unit-name-not-normalised") from None
    if normal != unit:
        raise PolicyError("the unit name {unit} is not in normalised form (NFKC, no outer spaces); "
                          "offices read it as {normal}: certify it under that name", unit=unit, normal=normal,
                          code="unit-name-not-normalised")


def _unit_subject(requested: Name) -> Name:
    known = {"C": "country", "ST": "province", "L": "locality", "O": "organization",
             "OU": "unit"}
    fields: dict[str, str] = {}
    for kind, _ in requested.attributes:
        if kind != "CN" and kind not in known:
            raise PolicyError("the request's name has an attribute {kind} the authority does not certify (only C, "
                              "ST, L, O, OU, CN)",
                              kind=str(kind))
        value = requested.get(kind)  # MalformedInput if repeated
        if kind != "CN":
            fields[known[kind]] = value  # type: ignore[assignment]
    try:
        return Name.build(requested.common_name, **fields)
    except ValueError as exc:
        raise PolicyError("the requested name cannot be certified: {exc}", exc=str(exc)) from None


def _new_serial(taken: set[int]) -> int:
    """127 random bits with the top one set: positive, exactly 16 octets in DER."""
    while True:
        serial = secrets.randbits(127) | (1 << 126)
        if serial not in taken:
            return serial


def _check_key_reuse(records: list[IssuedCertificate], key: sm2.PublicKey, unit: str,
                     usage: str, now: datetime) -> None:
    """One key, one unit, one usage; no second live certificate for a key (the bundle
    lists each key once); never again after a revocation for compromise."""
    for r in records:
        cert = r.certificate
        if cert.public_key != key:
            continue
        if comparable_name(cert.unit_name) != unit or cert.usage != usage:
            raise PolicyError("this key is already certified as the {usage} key of {unit_name}; each key serves one "
                              "unit and one purpose",
                              usage=str(cert.usage), unit_name=str(cert.unit_name), unit=unit)
        if r.revoked is not None and r.revoked.reason not in x509.TIME_BOUNDED_REASONS:
            raise PolicyError("this key of {unit} was revoked ({reason}); the unit must make a new key", unit=unit,
                              reason=r.revoked.reason)
        if r.revoked is None and cert.not_after >= now:
            raise PolicyError("this {usage} key of {unit} already has a valid certificate (serial {serial_hex}); "
                              "revoke it as superseded first, or make new keys",
                              usage=str(usage), serial_hex=str(x509.serial_hex(cert.serial)), unit=unit)


def _live(records: list[IssuedCertificate], unit: str, now: datetime) -> list[Certificate]:
    """The unit's own valid certificates (its leaders' are not the unit's keys)."""
    return [r.certificate for r in records
            if r.unit == unit and r.revoked is None and r.certificate.valid_at(now) and not r.certificate.is_leader]


def _refuse_silent_rotation(records: list[IssuedCertificate], unit: str, keys: list[sm2.PublicKey],
                            now: datetime) -> None:
    """A unit with valid certificates for other keys gets new ones only by an explicit rotation:
    otherwise whoever brings a request naming the unit becomes it at the next bundle."""
    live = [c for c in _live(records, unit, now) if c.public_key not in keys]
    if live:
        current = ", ".join(f"{c.usage} {c.public_key.fingerprint().hex()[:16]}" for c in live)
        raise PolicyError("{unit} already holds valid certificates ({current}); certifying other keys for it is a "
                          "rotation: check the new keys with the unit, then confirm it with --rotate (rotate=True)",
                          unit=unit, current=current, code='rotation-not-confirmed')


_SERIAL_RE = re.compile(r"(?:0x)?([0-9a-fA-F]{2}(?::?[0-9a-fA-F]{2})*|[0-9a-fA-F])")


def _select(records: list[IssuedCertificate], target: str | int,
            now: datetime) -> list[IssuedCertificate]:
    """A unit name selects its unexpired certificates; otherwise a serial selects one."""
    if isinstance(target, str):
        by_unit = [r for r in records if r.unit == comparable_name(target)]
        if by_unit:
            return [r for r in by_unit if r.certificate.not_after >= now] or by_unit
        m = _SERIAL_RE.fullmatch(target.strip())
        if m is None:
            raise KeyNotFound("no unit named {unit} and not a serial number", unit=target)
        target = int(m.group(1).replace(":", ""), 16)
    found = [r for r in records if r.serial == target]
    if not found:
        raise KeyNotFound("no certificate with serial {serial_hex}", serial_hex=str(x509.serial_hex(target)))
    return found
