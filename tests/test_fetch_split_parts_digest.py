"""Numbered parts announce the package digest in their name (``<id>.<digest>.smx.partN-of-M``,
docs/FORMAT.md §15).  Parts that announce another digest form sets of their own: a flood of them —
other totals, other digests, every slot — can no longer push the real parts out (the oldest set
used to be evicted first, and the real one is the oldest), and a set only completes into a package
that verifies *and* has the digest it announced (real Dovecot)."""

from __future__ import annotations

import os
from email import message_from_bytes
from email.message import EmailMessage

from smseal.envelope import inspect
from smseal.envelope.open import package_digest_of
from smseal.office import fetch as fetch_mod
from smseal.office.mailcompose import part_name
from tests.cli_helpers import units  # noqa: F401  (fixture)
from tests.imap_server import mail_system  # noqa: F401  (fixture)
from tests.test_fetch_forged_split_package_parts import _fetch
from tests.test_inbox_imap import A_ADDR, B_ADDR, _configure, send_split


def _mail(name: str, data: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["X-Smseal"] = A_ADDR, B_ADDR, "smseal part", "1"
    msg.set_content("part")
    msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


def _genuine(a, desk, name="p.smx"):
    r = a("seal", "附件1.txt", "--to", "财政局", "-o", name, "--json")
    assert r.code == 0, r.err
    data = (desk / name).read_bytes()
    third = len(data) // 3
    return (inspect(desk / name).package_id.hex(), package_digest_of(desk / name),
            [data[:third], data[third:2 * third], data[2 * third:]])


def test_a_flood_of_parts_announcing_other_digests_cannot_evict_the_real_ones(units, mail_system):
    a, b, desk, shared = units
    ms = mail_system
    _configure(b, ms, B_ADDR)
    pid, digest, parts = _genuine(a, desk)
    for n in (1, 2):
        ms.deliver(B_ADDR, _mail(part_name(pid, n, 3, digest), parts[n - 1]))
    assert _fetch(b)["parts_waiting"] == {pid: {"have": 2, "total": 3}}
    for k in range(fetch_mod.PART_SETS + 3):                      # other digests, other totals, every slot
        fake = os.urandom(32)
        for n in range(1, 4):
            for copy in range(fetch_mod.PART_CANDIDATES + 1):
                ms.deliver(B_ADDR, _mail(part_name(pid, n, 3 + k % 2, fake), b"junk %d %d" % (n, copy)))
    flood = _fetch(b)
    assert flood["new"] == [] and flood["refused"]                # the surplus sets were refused, not kept
    ms.deliver(B_ADDR, _mail(part_name(pid, 3, 3, digest), parts[2]))
    report = _fetch(b)
    assert [e["package_id"] for e in report["new"]] == [pid], report
    assert b("open", "--next", "-o", "收文").code == 0


def test_a_set_completes_only_into_the_digest_it_announced(units, mail_system):
    a, b, desk, shared = units
    ms = mail_system
    _configure(b, ms, B_ADDR)
    pid, digest, parts = _genuine(a, desk)
    wrong = bytes(32)
    for n in (1, 2, 3):                                           # the real bytes under a wrong digest
        ms.deliver(B_ADDR, _mail(part_name(pid, n, 3, wrong), parts[n - 1]))
    report = _fetch(b)
    assert report["new"] == [] and report["parts_waiting"] == {pid: {"have": 3, "total": 3}}
    for n in (1, 2, 3):
        ms.deliver(B_ADDR, _mail(part_name(pid, n, 3, digest), parts[n - 1]))
    report = _fetch(b)
    assert [e["package_id"] for e in report["new"]] == [pid]


def test_smseal_names_its_parts_with_the_package_digest(units, mail_system):
    a, b, desk, shared = units
    ms = mail_system
    out = send_split(a, b, desk, ms, limit=120_000, size=300_000)
    digest = package_digest_of(a.home / "sent" / f"{out['package_id']}.smx").hex()
    c = ms.imap(B_ADDR)
    try:
        typ, data = c.fetch("1:*", "(BODY.PEEK[2.MIME])")
        names = [message_from_bytes(x[1]).get_filename() for x in data if isinstance(x, tuple)]
    finally:
        c.logout()
    assert len(names) >= 3 and all(f"{out['package_id']}.{digest}.smx.part" in n for n in names), names
    assert [e["package_id"] for e in _fetch(b)["new"]] == [out["package_id"]]
