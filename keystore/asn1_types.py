"""ASN.1 structures for the bureau's PKI (RFC 5280, RFC 2986), as pyasn1 types.

Only the subset smseal writes and reads: certificates, certification
requests, CRLs and the signed directory bundle.  Extension *values* (key
usage, basic constraints, key identifiers, CRL number, reason code) are
small and are read and written with the strict ``shangmi.der`` helpers in
``keystore.x509`` instead.

``strict_decode`` is the only way these types are parsed: pyasn1's DER
decoder is lenient in places, so the decoded value is re-encoded and must
reproduce the input byte for byte.  Anything that is not the one
distinguished encoding (indefinite lengths, non-minimal integers, an
explicit DEFAULT value, unsorted SET OF, trailing bytes) is refused with
``MalformedInput``; the bytes that are signed are therefore exactly the
bytes that were parsed.
"""

from __future__ import annotations

from typing import TypeVar

from pyasn1.codec.der import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import char, constraint, namedtype, tag, univ, useful

from shangmi.errors import MalformedInput

OID_SM2_WITH_SM3 = "1.2.156.10197.1.501"
OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
OID_SM2_CURVE = "1.2.156.10197.1.301"

MAX_OBJECT_SIZE = 64 * 1024        # one certificate, CSR or entry: far below this
MAX_CRL_SIZE = 8 * 1024 * 1024     # ~100,000 revoked entries
_MAX = 1 << 20                     # bound on SEQUENCE OF sizes


def _ctx(n: int, constructed: bool = True) -> tag.Tag:
    fmt = tag.tagFormatConstructed if constructed else tag.tagFormatSimple
    return tag.Tag(tag.tagClassContext, fmt, n)


class AttributeTypeAndValue(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("type", univ.ObjectIdentifier()),
        namedtype.NamedType("value", univ.Any()),
    )


class RelativeDistinguishedName(univ.SetOf):
    componentType = AttributeTypeAndValue()
    subtypeSpec = constraint.ValueSizeConstraint(1, 16)


class Name(univ.SequenceOf):
    """RFC 5280 Name; its only CHOICE alternative, RDNSequence, encodes identically."""

    componentType = RelativeDistinguishedName()
    subtypeSpec = constraint.ValueSizeConstraint(0, 32)


class AlgorithmIdentifier(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("algorithm", univ.ObjectIdentifier()),
        namedtype.OptionalNamedType("parameters", univ.Any()),
    )


class SubjectPublicKeyInfo(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("algorithm", AlgorithmIdentifier()),
        namedtype.NamedType("subjectPublicKey", univ.BitString()),
    )


class Time(univ.Choice):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("utcTime", useful.UTCTime()),
        namedtype.NamedType("generalTime", useful.GeneralizedTime()),
    )


class Validity(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("notBefore", Time()),
        namedtype.NamedType("notAfter", Time()),
    )


class Extension(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("extnID", univ.ObjectIdentifier()),
        namedtype.DefaultedNamedType("critical", univ.Boolean(False)),
        namedtype.NamedType("extnValue", univ.OctetString()),
    )


class Extensions(univ.SequenceOf):
    componentType = Extension()
    subtypeSpec = constraint.ValueSizeConstraint(1, 64)


class TBSCertificate(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.DefaultedNamedType(
            "version", univ.Integer(0).subtype(explicitTag=_ctx(0))),
        namedtype.NamedType("serialNumber", univ.Integer()),
        namedtype.NamedType("signature", AlgorithmIdentifier()),
        namedtype.NamedType("issuer", Name()),
        namedtype.NamedType("validity", Validity()),
        namedtype.NamedType("subject", Name()),
        namedtype.NamedType("subjectPublicKeyInfo", SubjectPublicKeyInfo()),
        namedtype.OptionalNamedType(
            "issuerUniqueID", univ.BitString().subtype(implicitTag=_ctx(1, False))),
        namedtype.OptionalNamedType(
            "subjectUniqueID", univ.BitString().subtype(implicitTag=_ctx(2, False))),
        namedtype.OptionalNamedType(
            "extensions", Extensions().subtype(explicitTag=_ctx(3))),
    )


class Certificate(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("tbsCertificate", TBSCertificate()),
        namedtype.NamedType("signatureAlgorithm", AlgorithmIdentifier()),
        namedtype.NamedType("signature", univ.BitString()),
    )


# --- PKCS#10 (RFC 2986) -----------------------------------------------------------------

