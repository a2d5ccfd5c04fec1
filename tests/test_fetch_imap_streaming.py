"""Review F6: fetch reads IMAP mail one message at a time and streams each part that can carry an
item, ``imap.CHUNK`` encoded bytes per request, decoding into a private spool file — it used to ask
for the whole bodies of 25 mails in one UID FETCH and hold them (a 40 MB mail peaked at 395 MB).
Against the real Dovecot; the memory itself is measured in benchmarks/bench_inbox.py."""

from __future__ import annotations

import imaplib
import json
import os
import stat
from email.message import EmailMessage

import pytest

from smseal.office import imap as imap_mod
from smseal.office.mimestructure import Decoder, find, leaves, parse
from tests.cli_helpers import units  # noqa: F401  (fixture)
from tests.imap_server import mail_system  # noqa: F401  (fixture)
from tests.test_inbox_imap import A_ADDR, B_ADDR, _configure

CHUNK = 64 * 1024


@pytest.fixture
def watched(monkeypatch):
    """Record every literal imaplib reads and every UID command fetch sends."""
    seen = {"literals": [], "commands": []}
    read, uid = imaplib.IMAP4.read, imaplib.IMAP4.uid

    def rec_read(self, size):
        seen["literals"].append(size)
        return read(self, size)

    def rec_uid(self, command, *args):
        seen["commands"].append((command.upper(), *args))
        return uid(self, command, *args)

    monkeypatch.setattr(imaplib.IMAP4, "read", rec_read)
    monkeypatch.setattr(imaplib.IMAP4, "uid", rec_uid)
    monkeypatch.setattr(imap_mod, "CHUNK", CHUNK)
    return seen


def test_large_package_mails_are_streamed_one_at_a_time(units, mail_system, watched):
    a, b, desk, shared = units
    ms = mail_system
    _configure(a, ms, A_ADDR, imap_security="starttls")
    _configure(b, ms, B_ADDR)
    (desk / "大附件.bin").write_bytes(os.urandom(1_500_000))
    pids = []
    for _ in range(2):
        res = a("send", "大附件.bin", "--to", "财政局", "--json")
        assert res.code == 0, res.err
        pids.append(json.loads(res.out)["package_id"])
    junk = EmailMessage()                                   # says it is smseal's, carries 1 MB of noise
    junk["From"], junk["To"], junk["Subject"], junk["X-Smseal"] = "x@example.org", B_ADDR, "noise", "1"
    junk.set_content("hello")
    junk.add_attachment(os.urandom(1_000_000), maintype="application", subtype="octet-stream", filename="a.bin")
    ms.deliver(B_ADDR, junk.as_bytes())
    watched["literals"].clear()
    watched["commands"].clear()
    res = b("fetch", "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert sorted(e["package_id"] for e in report["new"]) == sorted(pids) and report["ignored"] == 1
    fetches = [c for c in watched["commands"] if c[0] == "FETCH"]
    assert fetches and all("," not in c[1] and ":" not in c[1] for c in fetches)     # one mail per command
    assert not any("BODY.PEEK[]" in c[2] or "RFC822)" in c[2] for c in fetches)      # never a whole body
    assert max(watched["literals"]) <= CHUNK                                        # never more than a piece
    assert sum(1 for c in fetches if "BODY.PEEK[2]<" in c[2]) >= 2 * 1_500_000 * 4 // 3 // CHUNK
    incoming = b.home / "inbox" / "incoming"
    assert not [p for p in incoming.iterdir()]                                     # no spool file left
    for p in (b.home / "inbox" / "packages").iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    (w1, w2) = json.loads(b("inbox", "--json").out)["waiting"]
    assert b("open", "--next", "-o", "收文").code == 0
    assert (desk / "收文" / "大附件.bin").stat().st_size == 1_500_000


def test_bodystructure_with_nested_message_and_literals():
    raw = (b'1 (UID 7 RFC822.SIZE 999 BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 10 1 NIL '
           b'NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 500 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) '
           b'(("text" "plain" NIL NIL NIL "base64" 20 1 NIL NIL NIL NIL)("application" "octet-stream" '
           b'("name" {9}\r\nx".smx\\ y) NIL NIL "base64" 40 NIL ("attachment" ("filename*" '
           b'"utf-8\'\'%E6%94%B6.smx")) NIL NIL) "mixed") 9 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL))')
    got = leaves(find(parse(raw), b"BODYSTRUCTURE"))
    assert [(x.section, x.maintype, x.encoding, x.name) for x in got] == [
        ("1", "text", "7bit", ""), ("2.1", "text", "base64", ""), ("2.2", "application", "base64", "收.smx")]
    single = leaves(find(parse(b'(BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" 3 1))'), b"BODYSTRUCTURE"))
    assert [(x.section, x.maintype) for x in single] == [("1", "text")]


def test_decoders_fed_in_odd_pieces():
    import base64
    import binascii

    data = os.urandom(5000)
    text = base64.encodebytes(data)
    for step in (1, 3, 77, 1000):
        d = Decoder("base64")
        assert b"".join(d.feed(text[i:i + step]) for i in range(0, len(text), step)) + d.end() == data
    qp = binascii.b2a_qp(data, istext=False)   # binary: CR and LF encoded (=0D, =0A), so the round trip is exact
    d = Decoder("quoted-printable")
    assert b"".join(d.feed(qp[i:i + 7]) for i in range(0, len(qp), 7)) + d.end() == data
