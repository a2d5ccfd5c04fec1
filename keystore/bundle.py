"""The files that travel between the bureau (保密局) and the offices.

1. Unit request (``smseal keys request -o unit.csr``): PEM text holding exactly
   two ``CERTIFICATE REQUEST`` blocks, one asking for a signing key
   (keyUsage digitalSignature, nonRepudiation) and one for an encryption key
   (keyEncipherment, dataEncipherment, keyAgreement), same subject, different
   keys, each self-signed (proof of possession).  ``openssl req -verify
   -vfyopt distid:1234567812345678`` accepts each block.
2. Unit certificates (``smseal authority issue ... -o unit.certs``): PEM text
   with ``CERTIFICATE`` blocks: signing, encryption, the authority and any
   CA between it and the root.  Read in any order (``cat`` of an OpenSSL CA's
   files works); an escrowed encryption key travels beside them as an
   ``SM2 ENVELOPED KEY`` block (``keystore.escrow``).
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
- The signer is the pinned certificate, or a sub-CA listed in the bundle that
  chains to it (``keystore.chain``); unit certificates must be issued by the
  signer, which also signs the CRL.  CA certificates in the bundle serve only
  to build that chain (the authority lists its whole chain, so that offices
  pinning the root and offices pinning the sub-CA read the same bundle).
- Every certificate is re-verified against the signer, must be a unit
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
from typing import Any

from pyasn1.type import char, univ, useful

from shangmi.errors import (ExpiredCertificate, InvalidArgument, InvalidSignature, KeyNotFound,
                            MalformedInput, RollbackRefused, SmsealError, UnknownUnit, UntrustedSender)
from shangmi.sm2 import PublicKey

from . import asn1_types as t
from . import chain as chain_mod
from . import x509
from .names import comparable_name
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
        raise MalformedInput("a unit request holds two certification requests (one for signing, one for encryption),"
                             " this one holds {n}",
                             n=str(len(blocks)))
    reqs = [CertificationRequest.from_der(b) for b in blocks]
    by_usage: dict[str, CertificationRequest] = {}
    for req in reqs:
        req.verify()
        by_usage[req.usage] = req
    if set(by_usage) != {"sign", "enc"}:
        raise MalformedInput("a unit request needs one signing and one encryption request")
    sign, enc = by_usage["sign"], by_usage["enc"]
    if sign.subject != enc.subject:
        raise MalformedInput("the two requests name different units ({subject} and {subject2})",
                             subject=str(sign.subject), subject2=str(enc.subject))
    sign.subject.common_name  # noqa: B018 - refuses a subject without CN
    if sign.public_key == enc.public_key:
        raise MalformedInput("the signing and the encryption request carry the same key")
    return UnitRequest(sign, enc)


# --- 2. unit certificates ------------------------------------------------------------------

@dataclass(frozen=True)
class UnitCertificates:
    """What ``keys install`` receives: verified signing and encryption certificates.

    ``root`` is the trust anchor the certificates chain to; ``chain`` the CA
    certificates from their issuer up to it.
    """

    signing: Certificate
    encryption: Certificate
    root: Certificate
    chain: tuple[Certificate, ...] = ()
    #: older encryption certificates of the unit (a recovery file re-delivers their keys)
    earlier_encryption: tuple[Certificate, ...] = ()

    @property
    def name(self) -> str:
        return self.signing.unit_name


def encode_unit_certificates(signing: Certificate, encryption: Certificate,
                             root: Certificate, chain: tuple[Certificate, ...] = ()) -> bytes:
    """Signing, encryption, the issuing ``root`` and then its own issuers (``chain``)."""
    cas = [root] + [c for c in chain if not chain_mod.same_authority(c, root)]
    return b"".join(c.to_pem() for c in (signing, encryption, *cas))


def parse_unit_certificates(data: bytes | str, *, pinned_root: Certificate | None = None,
                            now: datetime | None = None) -> UnitCertificates:
    """Parse and verify a certificates file (certificates in any order).

    It holds one signing and one encryption unit certificate and CA
    certificates.  With ``pinned_root`` both must chain to it
    (``UntrustedSender`` otherwise); without, to the one self-signed root the
    file holds.  They must carry the right profiles, name the same unit and
    be valid ``now``, and so must the CAs between.  Matching the keys against
    the office's own keys is left to the caller (it holds them).
    """
    certs = chain_mod.read_certificates(data, limit=_TEXT_LIMIT)
    units = [c for c in certs if not c.is_ca]
    cas = [c for c in certs if c.is_ca]
    by_usage: dict[str, list[Certificate]] = {"sign": [], "enc": []}
    for cert in units:
        by_usage[_unit_usage(cert)].append(cert)
    if len(by_usage["sign"]) != 1 or not by_usage["enc"]:
        raise MalformedInput("a certificates file holds one signing and one encryption certificate of the unit (and "
                             "its authorities); this one holds {signing} signing and {encryption} encryption "
                             "certificates",
                             signing=str(len(by_usage['sign'])), encryption=str(len(by_usage['enc'])))
    # the newest encryption certificate is the current one; older ones come with a recovery
    enc, *earlier = sorted(by_usage["enc"], key=lambda c: (c.not_before, c.serial), reverse=True)
    sign = by_usage["sign"][0]
    if pinned_root is not None:
        anchor = pinned_root
    else:
        roots = [c for c in cas if c.issuer == c.subject]
        if len(roots) != 1:
            raise MalformedInput("the certificates file does not hold exactly one root "
                                 "certificate, and no authority is pinned")
        anchor = chain_mod.check_anchor(roots[0])
    at = now or x509.utcnow()
    path: tuple[Certificate, ...] = ()
    usage: x509.Usage
    for cert, usage in ((sign, "sign"), (enc, "enc")):
        try:
            path = chain_mod.build_chain(cert, anchor, cas, at)
        except UntrustedSender:
            top = chain_mod.order_chain(cert, cas)[-1]
            raise UntrustedSender("these certificates were issued by {issuer}, not by the trusted authority {unit} "
                                  "or a CA under it",
                                  issuer=str(top.issuer.get('CN')), unit=anchor.unit_name) from None
        x509.check_certificate(cert, at, None, usage=usage)
    if sign.subject != enc.subject:
        raise MalformedInput("the signing and the encryption certificate name different units")
    if sign.issuer != enc.issuer:
        raise MalformedInput("the signing and the encryption certificate have different issuers")
    for old in earlier:  # chain only: they may have expired or been superseded since
        chain_mod.build_chain(old, anchor, cas)
        if old.unit_name != sign.unit_name:
            raise MalformedInput("the file holds an encryption certificate of another unit")
    return UnitCertificates(sign, enc, anchor, path, tuple(earlier))


def load_root(data: bytes | str) -> Certificate:
    """Parse an authority certificate to pin (``directory trust``): a root or a sub-CA.

    See ``keystore.chain.load_anchor``.  The caller must still confirm its
    fingerprint out of band (e.g. by phone).
    """
    return chain_mod.load_anchor(data)


def _unit_usage(cert: Certificate) -> Usage:
    usage = cert.usage  # WrongKeyUsage naming the unit for a mixed profile
    if usage == "root":
        raise x509.WrongKeyUsage("the certificate of {unit} is an authority certificate, not a unit certificate",
                                 unit=cert.unit_name)
    if usage == "leader":       # a leader's key is never a unit's signing key
        raise x509.WrongKeyUsage("the certificate of {person} is a leader's (签发人) certificate of {unit}, not a unit "
                                 "certificate",
                                 person=str(cert.person), unit=cert.unit_name)
    return usage


def _check_unit_cert(cert: Certificate, root: Certificate) -> Usage:
    cert.verify_signature(root)
    return _unit_usage(cert)


# --- 3. the directory bundle -----------------------------------------------------------------

@dataclass(frozen=True)
class Unit:
    """One unit in a verified directory; certificates newest first (by notBefore, then serial).

    There are no unit-wide dates: each key is valid as its own certificate says."""

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



@dataclass(frozen=True)
class VerifiedDirectory:
    """A verified directory bundle.  Only ``verify_bundle`` makes one."""

    version: int
    issued: datetime
    authority: Certificate
    units: tuple[Unit, ...]
    crl: CRL
    der: bytes
    #: the CA certificates from ``authority`` up to the pinned one, both included
    chain: tuple[Certificate, ...] = ()
    #: leaders' (签发人) certificates the bureau published (``x509.Certificate.usage`` "leader")
    leaders: tuple[Certificate, ...] = ()
    #: groups of units the bureau published (抄送 groups such as 各乡镇): name -> members, in order
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def revocations(self) -> tuple[x509.RevokedEntry, ...]:
        return self.crl.revoked

    @property
    def revocations_issuer(self) -> Name:
        """The issuer of the bundle's CRL (its entries are serials of that issuer)."""
        return self.crl.issuer

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
            raise KeyNotFound("the directory has no {usage} certificate for {unit}", usage=str(usage), unit=name)
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
                 *, version: int, issued: datetime,
                 groups: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> bytes:
    """Sign a directory bundle (the authority's side; see the module docstring).

    ``groups`` ((name, (unit, ...)), ...) are published with it, signed like the rest; each
    member must be a unit the bundle certifies."""
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
    if groups:
        items = tbs["groups"]
        for name, units in sorted(groups):
            g = t.DirectoryGroup()
            g["name"] = char.UTF8String(name)
            for u in units:
                g["units"].append(char.UTF8String(u))
            items.append(g)
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
        raise MalformedInput("unknown directory bundle format {found}", found=repr(str(tbs['format'])[:40]))
    x509.check_signature_algorithm(signed["signatureAlgorithm"], "directory bundle")
    if root.usage != "root" or root.subject_key_id is None:
        raise InvalidArgument("the pinned certificate is not an authority certificate")
    authority = root.unit_name
    kid = bytes(tbs["authorityKeyId"])
    issued = _generalized_time(tbs["issued"])
    # Parsed, not trusted: a sub-CA listed here signs only once it chains to the root.
    certs = [Certificate.from_der(bytes(item)) for item in tbs["certificates"]]
    cas = [c for c in certs if c.is_ca]
    signer = root
    path: tuple[Certificate, ...] = (root,)
    if kid != root.subject_key_id:
        named = [c for c in cas if c.subject_key_id == kid]
        if not named:
            raise UntrustedSender("this directory bundle was published by another authority (key id {kid}), not by "
                                  "the trusted {unit} (key id {subject_key_id})",
                                  kid=kid[:8].hex(), subject_key_id=root.subject_key_id[:8].hex(), unit=authority)
        signer = named[0]
        path = (signer, *chain_mod.build_chain(signer, root, cas, issued))
        authority = signer.unit_name
    try:
        signer.public_key.verify(x509.signature_bytes(signed["signature"], "directory bundle"),
                               t.encode(tbs), x509.SIGNER_ID)
    except InvalidSignature:
        raise InvalidSignature("the directory bundle's signature does not verify against {unit}: it was altered or "
                               "forged",
                               unit=authority) from None

    # From here on the content is the authority's word.
    version = int(tbs["version"])
    if not 1 <= version <= MAX_VERSION:
        raise MalformedInput("directory bundle version out of range")
    if installed_version is not None and version <= installed_version:
        raise RollbackRefused("directory bundle version {version} (issued {issued}) is not newer than the installed "
                              "version {installed_version}",
                              version=str(version), issued=f'{issued:%Y-%m-%d}',
                              installed_version=str(installed_version), unit=authority)
    crl = CRL.from_der(bytes(tbs["crl"]))
    crl.verify_signature(signer)
    leaders = tuple(c for c in certs if not c.is_ca and c.is_leader)
    units = _units([c for c in certs if not c.is_leader], signer, issued)
    groups = _groups(tbs, {u.name for u in units})
    for cert in leaders:
        cert.verify_signature(signer)
        cert.usage  # noqa: B018 - WrongKeyUsage for a leader purpose on another kind of key
    return VerifiedDirectory(version=version, issued=issued, authority=signer,
                             units=units, crl=crl, der=bytes(data), chain=path, leaders=leaders,
                             groups=groups)


