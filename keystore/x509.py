"""X.509 for the bureau's PKI: SM2 certificates, PKCS#10 requests and CRLs.

Everything is signed SM2-with-SM3 (OID 1.2.156.10197.1.501, no parameters)
under the signer ID ``1234567812345678`` (GM/T 0009 §10, what GM/T 0015
certificates, GmSSL, BouncyCastle and Chinese CAs use).

OpenSSL 3.0 (measured with 3.0.19, tests/test_x509_openssl.py) hashes an
*empty* ID into Z unless told otherwise:
- ``openssl verify -vfyopt distid:1234567812345678 -CAfile root.pem unit.pem``
  accepts our certificates; without ``-vfyopt`` it reports "certificate
  signature failure".  (The option covers the certificates on the command
  line; the root's own self-signature is not checked by default.)
- ``openssl req -verify -vfyopt distid:1234567812345678`` accepts our requests.
- ``openssl crl -verify`` and ``openssl verify -crl_check`` cannot be given an
  ID and refuse any CRL signed with the standard ID, ours included; the CRL
  signature checks with ``openssl dgst -sm3 -sigopt distid:... -verify`` over
  the tbsCertList.  We keep the standard ID rather than sign CRLs differently.
- ``openssl req -x509``/``x509 -req`` without ``-sigopt distid:...`` sign with
  the empty ID; such certificates are refused here (``InvalidSignature``).

Security properties
- Parsing is strict (``asn1_types.strict_decode``): only canonical DER, size
  limits before parsing, unknown *critical* extensions and duplicate
  extensions refused, serials positive and at most 20 octets, SM2 keys on the
  curve.  The bytes that are verified are exactly the bytes that were parsed.
- Parsing never implies trust: ``Certificate.verify_signature(issuer)``,
  ``CertificationRequest.verify()`` and ``CRL.verify_signature(issuer)`` check
  signatures; ``check_certificate`` applies revocation, validity and usage.
- Names are compared by their exact DER encoding (stricter than RFC 5280's
  name matching, and enough for one authority that writes its own names).
- Key identifiers written here are SM3(04‖X‖Y) truncated to 20 bytes
  (RFC 5280 §4.2.1.2 allows "other methods"; this keeps the PKI free of
  SHA-1); its first 16 bytes equal ``PublicKey.key_id()``.  A certificate
  issued by an adopted CA carries that CA's own subjectKeyIdentifier as its
  authorityKeyIdentifier.  Identifiers *read* are only a hint for finding the
  issuer (``key_id_matches``: the issuer's SKI, SHA-1 as OpenSSL and RFC 5280
  method 1 make it, method 2, or SM3); the signature decides.
- A CA certificate without keyUsage (OpenSSL's default ``v3_ca`` writes
  only basicConstraints CA:TRUE and the key identifiers) is read as
  keyCertSign + cRLSign: RFC 5280 §4.2.1.3 lets a key without keyUsage serve
  any purpose, and basicConstraints CA:TRUE already says it is an authority.
  A unit certificate must carry keyUsage: it says which of the two keys it is.
- A signature made with OpenSSL's default *empty* SM2 ID is recognised and
  refused with ``EmptySignerId``, which says how to re-sign, instead of
  looking like an altered file.
- Dual certificates: a unit has a *signing* key (digitalSignature,
  nonRepudiation) and a separate *encryption* key (keyEncipherment,
  dataEncipherment, keyAgreement); a certificate mixing the two is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Literal

from pyasn1.type import univ

from shangmi import der
from shangmi.errors import (ExpiredCertificate, InvalidArgument, InvalidKey, InvalidSignature,
                            MalformedInput, RevokedKey)
from shangmi.protocols import Signer as Signer  # re-exported: what issues certificates
from shangmi.sm2 import DEFAULT_UID, PublicKey
from shangmi.sm3 import digest as sm3

from . import asn1_types as t
from .errors import EmptySignerId as EmptySignerId, WrongKeyUsage as WrongKeyUsage  # re-exported
# Name, the PEM and time helpers and the OIDs are part of this module's API (re-exported).
from .asn1_types import (  # noqa: F401
    OID_KEY_USAGE as OID_KEY_USAGE, OID_BASIC_CONSTRAINTS as OID_BASIC_CONSTRAINTS,
    OID_SUBJECT_KEY_ID as OID_SUBJECT_KEY_ID, OID_AUTHORITY_KEY_ID as OID_AUTHORITY_KEY_ID,
    OID_CRL_NUMBER as OID_CRL_NUMBER, OID_REASON_CODE as OID_REASON_CODE,
    OID_EXTENSION_REQUEST as OID_EXTENSION_REQUEST, KEY_USAGE_BITS as KEY_USAGE_BITS, Name as Name,
    OID_EXT_KEY_USAGE as OID_EXT_KEY_USAGE, OID_KP_LEADER_APPROVAL as OID_KP_LEADER_APPROVAL,
    ext_key_usage_value as ext_key_usage_value, parse_ext_key_usage as parse_ext_key_usage,
    utc as utc, encode_time as encode_time, decode_time as decode_time, sm2_algorithm as sm2_algorithm,
    check_signature_algorithm as check_signature_algorithm, signature_bytes as signature_bytes,
    only_element as only_element, key_usage_value as key_usage_value,
    parse_key_usage as parse_key_usage, basic_constraints_value as basic_constraints_value,
    parse_basic_constraints as parse_basic_constraints, aki_value as aki_value, parse_aki as parse_aki,
    extension as extension, extensions_of as extensions_of, read_extensions as read_extensions,
    pem_encode as pem_encode, pem_blocks as pem_blocks, pem_decode as pem_decode)

Usage = Literal["sign", "enc"]
#: "leader": a leader's (签发人's) approval key, certified by the bureau for a unit and a person
#: (extendedKeyUsage OID_KP_LEADER_APPROVAL; docs/CA.md, "Leader certificates").
Profile = Literal["root", "sign", "enc", "leader"]
LEADER_TITLE = "签发人"

SIGNER_ID = DEFAULT_UID

PROFILE_USAGE: dict[str, frozenset[str]] = {
    "root": frozenset({"keyCertSign", "cRLSign"}),
    "sign": frozenset({"digitalSignature", "nonRepudiation"}),
    "enc": frozenset({"keyEncipherment", "dataEncipherment", "keyAgreement"}),
    "leader": frozenset({"digitalSignature", "nonRepudiation"}),
}

#: CRL reason codes (RFC 5280 §5.3.1).  6 (certificateHold) and 8 (removeFromCRL)
#: are read but never written: a revocation here is permanent.
REASONS = {"unspecified": 0, "keyCompromise": 1, "cACompromise": 2, "affiliationChanged": 3,
           "superseded": 4, "cessationOfOperation": 5, "certificateHold": 6,
           "removeFromCRL": 8, "privilegeWithdrawn": 9, "aACompromise": 10}
_REASON_NAMES = {v: k for k, v in REASONS.items()}
#: Reasons that say the key itself stayed safe: the certificate is refused only
#: from the revocation date on, so packages sealed before it still open.  Every
#: other reason refuses the key at *any* time, because a thief of the key can
#: backdate the time it claims to have sealed a package.
#: What a CA certificate without keyUsage may do (see the module docstring).
CA_IMPLIED_USAGE = frozenset({"keyCertSign", "cRLSign"})
#: How far a certificate's notBefore (or a CRL's thisUpdate) may lie in the future
#: and still be accepted: clocks of office PCs and of the CA drift by minutes.
CLOCK_SKEW = timedelta(minutes=5)
TIME_BOUNDED_REASONS = frozenset({"affiliationChanged", "superseded", "cessationOfOperation",
                                  "privilegeWithdrawn"})



def key_identifier(public_key: PublicKey) -> bytes:
    """The subject/authority key identifier: SM3(04‖X‖Y)[:20]."""
    return public_key.fingerprint()[:20]


def serial_hex(serial: int) -> str:
    """How serials are shown and typed: lowercase hex, even length."""
    h = format(serial, "x")
    return h if len(h) % 2 == 0 else "0" + h


def _public_key(spki: t.SubjectPublicKeyInfo, what: str) -> PublicKey:
    try:
        return PublicKey.from_der(t.encode(spki))
    except InvalidKey as exc:
        raise InvalidKey("{what}: {exc}", what=str(what), exc=str(exc)) from None


def _spki(public_key: PublicKey) -> t.SubjectPublicKeyInfo:
    return t.strict_decode(public_key.to_der(), t.SubjectPublicKeyInfo(), "public key")


def _positive_serial(value: univ.Integer, what: str) -> int:
    n = int(value)
    if n <= 0 or n.bit_length() > 159:
        raise MalformedInput("{what}: the serial number must be positive and at most 20 octets", what=str(what))
    return n


def _sign(signer: Signer, data: bytes) -> univ.BitString:
    return univ.BitString.fromOctetString(signer.sign(data))


USAGE_WORDS = {"sign": "signing", "enc": "encryption"}
_CERT_EXTS = frozenset({OID_KEY_USAGE, OID_BASIC_CONSTRAINTS, OID_SUBJECT_KEY_ID,
                        OID_AUTHORITY_KEY_ID, OID_EXT_KEY_USAGE})


# --- certificates --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Certificate:
    """A parsed X.509 v3 certificate with an SM2 key.  Parsing does not imply trust."""

    der: bytes = field(repr=False)
    tbs_der: bytes = field(repr=False)
    serial: int
    issuer: Name
    subject: Name
    not_before: datetime
    not_after: datetime
    public_key: PublicKey
    key_usage: frozenset[str]
    is_ca: bool
    path_len: int | None
    subject_key_id: bytes | None
    authority_key_id: bytes | None
    signature: bytes = field(repr=False)
    #: True when a CA certificate had no keyUsage and keyCertSign+cRLSign were implied
    key_usage_implied: bool = False
    #: extendedKeyUsage purposes (dotted OIDs); empty when the extension is absent
    purposes: frozenset[str] = frozenset()

    @classmethod
    def from_der(cls, data: bytes) -> "Certificate":
        cert = t.strict_decode(data, t.Certificate(), "certificate")
        tbs = cert["tbsCertificate"]
        if int(tbs["version"]) != 2:
            raise MalformedInput("only X.509 v3 certificates are accepted")
        check_signature_algorithm(cert["signatureAlgorithm"], "certificate")
        if t.encode(tbs["signature"]) != t.encode(cert["signatureAlgorithm"]):
            raise MalformedInput("certificate: the two signature algorithms differ")
        if tbs["issuerUniqueID"].isValue or tbs["subjectUniqueID"].isValue:
            raise MalformedInput("certificate: unique identifiers are not supported")
        exts = read_extensions(tbs["extensions"], _CERT_EXTS, "certificate")
        ca, path_len = parse_basic_constraints(exts[OID_BASIC_CONSTRAINTS]) \
            if OID_BASIC_CONSTRAINTS in exts else (False, None)
        if OID_KEY_USAGE in exts:
            key_usage, implied = parse_key_usage(exts[OID_KEY_USAGE]), False
        elif ca:  # OpenSSL's default v3_ca: see the module docstring
            key_usage, implied = CA_IMPLIED_USAGE, True
        else:
            raise MalformedInput("certificate has no keyUsage extension")
        ski = only_element(exts[OID_SUBJECT_KEY_ID], der.OCTET_STRING) if OID_SUBJECT_KEY_ID in exts else None
        aki = parse_aki(exts[OID_AUTHORITY_KEY_ID]) if OID_AUTHORITY_KEY_ID in exts else None
        purposes = parse_ext_key_usage(exts[OID_EXT_KEY_USAGE]) if OID_EXT_KEY_USAGE in exts else frozenset()
        not_before = decode_time(tbs["validity"]["notBefore"])
        not_after = decode_time(tbs["validity"]["notAfter"])
        if not_after < not_before:
            raise MalformedInput("certificate: notAfter is before notBefore")
        subject = Name.from_asn1(tbs["subject"])
        subject.common_name  # noqa: B018 - every certificate here names its holder
        return cls(der=bytes(data), tbs_der=t.encode(tbs),
                   serial=_positive_serial(tbs["serialNumber"], "certificate"),
                   issuer=Name.from_asn1(tbs["issuer"]), subject=subject,
                   not_before=not_before, not_after=not_after,
                   public_key=_public_key(tbs["subjectPublicKeyInfo"], "certificate"),
                   key_usage=key_usage, is_ca=ca, path_len=path_len,
                   subject_key_id=ski, authority_key_id=aki,
                   signature=signature_bytes(cert["signature"], "certificate"),
                   key_usage_implied=implied, purposes=purposes)

    @classmethod
    def from_pem(cls, data: bytes | str) -> "Certificate":
        return cls.from_der(pem_decode(data, "CERTIFICATE"))

    def to_pem(self) -> bytes:
        return pem_encode("CERTIFICATE", self.der)

    @property
    def is_leader(self) -> bool:
        """A leader (签发人) certificate: its purposes name ``OID_KP_LEADER_APPROVAL``."""
        return OID_KP_LEADER_APPROVAL in self.purposes

    @property
    def unit_name(self) -> str:
        """The unit: the subject's common name (e.g. 某市财政局); for a leader certificate the
        organization (O) the leader approves for."""
        if self.is_leader:
            return self.subject.get("O") or ""
        return self.subject.common_name

    @property
    def person(self) -> str | None:
        """A leader certificate's person (CN, e.g. 张三); None for other certificates."""
        return self.subject.common_name if self.is_leader else None

    @property
    def usage(self) -> Profile:
        """"root", "sign", "enc" or "leader"; ``WrongKeyUsage`` for any other mix."""
        return classify_usage(self.key_usage, self.is_ca, self.unit_name, purposes=self.purposes)

    @property
    def fingerprint(self) -> bytes:
        """SM3 of the whole DER certificate."""
        return sm3(self.der)

    def valid_at(self, at: datetime) -> bool:
        return self.not_before <= utc(at) <= self.not_after

    def verify_signature(self, issuer: "Certificate") -> None:
        """Check that ``issuer`` (a CA certificate, or self) signed this certificate.

        Raises ``InvalidSignature`` naming what failed: issuer name or key
        identifier mismatch, an issuer that is not a CA, or a bad signature.
        """
        what = f"certificate of {self.unit_name} (serial {serial_hex(self.serial)})"
        _check_issued_by(self.issuer, issuer, what)
        _verify_signed(issuer, self.signature, self.tbs_der, self.authority_key_id, what)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and other.der == self.der

    def __hash__(self) -> int:
        return hash(self.der)


