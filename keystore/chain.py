"""Certificate chains: from a unit certificate through sub-CAs to a pinned authority.

An office pins one CA certificate (``directory trust``): the bureau's
self-signed root, or a sub-CA of an existing CA when that is what the office
was told to trust.  Pinning is the trust decision (its fingerprint is
confirmed out of band), so a pinned sub-CA's own issuer is never consulted.

Certificates arrive in any order (``cat`` of PEM files, an OpenSSL chain
file, a ``.certs`` file): ``build_chain`` finds each issuer among the CA
certificates it is given by name, tries those whose key identifier matches
first (``x509.key_id_matches``: SHA-1, SM3, the issuer's SKI) and lets the
signature decide.  Every CA on the way must be a CA (basicConstraints
CA:TRUE, keyCertSign, or the keyUsage OpenSSL's default v3_ca leaves out),
must respect its pathLenConstraint and be valid at the time asked about.

Security properties
- Nothing is trusted that does not verify up to the pinned certificate; a
  certificate's own claims (names, key identifiers) only choose which
  signature to check.
- Chains are at most ``MAX_DEPTH`` CA certificates long and each CA appears
  once, so crafted loops end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from shangmi.errors import (ExpiredCertificate, InvalidSignature, MalformedInput,
                            UntrustedSender)

from . import x509
from .x509 import CLOCK_SKEW, Certificate, EmptySignerId, utc

MAX_DEPTH = 6
MAX_CERTIFICATES = 64


def read_certificates(data: bytes | str, *, limit: int = 1 << 20) -> list[Certificate]:
    """Every certificate in ``data``: PEM blocks in any order, or one DER certificate."""
    if isinstance(data, (bytes, bytearray)) and data[:1] == b"\x30":
        return [Certificate.from_der(bytes(data))]
    blocks = x509.pem_blocks(data, "CERTIFICATE", limit=limit)
    if len(blocks) > MAX_CERTIFICATES:
        raise MalformedInput("too many certificates in one file ({n})", n=str(len(blocks)))
    return [Certificate.from_der(b) for b in blocks]


def load_anchor(data: bytes | str) -> Certificate:
    """The one CA certificate of ``data`` to pin: a self-signed root or a sub-CA.

    A self-issued certificate must verify under its own key.  The caller must
    still confirm the fingerprint out of band.
    """
    certs = read_certificates(data)
    if len(certs) != 1:
        raise MalformedInput("expected one authority certificate, found {n}", n=str(len(certs)))
    return check_anchor(certs[0])


def check_anchor(cert: Certificate) -> Certificate:
    """``cert`` if it can be pinned: an authority (CA, keyCertSign), self-signed if self-issued."""
    if cert.usage != "root":
        raise MalformedInput("{unit_name} is not an authority certificate (basicConstraints CA:TRUE and keyCertSign "
                             "are needed)",
                             unit_name=str(cert.unit_name))
    if cert.subject_key_id is None:
        raise MalformedInput("the authority certificate of {unit_name} has no subjectKeyIdentifier",
                             unit_name=str(cert.unit_name))
    if cert.issuer == cert.subject:
        cert.verify_signature(cert)
    return cert


def same_authority(a: Certificate, b: Certificate) -> bool:
    """Same name and same key (a re-issued CA certificate counts as the same authority)."""
    return a.subject == b.subject and a.public_key == b.public_key


def find_issuer(cert: Certificate, candidates: Iterable[Certificate]) -> Certificate:
    """The candidate whose key signed ``cert`` (by name, key id first, then signature)."""
    named = [c for c in candidates if c.subject == cert.issuer and c.is_ca]
    if not named:
        raise UntrustedSender("the issuer of the certificate of {unit} ({issuer}) is not among the trusted "
                              "authorities",
                              issuer=str(cert.issuer), unit=cert.unit_name)
    aki = cert.authority_key_id
    named.sort(key=lambda c: not (aki is not None and x509.key_id_matches(aki, c)))
    first: InvalidSignature | None = None
    for candidate in named:
        try:
            cert.verify_signature(candidate)
            return candidate
        except EmptySignerId:
            raise
        except InvalidSignature as exc:
            first = first or exc
    assert first is not None
    raise first


def build_chain(cert: Certificate, anchor: Certificate, pool: Iterable[Certificate] = (),
                at: datetime | None = None) -> tuple[Certificate, ...]:
    """The CA certificates from ``cert``'s issuer up to and including ``anchor``.

    ``pool`` holds intermediate CA certificates in any order (others are
    ignored).  With ``at``, every CA on the way must be valid then (with
    ``CLOCK_SKEW`` on notBefore).  Raises ``UntrustedSender`` when no path
    reaches the anchor, ``InvalidSignature`` (or ``EmptySignerId``) for a
    bad signature, ``ExpiredCertificate`` for a CA outside its validity,
    ``x509.WrongKeyUsage`` when a pathLenConstraint is exceeded.
    """
    if same_authority(cert, anchor):
        return (anchor,)
    cas = [c for c in pool if c.is_ca and not same_authority(c, anchor)]
    path: list[Certificate] = []
    current = cert
    for _ in range(MAX_DEPTH):
        if current.issuer == anchor.subject:
            try:
                current.verify_signature(anchor)
                path.append(anchor)
                break
            except EmptySignerId:
                raise
            except InvalidSignature:
                if not any(c.subject == current.issuer for c in cas):
                    raise
        issuer = find_issuer(current, [c for c in cas if c not in path])
        path.append(issuer)
        current = issuer
    else:
        raise UntrustedSender("the certificate of {unit} does not lead to the trusted {unit_name2} within "
                              "{max_depth} authorities",
                              unit_name2=str(anchor.unit_name), max_depth=str(MAX_DEPTH), unit=cert.unit_name)
    for below, ca in enumerate(path):
        if ca.path_len is not None and below > ca.path_len:
            raise x509.WrongKeyUsage("{unit} may certify {path_len} sub-authorities below it, this chain has {below}",
                                     path_len=str(ca.path_len), below=str(below),
                                     unit=ca.unit_name, reason='path length')
        if at is not None and not (ca.not_before - CLOCK_SKEW <= utc(at) <= ca.not_after):
            raise ExpiredCertificate("the authority certificate of {unit} is valid {not_before} to {not_after}, not "
                                     "on {when}",
                                     not_before=f'{ca.not_before:%Y-%m-%d}', not_after=f'{ca.not_after:%Y-%m-%d}',
                                     when=f'{utc(at):%Y-%m-%d}', unit=ca.unit_name, reason='authority not valid')
    return tuple(path)


def order_chain(leaf: Certificate, certs: Iterable[Certificate]) -> tuple[Certificate, ...]:
    """``leaf``'s issuers found among ``certs`` in order (leaf first), stopping at a
    self-signed certificate or where no issuer is found; signatures checked."""
    pool = [c for c in certs if c.is_ca]
    out = [leaf]
    current = leaf
    while current.issuer != current.subject and len(out) <= MAX_DEPTH:
        try:
            current = find_issuer(current, [c for c in pool if c not in out])
        except UntrustedSender:
            break
        out.append(current)
    return tuple(out)
