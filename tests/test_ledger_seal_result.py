"""The ledger keeps what ``seal`` returned (issue 16): receipts are checked against the real
``SealResult`` (``SealResult.from_dict`` of the record), not one rebuilt with ``size=0``; a
ledger written before schema 3 is migrated, the size taken from the kept copy."""

from __future__ import annotations

import json
import sqlite3

from smseal.envelope import SealResult
from smseal.office.ledger import SCHEMA_VERSION, Ledger
from tests.cli_helpers import units  # noqa: F401  (fixture)

_V2_SENT = """CREATE TABLE sent (package_id TEXT PRIMARY KEY, sealed_at TEXT NOT NULL,
    title TEXT, doc_number TEXT, urgency TEXT, due TEXT, label TEXT, path TEXT, digest BLOB, transport TEXT)"""
_V2_RECIPIENTS = """CREATE TABLE sent_recipients (package_id TEXT NOT NULL REFERENCES sent(package_id),
    unit TEXT NOT NULL, role TEXT NOT NULL, key_id BLOB NOT NULL, receipt_at TEXT, receipt_status TEXT,
    receipt BLOB, PRIMARY KEY (package_id, key_id))"""


def test_send_keeps_the_real_result_and_receipts_use_it(units):
    a, b, desk, shared = units
    r = a("send", "附件1.txt", "--to", "财政局", "--json")
    assert r.code == 0, r.err
    sent = json.loads(r.out)
    kept = Ledger(a.home).seal_result(sent["package_id"])
    assert isinstance(kept, SealResult) and kept.size == sent["size"] > 0
    assert kept.package_id.hex() == sent["package_id"] and [x.role for x in kept.recipients] == ["to"]
    assert SealResult.from_dict(kept.to_dict()) == kept
    assert Ledger(a.home).seal_result("00" * 16) is None
    assert b("fetch").code == 0 and b("open", sent["package_id"][:12], "-o", "in").code == 0
    r = a("fetch")
    assert r.code == 0 and "财政局 signed for package" in r.out, r.out + r.err


def test_a_schema_2_ledger_is_migrated(tmp_path):
    kept = tmp_path / "sent.smx"
    kept.write_bytes(b"x" * 1234)
    pid, digest = "ab" * 16, bytes(range(32))
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as db:
        db.execute(_V2_SENT)
        db.execute(_V2_RECIPIENTS)
        for p, path in ((pid, str(kept)), ("cd" * 16, str(tmp_path / "gone.smx"))):
            db.execute("INSERT INTO sent VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (p, "2026-11-30T01:02:03+00:00", "t", None, "normal", None, None, path, digest, "outbox"))
            db.execute("INSERT INTO sent_recipients (package_id, unit, role, key_id) VALUES (?,?,?,?)",
                       (p, "财政局", "to", b"\x01" * 16))
            db.execute("INSERT INTO sent_recipients (package_id, unit, role, key_id) VALUES (?,?,?,?)",
                       (p, "审计局", "cc", b"\x02" * 16))
        db.execute("PRAGMA user_version = 2")
    led = Ledger(tmp_path)
    res = led.seal_result(pid)
    assert res is not None and res.size == 1234 and res.package_digest == digest
    assert [(x.role, x.key_id) for x in res.recipients] == [("to", b"\x01" * 16), ("cc", b"\x02" * 16)]
    assert res.sealed_at.isoformat() == "2026-11-30T01:02:03+00:00"
    assert led.seal_result("cd" * 16).size == 0                 # the copy is gone: its size is unknown
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    Ledger(tmp_path)                                             # opening again changes nothing
    assert Ledger(tmp_path).seal_result(pid) == res
