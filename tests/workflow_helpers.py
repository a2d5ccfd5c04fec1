"""Two offices for workflow tests, through the library only (``smseal.office``): 市政府办公室 (A)
and 财政局 (B), plus 乡镇 units only A knows; a settable clock; helpers to open what arrived."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from smseal.envelope import OpenResult, open_package
from smseal.keystore import Keystore
from smseal.keystore.cards import make_card
from smseal.office import approval, received, unit_card
from smseal.office.approval import ApprovalStatus
from smseal.office.context import Office
from shangmi import sm2

PASS = b"correct horse"
TOWNS = ("红山镇", "松山镇", "元宝山镇")


class Clock:
    """A settable clock for ``Office(now=...)``: tests move it, they never wait."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at or datetime.now(timezone.utc).replace(microsecond=0)

    def set(self, text: str) -> None:
        """``2027-08-21T10:00+08:00`` style."""
        self.at = datetime.fromisoformat(text).astimezone(timezone.utc)


@dataclass
class Pair:
    a: Office
    b: Office
    clock: Clock
    tmp: Path
    shared: Path

    def open_as_b(self, pkg: Path, out: str = "out") -> tuple[OpenResult, ApprovalStatus]:
        return open_in(self.b, pkg, self.tmp / out)

    def open_as_a(self, pkg: Path, out: str = "out_a") -> tuple[OpenResult, ApprovalStatus]:
        return open_in(self.a, pkg, self.tmp / out)

    def inbox(self, unit: str) -> list[Path]:
        return sorted((self.shared / unit / "packages").glob("*.smx"), key=lambda p: p.stat().st_mtime_ns)

    def file(self, name: str, text: str) -> Path:
        p = self.tmp / name
        p.write_text(text, encoding="utf-8")
        return p


def open_in(office: Office, pkg: Path, out: Path) -> tuple[OpenResult, ApprovalStatus]:
    """Open as ``office`` with its approval policy, and record it as the command does."""
    hook, verdicts = approval.policy_hook(office)
    res = open_package(pkg, key=office.keystore.decrypter(office.unit), trusted=office.directory,
                       out_dir=out, accept=hook)
    received.record_opened(office, res, out, verdicts[0])
    return res, verdicts[0]


def _office(tmp: Path, name: str, unit: str, clock: Clock, shared: Path) -> Office:
    home = tmp / name
    home.mkdir()
    (home / "config.ini").write_text(f"[unit]\nname = {unit}\n[outbox]\nroot = {shared}\n", encoding="utf-8")
    Keystore(home, passphrase=lambda p: PASS).generate(unit)
    return Office(home, passphrase=lambda p: PASS, now=clock)


@pytest.fixture
def pair(tmp_path, monkeypatch) -> Pair:
    monkeypatch.setenv("SMSEAL_KDF_ITERATIONS", "1000")
    clock = Clock()
    shared = tmp_path / "shared"
    a = _office(tmp_path, "A", "市政府办公室", clock, shared)
    b = _office(tmp_path, "B", "财政局", clock, shared)
    a.leaders.add("张三")
    unit_card.import_card(b, unit_card.export_card(a))
    unit_card.import_card(a, unit_card.export_card(b))
    for town in TOWNS:                          # units A can copy to (their keys are not used here)
        s, e = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
        a.directory.import_card(make_card(town, s, e))
    yield Pair(a, b, clock, tmp_path, shared)
    a.close()
    b.close()
