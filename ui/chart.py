"""A small horizontal bar chart as SVG, drawn on the server (no chart library, no script)."""

from __future__ import annotations

from html import escape
from typing import Sequence

BAR_H = 22
GAP = 10
LABEL_W = 180
BAR_W = 360


def rate_chart(rows: Sequence[tuple[str, int, int]], *, title: str) -> str:
    """One bar per (label, done, total): the share done, with "done/total (pct%)" beside it."""
    height = max(1, len(rows)) * (BAR_H + GAP) + GAP
    width = LABEL_W + BAR_W + 140
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>']
    for i, (label, done, total) in enumerate(rows):
        y = GAP + i * (BAR_H + GAP)
        frac = done / total if total else 0.0
        colour = "#2e7d32" if frac >= 1 else ("#c62828" if frac < 0.5 else "#f9a825")
        out.append(f'<text x="{LABEL_W - 8}" y="{y + BAR_H - 6}" text-anchor="end" font-size="14" '
                   f'fill="#222">{escape(label)}</text>')
        out.append(f'<rect x="{LABEL_W}" y="{y}" width="{BAR_W}" height="{BAR_H}" fill="#eceff1"/>')
        out.append(f'<rect x="{LABEL_W}" y="{y}" width="{BAR_W * frac:.1f}" height="{BAR_H}" fill="{colour}"/>')
        out.append(f'<text x="{LABEL_W + BAR_W + 8}" y="{y + BAR_H - 6}" font-size="14" fill="#222">'
                   f'{done}/{total} ({frac * 100:.0f}%)</text>')
    out.append("</svg>")
    return "".join(out)