def classify_usage(key_usage: frozenset[str], is_ca: bool, holder: str,
                   what: str = "certificate", *, purposes: frozenset[str] = frozenset()) -> Profile:
    """Which profile a key usage set (and extendedKeyUsage ``purposes``) belongs to;
    ``WrongKeyUsage`` names ``holder``.  A leader's purpose makes a "leader" key and nothing
    else: never a unit's signing key, an encryption key or an authority."""
    if OID_KP_LEADER_APPROVAL in purposes:
        if not is_ca and key_usage and key_usage <= PROFILE_USAGE["leader"] and "digitalSignature" in key_usage:
            return "leader"
        raise WrongKeyUsage("the {what} of {unit} names the leader's (签发人) purpose with the key usage of another "
                            "kind of key",
                            what=str(what), unit=holder, reason='key usage')
    if is_ca:
        if key_usage >= {"keyCertSign"}:
            return "root"
    elif key_usage and key_usage <= PROFILE_USAGE["sign"] and "digitalSignature" in key_usage:
        return "sign"
    elif key_usage and key_usage <= PROFILE_USAGE["enc"] and "keyEncipherment" in key_usage:
        return "enc"
    shown = ", ".join(sorted(key_usage)) or "none"
    raise WrongKeyUsage("the {what} of {unit} has key usage ({shown}), which is neither a signing key, an encryption"
                        " key nor an authority",
                        what=str(what), shown=str(shown), unit=holder, reason='key usage')


