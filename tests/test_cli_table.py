"""Aligned tables for the terminal (issue 15): wide characters count two columns, the table fits
the width by shortening with '…', control characters are escaped, and piped output is plain."""

from __future__ import annotations

import io

from smseal.cli.table import render, width


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


ROWS = [["特急", "5e3611488c5a", "市政府办公室", "2026-12-01 09:00", "已等 3 min", "2",
         "赤政办发〔2027〕5号 关于报送2027年工作安排的通知（一份很长的标题，用来测试截断）"],
        ["", "0b1c2d3e4f50", "财政局\x1b[2J", "2026-12-01 10:00", "已打开", "", "短标题"]]
HEAD = ["紧急程度", "文件包", "来文单位", "到达时间", "状态", "催领", "文号／标题"]


def test_table_fits_80_columns_and_aligns_wide_characters():
    lines = render(HEAD, ROWS, stream=_Tty(), max_width=80, shrink=(6, 2))
    assert all(width(line) <= 80 for line in lines), [width(x) for x in lines]
    assert "…" in lines[1]                                   # the long title was shortened
    col = [line.index("5e36") if "5e36" in line else line.index("0b1c") for line in lines[1:]]
    assert width(lines[1][:col[0]]) == width(lines[2][:col[1]])  # the id column lines up


def test_table_escapes_control_characters():
    lines = render(HEAD, ROWS, stream=_Tty(), max_width=200)
    assert "\x1b" not in "".join(lines) and "\\x1b" in "".join(lines)


def test_piped_table_is_plain_and_complete():
    lines = render(HEAD, ROWS, stream=io.StringIO(), max_width=40)
    assert "…" not in "".join(lines) and "用来测试截断" in lines[1]
