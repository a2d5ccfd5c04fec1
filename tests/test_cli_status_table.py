"""``smseal status`` as aligned tables (issue 15): one row per recipient with its state, fitting
80 columns on a terminal (wide characters count two, long names shortened with '…'), control
characters escaped, overdue and refused states in red on a terminal only, every row complete
and uncoloured when piped; ``--json`` keeps its meaning."""

from __future__ import annotations

import io
import json
import sys

import pytest

from smseal.cli import cmd_receipts
from smseal.cli.main import main
from smseal.cli.output import Console
from smseal.cli.table import width
from smseal.office.clock import zone
from smseal.office.ledger import RecipientState, SentState
from tests.cli_helpers import units  # noqa: F401  (fixture)

LONG = "关于报送2027年全市财政预算执行情况和下一年度重点工作安排意见的通知（请各单位认真研究落实）"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(monkeypatch, home, *argv, tty: bool) -> str:
    out = _Tty() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["--home", str(home), *argv]) == 0
    return out.getvalue()


def _data_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("  ")]


@pytest.fixture
def sent_two(units, monkeypatch):
    a, b, desk, shared = units
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("NO_COLOR", raising=False)
    late = a("send", "附件1.txt", "--to", "财政局", "--title", LONG, "--due", "2026-01-05", "--json")
    assert late.code == 0, late.err
    ok = a("send", "附件1.txt", "--to", "财政局", "--title", "关于年终决算的通知", "--json")
    assert ok.code == 0, ok.err
    return a, b, json.loads(late.out)["package_id"], json.loads(ok.out)["package_id"]


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_status_on_a_terminal_is_an_80_column_table(sent_two, monkeypatch, language):
    a, b, late, ok = sent_two
    monkeypatch.setenv("LANGUAGE", language)
    text = _run(monkeypatch, a.home, "status", "--now", "2026-03-01T09:00", tty=True)
    lines = _data_lines(text)
    assert all(width(line.replace("\x1b[31m", "").replace("\x1b[0m", "")) <= 80 for line in lines), lines
    head = lines[0]
    assert ("recipient" in head and "state" in head) if language == "en" else ("收文单位" in head and "状态" in head)
    (row_late,) = [line for line in lines if late[:12] in line and "主送" in line]
    (row_ok,) = [line for line in lines if ok[:12] in line and "主送" in line]
    assert "…" in row_late and LONG not in text                          # shortened to fit
    assert "财政局" in row_late and "主送" in row_late
    overdue = "OVERDUE, not signed" if language == "en" else "已超期，未签收"
    assert f"\x1b[31m{overdue}\x1b[0m" in row_late                         # red on a terminal
    assert ("not signed yet" if language == "en" else "尚未签收") in row_ok and "\x1b" not in row_ok
    # the state column lines up under its header, wide characters counted as two columns
    col = width(head[:head.index("state" if language == "en" else "状态")])
    assert width(row_ok[:row_ok.index("not signed yet" if language == "en" else "尚未签收")]) == col


def test_status_piped_is_plain_complete_and_json_unchanged(sent_two, monkeypatch):
    a, b, late, ok = sent_two
    text = _run(monkeypatch, a.home, "status", "--now", "2026-03-01T09:00", tty=False)
    assert "\x1b" not in text and "…" not in text
    (row,) = [line for line in text.splitlines() if late[:12] in line and "财政局" in line]
    assert LONG in row and "OVERDUE, not signed" in row
    st = json.loads(_run(monkeypatch, a.home, "status", "--json", "--now", "2026-03-01T09:00", tty=False))
    by_id = {s["package_id"]: s for s in st["sent"]}
    assert by_id[late]["title"] == LONG and by_id[late]["due"] == "2026-01-05"
    assert by_id[late]["recipients"][0]["overdue"] and not by_id[ok]["recipients"][0]["overdue"]
    assert by_id[late]["recipients"][0]["unit"] == "财政局" and by_id[late]["recipients"][0]["role"] == "to"


def test_status_rows_received_side_and_no_color(sent_two, monkeypatch):
    a, b, late, ok = sent_two
    assert b("fetch").code == 0 and b("open", ok[:12], "-o", "收文").code == 0
    assert a("fetch").code == 0
    monkeypatch.setenv("NO_COLOR", "1")
    text = _run(monkeypatch, a.home, "status", "--now", "2026-03-01T09:00", tty=True)
    assert "\x1b" not in text
    (row,) = [line for line in text.splitlines() if ok[:12] in line and "主送" in line]
    assert "signed " in row                                                # with the time it was signed
    received = _run(monkeypatch, b.home, "status", tty=True)
    (row,) = [line for line in _data_lines(received) if ok[:12] in line]
    assert "市政府办公室" in row and "关于年终决算的通知" in row


