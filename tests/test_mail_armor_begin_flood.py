"""Attack: a text body made of nothing but ``-----BEGIN SMSEAL PACKAGE-----`` lines.  The old
regex search restarted from every BEGIN line (quadratic: 512 KiB took 106 s, 4 MB hours), and the
mail was never marked, so every fetch did it again.  The armor search is now one linear pass that
gives up at the first BEGIN without its END and reads at most ``MAX_ARMOR_BLOCKS`` items per part.

There is no timing assertion: the fetch runs as a subprocess with the runner's generous timeout,
which the old quadratic search (hours for these 4 MiB) could never meet.  Speed is measured in
benchmarks/bench_inbox.py."""

from __future__ import annotations

import json

from smseal.office.mailparse import MAX_ARMOR_BLOCKS, armor_blocks, read_items
from tests.cli_helpers import Runner, units  # noqa: F401  (fixture)
from tests.imap_server import mail_system  # noqa: F401  (fixture)
from tests.test_inbox_imap import B_ADDR, _configure, _send, mailed  # noqa: F401  (fixture)

BEGIN = b"-----BEGIN SMSEAL PACKAGE-----\n"


def flood(size: int, line: bytes = BEGIN) -> bytes:
    return (b"From: x@evil.example\r\nTo: czj@b.example.gov.cn\r\nSubject: hi\r\nX-Smseal: 1\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
            + line * (size // len(line)))


def block(kind: bytes, body: bytes = b"AAAA\n") -> bytes:
    return b"-----BEGIN SMSEAL " + kind + b"-----\n" + body + b"-----END SMSEAL " + kind + b"-----\n"


def test_armor_blocks_are_found_in_one_pass():
    text = b"hello\n" + block(b"PACKAGE") + b"between\n" + block(b"RECEIPT") + block(b"NOTICE", b"B\r\n")
    assert [(k, b) for k, b in armor_blocks(text)] == [
        ("package", block(b"PACKAGE")), ("receipt", block(b"RECEIPT")), ("notice", block(b"NOTICE", b"B\r\n"))]
    # a BEGIN of one kind ends only at the END of the same kind
    mixed = b"-----BEGIN SMSEAL PACKAGE-----\nx\n-----END SMSEAL RECEIPT-----\ny\n-----END SMSEAL PACKAGE-----\n"
    assert list(armor_blocks(mixed)) == [("package", mixed)]
    # the search gives up at the first BEGIN without its END, and reads a bounded number of blocks
    assert list(armor_blocks(BEGIN + block(b"RECEIPT"))) == []
    assert len(list(armor_blocks(block(b"RECEIPT") * (MAX_ARMOR_BLOCKS + 5)))) == MAX_ARMOR_BLOCKS


def test_begin_flood_of_4_mib_reads_nothing():
    assert read_items(flood(4 << 20)) == []
    assert read_items(flood(1 << 20, b"-----BEGIN SMSEAL PACKAGE-----\n-----BEGIN SMSEAL x\n")) == []


def test_begin_flood_mail_does_not_stall_fetch(mailed):
    a, b, desk, ms = mailed
    ms.deliver(B_ADDR, flood(4 << 20))
    pid = _send(a, "--urgency", "extra-urgent")
    res = b.sub("fetch", "--json")             # a subprocess with a timeout the old search could not meet
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert [n["package_id"] for n in report["new"]] == [pid] and report["ignored"] == 1
    again = json.loads(b("fetch", "--json").out)
    assert again["new"] == [] and again["ignored"] == 0             # read once, never again
