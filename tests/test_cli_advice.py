"""Advice that fits (issue 15): situations that are not damage say what really happened and
what to do, in Chinese under a Chinese locale — never 'ask the sender to send it again'."""

from __future__ import annotations

from tests.cli_helpers import units  # noqa: F401  (fixture)
from tests.test_cli_help import english_runs

SEAL = ["seal", "关于报送2027年工作安排的通知.pdf", "附件1.txt", "--to", "财政局", "-o", "pkg.smx"]


def test_receipt_imported_at_the_wrong_unit(units, monkeypatch):  # noqa: F811
    a, b, desk, _ = units
    assert a(*SEAL).code == 0
    assert b("open", "pkg.smx", "-o", "recv", "--receipt-out", "r.receipt").code == 0
    r = b("receipts", "import", "r.receipt")                 # the receiver imports its own receipt
    assert r.code == 2
    assert "send it again" not in r.err and "damaged" not in r.err.replace("not damaged", "")
    assert "which this office did not send" in r.err and "keystore" not in r.err
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    r = b("receipts", "import", "r.receipt")
    assert r.code == 2 and "不是本单位发出的" in r.err and "密钥库" not in r.err and not english_runs(r.err), r.err
    monkeypatch.delenv("LANGUAGE")
    assert a("receipts", "import", "r.receipt").code == 0  # at the sender it is fine


def test_unknown_unit_in_chinese_names_the_nearest(units, monkeypatch):  # noqa: F811
    a, _b, _desk, _ = units
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    r = a("seal", "附件1.txt", "--to", "财政厅", "-o", "x.smx")
    assert r.code == 2
    assert "目录中没有名为 财政厅 的单位" in r.err and "财政局" in r.err
    assert not english_runs(r.err.replace("'smseal keys list'", "")), r.err


def test_read_only_commands_do_not_create_a_home(units, tmp_path):  # noqa: F811
    a, _b, desk, _ = units
    assert a(*SEAL).code == 0
    from tests.cli_helpers import Runner

    ghost = Runner(tmp_path / "nohome", a.capsys, desk)
    for argv in (["verify", "pkg.smx"], ["status"], ["keys", "list"], ["directory", "list"]):
        r = ghost(*argv)
        assert r.code == 2 and "smseal init" in r.err, (argv, r.err)
    assert not (tmp_path / "nohome").exists()


def test_urgency_accepts_the_chinese_words(units):  # noqa: F811
    a, _b, _desk, _ = units
    r = a(*SEAL, "--urgency", "特急", "--json")
    assert r.code == 0 and '"urgency": "extra-urgent"' in r.out
    assert a(*SEAL[:-1], "p2.smx", "--urgency", "加急").code == 0
    assert a(*SEAL[:-1], "p3.smx", "--urgency", "很急").code == 2


def test_existing_output_is_named_once(units):  # noqa: F811
    a, _b, desk, _ = units
    (desk / "pkg.smx").write_bytes(b"keep")
    r = a(*SEAL)
    assert r.code == 6 and r.err.count("already exists") == 1, r.err


def _run_on_terminal(argv: list[str], env: dict, answers: list[str], timeout: float = 120) -> tuple[int, str]:
    """Run smseal on a real pseudo-terminal (its controlling tty), typing ``answers`` at each
    passphrase prompt; return (exit code, everything it printed)."""
    import os
    import pty
    import select
    import sys
    import time

    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is its controlling terminal, so getpass reads from it
        os.execvpe(sys.executable, [sys.executable, "-m", "smseal.cli.main", *argv], env)
    out = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _w, _x = select.select([fd], [], [], 0.5)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if out.rstrip().endswith(b":") and pending and out.count(b"Passphrase") > len(answers) - len(pending):
            os.write(fd, pending.pop(0).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def test_three_passphrase_tries_on_a_terminal(units, tmp_path):  # noqa: F811
    import os

    a, _b, desk, _ = units
    assert a(*SEAL).code == 0
    env = {k: v for k, v in os.environ.items() if k not in ("SMSEAL_PASSPHRASE", "LANGUAGE")}
    env.update(SMSEAL_HOME=str(tmp_path / "B"), LANGUAGE="en", SMSEAL_KDF_ITERATIONS="1000")
    argv = ["open", str(desk / "pkg.smx"), "-o", str(tmp_path / "recv"), "--no-receipt"]
    code, out = _run_on_terminal(argv, env, ["wrong 1", "wrong 2", "correct horse 正确"])
    assert code == 0, out
    assert out.count("Passphrase") == 3 and "try again (2 of 3)" in out and "try again (3 of 3)" in out
    code, out = _run_on_terminal([*argv[:2], "-o", str(tmp_path / "recv2"), "--no-receipt"], env,
                                 ["bad", "bad", "bad"])
    assert code == 4 and out.count("Passphrase") == 3 and "Wrong passphrase" in out, out
    assert not (tmp_path / "recv2").exists()


def test_status_into_a_closed_pipe_is_not_an_error(units, tmp_path):  # noqa: F811
    """'smseal status | head': the reader went away before smseal wrote; no error line, exit 0."""
    import os
    import subprocess
    import sys

    a, _b, desk, _ = units
    assert a(*SEAL).code == 0
    env = {**os.environ, "SMSEAL_HOME": str(a.home), "LANGUAGE": "en"}
    proc = subprocess.Popen([sys.executable, "-m", "smseal.cli.main", "status", "--all"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                       # closed before the interpreter has even started
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Broken pipe" not in err and "refused" not in err, err


def test_a_wrong_file_is_named_for_what_was_expected(units, monkeypatch):  # noqa: F811
    """A plain file given to open or to receipts import: the message names a package or a receipt
    and says to check the choice of file first (not only 'ask the sender to send it again')."""
    a, b, desk, _ = units
    r = b("open", "附件1.txt", "-o", "x")
    assert r.code == 1 and "not a valid smseal package" in r.err and "Check that you chose the package" in r.err
    r = a("receipts", "import", "附件1.txt")
    assert r.code == 1 and "not a valid smseal receipt" in r.err and "package" not in r.err.split("(")[0]
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    r = a("receipts", "import", "附件1.txt")
    assert r.code == 1 and "不是有效的 smseal 回执" in r.err and not english_runs(r.err), r.err
    import smseal

    assert issubclass(smseal.MalformedReceipt, smseal.MalformedPackage)   # older callers still catch it
