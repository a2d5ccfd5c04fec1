"""The secretary's workflow through the real ``smseal`` entry point, in-process and as a
subprocess: the issue's scenario exactly as written, tampering, policy, usage errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.cli_helpers import FAST_ENV, units  # noqa: F401  (fixture)

SEAL = ["seal", "关于报送2027年工作安排的通知.pdf", "附件1.txt", "--to", "财政局",
        "--title", "关于报送2027年工作安排的通知", "--doc-number", "赤政办发〔2027〕5号",
        "--urgency", "urgent", "--due", "2027-05-10", "-o", "pkg.smx"]


def test_issue_scenario_as_subprocesses(tmp_path):
    """Exactly the issue's scenario: two SMSEAL_HOMEs, SMSEAL_PASSPHRASE set, real processes."""
    desk = tmp_path / "desk"
    desk.mkdir()
    (desk / "关于报送2027年工作安排的通知.pdf").write_bytes(b"%PDF-1.4 body")
    (desk / "附件1.txt").write_text("附件", encoding="utf-8")
    env = {**os.environ, **FAST_ENV}
    env.pop("SMSEAL_KDF_ITERATIONS")  # the real key-file cost, as a secretary would have it

    def smseal(home: str, *argv: str) -> subprocess.CompletedProcess:
        exe = shutil.which("smseal") or ""
        cmd = [exe] if exe else [sys.executable, "-m", "smseal.cli.main"]
        return subprocess.run([*cmd, *argv], cwd=desk, env={**env, "SMSEAL_HOME": str(tmp_path / home)},
                              capture_output=True, text=True, timeout=300)

    for home, unit in (("A", "市政府办公室"), ("B", "财政局")):
        assert smseal(home, "init", "--unit", unit).returncode == 0
        assert smseal(home, "keys", "export", "--public", "-o", f"{home}.card").returncode == 0
    assert smseal("A", "keys", "import", "B.card", "--yes").returncode == 0
    assert smseal("B", "keys", "import", "A.card", "--yes").returncode == 0
    r = smseal("A", *SEAL)
    assert r.returncode == 0, r.stderr
    r = smseal("B", "open", "pkg.smx", "-o", "recv", "--receipt-out", "r.receipt")
    assert r.returncode == 0, r.stderr
    assert (desk / "recv" / "关于报送2027年工作安排的通知.pdf").read_bytes() == b"%PDF-1.4 body"
    assert (desk / "recv" / "附件1.txt").read_text(encoding="utf-8") == "附件"
    assert smseal("A", "receipts", "import", "r.receipt").returncode == 0
    status = json.loads(smseal("A", "status", "--json").stdout)
    (sent,) = status["sent"]
    assert sent["doc_number"] == "赤政办发〔2027〕5号"
    assert [(x["unit"], x["signed"]) for x in sent["recipients"]] == [("财政局", True)]

    # one flipped bit: exit code 1, one clear line, no traceback, nothing written
    data = bytearray((desk / "pkg.smx").read_bytes())
    data[len(data) // 2] ^= 0x10
    (desk / "bad.smx").write_bytes(bytes(data))
    before = sorted(p.name for p in desk.iterdir())
    r = smseal("B", "open", "bad.smx", "-o", "recv2", "--receipt-out", "r2.receipt")
    assert r.returncode == 1
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert sorted(p.name for p in desk.iterdir()) == before


def test_every_bit_region_flip_is_refused_in_process(units):
    a, b, desk, _shared = units
    assert a(*SEAL).code == 0
    data = (desk / "pkg.smx").read_bytes()
    for pos in (0, 9, 40, 120, len(data) // 2, len(data) - 70, len(data) - 1):
        bad = bytearray(data)
        bad[pos] ^= 0x01
        (desk / "bad.smx").write_bytes(bytes(bad))
        r = b("open", "bad.smx", "-o", "out", "--receipt-out", "x.receipt")
        assert r.code == 1, (pos, r)
        assert len(r.err.strip().splitlines()) == 1
        assert not (desk / "out").exists() and not (desk / "x.receipt").exists()


def test_send_through_outbox_and_receipt_comes_back(units):
    a, b, desk, shared = units
    r = a("send", "关于报送2027年工作安排的通知.pdf", "--to", "财政局", "--title", "通知", "--due", "2000-01-01")
    assert r.code == 0, r.err
    status = json.loads(a("status", "--json").out)
    assert status["sent"][0]["recipients"][0]["overdue"] is True
    (pkg,) = (shared / "财政局" / "packages").glob("*.smx")
    r = b("open", str(pkg), "-o", "收文")
    assert r.code == 0, r.err
    (receipt,) = (shared / "市政府办公室" / "receipts").glob("*.receipt")
    assert a("receipts", "import", str(receipt)).code == 0
    st = json.loads(a("status", "--json").out)["sent"][0]["recipients"][0]
    assert st["signed"] and not st["overdue"]
    assert json.loads(b("status", "--json").out)["received"][0]["sender_unit"] == "市政府办公室"
    # opening the same package again is recognised as a repeat
    r = b("open", str(pkg), "-o", "收文2", "--no-receipt")
    assert r.code == 0 and "already received" in r.err


def test_not_addressed_to_us(units, tmp_path, capsys):
    a, b, desk, _ = units
    from tests.cli_helpers import Runner

    c = Runner(tmp_path / "C", capsys, desk)
    c.home.mkdir()
    assert c("init", "--unit", "审计局").code == 0
    assert a(*SEAL).code == 0
    r = c("open", "pkg.smx", "-o", "x")
    assert r.code == 1 and "not addressed to your unit" in r.err
    r = a("open", "pkg.smx", "-o", "x")  # not even the sender can open it
    assert r.code == 1


def test_state_secret_label_refused(units):
    a, _b, desk, _ = units
    r = a(*SEAL[:-2], "--label", "机密", "-o", "s.smx")
    assert r.code == 5 and "classified" in r.err
    assert not (desk / "s.smx").exists()


def test_usage_errors_exit_2(units):
    a, _b, _desk, _ = units
    assert a("seal", "附件1.txt", "-o", "x.smx").code == 2                    # no --to
    assert a("seal", "附件1.txt", "--to", "财政局", "--due", "5/10", "-o", "x.smx").code == 2
    assert a("seal", "nope.pdf", "--to", "财政局", "-o", "x.smx").code == 2
    assert a("seal", "附件1.txt", "--to", "财政局", "--cc", "财政局", "-o", "x.smx").code == 2
    assert a("frobnicate").code == 2


def test_unknown_recipient_and_existing_output(units):
    a, _b, desk, _ = units
    r = a("seal", "附件1.txt", "--to", "不存在的局", "-o", "x.smx")
    assert r.code == 2 and "keys list" in r.err          # a name typed wrongly: the usage code
    r = a("seal", "附件1.txt", "--to", "财政厅", "-o", "x.smx")
    assert r.code == 2 and "财政局" in r.err              # did you mean 财政局?
    (desk / "pkg.smx").write_bytes(b"keep me")
    r = a(*SEAL)
    assert r.code == 6 and (desk / "pkg.smx").read_bytes() == b"keep me"
    assert a(*SEAL, "--force").code == 0


def test_revoked_recipient_refused(units):
    a, _b, desk, _ = units
    from datetime import datetime, timezone

    from smseal.keystore import Directory

    with Directory(a.home) as d:
        d.revoke("财政局", datetime.now(timezone.utc), "key compromised")
    r = a(*SEAL)
    assert r.code == 1 and "财政局" in r.err and "key compromised" in r.err
    assert not (desk / "pkg.smx").exists()


def test_inspect_and_verify(units):
    a, b, desk, _ = units
    assert a(*SEAL).code == 0
    info = json.loads(b("inspect", "pkg.smx", "--json").out)
    assert info["urgency"] == "urgent" and info["verified"] is False
    assert "赤政办发" not in json.dumps(info, ensure_ascii=False)  # the title stays encrypted
    r = b("verify", "pkg.smx", "--json")
    assert r.code == 0 and json.loads(r.out)["sender"] == "市政府办公室"
    data = bytearray((desk / "pkg.smx").read_bytes())
    data[-5] ^= 4
    (desk / "bad.smx").write_bytes(bytes(data))
    assert b("verify", "bad.smx").code == 1


def test_chinese_messages(units, monkeypatch):
    _a, b, desk, _ = units
    (desk / "junk.smx").write_bytes(b"not a package at all")
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    r = b("open", "junk.smx")
    assert r.code == 1 and "文件包" in r.err


def test_wrong_passphrase(units, monkeypatch):
    a, _b, _desk, _ = units
    monkeypatch.setenv("SMSEAL_PASSPHRASE", "wrong")
    r = a(*SEAL)
    assert r.code == 4 and "passphrase" in r.err.lower()


def test_quickstart_in_process(capsys):
    from smseal.cli.main import main

    assert main(["quickstart"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"财政局  主送  (\d+  )?signed ", out), out


def test_version_and_help_subprocess():
    r = subprocess.run([sys.executable, "-m", "smseal.cli.main", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("smseal ")
    r = subprocess.run([sys.executable, "-m", "smseal.cli.main", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "quickstart" in r.stdout


def test_huge_input_and_system_errors_are_one_line(units):
    a, b, desk, _ = units
    with open(desk / "big.card", "wb") as f:
        f.truncate(3 << 30)                      # sparse: 3 GiB without using the disk
    r = a("keys", "import", "big.card", "--yes")
    assert r.code == 2 and "too large" in r.err and "Traceback" not in r.err
    assert a(*SEAL).code == 0
    (desk / "afile").write_text("x")
    r = b("open", "pkg.smx", "-o", "afile")      # the output folder is a file
    assert r.code in (1, 2, 3) and len(r.err.strip().splitlines()) == 1
    assert (desk / "afile").read_text() == "x"


def test_receipt_problems_are_found_before_opening(units):
    a, b, desk, shared = units
    assert a(*SEAL).code == 0
    (desk / "r.receipt").write_text("keep")
    r = b("open", "pkg.smx", "-o", "recv", "--receipt-out", "r.receipt")
    assert r.code == 6 and not (desk / "recv").exists()
    # delivery fails after opening: the signed receipt is kept under SMSEAL_HOME/receipts
    (shared / "市政府办公室").mkdir(parents=True)
    (shared / "市政府办公室" / "receipts").write_text("a file where the folder should be")
    r = b("open", "pkg.smx", "-o", "recv")
    assert r.code == 7 and "saved at" in r.err
    assert len(list((b.home / "receipts").glob("*.receipt"))) == 1
    assert (desk / "recv" / "附件1.txt").exists()
