"""Helpers for CLI tests: run ``smseal`` in-process (``cli.main.main``) or as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from smseal.cli.main import main

FAST_ENV = {"SMSEAL_PASSPHRASE": "correct horse 正确", "SMSEAL_KDF_ITERATIONS": "1000"}


def cli_env(monkeypatch) -> None:
    """The environment CLI tests run in: fast key files, no SMSEAL_HOME, English messages."""
    for k, v in FAST_ENV.items():
        monkeypatch.setenv(k, v)
    for var in ("SMSEAL_HOME", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)


@dataclass
class Result:
    code: int
    out: str
    err: str


class Runner:
    """Runs smseal for one unit's home, in-process (capturing output) or as a subprocess."""

    def __init__(self, home: Path, capsys, cwd: Path) -> None:
        self.home = home
        self.capsys = capsys
        self.cwd = cwd

    def __call__(self, *argv: str) -> Result:
        self.capsys.readouterr()
        old = os.getcwd()
        os.chdir(self.cwd)
        try:
            code = main(["--home", str(self.home), *argv])
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        finally:
            os.chdir(old)
        cap = self.capsys.readouterr()
        return Result(code, cap.out, cap.err)

    def sub(self, *argv: str, env: dict | None = None) -> Result:
        e = {**os.environ, **FAST_ENV, "SMSEAL_HOME": str(self.home), **(env or {})}
        proc = subprocess.run([sys.executable, "-m", "smseal.cli.main", *argv], cwd=self.cwd, env=e,
                              capture_output=True, text=True, timeout=300)
        return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def units(tmp_path, monkeypatch, capsys):
    """Two initialised units that trust each other: 市政府办公室 (A) and 财政局 (B)."""
    for k, v in FAST_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("SMSEAL_HOME", raising=False)
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    desk = tmp_path / "desk"
    desk.mkdir()
    a = Runner(tmp_path / "A", capsys, desk)
    b = Runner(tmp_path / "B", capsys, desk)
    shared = tmp_path / "shared"
    for r in (a, b):
        r.home.mkdir()
        (r.home / "config.ini").write_text(f"[outbox]\nroot = {shared}\n", encoding="utf-8")
    assert a("init", "--unit", "市政府办公室").code == 0
    assert b("init", "--unit", "财政局").code == 0
    assert a("keys", "export", "--public", "-o", "a.card").code == 0
    assert b("keys", "export", "--public", "-o", "b.card").code == 0
    assert a("keys", "import", "b.card", "--yes").code == 0
    assert b("keys", "import", "a.card", "--yes").code == 0
    (desk / "关于报送2027年工作安排的通知.pdf").write_bytes(b"%PDF-1.4 " + os.urandom(3000))
    (desk / "附件1.txt").write_text("附件一：名单\n", encoding="utf-8")
    return a, b, desk, shared
