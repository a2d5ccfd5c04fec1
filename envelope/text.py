"""Which characters may appear in the texts a package carries (docs/FORMAT.md §6.2).

Two rules, both pinned to Unicode 14.0.0 (``unicode14``) so that every
reader, whatever Unicode its platform ships, accepts exactly the same texts:

- metadata texts (title, document number, remarks ...) refuse controls,
  format characters (bidi overrides and isolates, zero-width characters,
  tags ...), line/paragraph separators and the invisible Hangul fillers:
  nothing that can make a text display as something else or break a line;
- file names refuse all of that plus private-use and unassigned code points
  and the other default-ignorable (invisible) code points.

Both run at seal (a writer never produces such text) and at open (a package
from another implementation is refused before anything is released).
"""

from __future__ import annotations

from bisect import bisect_right

from .unicode14 import FORMAT, UNASSIGNED, UNICODE_VERSION

# Invisible letters that render as blank space (Hangul fillers, General_Category Lo).
HANGUL_FILLERS = frozenset((0x115F, 0x1160, 0x3164, 0xFFA0))

# Default_Ignorable_Code_Point (DerivedCoreProperties-14.0.0) beyond Cf and Cn:
# combining grapheme joiner, Khmer inherent vowels, Mongolian and other
# variation selectors, and the Hangul fillers.
_OTHER_IGNORABLE = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180D),
                    (0x180F, 0x180F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0),
                    (0xE0100, 0xE01EF))

_PRIVATE_USE = ((0xE000, 0xF8FF), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD))

__all__ = ["UNICODE_VERSION", "HANGUL_FILLERS", "text_problem", "name_char_problem",
           "is_format", "is_unassigned"]


def _in(table: tuple[tuple[int, int], ...], cp: int) -> bool:
    i = bisect_right(table, (cp, 0x10FFFF)) - 1
    return i >= 0 and table[i][0] <= cp <= table[i][1]


def is_format(cp: int) -> bool:
    """General_Category Cf in Unicode 14.0.0."""
    return _in(FORMAT, cp)


def is_unassigned(cp: int) -> bool:
    """General_Category Cn in Unicode 14.0.0 (noncharacters included)."""
    return _in(UNASSIGNED, cp)


def _is_control(cp: int) -> bool:
    return cp < 0x20 or 0x7F <= cp <= 0x9F


def _text_refused(cp: int) -> str | None:
    if _is_control(cp):
        return "a control character"
    if 0xD800 <= cp <= 0xDFFF:
        return "a surrogate"
    if cp in (0x2028, 0x2029):
        return "a line or paragraph separator"
    if is_format(cp):
        return "an invisible or bidirectional formatting character"
    if cp in HANGUL_FILLERS:
        return "an invisible Hangul filler"
    return None


def text_problem(text: str) -> str | None:
    """Why ``text`` may not be a metadata text, or None: controls, Cf, U+2028/9, Hangul fillers."""
    if not text:
        return "is empty (leave the field out instead)"
    for ch in text:
        why = _text_refused(ord(ch))
        if why:
            return f"contains {why} (U+{ord(ch):04X})"
    return None


def name_char_problem(ch: str) -> str | None:
    """Why the character ``ch`` may not appear in a file name, or None."""
    cp = ord(ch)
    why = _text_refused(cp)
    if why:
        return why
    if _in(_PRIVATE_USE, cp):
        return "a private-use character"
    if is_unassigned(cp):
        return f"a code point unassigned in Unicode {UNICODE_VERSION}"
    if _in(_OTHER_IGNORABLE, cp):
        return "an invisible (default-ignorable) character"
    return None