def _check_issued_by(issuer_name: Name, issuer: Certificate, what: str) -> None:
    if issuer_name != issuer.subject:
        raise InvalidSignature("the {what} was issued by {issuer_name}, not by {subject}", what=str(what),
                               issuer_name=str(issuer_name), subject=str(issuer.subject))
    if not issuer.is_ca or "keyCertSign" not in issuer.key_usage:
        raise InvalidSignature("the {what} claims an issuer that is not an authority", what=str(what))


def _verify_signed(issuer: Certificate, signature: bytes, tbs: bytes, aki: bytes | None,
                   what: str) -> None:
    """Verify ``issuer``'s signature under the standard ID, explaining a failure.

    A signature that verifies under the *empty* ID (what ``openssl x509 -req``,
    ``req -x509`` and ``ca`` make without ``-sigopt distid:...``) is reported
    as such; an authority key id that names another key is reported as
    "another key"; anything else is "does not verify".
    """
    try:
        issuer.public_key.verify(signature, tbs, SIGNER_ID)
        return
    except InvalidSignature:
        pass
    try:
        issuer.public_key.verify(signature, tbs, b"")
    except InvalidSignature:
        pass
    else:
        raise EmptySignerId("the {what} was signed by {unit} without the standard SM2 ID {signer_id} (OpenSSL's "
                            "default is an empty ID): re-sign it with -sigopt distid:{signer_id}",
                            what=str(what), signer_id=SIGNER_ID.decode(), unit=issuer.unit_name, reason='signer id')
    if aki is not None and not key_id_matches(aki, issuer):
        raise InvalidSignature("the {what} was issued by another key of {unit} (key id {aki})", what=str(what),
                               aki=aki.hex(), unit=issuer.unit_name)
    raise InvalidSignature("the signature on the {what} does not verify against {unit}: it was altered or forged",
                           what=str(what), unit=issuer.unit_name) from None


