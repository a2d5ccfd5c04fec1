"""Leader keys and cards: the card's signature covers its leaders; a newer card of a known unit
updates it only when signed by the unit's own key and newer; a leader key on a real SoftHSM2
token that cannot sign SM2 is refused before anything is made."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from shangmi import sm2
from shangmi.errors import DuplicateEntry, InvalidSignature, RollbackRefused, UnsupportedMechanism
from smseal.keystore import Directory
from smseal.keystore.cards import CardLeader, make_card, parse_card, prove_leader
from smseal.keystore.errors import MalformedCard
from smseal.keystore.leaders import Leaders
from smseal.keystore.unit_leaders import apply_card, card_changes, check_leader, leaders_of
from tests.softhsm import SoftHsm, softhsm, softhsm_token  # noqa: F401

T0 = datetime(2027, 1, 1, tzinfo=timezone.utc)
UNIT = "市政府办公室"


def _card(s, e, leaders, at):
    return make_card(UNIT, s, e, issued=at, leaders=leaders)


def test_card_signature_covers_leaders():
    s, e, zhang = sm2.PrivateKey.generate(), sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
    card = _card(s, e, [prove_leader(UNIT, "张三", zhang)], T0)
    assert parse_card(card).leaders == (CardLeader("张三", zhang.public_key()),)
    doc = json.loads(card)
    doc["leaders"][0]["name"] = "李四"                    # rename the leader, keep the signature
    forged = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    with pytest.raises(InvalidSignature):
        parse_card(forged)
    doc = json.loads(card)
    doc["leaders"][0]["key"] = doc["signing_key"]       # the unit's own key posing as a leader's
    with pytest.raises((MalformedCard, InvalidSignature)):
        parse_card(json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n")


def test_newer_card_updates_leaders_older_or_foreign_cards_refused(tmp_path):
    s, e, zhang, li = (sm2.PrivateKey.generate() for _ in range(4))
    d = Directory(tmp_path)
    apply_card(d, _card(s, e, [prove_leader(UNIT, "张三", zhang)], T0))
    assert [x.name for x in leaders_of(d, UNIT)] == ["张三"]
    newer = _card(s, e, [prove_leader(UNIT, "李四", li)], T0 + timedelta(days=30))
    changes = card_changes(d, newer)
    assert [x.name for x in changes.leaders_added] == ["李四"] and changes.leaders_removed == ("张三",)
    apply_card(d, newer)
    check_leader(d, UNIT, li.public_key(), T0 + timedelta(days=31))
    check_leader(d, UNIT, zhang.public_key(), T0 + timedelta(days=29))       # before its removal: valid
    from shangmi.errors import RevokedKey, UntrustedSender
    with pytest.raises(RevokedKey):
        check_leader(d, UNIT, zhang.public_key(), T0 + timedelta(days=31))
    with pytest.raises(UntrustedSender):
        check_leader(d, UNIT, sm2.PrivateKey.generate().public_key(), T0)
    with pytest.raises(RollbackRefused):                                     # the older card again
        apply_card(d, _card(s, e, [prove_leader(UNIT, "张三", zhang)], T0 + timedelta(days=1)))
    mallory = sm2.PrivateKey.generate()
    with pytest.raises(DuplicateEntry):                                      # another key claims the name
        apply_card(d, _card(mallory, e, [prove_leader(UNIT, "王五", sm2.PrivateKey.generate())],
                            T0 + timedelta(days=60)))
    assert [x.name for x in leaders_of(d, UNIT, include_revoked=False)] == ["李四"]


def test_leader_key_on_softhsm_is_refused_before_anything_is_made(tmp_path, softhsm_token: SoftHsm):
    leaders = Leaders(tmp_path, passphrase=lambda p: softhsm_token.pin.encode(), pkcs11_module=softhsm_token.module)
    with pytest.raises(UnsupportedMechanism):
        leaders.add("张三", token=str(softhsm_token.uri()), profile="softhsm2")
    assert leaders.list() == []