class AttributeValues(univ.SetOf):
    componentType = univ.Any()
    subtypeSpec = constraint.ValueSizeConstraint(1, 16)


class Attribute(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("type", univ.ObjectIdentifier()),
        namedtype.NamedType("values", AttributeValues()),
    )


class Attributes(univ.SetOf):
    componentType = Attribute()
    tagSet = univ.SetOf.tagSet.tagImplicitly(_ctx(0))
    subtypeSpec = constraint.ValueSizeConstraint(0, 16)


class CertificationRequestInfo(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("version", univ.Integer()),
        namedtype.NamedType("subject", Name()),
        namedtype.NamedType("subjectPKInfo", SubjectPublicKeyInfo()),
        namedtype.NamedType("attributes", Attributes()),
    )


class CertificationRequest(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("certificationRequestInfo", CertificationRequestInfo()),
        namedtype.NamedType("signatureAlgorithm", AlgorithmIdentifier()),
        namedtype.NamedType("signature", univ.BitString()),
    )


# --- CRLs -------------------------------------------------------------------------------

class RevokedCertificate(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("userCertificate", univ.Integer()),
        namedtype.NamedType("revocationDate", Time()),
        namedtype.OptionalNamedType("crlEntryExtensions", Extensions()),
    )


class RevokedCertificates(univ.SequenceOf):
    componentType = RevokedCertificate()
    subtypeSpec = constraint.ValueSizeConstraint(1, _MAX)


class TBSCertList(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("version", univ.Integer()),
        namedtype.NamedType("signature", AlgorithmIdentifier()),
        namedtype.NamedType("issuer", Name()),
        namedtype.NamedType("thisUpdate", Time()),
        namedtype.OptionalNamedType("nextUpdate", Time()),
        namedtype.OptionalNamedType("revokedCertificates", RevokedCertificates()),
        namedtype.OptionalNamedType(
            "crlExtensions", Extensions().subtype(explicitTag=_ctx(0))),
    )


class CertificateList(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("tbsCertList", TBSCertList()),
        namedtype.NamedType("signatureAlgorithm", AlgorithmIdentifier()),
        namedtype.NamedType("signatureValue", univ.BitString()),
    )


# --- the signed directory bundle (see keystore.bundle) ----------------------------------

class EncodedCertificates(univ.SequenceOf):
    """Certificates kept as their exact DER (ANY), parsed one by one by keystore.x509."""

    componentType = univ.Any()
    subtypeSpec = constraint.ValueSizeConstraint(0, 100_000)


class TBSDirectory(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("format", char.UTF8String()),
        namedtype.NamedType("version", univ.Integer()),
        namedtype.NamedType("issued", useful.GeneralizedTime()),
        namedtype.NamedType("authorityKeyId", univ.OctetString()),
        namedtype.NamedType("certificates", EncodedCertificates()),
        namedtype.NamedType("crl", univ.Any()),
    )


class SignedDirectory(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("tbsDirectory", TBSDirectory()),
        namedtype.NamedType("signatureAlgorithm", AlgorithmIdentifier()),
        namedtype.NamedType("signature", univ.BitString()),
    )


# --- strict decoding --------------------------------------------------------------------

T = TypeVar("T", bound=univ.Sequence)


def strict_decode(data: bytes, spec: T, what: str, limit: int = MAX_OBJECT_SIZE) -> T:
    """Decode ``data`` as ``spec`` and insist that it is the canonical DER encoding.

    Raises ``MalformedInput`` naming ``what`` for anything else, including
    input above ``limit`` bytes (checked before any parsing).
    """
    data = bytes(data)
    if len(data) > limit:
        raise MalformedInput(f"{what} is too large ({len(data)} bytes, limit {limit})")
    if not data or data[0] != 0x30:
        raise MalformedInput(f"{what} is not DER (expected a SEQUENCE)")
    try:
        value, rest = decoder.decode(data, asn1Spec=spec)
        if rest:
            raise MalformedInput(f"{what} has trailing bytes")
        again = encoder.encode(value)
    except MalformedInput:
        raise
    except (PyAsn1Error, ValueError, TypeError, RecursionError, OverflowError):
        raise MalformedInput(f"{what} is not valid DER") from None
    if again != data:
        raise MalformedInput(f"{what} is not in canonical DER form")
    return value


def encode(value: univ.Asn1Item) -> bytes:
    """DER-encode a pyasn1 value."""
    return encoder.encode(value)