def key_id_matches(key_id: bytes, cert: Certificate) -> bool:
    """Whether ``key_id`` (an authorityKeyIdentifier) may name ``cert``'s key.

    Accepts the certificate's own subjectKeyIdentifier and every method in use
    for SM2 keys: SHA-1 of the public key bits (RFC 5280 §4.2.1.2 method 1,
    OpenSSL's ``hash``), method 2 (0100 ‖ last 60 bits of it), and
    SM3(04‖X‖Y)[:20] (smseal, some Chinese CAs).  Only a hint: the
    signature decides.
    """
    point = cert.public_key.to_bytes()
    sha1 = hashlib.sha1(point).digest()
    method2 = bytes([0x40 | (sha1[12] & 0x0F)]) + sha1[13:]
    candidates = {sha1, method2, key_identifier(cert.public_key)}
    if cert.subject_key_id is not None:
        candidates.add(cert.subject_key_id)
    return any(hmac.compare_digest(key_id, c) for c in candidates)


def issue_certificate(signer: Signer, issuer: Certificate | None, subject: Name,
                      public_key: PublicKey, *, serial: int, not_before: datetime,
                      not_after: datetime, profile: Profile) -> Certificate:
    """Build, sign and re-parse a certificate; ``issuer=None`` makes a self-signed root.

    ``profile`` fixes keyUsage (critical) and basicConstraints (critical;
    CA:TRUE, pathLen 0 for "root").  The result is verified against the
    issuer before it is returned, so a wrong or failing signer (e.g. a token)
    raises ``InvalidSignature`` instead of producing a bad certificate.
    """
    if profile not in PROFILE_USAGE:
        raise InvalidArgument("profile must be 'root', 'sign', 'enc' or 'leader'")
    if (issuer is None) != (profile == "root"):
        raise InvalidArgument("a root is self-signed and only a root is self-signed")
    if not 0 < serial < 1 << 159:
        raise InvalidArgument("serial must be positive and at most 20 octets")
    if issuer is None and public_key != signer.public_key():
        raise InvalidArgument("a self-signed root certifies the signer's own key")
    issuer_name = subject if issuer is None else issuer.subject
    issuer_kid = (issuer.subject_key_id if issuer is not None and issuer.subject_key_id
                  else key_identifier(signer.public_key()))
    tbs = t.TBSCertificate()
    tbs["version"] = 2
    tbs["serialNumber"] = serial
    tbs["signature"] = sm2_algorithm()
    tbs["issuer"] = t.x509_name(issuer_name.der, "issuer name")
    tbs["validity"]["notBefore"] = encode_time(not_before)
    tbs["validity"]["notAfter"] = encode_time(not_after)
    tbs["subject"] = t.x509_name(subject.der, "subject name")
    tbs["subjectPublicKeyInfo"] = _spki(public_key)
    is_ca = profile == "root"
    tbs["extensions"] = extensions_of([
        extension(OID_BASIC_CONSTRAINTS, basic_constraints_value(is_ca, 0 if is_ca else None),
                   critical=True),
        extension(OID_KEY_USAGE, key_usage_value(PROFILE_USAGE[profile]), critical=True),
        extension(OID_SUBJECT_KEY_ID, der.octets(key_identifier(public_key))),
        extension(OID_AUTHORITY_KEY_ID, aki_value(issuer_kid)),
        # critical: software that does not know smseal's leader purpose must not use the key at all
        *([extension(OID_EXT_KEY_USAGE, ext_key_usage_value({OID_KP_LEADER_APPROVAL}), critical=True)]
          if profile == "leader" else []),
    ], tbs["extensions"])
    tbs_der = t.encode(tbs)
    cert = t.Certificate()
    cert["tbsCertificate"] = tbs
    cert["signatureAlgorithm"] = sm2_algorithm()
    cert["signature"] = _sign(signer, tbs_der)
    out = Certificate.from_der(t.encode(cert))
    out.verify_signature(out if issuer is None else issuer)
    return out


