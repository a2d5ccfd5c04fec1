"""The receiving side against a real mail system: SMTP (aiosmtpd, STARTTLS, login) delivering
through Dovecot's LDA into Dovecot mailboxes read over IMAPS / STARTTLS.

End to end: A send → B fetch → B inbox → B open --next (receipt back by mail) → A fetch →
A status shows it signed; plus fetching twice, mail that is not from smseal left untouched,
an altered package refused, a split package, a reminder, a 拒收, armor, saved e-mails, and
transport errors that say what to do."""

from __future__ import annotations

import json
import os
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from tests.cli_helpers import Runner, units  # noqa: F401  (fixture)
from tests.imap_server import mail_system, smtp_config, start_smtp  # noqa: F401  (fixture)

A_ADDR, B_ADDR, C_ADDR = "bgs@a.example.gov.cn", "czj@b.example.gov.cn", "fgw@c.example.gov.cn"
ADDRESSES = f"[addresses]\n市政府办公室 = {A_ADDR}\n财政局 = {B_ADDR}\n发改委 = {C_ADDR}\n"


def _configure(runner, ms, address, *, imap_security="tls", extra=""):
    name = (runner.home / "config.ini").read_text(encoding="utf-8")
    unit = name.split("[unit]", 1)[1] if "[unit]" in name else ""
    (runner.home / "config.ini").write_text(
        ("[unit]" + unit if unit else "") + "\n" + smtp_config(ms, address) + ADDRESSES
        + ms.imap_config(address, security=imap_security) + extra, encoding="utf-8")


@pytest.fixture
def mailed(units, mail_system):
    a, b, desk, shared = units
    _configure(a, mail_system, A_ADDR, imap_security="starttls")
    _configure(b, mail_system, B_ADDR)
    return a, b, desk, mail_system


def _send(a, *extra):
    res = a("send", "关于报送2027年工作安排的通知.pdf", "附件1.txt", "--to", "财政局", "--json", *extra)
    assert res.code == 0, res.err
    return json.loads(res.out)["package_id"]


def _flags(ms, user):
    c = ms.imap(user)
    try:
        typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT X-SMSEAL)])")
        out = []
        for item in data:
            if isinstance(item, tuple):
                out.append((item[0].decode(), item[1].decode()))
        return out
    finally:
        c.logout()


def test_end_to_end_by_mail(mailed):
    a, b, desk, ms = mailed
    plain = EmailMessage()
    plain["From"], plain["To"], plain["Subject"] = "someone@example.org", B_ADDR, "午餐安排"
    plain.set_content("明天中午食堂。")
    ms.deliver(B_ADDR, plain.as_bytes())
    pid = _send(a, "--urgency", "extra-urgent", "--doc-number", "赤政办发〔2027〕5号")
    res = b("fetch")
    assert res.code == 0, res.err
    assert "特急" in res.err and pid[:12] in res.err                 # urgent: announced at once
    again = json.loads(b("fetch", "--json").out)
    assert again["new"] == [] and again["duplicates"] == 0          # fetching twice never duplicates
    flags = _flags(ms, B_ADDR)
    lunch = [f for f, h in flags if "X-Smseal" not in h]
    ours = [f for f, h in flags if "X-Smseal" in h]
    assert len(lunch) == 1 and "$SmsealDone" not in lunch[0] and "\\Seen" not in lunch[0]   # left alone
    assert len(ours) == 1 and "$SmsealDone" in ours[0] and "\\Seen" not in ours[0]
    (w,) = json.loads(b("inbox", "--json").out)["waiting"]
    assert (w["package_id"], w["sender"], w["urgency"]) == (pid, "市政府办公室", "extra-urgent")
    res = b("open", "--next", "-o", "收文")
    assert res.code == 0, res.err
    assert (desk / "收文" / "附件1.txt").read_text(encoding="utf-8") == "附件一：名单\n"
    res = a("fetch")
    assert res.code == 0, res.err
    assert "财政局 signed for package" in res.out
    (sent,) = json.loads(a("status", "--json").out)["sent"]
    assert sent["signed"] == 1 and sent["recipients"][0]["delivery"] == "delivered"
    assert sent["recipients"][0]["delivered_to"] == B_ADDR
    assert "signed" in a("status").out