def _groups(tbs: Any, certified: set[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The bundle's groups: names and members normalised, no name twice, no member twice, and
    every member a unit this bundle certifies (``MalformedInput`` otherwise)."""
    from .names import normalize_name

    if not tbs["groups"].isValue:
        return ()
    out: dict[str, tuple[str, ...]] = {}
    for g in tbs["groups"]:
        try:
            name = normalize_name(str(g["name"]))
            members = tuple(normalize_name(str(u)) for u in g["units"])
        except ValueError:
            raise MalformedInput("directory bundle: a group or member name is not a unit name") from None
        if name in out or len(set(members)) != len(members):
            raise MalformedInput("directory bundle: group {name} is listed twice or names a unit twice",
                                 name=str(name))
        stray = [u for u in members if u not in certified]
        if stray:
            raise MalformedInput("directory bundle: group {name} names {stray}, which it does not certify",
                                 name=str(name), stray=str(stray[0]))
        out[name] = members
    return tuple(out.items())


def _units(certs: list[Certificate], root: Certificate, issued: datetime) -> tuple[Unit, ...]:
    """Group the unit certificates (issued by ``root``, the bundle's signer) by unit;
    CA certificates (the chain to the pinned authority) are skipped."""
    grouped: dict[str, dict[str, list[Certificate]]] = {}
    keys: set[PublicKey] = set()
    last = 0
    for cert in certs:
        if cert.serial <= last:
            raise MalformedInput("directory bundle: certificates are not in strictly "
                                 "increasing serial order")
        last = cert.serial
        if cert.is_ca:
            continue
        usage = _check_unit_cert(cert, root)
        if not cert.valid_at(issued):
            raise ExpiredCertificate("the {usage_words} certificate of {unit} (serial {serial_hex}) is not valid on "
                                     "the bundle's issue date {issued} (valid {not_before} to {not_after})",
                                     usage_words=str(x509.USAGE_WORDS[usage]),
                                     serial_hex=str(x509.serial_hex(cert.serial)), issued=f'{issued:%Y-%m-%d}',
                                     not_before=f'{cert.not_before:%Y-%m-%d}', not_after=f'{cert.not_after:%Y-%m-%d}',
                                     unit=cert.unit_name)
        if cert.public_key in keys:
            raise MalformedInput("directory bundle: the key of {unit_name} appears in two certificates",
                                 unit_name=str(cert.unit_name))
        keys.add(cert.public_key)
        grouped.setdefault(cert.unit_name, {"sign": [], "enc": []})[usage].append(cert)

    seen: dict[str, str] = {}
    for name in grouped:
        same = seen.setdefault(comparable_name(name), name)
        if same != name:
            raise MalformedInput("directory bundle: the units {first} and {second} are one name for offices "
                                 "(equal after NFKC); it is refused, as one of them could pose as the other",
                                 first=same, second=name)

    def newest_first(certs: list[Certificate]) -> tuple[Certificate, ...]:
        return tuple(sorted(certs, key=lambda c: (c.not_before, c.serial), reverse=True))

    return tuple(Unit(name, newest_first(g["sign"]), newest_first(g["enc"]))
                 for name, g in sorted(grouped.items()))


def _generalized_time(value: useful.GeneralizedTime) -> datetime:
    choice = t.Time()
    choice["generalTime"] = value
    return x509.decode_time(choice)