# --- certification requests (PKCS#10) --------------------------------------------------------

@dataclass(frozen=True, eq=False)
class CertificationRequest:
    """A parsed PKCS#10 request.  ``requested_usage`` comes from the keyUsage it asks for."""

    der: bytes = field(repr=False)
    info_der: bytes = field(repr=False)
    subject: Name
    public_key: PublicKey
    key_usage: frozenset[str] | None
    signature: bytes = field(repr=False)
    purposes: frozenset[str] = frozenset()

    @classmethod
    def from_der(cls, data: bytes) -> "CertificationRequest":
        req = t.strict_decode(data, t.CertificationRequest(), "certification request")
        info = req["certificationRequestInfo"]
        if int(info["version"]) != 0:
            raise MalformedInput("certification request: unknown version")
        check_signature_algorithm(req["signatureAlgorithm"], "certification request")
        key_usage = None
        purposes: frozenset[str] = frozenset()
        for attr in info["attributes"]:
            if str(attr["type"]) != OID_EXTENSION_REQUEST:
                continue  # e.g. challengePassword: not used here
            if len(attr["values"]) != 1 or key_usage is not None:
                raise MalformedInput("certification request: more than one extensionRequest")
            exts = t.strict_decode(bytes(attr["values"][0]), t.Extensions(),
                                   "requested extensions")
            found = read_extensions(exts, _CERT_EXTS, "certification request")
            key_usage = parse_key_usage(found[OID_KEY_USAGE]) if OID_KEY_USAGE in found \
                else None
            if OID_EXT_KEY_USAGE in found:
                purposes = parse_ext_key_usage(found[OID_EXT_KEY_USAGE])
        return cls(der=bytes(data), info_der=t.encode(info),
                   subject=Name.from_asn1(info["subject"]),
                   public_key=_public_key(info["subjectPKInfo"], "certification request"),
                   key_usage=key_usage,
                   signature=signature_bytes(req["signature"], "certification request"),
                   purposes=purposes)

    @classmethod
    def from_pem(cls, data: bytes | str) -> "CertificationRequest":
        return cls.from_der(pem_decode(data, "CERTIFICATE REQUEST"))

    def to_pem(self) -> bytes:
        return pem_encode("CERTIFICATE REQUEST", self.der)

    @property
    def usage(self) -> Profile:
        """"sign", "enc" or "leader", from the requested (extended) key usage; ``WrongKeyUsage``
        otherwise."""
        holder = self.subject.get("CN") or str(self.subject)
        if self.key_usage is None:
            raise WrongKeyUsage("the request of {holder} does not say whether its key is for signing or for "
                                "encryption (no keyUsage requested)",
                                holder=str(holder))
        profile = classify_usage(self.key_usage, False, holder, "request", purposes=self.purposes)
        assert profile != "root"
        return profile

    def verify(self) -> None:
        """Check the self-signature (proof of possession); ``InvalidSignature`` if bad."""
        try:
            self.public_key.verify(self.signature, self.info_der, SIGNER_ID)
        except InvalidSignature:
            raise InvalidSignature("the self-signature of the request from {subject} does not verify",
                                   subject=str(self.subject)) from None


