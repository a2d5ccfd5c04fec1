"""Review 3, M3: leader keys (签发人) cannot be squatted.

Before, a unit's card could name another unit's leader key (public, on that unit's card):
the first card imported owned the key, and the real unit's card was refused forever; and a
refused card still left its unit half-added while the command said nothing was changed.
Now each leader on a card proves possession (the leader's own signature over unit, name and
key: ``cards.leader_statement``), a bureau 签发人 certificate outranks a card's claim, and a
card's unit and leaders go in in one transaction.  docs/KEYS.md and docs/THREATS.md.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from shangmi import DuplicateEntry, InvalidSignature, sm2
from smseal.keystore import Directory, make_card, parse_card
from smseal.keystore.cards import CardLeader, leader_statement, prove_leader
from smseal.keystore.errors import MalformedCard
from smseal.keystore.unit_leaders import add_leader, apply_card, check_leader, leaders_of
from smseal.keystore.x509 import utcnow
from tests.cli_helpers import Runner, cli_env
from tests.workflow_helpers import pair  # noqa: F401  (fixture)

FINANCE, DISTRICT = "财政局", "某区局"


def _canonical(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _resign(doc: dict, sign: sm2.PrivateKey, enc: sm2.PrivateKey) -> bytes:
    """A card whose body the hostile unit wrote itself, signed with its own two keys."""
    body = {k: v for k, v in doc.items() if k not in ("signature", "encryption_signature")}
    data = _canonical(body)
    doc = {**body, "signature": base64.b64encode(sign.sign(data)).decode(),
           "encryption_signature": base64.b64encode(enc.sign(data)).decode()}
    return _canonical(doc) + b"\n"


def test_card_cannot_name_another_units_leader_key(tmp_path, monkeypatch, capsys):
    cli_env(monkeypatch)
    desk = tmp_path / "desk"
    desk.mkdir()
    office = Runner(tmp_path / "O", capsys, desk)
    assert office("init", "--unit", "市政府办公室").code == 0
    a_sign, a_enc, b_sign, b_enc, zhang = (sm2.PrivateKey.generate() for _ in range(5))
    real = make_card(FINANCE, a_sign, a_enc, leaders=[prove_leader(FINANCE, "张三", zhang)])
    # the hostile unit copies 张三's entry (key and proof) from 财政局's card into its own card
    doc = json.loads(make_card(DISTRICT, b_sign, b_enc))
    doc["leaders"] = json.loads(real)["leaders"]
    (desk / "b.card").write_bytes(_resign(doc, b_sign, b_enc))
    with pytest.raises(InvalidSignature):
        parse_card((desk / "b.card").read_bytes())
    # ... or names the key without any proof: refused as well
    entry = doc["leaders"][0]
    doc["leaders"] = [{"key": entry["key"], "name": entry["name"], "proof": ""}]
    (desk / "c.card").write_bytes(_resign(doc, b_sign, b_enc))
    # nor can it make such a card with the library: the proof must verify
    with pytest.raises(InvalidSignature):
        make_card(DISTRICT, b_sign, b_enc, leaders=[CardLeader("张三", zhang.public_key(), b"\x30\x00")])
    for name in ("b.card", "c.card"):
        res = office("keys", "import", name, "--yes")
        assert res.code != 0
    (desk / "a.card").write_bytes(real)
    res = office("keys", "import", "a.card", "--yes")
    assert res.code == 0, res.err
    with Directory(office.home) as d:
        assert [u.name for u in d.list()] == [FINANCE]           # the refused cards left nothing
        assert check_leader(d, FINANCE, zhang.public_key(), utcnow()).name == "张三"


def test_leader_proof_binds_the_unit_the_name_and_the_key():
    zhang = sm2.PrivateKey.generate()
    leader = prove_leader(FINANCE, "张三", zhang)
    zhang.public_key().verify(leader.proof, leader_statement(FINANCE, "张三", zhang.public_key()))
    for unit, name in ((DISTRICT, "张三"), (FINANCE, "李四")):
        with pytest.raises(InvalidSignature):
            zhang.public_key().verify(leader.proof, leader_statement(unit, name, zhang.public_key()))


def test_card_of_the_previous_format_with_leaders_is_refused_and_without_is_read():
    s, e, zhang = (sm2.PrivateKey.generate() for _ in range(3))
    doc = json.loads(make_card(FINANCE, s, e))
    doc["format"] = "smseal-card/2"
    assert parse_card(_resign(doc, s, e)).unit == FINANCE      # no leaders: nothing to prove
    doc["leaders"] = [{"key": base64.b64encode(zhang.public_key().to_der()).decode(), "name": "张三"}]
    with pytest.raises(MalformedCard) as exc:
        parse_card(_resign(doc, s, e))
    assert exc.value.code == "old-card-format"


def test_a_refused_card_leaves_its_unit_out_of_the_directory(tmp_path):
    s, e, other_s, other_e = (sm2.PrivateKey.generate() for _ in range(4))
    with Directory(path=tmp_path / "d.sqlite") as d:
        d.add_unit(DISTRICT, other_s.public_key(), other_e.public_key())
        # a leader key that is already a unit's key elsewhere: the card is refused ...
        card = make_card(FINANCE, s, e, leaders=[prove_leader(FINANCE, "张三", other_s)])
        with pytest.raises(DuplicateEntry):
            apply_card(d, card)
        # ... as a whole: the unit is not half-added, and a good card later goes in
        assert [u.name for u in d.list()] == [DISTRICT]
        zhang = sm2.PrivateKey.generate()
        apply_card(d, make_card(FINANCE, s, e, issued=utcnow() + timedelta(seconds=1),
                                leaders=[prove_leader(FINANCE, "张三", zhang)]))
        assert [x.name for x in leaders_of(d, FINANCE)] == ["张三"]


def test_bureau_leader_certificate_outranks_a_card_claim_on_the_key(pair):
    from shangmi import UntrustedSender
    from smseal.keystore.authority import Authority
    from smseal.office import unit_card
    from smseal.office.bureau import install_bundle
    from smseal.office.trust import Trust

    bureau = Authority.init(pair.tmp / "ca", "某市保密局", signer=sm2.PrivateKey.generate())
    Trust(pair.b.home).pin(bureau.root.to_pem(), replace=False)
    pair.a.leaders.add("李四", unit=pair.a.unit)
    li = pair.a.leaders.get("李四").public_key
    # 财政局's directory already holds 李四's key as a leader of a hostile unit: a card imported
    # before leaders proved possession (or an entry added by hand)
    squatter_s, squatter_e = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
    pair.b.directory.add_unit(DISTRICT, squatter_s.public_key(), squatter_e.public_key(), source="card")
    add_leader(pair.b.directory, DISTRICT, "李四", li, source="card")
    bureau.issue_leader(unit_card.leader_request(pair.a, "李四"), unit_name=pair.a.unit)
    installed = install_bundle(pair.b, bureau.publish())
    assert installed["leaders_skipped"] == []
    assert check_leader(pair.b.directory, pair.a.unit, li, pair.a.now()).name == "李四"
    with pytest.raises(UntrustedSender):
        check_leader(pair.b.directory, DISTRICT, li, pair.a.now())
