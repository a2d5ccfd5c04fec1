"""Did-you-mean: the nearest known names to a mistyped one (units and groups in the directory;
the command uses it for its subcommands too)."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable


def closest(word: str, known: Iterable[str], *, limit: int = 3) -> list[str]:
    """Up to ``limit`` known names close to ``word``, best first (NFKC, case-insensitive).

    Works for Chinese unit names as for ASCII commands: '财政厅' finds '财政局', 'recipts'
    finds 'receipts'.  Returns [] when nothing is close enough to be a likely typo.
    """
    def norm(s: str) -> str:
        return unicodedata.normalize("NFKC", s).casefold()

    by_norm: dict[str, str] = {}
    for k in known:
        by_norm.setdefault(norm(k), k)
    w = norm(word)
    # Short CJK names differ in one character out of three: a cutoff of 0.6 keeps those and
    # drops unrelated names.
    hits = difflib.get_close_matches(w, list(by_norm), n=limit, cutoff=0.6)
    if not hits:
        hits = [n for n in by_norm if w and (w in n or n in w)][:limit]
    return [by_norm[h] for h in hits]