def build_request(signer: Signer, subject: Name, usage: Profile) -> CertificationRequest:
    """A PKCS#10 request for ``signer``'s key, asking for the keyUsage of ``usage`` (and, for
    "leader", the leader's extendedKeyUsage purpose)."""
    if usage not in ("sign", "enc", "leader"):
        raise InvalidArgument("usage must be 'sign', 'enc' or 'leader'")
    info = t.CertificationRequestInfo()
    info["version"] = 0
    info["subject"] = t.x509_name(subject.der, "subject name")
    info["subjectPKInfo"] = _spki(signer.public_key())
    exts = extensions_of([extension(OID_KEY_USAGE, key_usage_value(PROFILE_USAGE[usage]), critical=True),
                          *([extension(OID_EXT_KEY_USAGE, ext_key_usage_value({OID_KP_LEADER_APPROVAL}),
                                       critical=True)] if usage == "leader" else [])])
    attr = t.Attribute()
    attr["type"] = univ.ObjectIdentifier(OID_EXTENSION_REQUEST)
    attr["values"].append(univ.Any(t.encode(exts)))
    info["attributes"].append(attr)
    req = t.CertificationRequest()
    req["certificationRequestInfo"] = info
    req["signatureAlgorithm"] = sm2_algorithm()
    req["signature"] = _sign(signer, t.encode(info))
    out = CertificationRequest.from_der(t.encode(req))
    out.verify()
    return out


# --- CRLs --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    date: datetime
    reason: str

    def applies_at(self, at: datetime) -> bool:
        """True if the certificate counts as revoked for something done at ``at``."""
        return self.reason not in TIME_BOUNDED_REASONS or utc(at) >= self.date


