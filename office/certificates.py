"""``keys install``: this unit's certificates from the bureau, and escrowed encryption keys.

A certificates file (``unit.certs``) or a recovery file (``X.recovery``)
holds the unit's signing and encryption certificates, the CA chain, and, when
the authority made the encryption key (escrow), ``SM2 ENVELOPED KEY`` blocks
encrypted to the unit's signing key.  Installing:

1. the certificates are verified up to the pinned authority (any order);
2. every envelope is opened with the unit's signing key, and its key must be
   the key of one of the file's encryption certificates (so a substituted
   envelope is refused, not installed);
3. delivered keys the keystore does not hold yet are added as encryption key
   generations where the current encryption key lives — a key file, or the
   token (C_CreateObject: sensitive, non-extractable) — oldest first, so the
   certified current key ends up newest;
4. the file is kept under ``certs/`` and the chain's CAs are remembered for CRLs.
Nothing is added before all envelopes have opened and matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .ca_import import refuse_revoked_chain, remember_authorities
from .errors import UsageError
from .fsutil import write_atomic
from .i18n import _
from .trust import Trust


@dataclass(frozen=True)
class Installed:
    """What ``install_certificates`` did."""

    unit: str
    valid_until: Any
    delivered_keys: int
    escrowed: bool


def install_certificates(office: Any, data: bytes) -> Installed:
    """Verify and install a certificates or recovery file for this home's unit (see above)."""
    from shangmi import UnsupportedMechanism

    from smseal.keystore import escrow
    from smseal.keystore.bundle import parse_unit_certificates

    trust = Trust(office.home)
    certs = parse_unit_certificates(data, pinned_root=trust.pinned_root())
    refuse_revoked_chain(trust, (certs.signing, *certs.chain))
    ident = office.keystore.get(office.unit)
    if certs.name != ident.name:
        raise UsageError(_("These certificates are for {other}, not for {unit}: install them with the "
                           "smseal of {other}, on its computer.").format(other=certs.name, unit=ident.name))
    mine = {k.public_key for k in ident.keys}
    envelopes = escrow.read_envelopes(data)
    delivered = []
    if envelopes:
        if certs.signing.public_key not in mine:
            raise _not_ours(ident.name)
        opener = office.keystore.signer(ident.name)
        if not hasattr(opener, "decrypt"):
            raise UnsupportedMechanism("the signing key's token cannot decrypt, so it cannot open the "
                                       "encryption keys the bureau delivered")
        by_key = {c.public_key: c for c in (certs.encryption, *certs.earlier_encryption)}
        for der in envelopes:
            key = escrow.open_key(der, opener)
            cert = by_key.get(key.public_key())
            if cert is None:
                from shangmi import InvalidKey
                raise InvalidKey("the file delivers an encryption key that none of its certificates "
                                 "certifies; it was not installed")
            delivered.append((cert, key))
    held_after = mine | {k.public_key() for _, k in delivered}
    if certs.signing.public_key not in held_after or certs.encryption.public_key not in held_after:
        raise _not_ours(ident.name)
    added = 0
    for _cert, key in sorted(delivered, key=lambda ck: (ck[0].not_before, ck[0].serial)):
        if key.public_key() in mine:
            continue
        office.keystore.rotate(ident.name, "enc", key=key)
        mine.add(key.public_key())
        added += 1
    folder = office.home / "certs"
    folder.mkdir(mode=0o700, exist_ok=True)
    write_atomic(folder / f"{certs.signing.serial:x}.certs", data, overwrite=True)
    remember_authorities(trust, [c for c in certs.chain if c != certs.root])  # their CRLs verify
    return Installed(ident.name, certs.signing.not_after.date(), added, bool(envelopes))


def _not_ours(unit: str) -> UsageError:
    return UsageError(_("These certificates were issued for other keys than the ones {unit} holds here; "
                        "the file is not damaged. Check that it is the answer to the request made on "
                        "this computer ('smseal keys request'), and that --home is this unit's.").format(unit=unit))