def test_mail_hygiene_and_armor(mailed):
    a, b, desk, ms = mailed
    pid = _send(a, "--urgency", "urgent", "--armor")
    c = ms.imap(B_ADDR)
    try:
        _t, data = c.fetch("1", "(BODY.PEEK[])")
        raw = data[0][1]
    finally:
        c.logout()
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Date"] and msg["Message-ID"]
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n", 1)[0].lower() or b"=?utf-8?" in raw.lower()   # RFC 2047 From
    assert "市政府办公室" in str(msg["From"]) and A_ADDR in str(msg["From"])
    assert "加急" in msg["Subject"]
    texts = [p for p in msg.walk() if p.get_content_type() == "text/plain"]
    body = texts[0].get_content()
    assert "加急" in body and "urgent" in body and pid in body     # Chinese and English, with the urgency
    armored = [p for p in texts if "-----BEGIN SMSEAL PACKAGE-----" in p.get_content()]
    assert armored and armored[0]["Content-Transfer-Encoding"] == "7bit"   # not base64 of base64
    assert not [p for p in msg.iter_attachments() if p.get_filename()]
    assert b("fetch").code == 0
    (w,) = json.loads(b("inbox", "--json").out)["waiting"]
    assert w["package_id"] == pid
    (desk / "saved.eml").write_bytes(raw)
    res = b("open", "saved.eml", "-o", "from-eml", "--no-receipt")
    assert res.code == 0, res.err
    assert "e-mail" in res.err and "package inside" in res.err


