"""The authority as key management centre: escrowed issue and recovery of encryption keys.

    result = kmc.issue_escrowed(auth, request, unit_name="某市财政局", escrow_key=pub)
    result.file                    # unit.certs: certificates + SM2 ENVELOPED KEY to the signing key
    data = kmc.recover(auth, escrow_private_key, "某市财政局", new_request)   # X.recovery

``issue_escrowed`` certifies the signing key of the request and an encryption
key pair the authority makes itself (the request's own encryption key is
ignored: ``result.ignored_request_key``); the private key is stored only
encrypted to the escrow key and delivered only encrypted to the unit's
signing key (``keystore.escrow``).

``recover`` serves a unit that lost its token or its home: it takes the
unit's new request, certifies the new signing key and a fresh escrowed
encryption key, revokes the unit's earlier certificates that are still live
(reason ``superseded`` by default: packages signed before stay valid; pass
``keyCompromise`` when the lost token may be in other hands), and re-delivers
*every* encryption key the unit was ever given, each with its certificate.
Both write an audit entry in the same locked transaction (``keystore.audit``).
"""

from __future__ import annotations

from typing import Any
from dataclasses import dataclass
from datetime import datetime

from shangmi import sm2
from shangmi.errors import InvalidKey, KeyNotFound, PolicyError

from . import bundle, escrow, x509
from .authority import UNIT_VALIDITY_DAYS, Authority
from .names import comparable_name
from .x509 import Certificate


@dataclass(frozen=True)
class EscrowIssue:
    """What ``issue_escrowed`` made: the file for the unit and what it holds."""

    file: bytes
    signing: Certificate
    encryption: Certificate
    ignored_request_key: bool


def _escrow_records(state: dict[str, Any], unit: str) -> list[escrow.EscrowRecord]:
    return [r for r in (escrow.EscrowRecord.from_json(d) for d in state.get("escrow", []))
            if comparable_name(r.unit) == unit]


def _escrow(state: dict[str, Any], unit: str, cert: Certificate, key: sm2.PrivateKey,
            escrow_key: sm2.PublicKey, now: datetime) -> None:
    rec = escrow.EscrowRecord(unit, cert.serial, key.public_key(), escrow.seal_key(key, escrow_key), now)
    state.setdefault("escrow", []).append(rec.to_json())


def _fp(key: sm2.PublicKey) -> str:
    return key.fingerprint()[:16].hex()


def issue_escrowed(auth: Authority, request: bytes | str, *, escrow_key: sm2.PublicKey,
                   unit_name: str, rotate: bool = False, validity_days: int = UNIT_VALIDITY_DAYS,
                   now: datetime | None = None) -> EscrowIssue:
    """Certify the request's signing key and an authority-made, escrowed encryption key for
    ``unit_name`` (the request must name it; a unit with valid certificates only with
    ``rotate=True``, as ``Authority.issue``)."""
    req = bundle.parse_request(request)  # both proofs of possession checked
    if comparable_name(req.name) != comparable_name(unit_name):
        raise PolicyError("the request is for {name}, not for {unit}", name=str(req.name), unit=unit_name)
    now = now or x509.utcnow()
    enc_key = sm2.PrivateKey.generate()

    def record(state: dict[str, Any], certs: list[Certificate]) -> None:
        sign, enc = certs
        _escrow(state, sign.unit_name, enc, enc_key, escrow_key, now)
        auth.audit(state, "escrow", {"unit": sign.unit_name, "encryption_serial": format(enc.serial, "x"),
                                     "encryption_key": _fp(enc.public_key),
                                     "delivered_to_signing_key": _fp(sign.public_key)}, now)

    sign_der, enc_der = auth.certify(req.subject, [(req.signing.public_key, "sign"),
                                                   (enc_key.public_key(), "enc")],
                                     validity_days=validity_days, now=now, rotate=rotate, record=record)
    sign, enc = Certificate.from_der(sign_der), Certificate.from_der(enc_der)
    data = (bundle.encode_unit_certificates(sign, enc, auth.root, auth.chain)
            + x509.pem_encode(escrow.PEM_LABEL, escrow.seal_key(enc_key, req.signing.public_key)))
    return EscrowIssue(data, sign, enc, ignored_request_key=True)


def recover(auth: Authority, escrow_private: escrow._Decrypter, unit: str, request: bytes | str, *,
            revoke_reason: str = "superseded", validity_days: int = UNIT_VALIDITY_DAYS,
            now: datetime | None = None) -> bytes:
    """The recovery file for ``unit`` (see the module docstring); ``KeyNotFound`` if the
    authority never escrowed a key of ``unit``."""
    req = bundle.parse_request(request)
    if comparable_name(req.name) != comparable_name(unit):
        raise PolicyError("the request is for {name}, not for {unit}", name=str(req.name), unit=unit)
    unit = comparable_name(unit)
    if revoke_reason not in x509.revocation_reasons():
        raise ValueError(f"reason must be one of: {', '.join(x509.revocation_reasons())}")
    now = now or x509.utcnow()
    enc_key = sm2.PrivateKey.generate()
    escrow_public = escrow.escrow_public_key(auth.home)
    if escrow_public is None:
        raise KeyNotFound("this authority has never escrowed a key (no escrow key)")
    past: list[tuple[Certificate, sm2.PrivateKey]] = []
    issued = {r.serial: r.certificate for r in auth.certificates()}

    def record(state: dict[str, Any], certs: list[Certificate]) -> None:
        sign, enc = certs
        records = _escrow_records(state, unit)
        if not records:
            raise KeyNotFound("no encryption key of {unit} was escrowed here", unit=unit)
        for rec in records:
            key = escrow.open_key(rec.escrowed, escrow_private)
            if key.public_key() != rec.public_key or rec.serial not in issued:
                raise InvalidKey("the escrow record of {unit} (serial {serial}) is damaged", unit=str(unit),
                                 serial=f'{rec.serial:x}')
            past.append((issued[rec.serial], key))
        new = {c.serial for c in certs}
        revoked = []
        for entry in state["issued"]:
            if comparable_name(entry["unit"]) == unit and entry["revoked"] is None and int(entry["serial"], 16) not in new:
                entry["revoked"] = {"date": now.isoformat(), "reason": revoke_reason}
                revoked.append(entry["serial"])
        _escrow(state, unit, enc, enc_key, escrow_public, now)
        auth.audit(state, "recover", {
            "unit": unit, "signing_serial": format(sign.serial, "x"),
            "encryption_serial": format(enc.serial, "x"),
            "redelivered": [format(c.serial, "x") for c, _ in past],
            "revoked": revoked, "reason": revoke_reason,
            "delivered_to_signing_key": _fp(sign.public_key)}, now)

    sign_der, enc_der = auth.certify(req.subject, [(req.signing.public_key, "sign"),
                                                   (enc_key.public_key(), "enc")],
                                     validity_days=validity_days, now=now, rotate=True,  # recovery: an explicit rotation
                                     record=record)
    sign, enc = Certificate.from_der(sign_der), Certificate.from_der(enc_der)
    to = req.signing.public_key
    out = bundle.encode_unit_certificates(sign, enc, auth.root, auth.chain)
    out += b"".join(cert.to_pem() for cert, _ in past)  # earlier encryption certificates
    out += x509.pem_encode(escrow.PEM_LABEL, escrow.seal_key(enc_key, to))
    out += b"".join(x509.pem_encode(escrow.PEM_LABEL, escrow.seal_key(k, to)) for _, k in past)
    return out

