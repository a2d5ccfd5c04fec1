"""Helpers for the page's tests: two office homes that know each other (made with the real
command) and ``smseal ui`` servers started as real subprocesses on 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from smseal.cli.main import main

PASSPHRASE = "correct horse 正确"
ENV = {"SMSEAL_PASSPHRASE": PASSPHRASE, "SMSEAL_KDF_ITERATIONS": "1000", "LANGUAGE": "zh_CN",
       "LC_ALL": "C.UTF-8"}
UNIT_A, UNIT_B = "市政府办公室", "财政局"


def smseal(home: Path, *argv: str, cwd: Path) -> None:
    """Run the command in-process for ``home``; fail loudly if it fails."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        code = main(["--home", str(home), *argv])
    finally:
        os.chdir(old)
    assert code == 0, (argv, code)


def make_homes(root: Path) -> tuple[Path, Path, Path]:
    """Homes A (市政府办公室) and B (财政局) sharing an outbox folder, each with the other's card."""
    shared, desk = root / "shared", root / "desk"
    desk.mkdir(parents=True)
    homes = root / "A", root / "B"
    for home in homes:
        home.mkdir(mode=0o700)
        (home / "config.ini").write_text(f"[outbox]\nroot = {shared}\n", encoding="utf-8")
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:
        smseal(homes[0], "init", "--unit", UNIT_A, cwd=desk)
        smseal(homes[1], "init", "--unit", UNIT_B, cwd=desk)
        smseal(homes[0], "keys", "export", "--public", "-o", "a.card", cwd=desk)
        smseal(homes[1], "keys", "export", "--public", "-o", "b.card", cwd=desk)
        smseal(homes[0], "keys", "import", "b.card", "--yes", cwd=desk)
        smseal(homes[1], "keys", "import", "a.card", "--yes", cwd=desk)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return homes[0], homes[1], shared


@dataclass
class Server:
    """One ``smseal ui --no-browser`` process; ``login_url`` works once."""

    home: Path
    proc: subprocess.Popen = field(repr=False)
    login_url: str
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a user would; the exit code and what it printed on stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        err = self.proc.stderr.read() if self.proc.stderr else ""
        return self.proc.returncode, err


def start(home: Path, *args: str) -> Server:
    env = {**os.environ, **ENV, "SMSEAL_HOME": str(home)}
    env.pop("SMSEAL_PASSPHRASE")  # the page takes the passphrase from the form, never from the environment
    proc = subprocess.Popen([sys.executable, "-m", "smseal.cli.main", "ui", "--no-browser", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"smseal ui ended: {proc.stderr.read() if proc.stderr else ''}")
        m = re.search(r"(http://127\.0\.0\.1:(\d+)/login\?token=\S+)", line)
        if m:
            return Server(home, proc, m.group(1), int(m.group(2)))
    proc.kill()
    raise AssertionError("smseal ui printed no address")
