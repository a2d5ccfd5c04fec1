"""The receiving side on a shared outbox folder used by two homes: send → fetch → inbox →
open --next (receipt back through the folder) → fetch → status; plus fetching twice, an altered
package, 拒收 with a reason, a 催领 reminder, resend, and opening by id prefix."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

from smseal.office import reminders
from tests.cli_helpers import units  # noqa: F401  (fixture)


def _send(a, *extra):
    res = a("send", "关于报送2027年工作安排的通知.pdf", "附件1.txt", "--to", "财政局", "--json", *extra)
    assert res.code == 0, res.err
    return json.loads(res.out)["package_id"]


def test_folder_end_to_end(units):
    a, b, desk, shared = units
    pid_normal = _send(a, "--doc-number", "赤政办发〔2027〕4号")
    pid_urgent = _send(a, "--doc-number", "赤政办发〔2027〕5号", "--urgency", "extra-urgent")
    res = b("fetch")
    assert res.code == 0, res.err
    assert "特急" in res.err and pid_urgent[:12] in res.err          # announced on the terminal
    assert (shared / "财政局" / "packages" / "processed" / f"{pid_urgent}.smx").exists()
    again = b("fetch", "--json")
    assert again.code == 0 and json.loads(again.out)["new"] == []     # fetching twice never duplicates
    inbox = json.loads(b("inbox", "--json").out)
    waiting = inbox["waiting"]
    assert [w["package_id"] for w in waiting] == [pid_urgent, pid_normal]   # 特急 first
    w = waiting[0]
    assert w["sender"] == "市政府办公室" and w["urgency"] == "extra-urgent" and w["received_at"]
    assert w["title"] is None                                          # encrypted until opened
    text = b("inbox").out
    assert "特急" in text and "市政府办公室" in text
    res = b("open", "--next", "-o", "收文1")
    assert res.code == 0, res.err
    assert "赤政办发〔2027〕5号" in res.out
    assert (desk / "收文1" / "附件1.txt").read_text(encoding="utf-8") == "附件一：名单\n"
    res = a("fetch")
    assert res.code == 0 and "财政局 signed for package" in res.out
    (sent_urgent,) = [s for s in json.loads(a("status", "--json").out)["sent"] if s["package_id"] == pid_urgent]
    assert sent_urgent["signed"] == 1
    assert sent_urgent["recipients"][0]["delivery"] == "delivered"
    # open by a unique id prefix; then the inbox shows the opened one's title with --all
    res = b("open", pid_normal[:8], "-o", "收文2")
    assert res.code == 0, res.err
    assert json.loads(b("inbox", "--json").out)["waiting"] == []
    answered = json.loads(b("inbox", "--all", "--json").out)["answered"]
    assert {e["doc_number"] for e in answered} == {"赤政办发〔2027〕4号", "赤政办发〔2027〕5号"}


def test_altered_package_is_refused_not_opened(units):
    a, b, desk, shared = units
    pid = _send(a)
    path = shared / "财政局" / "packages" / f"{pid}.smx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    res = b("fetch", "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert report["new"] == [] and len(report["refused"]) == 1
    assert report["refused"][0]["claimed_package_id"] == pid
    inbox = json.loads(b("inbox", "--json").out)
    assert inbox["waiting"] == [] and len(inbox["refused"]) == 1
    assert b("open", "--next").code == 2                               # nothing to open
    # The genuine package sent again is accepted: a refused copy never squats the id.
    assert a("resend", pid, "--to", "财政局").code == 0
    report = json.loads(b("fetch", "--json").out)
    assert [e["package_id"] for e in report["new"]] == [pid]


def test_reject_with_reason(units):
    a, b, desk, shared = units
    pid = _send(a, "--urgency", "urgent")
    assert b("fetch").code == 0
    res = b("reject", pid[:10], "--reason", "不属于本单位职责范围，请转交发改委")
    assert res.code == 0, res.err
    assert json.loads(b("inbox", "--json").out)["waiting"] == []
    res = a("fetch")
    assert res.code == 0 and "REFUSED" in res.out and "发改委" in res.out
    (sent,) = json.loads(a("status", "--json").out)["sent"]
    r = sent["recipients"][0]
    assert r["rejected"] and r["rejection_reason"] == "不属于本单位职责范围，请转交发改委" and sent["signed"] == 0
    assert "发改委" in a("status").out


def test_reminder_signed_and_shown(units, monkeypatch):
    a, b, desk, shared = units
    pid = _send(a, "--urgency", "extra-urgent")
    assert json.loads(a("remind", "--dry-run", "--json").out) == []     # not due yet
    cfg = a.home / "config.ini"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n[reminders]\nextra-urgent = 1s\n", encoding="utf-8")
    import time

    time.sleep(1.2)
    due = json.loads(a("remind", "--dry-run", "--json").out)
    assert [d["package_id"] for d in due] == [pid] and due[0]["sequence"] == 1
    sent = json.loads(a("remind", "--json").out)
    assert sent[0]["sent"] is True
    assert b("fetch").code == 0
    (w,) = json.loads(b("inbox", "--json").out)["waiting"]
    assert w["reminders"][0]["sequence"] == 1 and w["reminders"][0]["sender"] == "市政府办公室"
    assert "reminders" in b("inbox").out          # the inbox table has a 催领 column
    (s,) = json.loads(a("status", "--json").out)["sent"]
    assert s["recipients"][0]["reminders"] == 1


def test_forged_reminder_is_refused(units, tmp_path):
    """A reminder signed by a key that is not the sender's is refused (no spam by forgery)."""
    from shangmi import sm2
    from smseal.envelope.notice import make_notice

    a, b, desk, shared = units
    pid = _send(a, "--urgency", "extra-urgent")
    assert b("fetch").code == 0
    from smseal.office.context import Office

    with Office(b.home) as office:
        kid = next(iter(office.own_encryption_key_ids()))
    stranger = sm2.PrivateKey.generate()
    forged = make_notice("reminder", package_id=bytes.fromhex(pid), package_digest=bytes(32),
                         recipient_key_id=kid, urgency="extra-urgent", signer=stranger, sequence=1)
    notices = shared / "财政局" / "notices"
    notices.mkdir(parents=True, exist_ok=True)
    (notices / f"{pid}-reminder-1.notice").write_bytes(forged.to_bytes())
    report = json.loads(b("fetch", "--json").out)
    assert report["reminders"] == [] and len(report["refused"]) == 1
    (w,) = json.loads(b("inbox", "--json").out)["waiting"]
    assert w["reminders"] == []


