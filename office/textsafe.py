"""One rule for every text smseal shows on a terminal or stores in its ledger.

A package's metadata, a unit name from a card or a bundle, a file name: all
of it comes from other units, some of which may be hostile.  Printed raw, an
ESC sequence could repaint the screen, a CR or LF could forge a line such as
"from 市政府办公室", and a bidi override could make a name read backwards.
``printable`` turns every such character into a visible escape (``\\x1b``,
``\\u202e``), so what is shown is exactly what was received and nothing more.
The envelope refuses these characters in metadata at seal and at open; this
is the second wall, for everything else that reaches a screen or the ledger.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

# Invisible letters that render as blanks (Hangul fillers, the halfwidth one).
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_FILLERS = re.compile("[\u115f\u1160\u3164\uffa0]")
# Categories escaped: controls (C0, DEL, C1), format (bidi, zero-width, soft
# hyphen, tags...), surrogates, private use, unassigned, line/paragraph separators.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _needs_escape(ch: str) -> bool:
    return unicodedata.category(ch) in _ESCAPED_CATEGORIES or ch in _INVISIBLE_LETTERS


def _escape(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def printable(text: object) -> str:
    """``text`` (``str()`` of anything) with every control, format or invisible character escaped.

    The result holds no character that a terminal interprets or that changes
    how the text around it is displayed; plain text, Chinese included, is unchanged.
    """
    s = text if isinstance(text, str) else str(text)
    # Fast path (in C): ``isprintable`` is False for every character of the escaped categories
    # (and for spaces other than U+0020, which then take the slow path and are kept).
    if s.isprintable() and not _FILLERS.search(s):
        return s
    if all(not _needs_escape(ch) for ch in s):
        return s
    return "".join(_escape(ch) if _needs_escape(ch) else ch for ch in s)


def printable_or_none(text: str | None) -> str | None:
    """``printable`` that keeps ``None`` (for optional ledger columns)."""
    return None if text is None else printable(text)


_JSON_UNSAFE = re.compile("[\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e"
                          "\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\U000e0000-\U000e007f]")


def dumps_json(obj: Any, **kwargs: Any) -> str:
    """JSON text safe on a terminal: like ``json.dumps(ensure_ascii=False)`` (Chinese stays
    readable), but C1 controls, bidi and invisible characters are written as ``\\uXXXX``
    escapes (JSON already escapes C0).  The parsed values are unchanged."""
    text = json.dumps(obj, ensure_ascii=False, **kwargs)

    def esc(m: re.Match[str]) -> str:
        cp = ord(m.group())
        if cp < 0x10000:
            return f"\\u{cp:04x}"
        cp -= 0x10000
        return f"\\u{0xd800 + (cp >> 10):04x}\\u{0xdc00 + (cp & 0x3ff):04x}"

    return _JSON_UNSAFE.sub(esc, text)


__all__ = ["printable", "printable_or_none", "dumps_json"]
