"""Attack: numbered parts of a split package carry their package id and numbers in an
unauthenticated file name.  They used to be stored first come, first served and never expired:
one forged ``<id>.smx.part1-of-9999`` blocked the real package for good (resends included), and a
forged last part completed the set, failed verification and took the genuine parts with it.
Now competing totals and copies are kept side by side, a full set is tried in several
combinations until one verifies, and incomplete sets are bounded and expire (real Dovecot)."""

from __future__ import annotations

import json
import os
import time
from email.message import EmailMessage

from smseal.envelope import inspect
from smseal.office import fetch as fetch_mod
from tests.cli_helpers import Runner, units  # noqa: F401  (fixture)
from tests.imap_server import mail_system  # noqa: F401  (fixture)
from tests.test_inbox_imap import A_ADDR, B_ADDR, _configure


def part_mail(pid: str, n: int, m: int, data: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["X-Smseal"] = A_ADDR, B_ADDR, f"smseal {pid}", "1"
    msg.set_content("part")
    msg.add_attachment(data, maintype="application", subtype="octet-stream",
                       filename=f"{pid}.smx.part{n}-of-{m}")
    return msg.as_bytes()


def _genuine(a, desk) -> tuple[str, list[bytes]]:
    r = a("seal", "附件1.txt", "--to", "财政局", "--urgency", "extra-urgent", "-o", "p.smx", "--json")
    assert r.code == 0, r.err
    data = (desk / "p.smx").read_bytes()
    third = len(data) // 3
    return inspect(desk / "p.smx").package_id.hex(), [data[:third], data[third:2 * third], data[2 * third:]]


def _fetch(b) -> dict:
    res = b("fetch", "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def test_forged_total_does_not_block_the_real_parts(units, mail_system):
    a, b, desk, shared = units
    _configure(b, mail_system, B_ADDR)
    pid, parts = _genuine(a, desk)
    mail_system.deliver(B_ADDR, part_mail(pid, 1, 9999, b"junk"))       # the attacker's mail comes first
    assert _fetch(b)["parts_waiting"] == {pid: {"have": 1, "total": 9999}}
    for n, data in enumerate(parts, 1):
        mail_system.deliver(B_ADDR, part_mail(pid, n, 3, data))
    report = _fetch(b)
    assert [e["package_id"] for e in report["new"]] == [pid] and report["refused"] == []
    assert not (b.home / "inbox" / "parts" / pid).exists()             # the forged set went with it


def test_forged_parts_in_every_slot_do_not_consume_the_real_ones(units, mail_system):
    a, b, desk, shared = units
    _configure(b, mail_system, B_ADDR)
    pid, parts = _genuine(a, desk)
    mail_system.deliver(B_ADDR, part_mail(pid, 1, 3, parts[0]))
    mail_system.deliver(B_ADDR, part_mail(pid, 2, 3, parts[1]))
    assert _fetch(b)["parts_waiting"] == {pid: {"have": 2, "total": 3}}
    mail_system.deliver(B_ADDR, part_mail(pid, 3, 3, b"junk"))          # a forged last part wins the race
    report = _fetch(b)
    assert report["new"] == [] and report["parts_waiting"] == {pid: {"have": 3, "total": 3}}
    mail_system.deliver(B_ADDR, part_mail(pid, 3, 3, parts[2]))         # the real part 3, then more forgeries
    mail_system.deliver(B_ADDR, part_mail(pid, 1, 3, b"junk 1"))
    mail_system.deliver(B_ADDR, part_mail(pid, 2, 3, b"junk 2"))
    report = _fetch(b)
    assert [e["package_id"] for e in report["new"]] == [pid]
    res = b("open", "--next", "-o", "收文")
    assert res.code == 0, res.err


def test_copies_and_totals_per_package_are_bounded_and_incomplete_sets_expire(units, mail_system):
    a, b, desk, shared = units
    _configure(b, mail_system, B_ADDR)
    pid = "ab" * 16
    for i in range(fetch_mod.PART_CANDIDATES + 3):                      # many copies of one slot
        mail_system.deliver(B_ADDR, part_mail(pid, 1, 2, b"copy %d" % i))
    for total in range(3, 3 + fetch_mod.PART_SETS + 2):                # many competing totals
        mail_system.deliver(B_ADDR, part_mail(pid, 1, total, b"x"))
    _fetch(b)
    folder = b.home / "inbox" / "parts" / pid
    sets = sorted(p.name for p in folder.iterdir())
    assert len(sets) == fetch_mod.PART_SETS
    assert all(len(list((folder / s).iterdir())) <= fetch_mod.PART_CANDIDATES for s in sets)
    old = time.time() - (fetch_mod.PART_EXPIRY_DAYS + 1) * 86400
    for p in [folder, *folder.rglob("*")]:
        os.utime(p, (old, old))
    report = _fetch(b)
    assert report["parts_expired"] == [pid] and not folder.exists()
    res = b("fetch")
    assert res.code == 0 and "Nothing new" in res.out