def test_altered_package_in_the_mailbox(mailed):
    a, b, desk, ms = mailed
    pid = _send(a)
    c = ms.imap(B_ADDR)
    try:
        _t, data = c.fetch("1", "(BODY.PEEK[])")
        raw = data[0][1]
        c.store("1", "+FLAGS", "$SmsealDone")      # the genuine one is out of the way
    finally:
        c.logout()
    msg = message_from_bytes(raw, policy=policy.default)
    (att,) = [p for p in msg.iter_attachments()]
    bad = bytearray(att.get_content())
    bad[len(bad) // 2] ^= 0x40
    forged = EmailMessage()
    for h in ("From", "To", "Subject", "X-Smseal"):
        forged[h] = msg[h]
    forged.set_content("altered")
    forged.add_attachment(bytes(bad), maintype="application", subtype="octet-stream", filename=f"{pid}.smx")
    ms.deliver(B_ADDR, forged.as_bytes())
    report = json.loads(b("fetch", "--json").out)
    assert report["new"] == [] and len(report["refused"]) == 1
    assert "InvalidSignature" in report["refused"][0]["reason"] or "altered" in report["refused"][0]["reason"]
    inbox = json.loads(b("inbox", "--json").out)
    assert inbox["waiting"] == [] and len(inbox["refused"]) == 1
    assert b("open", "--next").code == 2
    assert not (desk / pid[:16]).exists()                            # nothing opened


def send_split(a, b, desk, ms, *, limit: int, size: int) -> dict:
    """A sends ``big.bin`` (``size`` random bytes) to B through a server that accepts ``limit``."""
    ms._controller.stop()
    start_smtp(ms, size_limit=limit)                                 # a small server limit
    _configure(a, ms, A_ADDR)
    _configure(b, ms, B_ADDR)
    (desk / "big.bin").write_bytes(os.urandom(size))
    res = a("send", "big.bin", "--to", "财政局", "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def test_split_package(units, mail_system):
    a, b, desk, ms = units[0], units[1], units[2], mail_system
    out = send_split(a, b, desk, ms, limit=120_000, size=300_000)
    pid = out["package_id"]
    assert "parts" in out["delivered"][0]["where"]
    assert len(ms.delivered) >= 3 and all(size <= 120_000 for _r, size in ms.delivered)
    res = b("fetch", "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert [e["package_id"] for e in report["new"]] == [pid]
    res = b("open", "--next", "-o", "大文件")
    assert res.code == 0, res.err
    assert (desk / "大文件" / "big.bin").read_bytes() == (desk / "big.bin").read_bytes()


def test_reminder_and_reject_by_mail(mailed):
    a, b, desk, ms = mailed
    cfg = a.home / "config.ini"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "[reminders]\nextra-urgent = 1s\n", encoding="utf-8")
    pid = _send(a, "--urgency", "extra-urgent")
    import time

    time.sleep(1.1)
    res = a("remind")
    assert res.code == 0 and "Sent reminder" in res.out, res.err
    res = b("fetch")
    assert res.code == 0 and "Reminder" in res.err
    (w,) = json.loads(b("inbox", "--json").out)["waiting"]
    assert w["reminders"][0]["sender"] == "市政府办公室"
    res = b("reject", pid[:8], "--reason", "请发至办公室主任")
    assert res.code == 0, res.err
    res = a("fetch")
    assert res.code == 0 and "REFUSED" in res.out
    (s,) = json.loads(a("status", "--json").out)["sent"]
    r = s["recipients"][0]
    assert r["rejected"] and r["rejection_reason"] == "请发至办公室主任" and r["reminders"] == 1
    assert a("remind", "--dry-run", "--json").out.strip() == "[]"   # answered: no more reminders


def test_partial_failure_and_resend(units, mail_system, tmp_path):
    a, b, desk, ms = units[0], units[1], units[2], mail_system
    c = Runner(tmp_path / "C", b.capsys, desk)
    c.home.mkdir()
    assert c("init", "--unit", "发改委").code == 0
    assert c("keys", "export", "--public", "-o", "c.card").code == 0
    assert a("keys", "import", "c.card", "--yes").code == 0
    _configure(a, ms, A_ADDR)
    cfg = a.home / "config.ini"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(f"发改委 = {C_ADDR}", "发改委 = nobody@c.example.gov.cn"),
                   encoding="utf-8")
    res = a("send", "附件1.txt", "--to", "财政局", "--cc", "发改委")
    assert res.code == 7
    err = res.err.strip()
    assert "财政局" in err.split("NOT")[0] and "发改委" in err.split("NOT")[1]      # who has it, who not
    assert "nobody@c.example.gov.cn" in err and "[addresses]" in err
    (s,) = json.loads(a("status", "--json").out)["sent"]
    state = {r["unit"]: r for r in s["recipients"]}
    assert state["财政局"]["delivery"] == "delivered"
    assert state["发改委"]["delivery_failed"] and "[addresses]" in state["发改委"]["delivery_reason"]
    assert "DELIVERY FAILED" in a("status").out
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("nobody@c.example.gov.cn", C_ADDR), encoding="utf-8")
    res = a("resend", s["package_id"][:10], "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["deliveries"] == [{"unit": "发改委", "state": "delivered", "where": C_ADDR,
                                                  "reason": None}]
    (s2,) = json.loads(a("status", "--json").out)["sent"]
    assert s2["package_id"] == s["package_id"]                       # the same package, never a new id
    c_cfg = c.home / "config.ini"
    c_cfg.write_text(c_cfg.read_text(encoding="utf-8") + smtp_config(ms, C_ADDR) + ADDRESSES
                     + ms.imap_config(C_ADDR), encoding="utf-8")
    assert c("keys", "import", "a.card", "--yes").code == 0
    report = json.loads(c("fetch", "--json").out)
    assert [e["package_id"] for e in report["new"]] == [s["package_id"]]


def test_transport_errors_say_what_to_do(mailed):
    a, b, desk, ms = mailed
    cfg = b.home / "config.ini"
    base = cfg.read_text(encoding="utf-8")

    def fetch_with(imap_lines: str):
        cfg.write_text(base.split("[imap]")[0] + imap_lines, encoding="utf-8")
        res = b("fetch")
        assert res.code == 7, res.err
        lines = [ln for ln in res.err.strip().splitlines() if ln]
        assert len(lines) == 1 and "Traceback" not in res.err and "Error(" not in res.err
        return lines[0]

    # tls on the plain port, starttls on the implicit-TLS port: detected, pairs named
    line = fetch_with(ms.imap_config(B_ADDR, security="tls", port=ms.imap_port))
    assert "993 = tls, 143 = starttls" in line
    line = fetch_with(ms.imap_config(B_ADDR, security="starttls", port=ms.imaps_port))
    assert "993 = tls, 143 = starttls" in line
    line = fetch_with(ms.imap_config(B_ADDR, cafile=False))         # the throw-away CA is not trusted
    assert "cafile" in line
    line = fetch_with(ms.imap_config(B_ADDR).replace("password = ", "password = x"))
    assert "SMSEAL_IMAP_PASSWORD" in line
    os.environ["LANGUAGE"] = "zh_CN"
    try:
        line = fetch_with(ms.imap_config(B_ADDR, cafile=False))
        assert "证书不受信任" in line and "cafile" in line
    finally:
        del os.environ["LANGUAGE"]
    # plain IMAP is accepted only on the loopback
    cfg.write_text(base.split("[imap]")[0] + ms.imap_config(B_ADDR, security="none"), encoding="utf-8")
    assert b("fetch").code == 0