@dataclass(frozen=True, eq=False)
class CRL:
    """A parsed X.509 v2 CRL.  Parsing does not imply trust: see ``verify_signature``."""

    der: bytes = field(repr=False)
    tbs_der: bytes = field(repr=False)
    issuer: Name
    this_update: datetime
    next_update: datetime | None
    number: int | None
    authority_key_id: bytes | None
    revoked: tuple[RevokedEntry, ...]
    signature: bytes = field(repr=False)
    _by_serial: dict[int, RevokedEntry] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_der(cls, data: bytes) -> "CRL":
        crl = t.strict_decode(data, t.CertificateList(), "CRL", limit=t.MAX_CRL_SIZE)
        tbs = crl["tbsCertList"]
        if not tbs["version"].isValue or int(tbs["version"]) != 1:
            raise MalformedInput("only X.509 v2 CRLs are accepted")
        check_signature_algorithm(crl["signatureAlgorithm"], "CRL")
        if t.encode(tbs["signature"]) != t.encode(crl["signatureAlgorithm"]):
            raise MalformedInput("CRL: the two signature algorithms differ")
        exts = read_extensions(tbs["crlExtensions"],
                                frozenset({OID_CRL_NUMBER, OID_AUTHORITY_KEY_ID}), "CRL")
        number = _crl_number(exts[OID_CRL_NUMBER]) if OID_CRL_NUMBER in exts else None
        if number is not None and not 0 <= number < 1 << 159:
            raise MalformedInput("CRL: the CRL number is out of range")
        entries: dict[int, RevokedEntry] = {}
        for item in (tbs["revokedCertificates"] if tbs["revokedCertificates"].isValue else ()):
            entry = _parse_entry(item)
            if entry.serial in entries:
                raise MalformedInput("CRL lists serial {serial_hex} twice", serial_hex=str(serial_hex(entry.serial)))
            entries[entry.serial] = entry
        next_update = decode_time(tbs["nextUpdate"]) if tbs["nextUpdate"].isValue else None
        return cls(der=bytes(data), tbs_der=t.encode(tbs), issuer=Name.from_asn1(tbs["issuer"]),
                   this_update=decode_time(tbs["thisUpdate"]), next_update=next_update,
                   number=number,
                   authority_key_id=parse_aki(exts[OID_AUTHORITY_KEY_ID])
                   if OID_AUTHORITY_KEY_ID in exts else None,
                   revoked=tuple(entries.values()),
                   signature=signature_bytes(crl["signature"], "CRL"),
                   _by_serial=entries)

    @classmethod
    def from_pem(cls, data: bytes | str) -> "CRL":
        return cls.from_der(pem_decode(data, "X509 CRL", limit=t.MAX_CRL_SIZE))

    def to_pem(self) -> bytes:
        return pem_encode("X509 CRL", self.der)

    def lookup(self, serial: int) -> RevokedEntry | None:
        return self._by_serial.get(serial)

    def verify_signature(self, issuer: Certificate) -> None:
        """Check that ``issuer`` signed this CRL; ``InvalidSignature`` otherwise."""
        _check_issued_by(self.issuer, issuer, "CRL")
        if "cRLSign" not in issuer.key_usage:
            raise InvalidSignature("the CRL's issuer may not sign CRLs")
        _verify_signed(issuer, self.signature, self.tbs_der, self.authority_key_id,
                       f"CRL of {issuer.unit_name}")


def _crl_number(value: bytes) -> int:
    rd = der.Reader(value)
    number = rd.integer()
    rd.done()
    return number


def _parse_entry(item: univ.Sequence) -> RevokedEntry:
    serial = _positive_serial(item["userCertificate"], "CRL entry")
    exts = read_extensions(item["crlEntryExtensions"], frozenset({OID_REASON_CODE}), "CRL entry")
    reason = "unspecified"
    if OID_REASON_CODE in exts:
        code = only_element(exts[OID_REASON_CODE], 0x0A)
        if len(code) != 1 or code[0] not in _REASON_NAMES:
            raise MalformedInput("CRL entry {serial_hex}: unknown reason code", serial_hex=str(serial_hex(serial)))
        reason = _REASON_NAMES[code[0]]
    return RevokedEntry(serial, decode_time(item["revocationDate"]), reason)


