"""Sending through a real SMTP server on 127.0.0.1 (aiosmtpd, STARTTLS or implicit TLS, login):
the package arrives as an attachment, the recipient opens what arrived, and the signed
receipt travels back the same way."""

from __future__ import annotations

import json

from tests.cli_helpers import units  # noqa: F401  (fixture)
from tests.smtp_server import PASSWORD, USER, smtp_server  # noqa: F401  (fixture)


def _configure(runner, server):
    cfg = runner.home / "config.ini"   # keeps [unit] and [outbox] written by init / the fixture
    cfg.write_text(cfg.read_text(encoding="utf-8") +
        "\n[delivery]\nvia = smtp\n"
        f"[smtp]\nhost = 127.0.0.1\nport = {server.port}\nsecurity = {server.security}\n"
        f"username = {USER}\npassword = {PASSWORD}\nfrom = office@{runner.home.name}.example.gov.cn\n"
        f"cafile = {server.cafile}\n"
        "[addresses]\n市政府办公室 = bgs@a.example.gov.cn\n财政局 = czj@b.example.gov.cn\n", encoding="utf-8")


def test_send_open_receipt_over_smtp(units, smtp_server):
    a, b, desk, shared = units
    for r in (a, b):
        _configure(r, smtp_server)
    res = a("send", "关于报送2027年工作安排的通知.pdf", "附件1.txt", "--to", "财政局",
            "--doc-number", "赤政办发〔2027〕5号", "--urgency", "extra-urgent", "--json")
    assert res.code == 0, res.err
    pid = json.loads(res.out)["package_id"]
    ((rcpts, msg, name, content),) = list(smtp_server.mailbox.attachments())
    assert rcpts == ["czj@b.example.gov.cn"] and name == f"{pid}.smx" and "特急" in msg["Subject"]
    assert "赤政办发" not in msg.as_string()          # the document number travels encrypted only
    (desk / "arrived.smx").write_bytes(content)
    res = b("open", "arrived.smx", "-o", "收文")
    assert res.code == 0, res.err
    assert (desk / "收文" / "附件1.txt").read_text(encoding="utf-8") == "附件一：名单\n"
    receipts = [(r, n, c) for r, _m, n, c in smtp_server.mailbox.attachments() if n.endswith(".receipt")]
    ((rcpts, name, content),) = receipts
    assert rcpts == ["bgs@a.example.gov.cn"]
    (desk / name).write_bytes(content)
    assert a("receipts", "import", name).code == 0
    (sent,) = json.loads(a("status", "--json").out)["sent"]
    assert sent["signed"] == 1 and sent["recipients"][0]["unit"] == "财政局"


def test_smtp_login_checked_before_sealing(units, smtp_server):
    a, _b, _desk, _shared = units
    _configure(a, smtp_server)
    cfg = (a.home / "config.ini").read_text(encoding="utf-8").replace(f"password = {PASSWORD}", "password = nope")
    (a.home / "config.ini").write_text(cfg, encoding="utf-8")
    res = a("send", "附件1.txt", "--to", "财政局")
    assert res.code == 7 and "password" in res.err and "SMSEAL_SMTP_PASSWORD" in res.err
    assert len(res.err.strip().splitlines()) == 1 and "Error(" not in res.err
    assert not list((a.home / "sent").glob("*.smx"))     # nothing sealed: checked before acting