def test_receipts_import_saved_email(mailed):
    a, b, desk, ms = mailed
    _send(a)
    assert b("fetch").code == 0
    assert b("open", "--next", "-o", "收文").code == 0
    cl = ms.imap(A_ADDR)
    try:
        _t, data = cl.fetch("1", "(BODY.PEEK[])")
        (desk / "receipt.eml").write_bytes(data[0][1])
    finally:
        cl.logout()
    res = a("receipts", "import", "receipt.eml")
    assert res.code == 0, res.err
    assert "e-mail" in res.err and "signed for package" in res.out


def test_idle_wakes_up_for_new_mail(mailed):
    """IMAP IDLE: the wait ends when the server announces new mail, and watch fetches it."""
    import threading

    from smseal.office.context import Office
    from smseal.office.fetch import watch
    from smseal.office.imap import IMAPMailbox

    a, b, desk, ms = mailed
    res = a("seal", "附件1.txt", "--to", "财政局", "--urgency", "urgent", "-o", "idle.smx")
    assert res.code == 0, res.err
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"], mail["X-Smseal"] = A_ADDR, B_ADDR, "smseal", "1"
    mail.set_content("package")
    mail.add_attachment((desk / "idle.smx").read_bytes(), maintype="application", subtype="octet-stream",
                        filename="idle.smx")
    with Office(b.home) as office:
        mb = IMAPMailbox(office.config.imap()).connect()
        try:
            assert mb.has_idle
            t = threading.Timer(0.5, ms.deliver, (B_ADDR, mail.as_bytes()))
            t.start()
            assert mb.idle(120) is True
            t.join()
        finally:
            mb.close()
        reports = []
        watch(office, interval=1, on_report=reports.append, rounds=1, remind=False)
        urgent = [e for r in reports for e in r.urgent]
        assert len(urgent) == 1 and urgent[0].urgency == "urgent"


def test_processed_mail_moved_to_a_folder(mailed):
    """[imap] processed = folder:NAME moves processed smseal mail there; other mail stays."""
    a, b, desk, ms = mailed
    cfg = b.home / "config.ini"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "processed = folder:smseal-done\n", encoding="utf-8")
    plain = EmailMessage()
    plain["From"], plain["To"], plain["Subject"] = "someone@example.org", B_ADDR, "通知"
    plain.set_content("与 smseal 无关。")
    ms.deliver(B_ADDR, plain.as_bytes())
    pid = _send(a)
    report = json.loads(b("fetch", "--json").out)
    assert [e["package_id"] for e in report["new"]] == [pid]
    c = ms.imap(B_ADDR)
    try:
        _t, data = c.search(None, "ALL")
        assert len(data[0].split()) == 1                     # only the other mail is left in INBOX
        typ, _d = c.select("smseal-done")
        _t, data = c.search(None, "ALL")
        assert typ == "OK" and len(data[0].split()) == 1
    finally:
        c.logout()
    assert json.loads(b("fetch", "--json").out)["new"] == []


def test_a_mail_too_large_to_read_is_left_and_reported_once(mailed, monkeypatch):
    import smseal.office.imap as imap_mod
    from smseal.office.context import Office
    from smseal.office.fetch import fetch

    a, b, desk, ms = mailed
    _send(a)
    monkeypatch.setattr(imap_mod, "MAX_MESSAGE", 1000)
    with Office(b.home) as office:
        first = fetch(office)
        assert first.new == [] and len(first.errors) == 1 and "left where it is" in first.errors[0]
        assert fetch(office).errors == []                          # reported once
    (flags, _h), = _flags(ms, B_ADDR)
    assert "$SmsealDone" not in flags