def issue_crl(signer: Signer, issuer: Certificate, *, number: int, this_update: datetime,
              next_update: datetime, revoked: Iterable[RevokedEntry]) -> CRL:
    """Build, sign, re-parse and verify a v2 CRL (entries sorted by serial)."""
    tbs = t.TBSCertList()
    tbs["version"] = 1
    tbs["signature"] = sm2_algorithm()
    tbs["issuer"] = t.x509_name(issuer.subject.der, "issuer name")
    tbs["thisUpdate"] = encode_time(this_update)
    tbs["nextUpdate"] = encode_time(next_update)
    entries = sorted(revoked, key=lambda e: e.serial)
    if entries:
        seq = tbs["revokedCertificates"]
        for e in entries:
            if e.reason not in REASONS or e.reason in ("certificateHold", "removeFromCRL"):
                raise InvalidArgument("reason must be one of {revocation_reasons}",
                                      revocation_reasons=', '.join(revocation_reasons()))
            # made in place by the list: pyasn1-modules types this entry's extensions
            # with an Extensions instance made before the class got its size constraint,
            # so a separately built entry would not be accepted
            item = seq.getComponentByPosition(len(seq), instantiate=True)
            item["userCertificate"] = e.serial
            item["revocationDate"] = encode_time(e.date)
            if e.reason != "unspecified":  # RFC 5280: omit reasonCode for unspecified
                code = der.tlv(0x0A, bytes([REASONS[e.reason]]))
                item["crlEntryExtensions"].append(extension(OID_REASON_CODE, code))
    tbs["crlExtensions"] = extensions_of([
        extension(OID_AUTHORITY_KEY_ID, aki_value(issuer.subject_key_id
                                                  or key_identifier(signer.public_key()))),
        extension(OID_CRL_NUMBER, der.integer(number)),
    ], tbs["crlExtensions"])
    crl = t.CertificateList()
    crl["tbsCertList"] = tbs
    crl["signatureAlgorithm"] = sm2_algorithm()
    crl["signature"] = _sign(signer, t.encode(tbs))
    out = CRL.from_der(t.encode(crl))
    out.verify_signature(issuer)
    return out


def revocation_reasons() -> tuple[str, ...]:
    """The reasons ``issue_crl`` (and ``Authority.revoke``) accept."""
    return tuple(r for r in REASONS if r not in ("certificateHold", "removeFromCRL"))


# --- policy ------------------------------------------------------------------------------

def check_certificate(cert: Certificate, at: datetime, crl: CRL | None, *,
                      usage: Usage | None = None) -> None:
    """Refuse a certificate that may not be used for something done at ``at``.

    ``crl`` must already be verified (e.g. from ``keystore.bundle.verify_bundle``).
    Raises, each naming the unit and the reason:
      ``RevokedKey``          listed in the CRL (for a reason that keeps the key safe,
                              e.g. superseded, only from the revocation date; for
                              keyCompromise and unspecified at any time);
      ``ExpiredCertificate``  ``at`` outside notBefore..notAfter;
      ``WrongKeyUsage``       (a ``PolicyError``) not a ``usage`` key.
    The signature and chain are *not* checked here: that is done once, when the
    certificate enters the directory.
    """
    at = utc(at)
    kind = USAGE_WORDS[usage] + " " if usage else ""
    label = f"the {kind}certificate of {cert.unit_name} (serial {serial_hex(cert.serial)})"
    if crl is not None:
        if crl.issuer != cert.issuer:
            raise MalformedInput("the CRL is from {issuer}, not from the issuer of {label}", issuer=str(crl.issuer),
                                 label=str(label))
        entry = crl.lookup(cert.serial)
        if entry is not None and entry.applies_at(at):
            raise RevokedKey("{label} was revoked on {date} UTC (reason: {reason})", label=str(label),
                             date=f'{entry.date:%Y-%m-%d %H:%M}', unit=cert.unit_name,
                             reason=entry.reason, serial=serial_hex(cert.serial))
    if at < cert.not_before - CLOCK_SKEW:
        raise ExpiredCertificate("{label} is not valid before {not_before} UTC", label=str(label),
                                 not_before=f'{cert.not_before:%Y-%m-%d %H:%M}', unit=cert.unit_name,
                                 reason='not yet valid', serial=serial_hex(cert.serial))
    if at > cert.not_after:
        raise ExpiredCertificate("{label} expired on {not_after} UTC", label=str(label),
                                 not_after=f'{cert.not_after:%Y-%m-%d %H:%M}', unit=cert.unit_name,
                                 reason='expired', serial=serial_hex(cert.serial))
    if usage is not None and cert.usage != usage:
        raise WrongKeyUsage("{label} is not valid for {usage_words} (its key usage is {key_usage})",
                            label=str(label), usage_words=str(USAGE_WORDS[usage]),
                            key_usage=', '.join(sorted(cert.key_usage)), unit=cert.unit_name,
                            reason='key usage')


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def days(n: int) -> timedelta:
    return timedelta(days=n)