def _state(unit: str, **kw) -> RecipientState:
    return RecipientState(unit=unit, role=kw.pop("role", "cc"), key_id="00", receipt_at=kw.pop("at", None),
                          receipt_status=kw.pop("status", None), overdue=kw.pop("overdue", False), **kw)


def test_many_recipients_hostile_names_and_reasons(monkeypatch):
    """60 recipients: the 57 who signed share one row, the three others are listed, each with the
    reason its cell cannot hold; a control character in a unit name or reason is shown escaped."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("LANGUAGE", raising=False)
    signed = [_state(f"第{i}单位", status="received", at="2026-02-01T01:00:00+00:00") for i in range(57)]
    odd = [_state("审计局\x1b[2J", role="to", status="rejected", at="2026-02-02T01:00:00+00:00",
                  rejection_reason="不是本单位职责\x1b]0;x\x07"),
           _state("统计局", delivery="failed", delivery_reason="connection refused"),
           _state("教育局", overdue=True, reminders=2, last_reminder_at="2026-02-03T02:00:00+00:00")]
    s = SentState("ab" * 16, "2026-01-30T01:00:00+00:00", LONG, None, "urgent", "2026-02-10", [*signed, *odd])
    out = _Tty()
    console = Console(out=out)
    from types import SimpleNamespace

    views = [SimpleNamespace(copy_number=None, replied=False, replied_at=None, reply_overdue=False,
                             expects_reply=False) for _r in s.recipients]
    view = SimpleNamespace(recipients=views, reply_by=None, doc_type=None, signer=None)
    cmd_receipts._sent_table(console, [(s, view)], zone("Asia/Shanghai"), 2026)
    text = out.getvalue()
    lines = text.splitlines()
    assert "\x1b[2J" not in text and "\\x1b[2J" in text and "\x07" not in text
    assert len([line for line in lines if "57 units" in line and "signed" in line]) == 1
    assert not any("第3单位" in line for line in lines)
    for unit, state in (("审计局", "refused 02-02 09:00"), ("统计局", "DELIVERY FAILED"), ("教育局", "OVERDUE")):
        (row,) = [line for line in lines if unit in line and "  " + ("主送" if unit == "审计局" else "抄送") in line]
        assert state in row, row
    assert any("教育局: 2 reminder(s) (催领) sent" in line for line in lines)
    assert any("refused it (拒收): 不是本单位职责" in line for line in lines)
    assert any("统计局: delivery failed (connection refused)" in line and f"smseal resend {'ab' * 6}" in line
               for line in lines)
    table = lines[:5]                                  # header, three listed, the 57 on one row
    assert all(width(line.replace("\x1b[31m", "").replace("\x1b[0m", "")) <= 80 for line in table), table


def test_console_red_lines_are_colour_on_a_terminal_only(monkeypatch):
    """A whole red line (an invalid approval, an overdue case stage) is coloured after escaping, so
    the colour codes are real on a terminal and absent when piped or with NO_COLOR."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    tty, pipe = _Tty(), io.StringIO()
    Console(out=tty).print("逾期\x1b[2J", red=True)
    Console(out=pipe).print("逾期", red=True)
    assert tty.getvalue() == "\x1b[31m逾期\\x1b[2J\x1b[0m\n" and pipe.getvalue() == "逾期\n"
    monkeypatch.setenv("NO_COLOR", "1")
    tty = _Tty()
    Console(out=tty).print("逾期", red=True)
    assert tty.getvalue() == "逾期\n"


def test_status_piped_writes_each_package_as_it_is_read(sent_two, monkeypatch):
    """Piped, a row needs no column widths, so the rows are written while the ledger's cursor is
    read: ``status --all | grep`` over a million recipient rows holds one package, not all."""
    from smseal.office.ledger import Ledger

    a, b, late, ok = sent_two
    out = io.StringIO()
    real = Ledger.iter_sent_status
    seen: list[str] = []

    def watched(self, *args, **kw):
        for s in real(self, *args, **kw):
            if seen:     # the package read before this one is already on stdout
                assert seen[-1][:12] in out.getvalue(), "status held the rows back"
            seen.append(s.package_id)
            yield s

    monkeypatch.setattr(Ledger, "iter_sent_status", watched)
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["--home", str(a.home), "status", "--all", "--now", "2026-03-01T09:00"]) == 0
    assert sorted(seen) == sorted([late, ok])
    rows = [line for line in out.getvalue().splitlines() if "财政局" in line]
    assert len(rows) == 2 and all(not line.endswith(" ") for line in rows)