def test_send_without_transport_says_saved(units):
    a, b, desk, shared = units
    (a.home / "config.ini").write_text("[unit]\nname = 市政府办公室\n", encoding="utf-8")
    res = a("send", "附件1.txt", "--to", "财政局")
    assert res.code == 0, res.err
    assert "saved" in res.out and "delivered to" not in res.out
    (s,) = json.loads(a("status", "--json").out)["sent"]
    assert s["recipients"][0]["delivery"] == "saved"


def test_waited_time(units):
    from smseal.office.context import Office
    from smseal.office.inbox import Inbox
    from smseal.office.ledger import now

    a, b, desk, shared = units
    _send(a)
    assert b("fetch").code == 0
    with Office(b.home) as office:
        (e,) = Inbox(office).entries()
        assert e.waited_seconds(now() + timedelta(hours=2)) >= 7200


def test_urgent_package_announced_by_notify_send(units, tmp_path, monkeypatch):
    """On a desktop, fetch also calls notify-send for each new 特急/加急 package."""
    a, b, desk, shared = units
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "notified.txt"
    script = bindir / "notify-send"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" >> {log}\n", encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("DISPLAY", ":0")
    _send(a, "--urgency", "urgent")
    _send(a)
    assert b("fetch").code == 0
    text = log.read_text(encoding="utf-8")
    assert text.count("--urgency=critical") == 1 and "加急" in text and "市政府办公室" in text


