"""The directory of units (SQLite) and unit cards."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from smseal.keystore import Directory
from smseal.keystore.cards import MalformedCard, fingerprint_words, make_card, parse_card
from smseal.keystore.errors import KeyIdCollision
from shangmi import sm2
from shangmi.errors import (DuplicateEntry, ExpiredCertificate, InvalidSignature, KeyNotFound, RevokedKey,
                            UntrustedSender)

ROOT = Path(__file__).resolve().parents[1]
UNIT = "赤峰市人民政府办公室"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def pair():
    return sm2.PrivateKey.generate(), sm2.PrivateKey.generate()


@pytest.fixture
def d(tmp_path: Path):
    with Directory(tmp_path) as directory:
        yield directory


def test_add_lookup_list(d: Directory, tmp_path: Path):
    s, e = pair()
    d.add_unit(UNIT, s.public_key(), e.public_key(), source="card")
    d.add_unit("某某县财政局", *(k.public_key() for k in pair()))
    assert [u.name for u in d.list()] == sorted([UNIT, "某某县财政局"])
    u = d.get(UNIT)
    assert u.of_role("sign")[0].public_key == s.public_key() and u.source == "card"
    k = d.find(e.public_key().key_id())
    assert (k.unit, k.role, k.generation) == (UNIT, "enc", 1)
    assert d.encryption_key(UNIT) == e.public_key()
    with pytest.raises(KeyNotFound):
        d.get("不存在的单位")
    with pytest.raises(KeyNotFound):
        d.find(b"\0" * 16)
    assert (tmp_path / "directory.sqlite").exists()


def test_names_are_nfc_normalised(d: Directory):
    d.add_unit("Caf\u00e9 局", *(k.public_key() for k in pair()))
    assert d.get("Cafe\u0301 局").name == "Caf\u00e9 局"
    with pytest.raises(DuplicateEntry):
        d.add_unit(" Cafe\u0301 局", *(k.public_key() for k in pair()))


def test_duplicates_and_collisions_change_nothing(d: Directory):
    s, e = pair()
    d.add_unit(UNIT, s.public_key(), e.public_key())
    before = d.list()
    with pytest.raises(DuplicateEntry):
        d.add_unit(UNIT, *(k.public_key() for k in pair()))            # same name
    with pytest.raises(DuplicateEntry):
        d.add_unit("别的单位", s.public_key(), sm2.PrivateKey.generate().public_key())   # same key
    with pytest.raises(DuplicateEntry):
        d.add_unit("别的单位", s.public_key(), s.public_key())           # one key for both roles
    # a crafted key-id collision: a different key already sits under this key id
    victim = sm2.PrivateKey.generate().public_key()
    db = sqlite3.connect(d.path)
    db.execute("UPDATE keys SET key_id = ? WHERE key_id = ?", (victim.key_id(), e.public_key().key_id()))
    db.commit()
    db.close()
    with pytest.raises(KeyIdCollision):
        d.add_key(UNIT, "enc", victim)
    assert isinstance(KeyIdCollision(), DuplicateEntry)
    assert [u.name for u in d.list()] == [u.name for u in before]
    assert len(d.get(UNIT).keys) == 2
    with pytest.raises(UntrustedSender):                                 # same id, different key
        d.check_sender(victim, T0)


def test_check_sender(d: Directory):
    s, e = pair()
    d.add_unit(UNIT, s.public_key(), e.public_key(), not_before=T0, not_after=T0 + timedelta(days=365))
    assert d.check_sender(s.public_key(), T0 + timedelta(days=1)) == UNIT
    with pytest.raises(UntrustedSender):
        d.check_sender(sm2.PrivateKey.generate().public_key(), T0)
    with pytest.raises(UntrustedSender, match="encryption key"):
        d.check_sender(e.public_key(), T0 + timedelta(days=1))
    with pytest.raises(ExpiredCertificate):
        d.check_sender(s.public_key(), T0 - timedelta(minutes=5, seconds=1))  # beyond the clock skew
    with pytest.raises(ExpiredCertificate):
        d.check_sender(s.public_key(), T0 + timedelta(days=366))
    with pytest.raises(ValueError):
        d.check_sender(s.public_key(), datetime(2026, 2, 1))            # naive time refused


def test_revocation(d: Directory):
    s, e = pair()
    d.add_unit(UNIT, s.public_key(), e.public_key())
    revoked_at = T0 + timedelta(days=10)
    d.revoke(s.public_key().key_id(), revoked_at, "key compromise")
    assert d.check_sender(s.public_key(), revoked_at - timedelta(microseconds=1)) == UNIT   # before: fine
    with pytest.raises(RevokedKey):
        d.check_sender(s.public_key(), revoked_at)                       # at: revoked
    d.revoke(s.public_key().key_id(), revoked_at + timedelta(days=30), "later")   # cannot move later
    with pytest.raises(RevokedKey, match="key compromise"):
        d.check_sender(s.public_key(), revoked_at + timedelta(days=1))
    d.revoke(UNIT, T0 + timedelta(days=5), "unit dissolved")             # whole unit, earlier
    with pytest.raises(RevokedKey, match=UNIT):
        d.encryption_key(UNIT)
    with pytest.raises(RevokedKey):
        d.check_sender(s.public_key(), T0 + timedelta(days=6))
    with pytest.raises(KeyNotFound):
        d.revoke("不存在的单位", T0, "x")


def test_expired_unit_refused_for_sealing(d: Directory):
    s, e = pair()
    d.add_unit(UNIT, s.public_key(), e.public_key(), not_after=T0)
    with pytest.raises(ExpiredCertificate, match=UNIT):
        d.encryption_key(UNIT)
    assert d.encryption_key(UNIT, at=T0 - timedelta(days=1)) == e.public_key()


def test_rotation(d: Directory):
    s1, e1 = pair()
    d.add_unit(UNIT, s1.public_key(), e1.public_key())
    s2, e2 = pair()
    assert d.add_key(UNIT, "enc", e2.public_key()).generation == 2
    d.add_key(UNIT, "sign", s2.public_key())
    assert d.encryption_key(UNIT) == e2.public_key()                     # new packages: newest
    assert d.check_sender(s1.public_key(), T0) == UNIT                   # old packages still verify
    assert d.check_sender(s2.public_key(), T0) == UNIT
    d.revoke(e2.public_key().key_id(), T0, "lost")
    with pytest.raises(RevokedKey):                                      # no silent fallback to gen 1
        d.encryption_key(UNIT)


def test_certificate_is_stored(d: Directory):
    s, e = pair()
    fake_der = b"\x30\x03\x02\x01\x01"
    d.add_unit(UNIT, s.public_key(), e.public_key(), certificate=fake_der, source="x509")
    assert d.find(s.public_key().key_id()).certificate == fake_der
    other, enc = pair()                  # unparseable bytes with dates: ordering does not fail on them
    d.add_unit("某县档案局", other.public_key(), enc.public_key(), certificate=fake_der, enc_certificate=b"junk",
               not_before=T0, not_after=T0 + timedelta(days=3650))
    assert d.encryption_key("某县档案局", T0) == enc.public_key()


def test_card_round_trip_and_import(d: Directory):
    s, e = pair()
    card = make_card(UNIT, s, e, issued=T0)
    parsed = parse_card(card)
    assert (parsed.unit, parsed.signing_key, parsed.encryption_key) == (UNIT, s.public_key(), e.public_key())
    assert parsed.to_bytes() == card
    assert UNIT.encode() in card                                          # readable Chinese name
    assert len(fingerprint_words(s.public_key()).split()) == 16
    unit = d.import_card(card)
    assert unit.name == UNIT and unit.source == "card"
    with pytest.raises(DuplicateEntry):
        d.import_card(card)


def test_card_tampering(d: Directory):
    s, e = pair()
    card = make_card(UNIT, s, e, issued=T0)
    doc = json.loads(card)
    doc["encryption_key"] = json.loads(make_card(UNIT, s, sm2.PrivateKey.generate()))["encryption_key"]
    doc["encryption_fingerprint"] = json.loads(make_card(UNIT, s, sm2.PrivateKey.generate()))[
        "encryption_fingerprint"]
    swapped = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    with pytest.raises(MalformedCard):                # fingerprint no longer matches the key
        parse_card(swapped)
    mallory = sm2.PrivateKey.generate()
    forged = json.loads(make_card(UNIT, mallory, e, issued=T0))
    forged["signature"] = doc["signature"]
    with pytest.raises(InvalidSignature):             # signature not by the card's signing key
        parse_card(json.dumps(forged, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    for bad in (b"", b"{}", card[:-2], card.replace(b'"format"', b' "format"'), b"[1]", b"\xff" * 10,
                card.rstrip(b"\n"), card + b"x", b"{" * 20000):
        with pytest.raises((MalformedCard, InvalidSignature)):
            parse_card(bad)
    assert d.list() == []


_WRITER = textwrap.dedent("""
    import sys
    from smseal.keystore import Directory
    from shangmi import sm2
    from shangmi.errors import DuplicateEntry
    home, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    won = 0
    with Directory(home, timeout=30) as d:
        for i in range(n):
            d.add_unit(f"单位-{tag}-{i}", sm2.PrivateKey.generate().public_key(),
                       sm2.PrivateKey.generate().public_key())
            try:   # both processes race for the same names
                d.add_unit(f"共同单位-{i}", sm2.PrivateKey.generate().public_key(),
                           sm2.PrivateKey.generate().public_key())
                won += 1
            except DuplicateEntry:
                pass
    print(won)
""")


def test_two_processes_write_at_once(tmp_path: Path):
    Directory(tmp_path).close()                       # schema made; then two writers race
    n = 25
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), tag, str(n)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for tag in "ab"]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    assert sum(int(o[0]) for o in outs) == n          # each shared name went to exactly one writer
    with Directory(tmp_path) as d:
        units = d.list()
        assert len(units) == 3 * n
        assert all(len(u.keys) == 2 for u in units)
        (mode,) = d._db.execute("PRAGMA journal_mode").fetchone()
        assert mode == "wal"
