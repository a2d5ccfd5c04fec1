"""ASN.1 for the bureau's PKI (RFC 5280, RFC 2986): pyasn1 types and small encodings.

The standard structures (certificates, CRLs: RFC 5280; certification
requests: RFC 2986) are pyasn1-modules' types; only the signed directory
bundle is defined here.  The second
half holds the small values ``keystore.x509`` builds them from: ``Name``
(UTF8String names such as 某市保密局), times, the SM2-with-SM3 algorithm
identifier, extension values (key usage, basic constraints, key
identifiers; read and written with the strict ``shangmi.der`` helpers) and
PEM.

``strict_decode`` is the only way these types are parsed: pyasn1's DER
decoder is lenient in places, so the decoded value is re-encoded and must
reproduce the input byte for byte.  Anything that is not the one
distinguished encoding (indefinite lengths, non-minimal integers, an
explicit DEFAULT value, unsorted SET OF, trailing bytes) is refused with
``MalformedInput``; the bytes that are signed are therefore exactly the
bytes that were parsed.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, TypeAlias, TypeVar, cast

from pyasn1.codec.der import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import base, char, constraint, namedtype, tag, univ, useful
from pyasn1_modules import rfc2986, rfc5280

from shangmi import der
from shangmi.errors import InvalidArgument, MalformedInput

OID_SM2_WITH_SM3 = "1.2.156.10197.1.501"
OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
OID_SM2_CURVE = "1.2.156.10197.1.301"

MAX_OBJECT_SIZE = 64 * 1024        # one certificate, CSR or entry: far below this
MAX_CRL_SIZE = 8 * 1024 * 1024     # ~100,000 revoked entries


def _ctx(n: int, constructed: bool = True) -> tag.Tag:
    fmt = tag.tagFormatConstructed if constructed else tag.tagFormatSimple
    return tag.Tag(tag.tagClassContext, fmt, n)


# --- the standard structures, from pyasn1-modules (RFC 5280, RFC 2986) ----------------------
# Decoded without open types: attribute values, algorithm parameters and
# extension values stay as their exact bytes (ANY / OCTET STRING) and are read
# by the strict helpers below.  Sizes are bounded by ``strict_decode``'s limit,
# checked before any parsing.

AttributeTypeAndValue: TypeAlias = rfc5280.AttributeTypeAndValue
RelativeDistinguishedName: TypeAlias = rfc5280.RelativeDistinguishedName
RDNSequence: TypeAlias = rfc5280.RDNSequence
X509Name = rfc5280.Name                  # CHOICE { rdnSequence }: encodes as the RDNSequence
AlgorithmIdentifier: TypeAlias = rfc5280.AlgorithmIdentifier
SubjectPublicKeyInfo: TypeAlias = rfc5280.SubjectPublicKeyInfo
Time: TypeAlias = rfc5280.Time
Validity: TypeAlias = rfc5280.Validity
Extension: TypeAlias = rfc5280.Extension
Extensions: TypeAlias = rfc5280.Extensions
TBSCertificate: TypeAlias = rfc5280.TBSCertificate
Certificate: TypeAlias = rfc5280.Certificate
TBSCertList: TypeAlias = rfc5280.TBSCertList
CertificateList: TypeAlias = rfc5280.CertificateList
Attribute: TypeAlias = rfc2986.Attribute
CertificationRequestInfo: TypeAlias = rfc2986.CertificationRequestInfo
CertificationRequest: TypeAlias = rfc2986.CertificationRequest


def x509_name(der_bytes: bytes, what: str) -> univ.Choice:
    """A DER name (``Name.der``) as the RFC 5280 Name type, for building structures."""
    return strict_decode(der_bytes, X509Name(), what)


# --- the signed directory bundle (see keystore.bundle) ----------------------------------

class EncodedCertificates(univ.SequenceOf):
    """Certificates kept as their exact DER (ANY), parsed one by one by keystore.x509."""

    componentType = univ.Any()
    subtypeSpec = constraint.ValueSizeConstraint(0, 100_000)


class GroupMembers(univ.SequenceOf):
    componentType = char.UTF8String()
    subtypeSpec = constraint.ValueSizeConstraint(1, 10_000)


class DirectoryGroup(univ.Sequence):
    """A group of units the bureau publishes (各乡镇 …): its name and its members, in order."""

    componentType = namedtype.NamedTypes(
        namedtype.NamedType("name", char.UTF8String()),
        namedtype.NamedType("units", GroupMembers()),
    )


class DirectoryGroups(univ.SequenceOf):
    componentType = DirectoryGroup()
    subtypeSpec = constraint.ValueSizeConstraint(1, 10_000)


class TBSDirectory(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("format", char.UTF8String()),
        namedtype.NamedType("version", univ.Integer()),
        namedtype.NamedType("issued", useful.GeneralizedTime()),
        namedtype.NamedType("authorityKeyId", univ.OctetString()),
        namedtype.NamedType("certificates", EncodedCertificates()),
        namedtype.NamedType("crl", univ.Any()),
        # groups [0] EXPLICIT: absent when the bureau publishes none (older bundles parse as before)
        namedtype.OptionalNamedType("groups", DirectoryGroups().subtype(
            explicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, 0))),
    )


class SignedDirectory(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("tbsDirectory", TBSDirectory()),
        namedtype.NamedType("signatureAlgorithm", AlgorithmIdentifier()),
        namedtype.NamedType("signature", univ.BitString()),
    )


# --- strict decoding --------------------------------------------------------------------

T = TypeVar("T", bound=base.Asn1Item)


def strict_decode(data: bytes, spec: T, what: str, limit: int = MAX_OBJECT_SIZE) -> T:
    """Decode ``data`` as ``spec`` and insist that it is the canonical DER encoding.

    Raises ``MalformedInput`` naming ``what`` for anything else, including
    input above ``limit`` bytes (checked before any parsing).
    """
    data = bytes(data)
    if len(data) > limit:
        raise MalformedInput("{what} is too large ({size} bytes, limit {limit})", what=str(what),
                             size=str(len(data)), limit=str(limit))
    if not data or data[0] != 0x30:
        raise MalformedInput("{what} is not DER (expected a SEQUENCE)", what=str(what))
    try:
        value, rest = decoder.decode(data, asn1Spec=spec)
        if rest:
            raise MalformedInput("{what} has trailing bytes", what=str(what))
        again = encoder.encode(value)
    except MalformedInput:
        raise
    except (PyAsn1Error, ValueError, TypeError, RecursionError, OverflowError):
        raise MalformedInput("{what} is not valid DER", what=str(what)) from None
    if again != data:
        raise MalformedInput("{what} is not in canonical DER form", what=str(what))
    return cast(T, value)


def encode(value: univ.Asn1Item) -> bytes:
    """DER-encode a pyasn1 value."""
    return bytes(encoder.encode(value))


# === small values: names, times, algorithms, extensions, PEM ===========================

OID_KEY_USAGE = "2.5.29.15"
OID_EXT_KEY_USAGE = "2.5.29.37"
#: smseal's key purpose for a leader's (签发人's) approval key, in extendedKeyUsage.  A UUID OID
#: (ITU-T X.667 / RFC 4122 §6: arc 2.25 and the UUID as one integer), which needs no registration.
#: A certificate carrying it is a leader certificate and never a unit's signing certificate.
OID_KP_LEADER_APPROVAL = "2.25.271822998631317805378195846877931385542"
OID_BASIC_CONSTRAINTS = "2.5.29.19"
OID_SUBJECT_KEY_ID = "2.5.29.14"
OID_AUTHORITY_KEY_ID = "2.5.29.35"
OID_CRL_NUMBER = "2.5.29.20"
OID_REASON_CODE = "2.5.29.21"
OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14"

KEY_USAGE_BITS = ("digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
                  "keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly")

_ATTR_OIDS = {"C": "2.5.4.6", "ST": "2.5.4.8", "L": "2.5.4.7", "O": "2.5.4.10",
              "OU": "2.5.4.11", "title": "2.5.4.12", "CN": "2.5.4.3"}
_ATTR_NAMES = {v: k for k, v in _ATTR_OIDS.items()}
_STRING_TAGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x1E: "utf-16-be"}
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


# --- names ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Name:
    """A distinguished name: ``attributes`` in encoding order as (type, value).

    Types are "C", "ST", "L", "O", "OU", "title", "CN" or a dotted OID.  Two names are
    equal when their DER encodings are equal.
    """

    attributes: tuple[tuple[str, str], ...]
    der: bytes = field(repr=False)

    @classmethod
    def build(cls, common_name: str, *, organization: str | None = None,
              unit: str | None = None, country: str | None = None,
              province: str | None = None, locality: str | None = None,
              title: str | None = None) -> "Name":
        """C, ST, L, O, OU, title, CN in that order; UTF8String except C (PrintableString)."""
        pairs = [("C", country), ("ST", province), ("L", locality), ("O", organization),
                 ("OU", unit), ("title", title), ("CN", common_name)]
        rdns = RDNSequence()
        for i, (kind, value) in enumerate((k, v) for k, v in pairs if v is not None):
            _check_name_value(kind, value)
            atv = AttributeTypeAndValue()
            atv["type"] = univ.ObjectIdentifier(_ATTR_OIDS[kind])
            string = (der.tlv(0x13, value.encode("ascii")) if kind == "C"
                      else encode(char.UTF8String(value)))
            atv["value"] = univ.Any(string)
            rdn = RelativeDistinguishedName()
            rdn.append(atv)
            rdns.append(rdn)
        return cls.from_asn1(rdns)

    @classmethod
    def from_asn1(cls, rdns: univ.Choice | univ.SequenceOf) -> "Name":
        """From an RFC 5280 Name (CHOICE) or its RDNSequence."""
        if isinstance(rdns, univ.Choice):
            rdns = rdns.getComponent()
        attrs = []
        for rdn in rdns:
            for atv in rdn:
                oid = str(atv["type"])
                attrs.append((_ATTR_NAMES.get(oid, oid), _decode_string(bytes(atv["value"]))))
        return cls(tuple(attrs), encode(rdns))

    def get(self, kind: str) -> str | None:
        """The value of the only attribute of type ``kind``; None if absent."""
        values = [v for k, v in self.attributes if k == kind]
        if len(values) > 1:
            raise MalformedInput("the name has {n} {kind} attributes", n=str(len(values)), kind=str(kind))
        return values[0] if values else None

    @property
    def common_name(self) -> str:
        cn = self.get("CN")
        if cn is None:
            raise MalformedInput("the name has no common name (CN)")
        return cn

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Name) and other.der == self.der

    def __hash__(self) -> int:
        return hash(self.der)

    def __str__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.attributes)


def _check_name_value(kind: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 64 or _BAD_CHARS.search(value):
        raise InvalidArgument("{kind} must be 1 to 64 printable characters", kind=str(kind))
    if kind == "C" and not re.fullmatch(r"[A-Z]{2}", value):
        raise InvalidArgument("C must be a two-letter country code such as CN")


def _decode_string(encoded: bytes) -> str:
    tag = encoded[:1][0] if encoded else -1
    codec = _STRING_TAGS.get(tag)
    if codec is None:
        raise MalformedInput("a name attribute is not a UTF8, Printable, IA5 or BMP string")
    try:
        value = der.Reader(encoded).read(tag).decode(codec)
    except UnicodeDecodeError:
        raise MalformedInput("a name attribute is not valid text") from None
    if _BAD_CHARS.search(value):
        raise MalformedInput("a name attribute holds control characters")
    return value

# --- small encodings -------------------------------------------------------------------

def utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise InvalidArgument("datetimes must be timezone-aware")
    return dt.astimezone(timezone.utc).replace(microsecond=0)


def encode_time(dt: datetime) -> Time:
    """UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)."""
    dt = utc(dt)
    out = Time()
    if 1950 <= dt.year < 2050:
        out["utcTime"] = dt.strftime("%y%m%d%H%M%SZ")
    else:
        out["generalTime"] = dt.strftime("%Y%m%d%H%M%SZ")
    return out


def decode_time(value: Time) -> datetime:
    """Only the RFC 5280 forms: seconds present, 'Z', no fractions."""
    kind = value.getName()
    text = str(value.getComponent())
    if kind == "utcTime" and re.fullmatch(r"\d{12}Z", text):
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    elif not (kind == "generalTime" and re.fullmatch(r"\d{14}Z", text)):
        raise MalformedInput("time {text} is not in the RFC 5280 form", text=repr(text))
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise MalformedInput("time {text} is not a valid date", text=repr(text)) from None


def sm2_algorithm() -> AlgorithmIdentifier:
    alg = AlgorithmIdentifier()
    alg["algorithm"] = univ.ObjectIdentifier(OID_SM2_WITH_SM3)
    return alg


def check_signature_algorithm(alg: AlgorithmIdentifier, what: str) -> None:
    if str(alg["algorithm"]) != OID_SM2_WITH_SM3:
        raise MalformedInput("{what} is not signed SM2-with-SM3 (algorithm {alg})", what=str(what),
                             alg=str(alg['algorithm']))
    if alg["parameters"].isValue:
        raise MalformedInput("{what}: SM2-with-SM3 takes no parameters", what=str(what))


def signature_bytes(bits: univ.BitString, what: str) -> bytes:
    if len(bits) % 8:
        raise MalformedInput("{what}: the signature BIT STRING has unused bits", what=str(what))
    return bytes(bits.asOctets())




# --- extensions ------------------------------------------------------------------------

def only_element(value: bytes, tag: int) -> bytes:
    """The content of ``value``, which must be exactly one element with ``tag``."""
    rd = der.Reader(value)
    content = rd.read(tag)
    rd.done()
    return content


def key_usage_value(usage: frozenset[str]) -> bytes:
    bits = [KEY_USAGE_BITS.index(u) for u in usage]
    n = max(bits) + 1
    value = sum(1 << (n - 1 - b) for b in bits)
    nbytes = (n + 7) // 8
    unused = nbytes * 8 - n
    return der.tlv(der.BIT_STRING, bytes([unused]) + (value << unused).to_bytes(nbytes, "big"))


def ext_key_usage_value(purposes: Iterable[str]) -> bytes:
    """extendedKeyUsage: ``SEQUENCE OF KeyPurposeId`` (OIDs in sorted order)."""
    return der.seq(*(der.oid(p) for p in sorted(purposes)))


def parse_ext_key_usage(value: bytes) -> frozenset[str]:
    """The key purposes (dotted OIDs) of an extendedKeyUsage value; at least one."""
    rd = der.Reader(value)
    inner = der.Reader(rd.read(der.SEQUENCE))
    rd.done()
    out = set()
    while not inner.at_end():
        out.add(der.decode_oid(inner.read(der.OID)))
    if not out:
        raise MalformedInput("extendedKeyUsage lists no purpose")
    return frozenset(out)


def parse_key_usage(value: bytes) -> frozenset[str]:
    content = only_element(value, der.BIT_STRING)
    if not content or content[0] > 7 or len(content) > 3 or (len(content) == 1 and content[0]):
        raise MalformedInput("malformed keyUsage")
    unused, body = content[0], content[1:]
    if not body or body[-1] & ((1 << unused) - 1) or not body[-1] >> unused & 1:
        raise MalformedInput("keyUsage is not in DER form (trailing zero bits)")
    n = len(body) * 8 - unused
    bits = int.from_bytes(body, "big") >> unused
    names = {KEY_USAGE_BITS[i] for i in range(min(n, len(KEY_USAGE_BITS)))
             if bits >> (n - 1 - i) & 1}
    if n > len(KEY_USAGE_BITS) and bits & ((1 << (n - len(KEY_USAGE_BITS))) - 1):
        raise MalformedInput("keyUsage sets unknown bits")
    return frozenset(names)


def basic_constraints_value(ca: bool, path_len: int | None) -> bytes:
    items = [der.tlv(0x01, b"\xff")] if ca else []
    if path_len is not None:
        items.append(der.integer(path_len))
    return der.seq(*items)


def _sole_sequence(value: bytes) -> der.Reader:
    outer = der.Reader(value)
    inner = outer.sub()
    outer.done()
    return inner


def parse_basic_constraints(value: bytes) -> tuple[bool, int | None]:
    rd = _sole_sequence(value)
    ca, path_len = False, None
    if not rd.at_end() and rd.peek_tag() == 0x01:
        if rd.read(0x01) != b"\xff":
            raise MalformedInput("basicConstraints cA must be TRUE when present (DER)")
        ca = True
    if not rd.at_end():
        path_len = rd.integer()
        if path_len < 0 or not ca:
            raise MalformedInput("basicConstraints pathLen without cA")
    rd.done()
    return ca, path_len


def aki_value(key_id: bytes) -> bytes:
    return der.seq(der.tlv(0x80, key_id))


def parse_aki(value: bytes) -> bytes | None:
    rd = _sole_sequence(value)
    key_id = rd.read(0x80) if not rd.at_end() and rd.peek_tag() == 0x80 else None
    for field_tag in (0xA1, 0x82):  # authorityCertIssuer, authorityCertSerialNumber: ignored
        if not rd.at_end() and rd.peek_tag() == field_tag:
            rd.read(field_tag)
    rd.done()
    return key_id


def extension(oid: str, value: bytes, critical: bool = False) -> Extension:
    ext = Extension()
    ext["extnID"] = univ.ObjectIdentifier(oid)
    if critical:
        ext["critical"] = True
    ext["extnValue"] = univ.OctetString(value)
    return ext


def extensions_of(items: Iterable[Extension], spec: Extensions | None = None) -> Extensions:
    exts = Extensions() if spec is None else spec.clone()
    for e in items:
        exts.append(e)
    return exts


def read_extensions(exts: Extensions, known: frozenset[str], what: str) -> dict[str, bytes]:
    """Map OID → extnValue; refuse duplicates and unknown critical extensions."""
    out: dict[str, bytes] = {}
    if not exts.isValue:
        return out
    for ext in exts:
        oid = str(ext["extnID"])
        if oid in out:
            raise MalformedInput("{what}: extension {oid} appears twice", what=str(what), oid=str(oid))
        if bool(ext["critical"]) and oid not in known:
            raise MalformedInput("{what}: unknown critical extension {oid}", what=str(what), oid=str(oid))
        out[oid] = bytes(ext["extnValue"])
    return out

# --- PEM -----------------------------------------------------------------------------------

_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.S)


def pem_encode(label: str, body: bytes) -> bytes:
    b64 = base64.b64encode(body)
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return (f"-----BEGIN {label}-----\n".encode() + b"\n".join(lines)
            + f"\n-----END {label}-----\n".encode())


def pem_blocks(data: bytes | str, label: str, *, limit: int = 1 << 20) -> list[bytes]:
    """The DER bodies of every PEM block labelled ``label``, in order.

    Text outside blocks (comments) is ignored; input above ``limit`` bytes
    and bodies that are not strict base64 are refused with ``MalformedInput``.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > limit:
        raise MalformedInput("the PEM input is too large ({size} bytes)", size=str(len(data)))
    out = []
    for m in _PEM_RE.finditer(bytes(data)):
        if m.group(1).decode() != label:
            continue
        try:
            out.append(base64.b64decode(b"".join(m.group(2).split()), validate=True))
        except binascii.Error:
            raise MalformedInput("a {label} PEM block is not valid base64", label=str(label)) from None
    return out


def pem_decode(data: bytes | str, label: str, *, limit: int = 1 << 20) -> bytes:
    """The one PEM block labelled ``label``; DER input is passed through."""
    if isinstance(data, (bytes, bytearray)) and data[:1] == b"\x30":
        return bytes(data)
    blocks = pem_blocks(data, label, limit=limit)
    if len(blocks) != 1:
        raise MalformedInput("expected one {label} PEM block, found {n}", label=str(label), n=str(len(blocks)))
    return blocks[0]
