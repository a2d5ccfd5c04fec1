"""The command's plumbing: atomic outputs, the ledger under two processes, transports
(outbox folder, and SMTP against a real aiosmtpd server on 127.0.0.1 with TLS and login)."""

from __future__ import annotations

import multiprocessing
import os
from datetime import date, datetime, timezone

import pytest

from smseal.office.config import Config, ConfigError
from smseal.office.fsutil import atomic_output, safe_component, write_atomic
from smseal.office.ledger import Ledger
from smseal.office.transport import OutboxTransport, SMTPTransport
from shangmi import OutputExists, TransportError
from tests.smtp_server import PASSWORD, USER, smtp_server  # noqa: F401  (fixture)


def test_atomic_output_never_overwrites(tmp_path):
    dest = tmp_path / "out.bin"
    write_atomic(dest, b"first")
    with pytest.raises(OutputExists):
        write_atomic(dest, b"second")
    assert dest.read_bytes() == b"first"
    write_atomic(dest, b"third", overwrite=True)
    assert dest.read_bytes() == b"third"


def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    dest = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic_output(dest) as f:
            f.write(b"partial")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_safe_component():
    assert safe_component("财政局") == "财政局"
    assert "/" not in safe_component("../../etc/passwd")
    assert safe_component("..") == "_"


def _writer(home, n, tag):
    led = Ledger(home)
    for i in range(n):
        pid = f"{tag}-{i}"
        led.record_sent(package_id=pid, sealed_at=datetime.now(timezone.utc), title="t", doc_number="n",
                        urgency="normal", due=None, label=None, path="p", digest=b"d", transport="outbox",
                        recipients=[("财政局", "to", pid.encode())])
        led.record_receipt(pid, pid.encode(), datetime.now(timezone.utc), "received", b"r")


def test_ledger_two_processes(tmp_path):
    Ledger(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(tmp_path, 60, t)) for t in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    states = Ledger(tmp_path).sent_status()
    assert len(states) == 120 and all(s.signed == 1 for s in states)


def test_ledger_overdue(tmp_path):
    led = Ledger(tmp_path)
    led.record_sent(package_id="p1", sealed_at=datetime.now(timezone.utc), title="t", doc_number="n",
                    urgency="urgent", due=date(2027, 5, 10), label=None, path="p", digest=b"d",
                    transport="outbox", recipients=[("财政局", "to", b"k1"), ("审计局", "cc", b"k2")])
    led.record_receipt("p1", b"k1", datetime.now(timezone.utc), "received", b"r")
    assert not led.record_receipt("p1", b"k1", datetime.now(timezone.utc), "received", b"r")
    (st,) = led.sent_status(today=date(2027, 5, 11))
    assert {r.unit: r.overdue for r in st.recipients} == {"财政局": False, "审计局": True}
    (st,) = led.sent_status(today=date(2027, 5, 9))
    assert not any(r.overdue for r in st.recipients)


def test_outbox_transport(tmp_path):
    t = OutboxTransport(tmp_path / "out")
    (tmp_path / "pkg").write_bytes(b"pkg")
    p1 = t.deliver_package(tmp_path / "pkg", "财政局", "abc", "urgent")
    assert open(p1, "rb").read() == b"pkg"
    r1 = t.deliver_receipt(b"r1", "市政府办公室", "abc")
    r2 = t.deliver_receipt(b"r2", "市政府办公室", "abc")
    assert r1 != r2 and open(r1, "rb").read() == b"r1"


def _smtp_config(tmp_path, server, *, password=PASSWORD):
    cfg = Config(tmp_path)
    cfg.set("smtp", "host", "127.0.0.1")
    cfg.set("smtp", "port", str(server.port))
    cfg.set("smtp", "security", server.security)
    cfg.set("smtp", "username", USER)
    cfg.set("smtp", "password", password)
    cfg.set("smtp", "from", "bgs@example.gov.cn")
    cfg.set("smtp", "cafile", str(server.cafile))
    cfg.set("addresses", "财政局", "czj@example.gov.cn")
    assert (tmp_path / "config.ini").stat().st_mode & 0o077 == 0
    return Config(tmp_path)


def test_smtp_delivery(tmp_path, smtp_server):
    cfg = _smtp_config(tmp_path, smtp_server)
    t = SMTPTransport(cfg)
    assert PASSWORD not in repr(t.settings)
    (tmp_path / "p.smx").write_bytes(b"\x00sealed bytes")
    t.deliver_package(tmp_path / "p.smx", "财政局", "pkg123", "extra-urgent")
    ((rcpts, msg, name, content),) = list(smtp_server.mailbox.attachments())
    assert rcpts == ["czj@example.gov.cn"] and name == "pkg123.smx" and content == b"\x00sealed bytes"
    assert "特急" in msg["Subject"]


def test_smtp_wrong_password(tmp_path, smtp_server):
    cfg = _smtp_config(tmp_path, smtp_server, password="wrong")
    with pytest.raises(TransportError):
        SMTPTransport(cfg).deliver_receipt(b"r", "财政局", "pkg")
    assert smtp_server.mailbox.messages == []


def test_smtp_untrusted_certificate_refused(tmp_path, smtp_server):
    cfg = _smtp_config(tmp_path, smtp_server)
    cfg.set("smtp", "cafile", "")
    with pytest.raises(TransportError):
        SMTPTransport(Config(tmp_path)).deliver_receipt(b"r", "财政局", "pkg")


def test_smtp_config_errors(tmp_path):
    with pytest.raises(ConfigError):
        Config(tmp_path).smtp()
    cfg = Config(tmp_path)
    cfg.set("smtp", "host", "mail.example.gov.cn")
    cfg.set("smtp", "from", "a@b")
    cfg.set("smtp", "security", "none")
    with pytest.raises(ConfigError):
        Config(tmp_path).smtp()
