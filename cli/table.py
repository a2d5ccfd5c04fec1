"""Aligned tables for a terminal: East Asian wide characters count two columns, the table fits
the terminal's width (80 when unknown) by shortening the widest text column with '…', and
output stays plain (cells separated by two spaces, nothing padded, cut or coloured) when it
goes to a pipe or a file."""

from __future__ import annotations

import os
import shutil
import unicodedata
from collections.abc import Collection, Sequence
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


def is_terminal(stream: TextIO) -> bool:
    """True when ``stream`` is a terminal (tables are aligned and cut to fit only there)."""
    return bool(getattr(stream, "isatty", lambda: False)())


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], *, stream: TextIO,
           max_width: int | None = None, shrink: Sequence[int] = (), last: Sequence[int] = (),
           hide_empty: Collection[int] = (), red: Collection[tuple[int, int]] = ()) -> list[str]:
    """The table's lines.  ``shrink``: indexes of columns that may be shortened (default: the
    widest one), down to their header's width (at least 6 columns); ``last``: columns shortened
    only when those are as short as they go.  ``hide_empty``: columns left out when no row has anything in them.  ``red``:
    cells (row index, column index) shown in red on a terminal (not piped, not with NO_COLOR).
    Every cell passes through ``printable`` (no terminal control characters); the only escape
    sequences in the result are the colour codes added here."""
    keep = [i for i in range(len(headers)) if i not in hide_empty or any(str(r[i]) for r in rows)]
    cells = [[printable(str(r[i])) for i in keep] for r in rows]
    heads = [printable(headers[i]) for i in keep]
    stages = [[keep.index(i) for i in group if i in keep] for group in (shrink, last)]
    marked = {(r, keep.index(c)) for r, c in red if c in keep}
    if not is_terminal(stream):
        return ["  ".join(r) for r in [heads, *cells]]
    colour = not os.environ.get("NO_COLOR")
    total = max_width or shutil.get_terminal_size((80, 24)).columns
    widths = [max([width(h), *(width(r[i]) for r in cells)]) for i, h in enumerate(heads)]
    gap = 2
    over = sum(widths) + gap * (len(widths) - 1) - total
    if not stages[0]:
        stages[0] = [max(range(len(widths)), key=lambda i: widths[i])]
    for candidates in stages:
        floors = {i: max(width(heads[i]), 6) for i in candidates}
        while over > 0 and candidates:    # one column at a time off the widest, so all stay legible
            i = max(candidates, key=lambda i: widths[i] - floors[i])
            if widths[i] <= floors[i]:
                break
            widths[i] -= 1
            over -= 1

    def line(n: int, r: Sequence[str]) -> str:
        parts = [fit(c, widths[i]) for i, c in enumerate(r)]
        pads = [(f"\x1b[31m{p}\x1b[0m" if colour and (n, i) in marked else p) + " " * (widths[i] - width(p))
                for i, p in enumerate(parts)]
        return (" " * gap).join(pads).rstrip()

    return [line(-1, heads), *(line(n, r) for n, r in enumerate(cells))]
