"""This unit's card with its leaders, and importing other units' cards (new or updated).

``export_card`` signs the card with the unit's two keys and names every
active leader (签发人) with the public key of their personal signing key.
After ``keys leader add/remove`` the card is re-exported and sent again; a
unit that imports the newer card sees what changed (``preview_card``) and
then applies it (``import_card``): new leaders added, removed ones revoked
from the new card's date.
"""

from __future__ import annotations

from smseal.keystore import unit_leaders
from smseal.keystore.cards import make_card
from smseal.keystore.unit_leaders import CardChanges

from .context import Office


def export_card(office: Office) -> bytes:
    """The unit's card (unit keys and active leaders), signed by both of its keys: the
    encryption key signs too, proving the unit holds it, and each leader's entry carries the
    leader's own proof (``Leaders.card_leader``: recorded when the leader was added, or signed
    once with the leader's key, asking the leader's passphrase or PIN; ``keystore.cards``)."""
    ident = office.keystore.get(office.unit)
    leaders = [office.leaders.card_leader(x.name, ident.name) for x in office.leaders.list()]
    return make_card(ident.name, office.keystore.signer(ident.name), office.keystore.decrypter(ident.name),
                     leaders=leaders)


def preview_card(office: Office, data: bytes) -> CardChanges:
    """What importing ``data`` would change (verified first; nothing is written)."""
    return unit_leaders.card_changes(office.directory, data)


def import_card(office: Office, data: bytes) -> CardChanges:
    """Add the unit of ``data`` or update the known unit it names; return what changed."""
    return unit_leaders.apply_card(office.directory, data)


def leader_request(office: Office, name: str) -> bytes:
    """A leader's certification request for the bureau (PEM): one PKCS#10 request signed with
    the leader's own key (proof of possession), naming the person (CN) and this unit (O) with the
    title 签发人 and asking for the leader's purpose (docs/CA.md, "Leader certificates")."""
    from smseal.keystore import x509

    info = office.leaders.get(name)
    subject = x509.Name.build(info.name, organization=office.unit, title=x509.LEADER_TITLE)
    return x509.build_request(office.leaders.signer(info.name), subject, "leader").to_pem()
