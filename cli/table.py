"""Aligned tables for a terminal: East Asian wide characters count two columns, the table fits
the terminal's width (80 when unknown) by shortening the widest text column with '…', and
output stays plain (cells separated by two spaces, nothing padded or cut) when it goes to a
pipe or a file."""

from __future__ import annotations

import shutil
import unicodedata
from collections.abc import Sequence
from typing import TextIO

from smseal.office.textsafe import printable


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal (wide and full-width characters count two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1
               for c in text)


def fit(text: str, cols: int) -> str:
    """``text`` shortened with '…' to at most ``cols`` columns."""
    if width(text) <= cols:
        return text
    out, used = [], 0
    for c in text:
        w = width(c)
        if used + w > cols - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], *, stream: TextIO,
           max_width: int | None = None, shrink: Sequence[int] = ()) -> list[str]:
    """The table's lines.  ``shrink``: indexes of columns that may be shortened (default: the
    widest one).  Every cell passes through ``printable`` (no terminal control characters)."""
    cells = [[printable(str(c)) for c in r] for r in rows]
    heads = [printable(h) for h in headers]
    if not stream.isatty():
        return ["  ".join(r) for r in [heads, *cells]]
    total = max_width or shutil.get_terminal_size((80, 24)).columns
    widths = [max([width(h), *(width(r[i]) for r in cells)]) for i, h in enumerate(heads)]
    gap = 2
    over = sum(widths) + gap * (len(widths) - 1) - total
    candidates = list(shrink) or [max(range(len(widths)), key=lambda i: widths[i])]
    for i in sorted(candidates, key=lambda i: -widths[i]):
        if over <= 0:
            break
        floor = max(width(heads[i]), 6)
        cut = min(over, widths[i] - floor)
        if cut > 0:
            widths[i] -= cut
            over -= cut

    def line(r: Sequence[str]) -> str:
        parts = [fit(c, widths[i]) for i, c in enumerate(r)]
        pads = [p + " " * (widths[i] - width(p)) for i, p in enumerate(parts)]
        return (" " * gap).join(pads).rstrip()

    return [line(r) for r in [heads, *cells]]
