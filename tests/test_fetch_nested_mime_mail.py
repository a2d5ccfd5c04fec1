"""Attack: one mail nested thousands of MIME levels deep (or with thousands of parts) used to
crash ``fetch`` with a RecursionError before anything was marked, blocking every mail behind it
for good; ``open x.eml`` and ``receipts import x.eml`` printed a traceback.  Now such a mail is
refused once with a one-line reason, remembered so it is never retried, left unflagged in the
mailbox, and the genuine mail behind it is fetched (real Dovecot via tests/imap_server.py)."""

from __future__ import annotations

import json

import pytest

from shangmi.errors import MalformedInput
from smseal.office.mailparse import MAX_DEPTH, MAX_MIME_PARTS, read_items
from tests.cli_helpers import Runner, units  # noqa: F401  (fixture)
from tests.imap_server import mail_system  # noqa: F401  (fixture)
from tests.test_inbox_imap import B_ADDR, _configure, _flags, _send, mailed  # noqa: F401  (fixture)

HEAD = b"From: x@evil.example\r\nTo: czj@b.example.gov.cn\r\nSubject: hi\r\nX-Smseal: 1\r\nMIME-Version: 1.0\r\n"


def nested_multipart(depth: int) -> bytes:
    out = HEAD
    for i in range(depth):
        out += b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
    out += b"Content-Type: text/plain\r\n\r\nhi\r\n"
    for i in reversed(range(depth)):
        out += b"--b%d--\r\n" % i
    return out


def nested_rfc822(depth: int) -> bytes:
    return HEAD + b"Content-Type: message/rfc822\r\n\r\n" * depth + b"Subject: x\r\n\r\nhi\r\n"


def many_parts(n: int) -> bytes:
    body = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(n))
    return HEAD + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + body + b"--b--\r\n"


@pytest.mark.parametrize("raw", [nested_multipart(2000), nested_rfc822(3000), nested_multipart(MAX_DEPTH + 1),
                                 nested_rfc822(MAX_DEPTH + 2), many_parts(MAX_MIME_PARTS + 1)],
                         ids=["multipart-2000", "rfc822-3000", "multipart-just-too-deep", "rfc822-just-too-deep",
                              "too-many-parts"])
def test_deep_or_wide_mail_is_malformed_input(raw):
    with pytest.raises(MalformedInput) as e:
        read_items(raw)
    assert "\n" not in str(e.value)


def test_mail_within_the_bounds_still_reads():
    assert read_items(nested_multipart(MAX_DEPTH - 1)) == []
    assert read_items(many_parts(MAX_MIME_PARTS - 2)) == []


def test_nested_mime_mail_does_not_block_the_mailbox(mailed):
    a, b, desk, ms = mailed
    ms.deliver(B_ADDR, nested_multipart(2000))
    ms.deliver(B_ADDR, nested_rfc822(3000))
    pid = _send(a, "--urgency", "extra-urgent")
    res = b("fetch", "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert [n["package_id"] for n in report["new"]] == [pid]          # the genuine mail behind it arrived
    refused = [r for r in report["refused"] if r["kind"] == "mail"]
    assert len(refused) == 2 and all("nested" in r["reason"] and "\n" not in r["reason"] for r in refused)
    again = json.loads(b("fetch", "--json").out)
    assert again["refused"] == [] and again["new"] == []                # refused once, never retried
    flags = [f for f, _h in _flags(ms, B_ADDR)]
    assert sum("$SmsealDone" in f for f in flags) == 1                  # the bad mails are left unflagged


@pytest.mark.parametrize("raw", [nested_multipart(2000), nested_rfc822(3000)], ids=["multipart", "rfc822"])
def test_nested_mime_saved_email_is_a_one_line_error(units, raw):  # noqa: F811
    a, b, desk, shared = units
    (desk / "evil.eml").write_bytes(raw)
    for argv in (("open", "evil.eml", "-o", "out", "--no-receipt"), ("receipts", "import", "evil.eml")):
        res = b(*argv)
        assert res.code == 1, (argv, res.err)
        assert "Traceback" not in res.err and "nested" in res.err, res.err
