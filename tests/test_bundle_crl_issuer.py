"""Review 3, M4: a bundle's CRL entries are matched by issuer *and* serial.

Serials are unique only per issuer: two sub-CAs run with sequential ``openssl ca`` serials
(docs/CA.md) issue the same numbers.  Before, ``certificate_serials`` was keyed by serial
alone, so a revocation by one issuer revoked the other issuer's unit and left the revoked
key trusted.  docs/KEYS.md and docs/THREATS.md say what these tests show.
"""

from __future__ import annotations

import sqlite3

import pytest

from shangmi import RevokedKey, sm2
from smseal.keystore import Directory
from smseal.keystore import authority as authority_mod
from smseal.keystore.authority import Authority
from smseal.keystore.bundle import make_request, verify_bundle
from smseal.keystore.x509 import Name, utcnow


def _two_issuers_with_the_same_serials(tmp_path, monkeypatch):
    sub = Authority.init(tmp_path / "sub", "某区保密局", signer=sm2.PrivateKey.generate())
    root = Authority.init(tmp_path / "root", "某市保密局", signer=sm2.PrivateKey.generate())
    x = [sm2.PrivateKey.generate() for _ in range(2)]
    y = [sm2.PrivateKey.generate() for _ in range(2)]
    serials = iter([0x1000, 0x1001, 0x1000, 0x1001])          # sequential serials, as `openssl ca` gives
    monkeypatch.setattr(authority_mod, "_new_serial", lambda taken: next(serials))
    sub.issue(make_request(Name.build("甲局"), *x), unit_name="甲局")
    root.issue(make_request(Name.build("乙局"), *y), unit_name="乙局")
    return sub, root, x, y


def _revoke_y_and_check(d: Directory, root: Authority, x, y) -> None:
    root.revoke("乙局", "keyCompromise")                       # 乙局's keys were stolen
    applied = d.apply_bundle(verify_bundle(root.publish(), root.root, installed_version=1))
    assert applied.revoked == 2
    with pytest.raises(RevokedKey):
        d.check_sender(y[0].public_key(), utcnow())
    assert d.check_sender(x[0].public_key(), utcnow()) == "甲局"      # the other issuer's unit stays
    assert d.encryption_key("甲局") == x[1].public_key()


def test_crl_of_one_issuer_cannot_revoke_another_issuers_unit_with_the_same_serial(tmp_path, monkeypatch):
    sub, root, x, y = _two_issuers_with_the_same_serials(tmp_path, monkeypatch)
    with Directory(path=tmp_path / "d.sqlite") as d:
        d.apply_bundle(verify_bundle(sub.publish(), sub.root))
        d.apply_bundle(verify_bundle(root.publish(), root.root))
        _revoke_y_and_check(d, root, x, y)


def test_a_directory_with_serials_keyed_by_serial_alone_is_migrated(tmp_path, monkeypatch):
    sub, root, x, y = _two_issuers_with_the_same_serials(tmp_path, monkeypatch)
    path = tmp_path / "d.sqlite"
    with Directory(path=path) as d:
        d.apply_bundle(verify_bundle(sub.publish(), sub.root))
        d.apply_bundle(verify_bundle(root.publish(), root.root))
    # make the table what the first version wrote: serial alone, the first issuer's key kept
    db = sqlite3.connect(path)
    rows = db.execute("SELECT serial, key_id, not_before FROM certificate_serials").fetchall()
    db.executescript("DROP TABLE certificate_serials; CREATE TABLE certificate_serials("
                     "serial TEXT PRIMARY KEY, key_id BLOB NOT NULL CHECK (length(key_id) = 16), "
                     "not_before TEXT NOT NULL)")
    db.executemany("INSERT OR IGNORE INTO certificate_serials VALUES (?, ?, ?)", rows)
    db.commit()
    db.close()
    with Directory(path=path) as d:
        _revoke_y_and_check(d, root, x, y)
    db = sqlite3.connect(path)
    columns = [r[1] for r in db.execute("PRAGMA table_info(certificate_serials)")]
    assert columns[:2] == ["issuer", "serial"]
    assert db.execute("SELECT count(*) FROM certificate_serials").fetchone()[0] == 4
    db.close()
