"""The files that travel between the bureau (保密局) and the offices.

1. Unit request (``smseal keys request -o unit.csr``): PEM text holding exactly
   two ``CERTIFICATE REQUEST`` blocks, one asking for a signing key
   (keyUsage digitalSignature, nonRepudiation) and one for an encryption key
   (keyEncipherment, dataEncipherment, keyAgreement), same subject, different
   keys, each self-signed (proof of possession).  ``openssl req -verify
   -vfyopt distid:1234567812345678`` accepts each block.
2. Unit certificates (``smseal authority issue ... -o unit.certs``): PEM text
   with three ``CERTIFICATE`` blocks: signing, encryption, authority root.
3. Directory bundle (``smseal authority publish -o directory.bundle``): one
   DER value, nothing before or after it::

     SignedDirectory ::= SEQUENCE {
       tbsDirectory        TBSDirectory,
       signatureAlgorithm  AlgorithmIdentifier,  -- 1.2.156.10197.1.501, no parameters
       signature           BIT STRING }          -- SM2 DER signature over DER(tbsDirectory),
                                                 -- signer ID 1234567812345678
     TBSDirectory ::= SEQUENCE {
       format          UTF8String,               -- "smseal-directory-v1"
       version         INTEGER (1..2^63-1),      -- strictly increasing per authority
       issued          GeneralizedTime,          -- YYYYMMDDHHMMSSZ
       authorityKeyId  OCTET STRING,             -- the root's subjectKeyIdentifier
       certificates    SEQUENCE OF Certificate,  -- sorted by serial, strictly increasing
       crl             CertificateList }         -- the authority's current v2 CRL

   DER is the one canonical encoding (the parser re-encodes and compares).
   The format string keeps a bundle signature from ever being read as the
   signature of any other structure the authority signs.

Security properties of ``verify_bundle`` (the offices' check):
- The signature must verify against the *pinned* root; a bundle naming
  another authority's key is ``UntrustedSender``, a bad signature
  ``InvalidSignature``: nothing in an unverified bundle is used.
- No rollback: a version not greater than the installed one is
  ``RollbackRefused`` (checked after the signature, so a forgery is reported
  as a forgery).  A replayed older bundle cannot bring back a revoked key.
- Every certificate is re-verified against the root, must be a unit
  certificate with exactly the signing or the encryption profile
  (``WrongKeyUsage``, naming the unit) and must be valid on the bundle's
  issue date (``ExpiredCertificate``, naming the unit).
- The CRL must be signed by the root.

Rotation: a unit may hold several generations of certificates; the
authority publishes every one that is neither revoked nor expired.  A reader
picks, per usage, the certificate with the latest notBefore among those that
pass ``check_certificate`` at the time of use (``VerifiedDirectory.pick``); older
ones stay available to verify signatures made while they were current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from pyasn1.type import char, univ, useful

from shangmi.errors import (ExpiredCertificate, InvalidArgument, InvalidSignature, KeyNotFound,
                            MalformedInput, RollbackRefused, SmsealError, UnknownUnit, UntrustedSender)
from shangmi.sm2 import PublicKey

from . import asn1_types as t
from . import x509
from .suggest import closest
from .x509 import CRL, Certificate, CertificationRequest, Name, Signer, Usage

FORMAT = "smseal-directory-v1"
MAX_BUNDLE_SIZE = 32 * 1024 * 1024
MAX_VERSION = (1 << 63) - 1
_TEXT_LIMIT = 256 * 1024


# --- 1. unit request ------------------------------------------------------------------------

@dataclass(frozen=True)
class UnitRequest:
    """A unit's two verified requests.  ``name`` is the subject's common name."""

    signing: CertificationRequest
    encryption: CertificationRequest

    @property
    def name(self) -> str:
        return self.signing.subject.common_name

    @property
    def subject(self) -> Name:
        return self.signing.subject


def make_request(subject: Name, signing_key: Signer, encryption_key: Signer) -> bytes:
    """The request file for a unit: two self-signed PKCS#10 requests in PEM.

    Both keys sign their own request (proof of possession), so an encryption
    key must be able to sign; a token that can only decrypt cannot make one.
    """
    subject.common_name  # noqa: B018 - a unit request must name the unit
    if signing_key.public_key() == encryption_key.public_key():
        raise InvalidArgument("the signing and the encryption key must be different keys")
    sign = x509.build_request(signing_key, subject, "sign")
    enc = x509.build_request(encryption_key, subject, "enc")
    return sign.to_pem() + enc.to_pem()


def parse_request(data: bytes | str) -> UnitRequest:
    """Parse and check a request file: two requests, one per usage, same subject.

    Raises ``MalformedInput`` for anything else, ``InvalidSignature`` if a
    self-signature fails, ``WrongKeyUsage`` if a request asks for a mixed usage.
    """
    blocks = x509.pem_blocks(data, "CERTIFICATE REQUEST", limit=_TEXT_LIMIT)
    if len(blocks) != 2:
        raise MalformedInput(f"a unit request holds two certification requests (one for "
                             f"signing, one for encryption), this one holds {len(blocks)}")
    reqs = [CertificationRequest.from_der(b) for b in blocks]
    by_usage: dict[str, CertificationRequest] = {}
    for req in reqs:
        req.verify()
        by_usage[req.usage] = req
    if set(by_usage) != {"sign", "enc"}:
        raise MalformedInput("a unit request needs one signing and one encryption request")
    sign, enc = by_usage["sign"], by_usage["enc"]
    if sign.subject != enc.subject:
        raise MalformedInput(f"the two requests name different units ({sign.subject} and "
                             f"{enc.subject})")
    sign.subject.common_name  # noqa: B018 - refuses a subject without CN
    if sign.public_key == enc.public_key:
        raise MalformedInput("the signing and the encryption request carry the same key")
    return UnitRequest(sign, enc)


# --- 2. unit certificates ------------------------------------------------------------------

@dataclass(frozen=True)
class UnitCertificates:
    """What ``keys install`` receives: verified signing and encryption certificates."""

    signing: Certificate
    encryption: Certificate
    root: Certificate

    @property
    def name(self) -> str:
        return self.signing.unit_name


def encode_unit_certificates(signing: Certificate, encryption: Certificate,
                             root: Certificate) -> bytes:
    return signing.to_pem() + encryption.to_pem() + root.to_pem()


def parse_unit_certificates(data: bytes | str, *, pinned_root: Certificate | None = None,
                            now: datetime | None = None) -> UnitCertificates:
    """Parse and verify a certificates file.

    The included root must be a valid self-signed authority, and the pinned
    root when one is given (``UntrustedSender`` otherwise); both certificates
    must chain to it, carry the right profiles, name the same unit and be
    valid ``now``.  Matching the keys against the office's own keys is left
    to the caller (it holds them).
    """
    blocks = x509.pem_blocks(data, "CERTIFICATE", limit=_TEXT_LIMIT)
    if len(blocks) != 3:
        raise MalformedInput(f"a certificates file holds three certificates (signing, "
                             f"encryption, authority), this one holds {len(blocks)}")
    sign, enc, root = (Certificate.from_der(b) for b in blocks)
    root = load_root(root.der)
    if pinned_root is not None and root != pinned_root:
        raise UntrustedSender(f"these certificates were issued by {root.unit_name}, not by the "
                              f"trusted authority {pinned_root.unit_name}",
                              unit=root.unit_name)
    at = now or x509.utcnow()
    for cert, usage in ((sign, "sign"), (enc, "enc")):
        _check_unit_cert(cert, root)
        x509.check_certificate(cert, at, None, usage=usage)
    if sign.subject != enc.subject:
        raise MalformedInput("the signing and the encryption certificate name different units")
    return UnitCertificates(sign, enc, root)


def load_root(data: bytes | str) -> Certificate:
    """Parse an authority certificate to pin (``directory trust``): a valid self-signed root.

    The caller must still confirm its fingerprint out of band (e.g. by phone).
    """
    root = Certificate.from_pem(data) if not isinstance(data, bytes) or data[:1] != b"\x30" \
        else Certificate.from_der(data)
    if root.usage != "root" or root.issuer != root.subject:
        raise MalformedInput(f"{root.unit_name} is not a self-signed authority certificate")
    root.verify_signature(root)
    return root


def _check_unit_cert(cert: Certificate, root: Certificate) -> Usage:
    cert.verify_signature(root)
    usage = cert.usage  # WrongKeyUsage naming the unit for a mixed profile
    if usage == "root":
        raise x509.WrongKeyUsage(f"the certificate of {cert.unit_name} is an authority "
                                 "certificate, not a unit certificate", unit=cert.unit_name)
    return usage


# --- 3. the directory bundle -----------------------------------------------------------------

@dataclass(frozen=True)
class Unit:
    """One unit in a verified directory; certificates newest first (by notBefore)."""

    name: str
    signing: tuple[Certificate, ...]
    encryption: tuple[Certificate, ...]

    @property
    def signing_cert(self) -> Certificate | None:
        return self.signing[0] if self.signing else None

    @property
    def encryption_cert(self) -> Certificate | None:
        return self.encryption[0] if self.encryption else None

    @property
    def signing_key(self) -> PublicKey | None:
        return self.signing[0].public_key if self.signing else None

    @property
    def encryption_key(self) -> PublicKey | None:
        return self.encryption[0].public_key if self.encryption else None

    @property
    def not_before(self) -> datetime:
        return min(c.not_before for c in self.signing + self.encryption)

    @property
    def not_after(self) -> datetime:
        return max(c.not_after for c in self.signing + self.encryption)


@dataclass(frozen=True)
class VerifiedDirectory:
    """A verified directory bundle.  Only ``verify_bundle`` makes one."""

    version: int
    issued: datetime
    authority: Certificate
    units: tuple[Unit, ...]
    crl: CRL
    der: bytes

    @property
    def revocations(self) -> tuple[x509.RevokedEntry, ...]:
        return self.crl.revoked

    def unit(self, name: str) -> Unit:
        for u in self.units:
            if u.name == name:
                return u
        raise UnknownUnit("no unit named {unit} in the directory", unit=name,
                          suggestions="、".join(closest(name, [u.name for u in self.units])))

    def pick(self, name: str, usage: Usage, at: datetime) -> Certificate:
        """The unit's newest certificate for ``usage`` that may be used at ``at``.

        Newest = latest notBefore.  If none qualifies, the reason for the
        newest one is raised (``RevokedKey``/``ExpiredCertificate``).
        """
        unit = self.unit(name)
        certs = unit.signing if usage == "sign" else unit.encryption
        if not certs:
            raise KeyNotFound(f"the directory has no {usage} certificate for {name}", unit=name)
        first: SmsealError | None = None
        for cert in certs:
            try:
                x509.check_certificate(cert, at, self.crl, usage=usage)
                return cert
            except SmsealError as exc:
                first = first or exc
        assert first is not None
        raise first


def build_bundle(signer: Signer, root: Certificate, certificates: list[Certificate], crl: CRL,
                 *, version: int, issued: datetime) -> bytes:
    """Sign a directory bundle (the authority's side; see the module docstring)."""
    if not 1 <= version <= MAX_VERSION:
        raise InvalidArgument("version out of range")
    tbs = t.TBSDirectory()
    tbs["format"] = char.UTF8String(FORMAT)
    tbs["version"] = version
    tbs["issued"] = useful.GeneralizedTime(issued.astimezone(timezone.utc)
                                           .strftime("%Y%m%d%H%M%SZ"))
    tbs["authorityKeyId"] = univ.OctetString(root.subject_key_id or b"")
    tbs["certificates"].clear()  # an empty list is still a value
    for cert in sorted(certificates, key=lambda c: c.serial):
        tbs["certificates"].append(univ.Any(cert.der))
    tbs["crl"] = univ.Any(crl.der)
    signed = t.SignedDirectory()
    signed["tbsDirectory"] = tbs
    signed["signatureAlgorithm"]["algorithm"] = univ.ObjectIdentifier(t.OID_SM2_WITH_SM3)
    signed["signature"] = univ.BitString.fromOctetString(signer.sign(t.encode(tbs)))
    return t.encode(signed)


def verify_bundle(data: bytes, root: Certificate, *,
                  installed_version: int | None = None) -> VerifiedDirectory:
    """Verify a directory bundle against the pinned ``root``; see the module docstring.

    Nothing is installed here: the caller replaces its directory only after
    this returns, so a refused bundle leaves the installed directory as it was.
    Certificates are checked on the bundle's issue date; whether one may be
    used *now* is ``check_certificate``'s job (``VerifiedDirectory.pick``), so a bundle
    stays installable after one of its certificates expires.
    """
    signed = t.strict_decode(data, t.SignedDirectory(), "directory bundle", MAX_BUNDLE_SIZE)
    tbs = signed["tbsDirectory"]
    if str(tbs["format"]) != FORMAT:
        raise MalformedInput(f"unknown directory bundle format {str(tbs['format'])[:40]!r}")
    x509.check_signature_algorithm(signed["signatureAlgorithm"], "directory bundle")
    if root.usage != "root" or root.subject_key_id is None:
        raise InvalidArgument("the pinned certificate is not an authority certificate")
    authority = root.unit_name
    kid = bytes(tbs["authorityKeyId"])
    if kid != root.subject_key_id:
        raise UntrustedSender(f"this directory bundle was published by another authority "
                              f"(key id {kid[:8].hex()}), not by the trusted {authority} "
                              f"(key id {root.subject_key_id[:8].hex()})", unit=authority)
    try:
        root.public_key.verify(x509.signature_bytes(signed["signature"], "directory bundle"),
                               t.encode(tbs), x509.SIGNER_ID)
    except InvalidSignature:
        raise InvalidSignature(f"the directory bundle's signature does not verify against "
                               f"{authority}: it was altered or forged", unit=authority) from None

    # From here on the content is the authority's word.
    version = int(tbs["version"])
    issued = _generalized_time(tbs["issued"])
    if not 1 <= version <= MAX_VERSION:
        raise MalformedInput("directory bundle version out of range")
    if installed_version is not None and version <= installed_version:
        raise RollbackRefused(f"directory bundle version {version} (issued {issued:%Y-%m-%d}) "
                              f"is not newer than the installed version {installed_version}",
                              unit=authority)
    crl = CRL.from_der(bytes(tbs["crl"]))
    crl.verify_signature(root)
    return VerifiedDirectory(version=version, issued=issued, authority=root,
                     units=_units(tbs["certificates"], root, issued), crl=crl, der=bytes(data))


def _units(encoded: t.EncodedCertificates, root: Certificate, issued: datetime) -> tuple[Unit, ...]:
    grouped: dict[str, dict[str, list[Certificate]]] = {}
    keys: set[PublicKey] = set()
    last = 0
    for item in encoded:
        cert = Certificate.from_der(bytes(item))
        if cert.serial <= last:
            raise MalformedInput("directory bundle: certificates are not in strictly "
                                 "increasing serial order")
        last = cert.serial
        usage = _check_unit_cert(cert, root)
        if not cert.valid_at(issued):
            raise ExpiredCertificate(
                f"the {x509.USAGE_WORDS[usage]} certificate of {cert.unit_name} (serial "
                f"{x509.serial_hex(cert.serial)}) is not valid on the bundle's issue date "
                f"{issued:%Y-%m-%d} (valid {cert.not_before:%Y-%m-%d} to "
                f"{cert.not_after:%Y-%m-%d})", unit=cert.unit_name)
        if cert.public_key in keys:
            raise MalformedInput(f"directory bundle: the key of {cert.unit_name} appears in "
                                 "two certificates")
        keys.add(cert.public_key)
        grouped.setdefault(cert.unit_name, {"sign": [], "enc": []})[usage].append(cert)

    def newest_first(certs: list[Certificate]) -> tuple[Certificate, ...]:
        return tuple(sorted(certs, key=lambda c: (c.not_before, c.serial), reverse=True))

    return tuple(Unit(name, newest_first(g["sign"]), newest_first(g["enc"]))
                 for name, g in sorted(grouped.items()))


def _generalized_time(value: useful.GeneralizedTime) -> datetime:
    choice = t.Time()
    choice["generalTime"] = value
    return x509.decode_time(choice)
