"""Issue 9, item 1: swapping the package file between two reads must not defeat the
"sender still valid today" rule.  Tested against the real ``smseal`` process.

The swap is made deterministic with a terminal: the child asks for the key's
passphrase on a pseudo-terminal and waits; when the prompt appears the test
swaps the file if (and only if) a descriptor of it has already been closed
(inotify), exactly what a watcher racing the old two-read ``open`` does.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from datetime import timedelta

from tests.cli_helpers import FAST_ENV, units  # noqa: F401 - fixture
from tests.hostile import CloseWatcher, HostileUnit, card_enc_key, now, seal_at


def _run_with_tty(argv, env, cwd, on_prompt, answer: bytes):
    master, slave = pty.openpty()

    def take_terminal():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(argv, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                            env=env, preexec_fn=take_terminal)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    try:
        while b"assphrase" not in seen:
            if time.monotonic() > deadline or proc.poll() is not None:
                break
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(master, 1024)
                except OSError:
                    break
        if b"assphrase" in seen:
            on_prompt()
            os.write(master, answer + b"\n")
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(master)
    return proc.returncode, out.decode(), err.decode(), seen


def test_swapped_package_between_reads_cannot_slip_past_the_revocation_rule(units, tmp_path):
    a, b, desk, _ = units
    # The hostile unit, known to B, revoked an hour ago, seals a package dated two hours ago.
    rogue = HostileUnit(b.home, "审计局")
    rogue.revoke_in(b.home, now() - timedelta(hours=1))
    b_enc = card_enc_key(desk / "b.card")
    bad = desk / "bad.smx"
    seal_at(now() - timedelta(hours=2), sender=rogue.sign, to=b_enc, out=bad, text=b"BACKDATED BY A REVOKED UNIT")
    # What the victim is asked to open: a genuine package from A.
    assert a("seal", "附件1.txt", "--to", "财政局", "-o", "pkg.smx").code == 0
    pkg = desk / "pkg.smx"
    watcher = CloseWatcher(pkg)
    swapped = []

    def swap_if_read_once():
        if watcher.closed():              # the package was read and closed: swap it now
            os.replace(bad, pkg)
            swapped.append(True)

    env = {**os.environ, **FAST_ENV, "SMSEAL_HOME": str(b.home)}
    env.pop("SMSEAL_PASSPHRASE")
    code, out, err, prompt = _run_with_tty([sys.executable, "-m", "smseal.cli.main", "open", "pkg.smx",
                                            "--no-receipt", "-o", "got"], env, desk, swap_if_read_once,
                                           FAST_ENV["SMSEAL_PASSPHRASE"].encode())
    watcher.close()
    assert b"assphrase" in prompt, (code, out, err)
    got = desk / "got"
    opened = "".join(p.read_text(errors="replace") for p in got.iterdir()) if got.exists() else ""
    # Never the revoked unit's backdated package: either the genuine one, read once through one
    # descriptor, or (if a read was ever closed and swapped) a refusal by the library's rule.
    assert "BACKDATED" not in opened
    if swapped:
        assert code == 1 and "--accept-before-revocation" in err, err
    else:
        assert code == 0, err
        assert (got / "附件1.txt").read_text(encoding="utf-8") == "附件一：名单\n"


def test_revoked_units_backdated_package_is_refused_by_the_command(units):
    a, b, desk, _ = units
    rogue = HostileUnit(b.home, "审计局")
    rogue.revoke_in(b.home, now() - timedelta(hours=1))
    seal_at(now() - timedelta(hours=2), sender=rogue.sign, to=card_enc_key(desk / "b.card"), out=desk / "bad.smx")
    r = b.sub("open", "bad.smx", "--no-receipt", "-o", "got")
    assert r.code == 1 and "--accept-before-revocation" in r.err, r.err
    assert not (desk / "got").exists()
    r = b.sub("open", "bad.smx", "--no-receipt", "-o", "got", "--accept-before-revocation")
    assert r.code == 0 and "no longer valid" in r.err, r.err