def test_open_checks_the_way_back_before_decrypting(units):
    a, b, desk, shared = units
    _send(a)
    assert b("fetch").code == 0
    cfg = b.home / "config.ini"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n[delivery]\nvia = smtp\n", encoding="utf-8")
    res = b("open", "--next", "-o", "收文")
    assert res.code == 2 and "[smtp]" in res.err           # SMTP not configured: said before anything opens
    assert not (desk / "收文").exists()
    assert len(json.loads(b("inbox", "--json").out)["waiting"]) == 1


def test_fetch_watch_announces_and_stops_cleanly(units):
    import signal
    import subprocess
    import sys
    import time

    from tests.cli_helpers import FAST_ENV

    a, b, desk, shared = units
    env = {**os.environ, **FAST_ENV, "SMSEAL_HOME": str(b.home)}
    proc = subprocess.Popen([sys.executable, "-m", "smseal.cli.main", "fetch", "--watch", "--interval", "1"],
                            cwd=desk, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        pid = _send(a, "--urgency", "extra-urgent")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (shared / "财政局" / "packages" / "processed" / f"{pid}.smx").exists():
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert pid[:12] in out and "特急" in err and "Traceback" not in err


def test_reminders_repeat_up_to_max(units, monkeypatch):
    """The reminder clock is set by the test (``office.reminders.now``), never waited for: the
    intervals are judged at exact instants, so the test does not depend on the machine's load."""
    a, b, desk, shared = units
    cfg = a.home / "config.ini"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n[reminders]\nurgent = 1m\nmax = 2\n", encoding="utf-8")
    _send(a, "--urgency", "urgent")
    _send(a)                                                        # normal: never reminded
    clock = [datetime.now(timezone.utc) + timedelta(days=1)]
    monkeypatch.setattr(reminders, "now", lambda: clock[0])
    (due,) = json.loads(a("remind", "--dry-run", "--json").out)     # a day later: due, since sealing
    clock[0] = datetime.fromisoformat(due["waiting_since"])         # back to the moment it was sealed

    def remind(*extra, after):
        clock[0] += after
        return [r["sequence"] for r in json.loads(a("remind", "--json", *extra).out)]

    assert remind("--dry-run", after=timedelta(seconds=59)) == []   # not due before the interval
    assert remind(after=timedelta(seconds=1)) == [1]                # due exactly at it
    assert remind("--dry-run", after=timedelta(seconds=59)) == []   # not again before the interval
    assert remind(after=timedelta(seconds=1)) == [2]
    assert remind("--dry-run", after=timedelta(hours=1)) == []      # max reached
    assert b("fetch").code == 0
    waiting = json.loads(b("inbox", "--json").out)["waiting"]
    assert [len(w["reminders"]) for w in waiting] == [2, 0]         # 加急 first, with both reminders


def test_trusted_unit_cannot_raise_reminders_for_packages_not_here(units):
    """Review F7: a trusted unit's genuinely signed 催领 for a made-up id (or sent before the
    package) is refused — no alarm, and no sequence number taken from the real sender."""
    from smseal.envelope.notice import make_notice
    from smseal.keystore import env_passphrase
    from smseal.office.context import Office

    a, b, desk, shared = units
    with Office(b.home) as office:
        kid = next(iter(office.own_encryption_key_ids()))
    with Office(a.home, passphrase=env_passphrase()) as office:
        signer = office.keystore.signer("市政府办公室")
        made_up = make_notice("reminder", package_id=bytes(16), package_digest=bytes(32),
                              recipient_key_id=kid, urgency="extra-urgent", signer=signer, sequence=1)
    notices = shared / "财政局" / "notices"
    notices.mkdir(parents=True, exist_ok=True)
    (notices / f"{bytes(16).hex()}-reminder-1.notice").write_bytes(made_up.to_bytes())
    report = json.loads(b("fetch", "--json").out)
    assert report["reminders"] == [] and len(report["refused"]) == 1
    assert "has not arrived" in json.dumps(report["refused"])
