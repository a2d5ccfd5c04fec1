"""Issue 9: one regression test per attack, each named after it and each failing on the code
before the fix (item 1, the swapped-file race, is in test_hardening_race.py).  docs/THREATS.md
says which adversary each one stops."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import stat
import struct
import subprocess
import sys
import time
import unicodedata
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from smseal import envelope
from smseal.envelope.encoding import pack
from smseal.envelope.format import ROLE_TO, Stanza
from smseal.keystore import Directory, Keystore, env_passphrase
from smseal.office.ledger import Ledger
from smseal.office.textsafe import printable
from tests.cli_helpers import FAST_ENV, units  # noqa: F401 - fixture
from tests.hostile import HostileUnit, card_enc_key, now, seal_at
from tests.testkit.kit import build, draft


def _raw_metadata(files, to_key, **texts) -> bytes:
    obj = {n: texts.get(n) for n in ("title", "doc_number", "label", "issuing_unit",
                                      "signer_name", "attachments_note", "date_written", "due", "remarks")}
    obj["files"] = [[n, len(c)] for n, c in files]
    obj.update({"recipients": [["to", to_key.key_id(), None, None, False]], "doc_type": None, "reply_by": None,
                "reply_to": None, "approval": None})
    body = pack(obj)
    return struct.pack(">I", len(body)) + body


def _crafted(rogue, to_key, files, **texts) -> bytes:
    """A package signed by ``rogue`` whose metadata bypasses every check a sealer makes."""
    fk = os.urandom(16)
    d = draft(files=files, meta_bytes=_raw_metadata(files, to_key, **texts), file_key=fk,
              recipients=[Stanza(ROLE_TO, to_key.key_id(), to_key.encrypt(fk))],
              sender=rogue.sign.public_key().to_bytes(), sealed_at=int(time.time()), package_id=os.urandom(16))
    return build(d, signer=rogue.sign)


_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


# --- 2 ---------------------------------------------------------------------------------------
def test_control_characters_in_metadata_cannot_fake_the_sender_line(units):
    a, b, desk, _ = units
    rogue = HostileUnit(b.home, "审计局")
    fake = "\x1b[1A\x1b[2K\rOpened package 00 from 市政府办公室 (signature verified).\n\u202e"
    (desk / "rogue.smx").write_bytes(_crafted(rogue, card_enc_key(desk / "b.card"), (("a.txt", b"x"),),
                                              title=fake, remarks="\x9b31m" + fake, signer_name="\u202e局政财"))
    r = b("open", "rogue.smx", "--no-receipt", "-o", "got")
    s = b("status")
    for text in (r.out, r.err, s.out, s.err):
        assert not _CONTROL.search(text), text
        assert not any(line.startswith("Opened package 00 from 市政府办公室") for line in text.splitlines())
    # Either refused (the envelope's metadata rule) or shown escaped; the ledger holds no control either.
    with sqlite3.connect(b.home / "ledger.sqlite3") as db:
        for row in db.execute("SELECT * FROM received_packages"):
            assert not any(isinstance(v, str) and _CONTROL.search(v) for v in row)
    assert printable("a\x1bb\u202ec\r") == "a\\x1bb\\u202ec\\x0d"


# --- 3 ---------------------------------------------------------------------------------------
def test_revoked_unit_cannot_pass_verify_with_a_backdated_package(units):
    a, b, desk, _ = units
    rogue = HostileUnit(b.home, "审计局")
    rogue.revoke_in(b.home, now() - timedelta(hours=1))
    seal_at(now() - timedelta(hours=2), sender=rogue.sign, to=card_enc_key(desk / "b.card"), out=desk / "bad.smx")
    r = b("verify", "bad.smx")
    assert r.code == 1 and "--accept-before-revocation" in r.err, r.out + r.err


def test_revoked_unit_cannot_import_a_backdated_receipt(units):
    a, b, desk, _ = units
    assert a("seal", "附件1.txt", "--to", "财政局", "-o", "pkg.smx", "--json").code == 0
    info = envelope.inspect(desk / "pkg.smx")
    sealed = a.home / "ledger.sqlite3"
    with sqlite3.connect(sealed) as db:
        (digest,) = db.execute("SELECT digest FROM sent WHERE package_id = ?", (info.package_id.hex(),)).fetchone()
    signer = Keystore(b.home, passphrase=env_passphrase()).signer("财政局")
    opened = SimpleNamespace(package_id=info.package_id, package_digest=bytes(digest),
                             recipient_key_id=info.recipients[0].key_id)
    receipt = envelope.make_receipt(opened, signer=signer, when=info.sealed_at - timedelta(minutes=5))
    (desk / "r.rcpt").write_bytes(receipt.to_bytes())
    with Directory(a.home) as d:     # revoked after the receipt's date, before today
        d.revoke("财政局", info.sealed_at - timedelta(minutes=2), "cessationOfOperation")
    r = a("receipts", "import", "r.rcpt")
    assert r.code == 1 and "--accept-before-revocation" in r.err, r.out + r.err


# --- 6 ---------------------------------------------------------------------------------------
def test_squatted_package_id_is_reported_and_does_not_hide_the_real_package(units):
    a, b, desk, _ = units
    assert a("seal", "附件1.txt", "--to", "财政局", "-o", "real.smx").code == 0
    pid = envelope.inspect(desk / "real.smx").package_id
    rogue = HostileUnit(b.home, "审计局")          # has seen the real header: seals under its id
    seal_at(now(), sender=rogue.sign, to=card_enc_key(desk / "b.card"), out=desk / "squat.smx",
            name="附件1.txt", text=b"SQUATTER", package_id=pid)
    assert b("open", "squat.smx", "--no-receipt").code == 0
    r = b("open", "real.smx", "--no-receipt", "--json")
    assert r.code == 0, r.err
    assert "DIFFERENT package with the same id" in r.err and "repeat delivery" not in r.err
    import json

    files = json.loads(r.out)["files"]
    assert Path(desk / files[0]).read_text(encoding="utf-8") == "附件一：名单\n"
    assert (desk / pid.hex()[:16] / "附件1.txt").read_bytes() == b"SQUATTER"
    assert len(Ledger(b.home).received_status()) == 2


# --- 9 ---------------------------------------------------------------------------------------
def test_planted_symlink_at_the_output_folder_is_not_followed(units, tmp_path):
    a, b, desk, _ = units
    assert a("seal", "附件1.txt", "--to", "财政局", "-o", "pkg.smx").code == 0
    pid = envelope.inspect(desk / "pkg.smx").package_id.hex()
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir()
    os.symlink(elsewhere, desk / pid[:16])                   # the default folder name is public
    os.symlink(elsewhere, desk / "chosen")
    r = b("open", "pkg.smx", "--no-receipt", "-o", "chosen")
    assert r.code != 0 and "symbolic link" in r.err
    r = b("open", "pkg.smx", "--no-receipt")
    assert r.code == 0, r.err
    assert os.listdir(elsewhere) == []


def test_plaintext_and_databases_are_private(units):
    a, b, desk, _ = units
    assert a("seal", "附件1.txt", "--to", "财政局", "-o", "pkg.smx").code == 0
    assert b("open", "pkg.smx", "--no-receipt", "-o", "new/inner").code == 0
    assert stat.S_IMODE(os.stat(desk / "new/inner/附件1.txt").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(desk / "new/inner").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(desk / "new").st_mode) == 0o700
    for home in (a.home, b.home):        # the fixture made SMSEAL_HOME before smseal ran
        for name in ("ledger.sqlite3", "directory.sqlite"):
            assert stat.S_IMODE(os.stat(home / name).st_mode) == 0o600, name


# --- 10 --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGQUIT])
def test_closing_the_terminal_mid_open_leaves_no_unauthenticated_plaintext(units, sig):
    a, b, desk, _ = units
    (desk / "big.bin").write_bytes(os.urandom(12 << 20))     # several 1 MiB batches
    assert a("seal", "big.bin", "--to", "财政局", "-o", "pkg.smx").code == 0
    data = (desk / "pkg.smx").read_bytes()
    fifo = desk / "pkg.fifo"
    os.mkfifo(fifo)
    env = {**os.environ, **FAST_ENV, "SMSEAL_HOME": str(b.home)}
    proc = subprocess.Popen([sys.executable, "-m", "smseal.cli.main", "open", "pkg.fifo", "--no-receipt",
                             "-o", "out"], cwd=desk, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with open(fifo, "wb") as w:
        w.write(data[:10 << 20])      # most of the package: plaintext parts reach the disk, then it waits
        w.flush()
        part = None
        for _ in range(6000):
            part = next((p for p in desk.glob(".smseal-open-*/*.part") if p.stat().st_size), None)
            if part or proc.poll() is not None:
                break
            time.sleep(0.01)
        if part is None:
            proc.kill()
            pytest.fail(f"no plaintext part appeared: {proc.communicate()}")
        # Wait until the run is stalled waiting for the rest of the package (a share that
        # hangs, a mail still arriving), then the terminal closes.
        wchan = Path(f"/proc/{proc.pid}/wchan")
        for _ in range(6000):
            if "pipe_read" in wchan.read_text():
                break
            time.sleep(0.01)
        proc.send_signal(sig)
        time.sleep(2)
        os.system(f"for t in /proc/{proc.pid}/task/*; do grep -E 'Name|State|SigPnd|ShdPnd|SigBlk|SigCgt' $t/status; head -1 $t/stack; done >> /tmp/harden/dbgsig.txt")
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not list(desk.glob(".smseal-open-*")) and not (desk / "out").exists()
    assert "Traceback" not in err.decode()


def test_abandoned_private_folder_is_swept_at_the_next_open(units):
    a, b, desk, _ = units
    assert a("seal", "附件1.txt", "--to", "财政局", "-o", "pkg.smx").code == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = desk / f".smseal-open-{dead.pid}-abc123"       # left by a process killed with SIGKILL
    stale.mkdir(mode=0o700)
    (stale / "0.part").write_bytes(b"unauthenticated plaintext")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    assert b("open", "pkg.smx", "--no-receipt", "-o", "out").code == 0
    assert not stale.exists()


# --- 11 --------------------------------------------------------------------------------------
def test_force_open_that_fails_halfway_changes_nothing(units):
    a, b, desk, _ = units
    (desk / "a.txt").write_text("new a", encoding="utf-8")
    (desk / "b.txt").write_text("new b", encoding="utf-8")
    assert a("seal", "a.txt", "b.txt", "--to", "财政局", "-o", "pkg.smx").code == 0
    out = desk / "out"
    out.mkdir()
    (out / "a.txt").write_text("old a", encoding="utf-8")
    (out / "b.txt").mkdir()                                # cannot be replaced by a file
    (out / "b.txt" / "keep").write_text("x", encoding="utf-8")
    r = b("open", "pkg.smx", "--no-receipt", "-o", "out", "--force")
    assert r.code != 0
    assert (out / "a.txt").read_text(encoding="utf-8") == "old a"
    assert (out / "b.txt" / "keep").exists()


def test_force_open_restores_earlier_files_when_a_later_one_fails(tmp_path, monkeypatch):
    from smseal.envelope import placing

    out = tmp_path / "out"
    out.mkdir()
    (out / "a").write_text("old a")
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "0.part").write_text("new a")
    (tmp_path / "t" / "1.part").write_text("new b")
    real = os.replace
    calls = []

    def failing_replace(src, dst, **kw):
        calls.append(dst)
        if dst == "b":
            raise OSError(28, "No space left on device")
        return real(src, dst, **kw)
    monkeypatch.setattr(placing.os, "replace", failing_replace)
    t_fd, o_fd = os.open(tmp_path / "t", os.O_RDONLY), os.open(out, os.O_RDONLY)
    try:
        with pytest.raises(OSError):
            placing.place_all_at(["0.part", "1.part"], ["a", "b"], t_fd, o_fd, True, out)
    finally:
        os.close(t_fd)
        os.close(o_fd)
    assert (out / "a").read_text() == "old a" and not (out / "b").exists()


# --- 12 --------------------------------------------------------------------------------------
def test_recipient_typed_with_a_trailing_space_still_gets_its_receipt_accepted(units):
    a, b, desk, _ = units
    assert a("send", "附件1.txt", "--to", "财政局 ").code == 0
    inbox = sorted((desk.parent / "shared" / "财政局" / "packages").glob("*.smx"))
    assert b("open", str(inbox[0]), "-o", "got").code == 0
    r = a("receipts", "import", *map(str, (desk.parent / "shared" / "市政府办公室" / "receipts").glob("*")))
    assert r.code == 0, r.err
    with sqlite3.connect(a.home / "ledger.sqlite3") as db:
        assert db.execute("SELECT unit, receipt_status FROM sent_recipients").fetchall() == [("财政局", "received")]


# --- 13 --------------------------------------------------------------------------------------
def test_percent_in_a_unit_name_or_password_is_no_traceback_and_no_orphan(tmp_path, capsys, monkeypatch):
    from tests.cli_helpers import Runner

    for k, v in FAST_ENV.items():
        monkeypatch.setenv(k, v)
    r = Runner(tmp_path / "H", capsys, tmp_path)
    (tmp_path / "H").mkdir()
    (tmp_path / "H" / "config.ini").write_text("[smtp]\nhost = 127.0.0.1\nsecurity = none\nfrom = a@b\n"
                                               "password = 50%off\n", encoding="utf-8")
    res = r("init", "--unit", "财政局%办公室")
    assert res.code == 0, res.err
    from smseal.office.config import Config

    assert Config(tmp_path / "H").smtp().password == "50%off"
    assert Config(tmp_path / "H").get("unit", "name") == "财政局%办公室"
    bad = r("init", "--unit", "x")      # already set up: refused before any key is made
    assert bad.code == 2 and len(Keystore(tmp_path / "H").list()) == 1


def test_database_error_after_files_are_placed_is_one_line(units):
    a, b, desk, _ = units
    assert a("seal", "附件1.txt", "--to", "财政局", "-o", "pkg.smx").code == 0
    Ledger(b.home)
    with sqlite3.connect(b.home / "ledger.sqlite3") as db:     # the disk fills up right after placing
        db.execute("CREATE TRIGGER full BEFORE INSERT ON received_packages "
                   "BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END")
    r = b("open", "pkg.smx", "--no-receipt", "-o", "got")
    assert r.code == 3 and "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert "disk is full" in r.err
    assert (desk / "got" / "附件1.txt").exists()


# --- 14 (unit-name half; the file-name half is the envelope's, docs/FORMAT.md) ----------------
def test_compatibility_character_unit_name_cannot_pose_as_a_second_unit(tmp_path):
    from shangmi import DuplicateEntry, sm2

    from smseal.errors import InvalidArgument

    keys = [sm2.PrivateKey.generate().public_key() for _ in range(4)]
    with Directory(tmp_path) as d:
        d.add_unit("金融办", keys[0], keys[1])
        with pytest.raises(DuplicateEntry):
            d.add_unit("\u2fa6融办", keys[2], keys[3])          # ⾦ KANGXI RADICAL GOLD, looks like 金
        assert d.get("\u2fa6融办").name == "金融办"
        for invisible in ("金\u3164融办", "金\u2060融办", "金融办\u202e"):
            with pytest.raises(InvalidArgument):
                d.add_unit(invisible, keys[2], keys[3])
