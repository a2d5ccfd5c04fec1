"""CRLs from the pinned authority and its sub-CAs: verification, freshness policy, storage.

Where CRLs come from: ``directory crl import FILE`` (DER or PEM, one or
several, as ``openssl ca -gencrl`` writes them), certificate files given to
``directory update`` that carry ``X509 CRL`` blocks, and the CRL inside every
smseal directory bundle.  All take the same path: ``verify_crl`` then
``CrlStore.save``; the caller applies the revocations to the directory.

Policy (docs/CA.md, "Revocation lists"):
- A CRL must be signed by the pinned authority or by a CA certificate that
  was verified up to it (under the standard SM2 ID; OpenSSL's empty ID is
  named as such, ``x509.EmptySignerId``).
- ``thisUpdate`` may lie at most ``x509.CLOCK_SKEW`` (5 minutes) in the
  future; a later one means a wrong clock here or at the CA, and is refused.
- A CRL past its ``nextUpdate`` is *still applied*: what it lists stays
  revoked (revocations are permanent, a stale list cannot unrevoke
  anything).  It is reported as stale at import and by ``directory crl
  list`` until a current one is installed, so that the office asks the CA
  for a fresh list before relying on the absence of a revocation.
- A CRL with a lower CRL number (or, without numbers, an older thisUpdate)
  than the installed one adds its revocations but does not replace the
  stored list.
- A CRL entry for a *CA* certificate (same issuer name, same serial, in the
  installed CRL of the key that signed it: ``CrlStore.revoked_in_path``)
  makes that sub-CA and everything certified through it untrusted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Sequence

from shangmi.errors import InvalidSignature, MalformedInput, PolicyError, RevokedKey, UntrustedSender
from shangmi.sm3 import digest as sm3

from . import asn1_types as t
from . import x509
from .atomic import write_atomic
from .x509 import CLOCK_SKEW, CRL, Certificate, EmptySignerId, RevokedEntry, utc

MAX_CRLS = 64


def read_crls(data: bytes | str) -> list[CRL]:
    """Every CRL in ``data``: one DER CRL, or PEM ``X509 CRL`` blocks."""
    if isinstance(data, (bytes, bytearray)) and data[:1] == b"\x30":
        return [CRL.from_der(bytes(data))]
    blocks = x509.pem_blocks(data, "X509 CRL", limit=t.MAX_CRL_SIZE)
    if len(blocks) > MAX_CRLS:
        raise MalformedInput("too many CRLs in one file ({n})", n=str(len(blocks)))
    return [CRL.from_der(b) for b in blocks]


def verify_crl(crl: CRL, authorities: Iterable[Certificate], now: datetime) -> Certificate:
    """The authority among ``authorities`` (already trusted) that signed ``crl``.

    Raises ``UntrustedSender`` when none is named as its issuer,
    ``InvalidSignature`` (``EmptySignerId``) when the signature fails, and
    ``PolicyError`` for a CRL dated in the future beyond ``CLOCK_SKEW``.
    """
    named = [a for a in authorities if a.subject == crl.issuer]
    if not named:
        raise UntrustedSender("the CRL was issued by {issuer}, which is not a trusted authority here (pin it, or "
                              "install a certificate chain that contains it first)",
                              issuer=str(crl.issuer))
    aki = crl.authority_key_id
    named.sort(key=lambda c: not (aki is not None and x509.key_id_matches(aki, c)))
    issuer: Certificate | None = None
    first: InvalidSignature | None = None
    for candidate in named:
        try:
            crl.verify_signature(candidate)
            issuer = candidate
            break
        except EmptySignerId:
            raise
        except InvalidSignature as exc:
            first = first or exc
    if issuer is None:
        assert first is not None
        raise first
    if crl.this_update > utc(now) + CLOCK_SKEW:
        when = f"{crl.this_update:%Y-%m-%d %H:%M}"
        raise PolicyError("the CRL of {unit} is dated {when} UTC, in the future: check this computer's clock and the"
                          " CA's",
                          when=str(when), unit=issuer.unit_name, reason='CRL from the future')
    return issuer


def is_stale(crl: CRL, now: datetime) -> bool:
    """True once ``now`` is past the CRL's nextUpdate (a CRL without one never is)."""
    return crl.next_update is not None and utc(now) > crl.next_update


def _newer(a: CRL, b: CRL) -> bool:
    """Whether ``a`` supersedes ``b`` (same issuer): higher CRL number, else later thisUpdate."""
    if a.number is not None and b.number is not None and a.number != b.number:
        return a.number > b.number
    return a.this_update > b.this_update


@dataclass(frozen=True)
class StoredCrl:
    """An installed CRL and the authority that signed it."""

    crl: CRL
    issuer_name: str


class CrlStore:
    """The newest CRL of each authority, one DER file per authority (0600)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def _path(self, issuer: Certificate) -> Path:
        key = sm3(issuer.subject.der + issuer.public_key.to_bytes())[:10].hex()
        return self.folder / f"{key}.crl"

    def latest(self, issuer: Certificate) -> CRL | None:
        """The installed CRL of ``issuer`` (as verified when it was saved)."""
        path = self._path(issuer)
        if not path.exists():
            return None
        return CRL.from_der(path.read_bytes())

    def save(self, crl: CRL, issuer: Certificate) -> bool:
        """Keep ``crl`` (verified against ``issuer``) unless a newer one is installed.

        Returns True when it became the installed CRL of its issuer.
        """
        current = self.latest(issuer)
        if current is not None and not _newer(crl, current):
            return current.der == crl.der
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(self._path(issuer), crl.der)
        return True

    def installed(self, authorities: Iterable[Certificate]) -> list[StoredCrl]:
        """The installed CRL of each of ``authorities`` that has one."""
        out = []
        for a in authorities:
            crl = self.latest(a)
            if crl is not None:
                out.append(StoredCrl(crl, a.unit_name))
        return out

    def revoked_in_path(self, path: Sequence[Certificate]) -> tuple[Certificate, RevokedEntry] | None:
        """The first certificate of ``path`` revoked by its issuer's installed CRL, with its entry.

        ``path`` is a verified chain, each certificate followed by the one whose key
        signed it (``[cert, *chain.build_chain(cert, anchor, ...)]``).  An entry counts
        only in the CRL of that very issuer (stored by name *and* key) and only for a
        certificate that names the CRL's issuer: two CAs sharing a name do not mix.
        The last certificate (the pinned anchor) is never checked.
        """
        for child, issuer in zip(path, path[1:]):
            crl = self.latest(issuer)
            if crl is None or crl.issuer != child.issuer:
                continue
            entry = crl.lookup(child.serial)
            if entry is not None:
                return child, entry
        return None

    def refuse_revoked(self, path: Sequence[Certificate]) -> None:
        """Raise ``RevokedKey`` when an authority of ``path`` (see ``revoked_in_path``) is revoked.

        Used before anything new is trusted through a chain (``keys install``, a
        certificate file, a bundle, pinning): a revoked sub-CA certifies nothing new.
        """
        found = self.revoked_in_path(path)
        if found is None:
            return
        ca, entry = found
        # unit/reason: the command's sentence "the key of {unit} has been revoked ({reason})"
        raise RevokedKey("the authority {unit} was revoked by its CA ({reason}): nothing it "
                         "certified is trusted", unit=ca.unit_name,
                         reason=f"{entry.reason}, {entry.date:%Y-%m-%d}", certificate=path[0].unit_name)
