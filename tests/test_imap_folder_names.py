"""Non-ASCII IMAP folder names go to the server in modified UTF-7 (RFC 3501 §5.1.3): ``[imap]
folder = 收文`` and ``processed = folder:已处理公文`` work against the real Dovecot (imaplib
sends commands in ASCII, so the raw name used to fail with an encoding error)."""

from __future__ import annotations

import json

from smseal.office.imap import encode_mailbox
from tests.cli_helpers import units  # noqa: F401  (fixture)
from tests.imap_server import mail_system  # noqa: F401  (fixture)
from tests.test_inbox_imap import A_ADDR, B_ADDR, _configure, _send

SHOUWEN = "&ZTZlhw-"            # 收文: U+6536 U+6587 as UTF-16BE 65 36 65 87, base64 "ZTZlhw"


def test_modified_utf7_examples_from_the_rfc():
    assert encode_mailbox("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
    assert encode_mailbox("收文") == SHOUWEN
    assert encode_mailbox("A&B") == "A&-B" and encode_mailbox("INBOX") == "INBOX"
    assert encode_mailbox("文件 & 收据") == "&ZYdO9g- &- &ZTZjbg-"


def test_chinese_folder_names_against_dovecot(units, mail_system):
    a, b, desk, shared = units
    ms = mail_system
    _configure(a, ms, A_ADDR, imap_security="starttls")
    _configure(b, ms, B_ADDR, extra="folder = 收文\nprocessed = folder:已处理公文\n")
    pid = _send(a)
    c = ms.imap(B_ADDR)                                     # the mail room files smseal mail under 收文
    try:
        assert c.create(SHOUWEN)[0] == "OK"
        assert c.copy("1", SHOUWEN)[0] == "OK"
        c.store("1", "+FLAGS", "(\\Deleted)")
        c.expunge()
    finally:
        c.logout()
    res = b("fetch", "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert [e["package_id"] for e in report["new"]] == [pid] and report["errors"] == []
    c = ms.imap(B_ADDR)
    try:
        typ, listed = c.list()
        names = b"\n".join(x for x in listed if isinstance(x, bytes)).decode("ascii")
        done = encode_mailbox("已处理公文")
        assert SHOUWEN in names and done in names, names
        assert c.select(SHOUWEN)[1] == [b"0"]              # moved out of 收文 ...
        assert c.select(done)[1] == [b"1"]                 # ... into 已处理公文
    finally:
        c.logout()
    again = json.loads(b("fetch", "--json").out)
    assert again["new"] == [] and again["errors"] == []
