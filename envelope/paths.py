"""File names that travel inside a package, and how they are kept inside ``out_dir``.

A name is one path component: it can never name a directory, a parent, a
drive, a device or a stream, on any of the systems where offices open
packages (Linux, Windows, macOS).  The same check runs when sealing (so we
never produce such a package) and when opening (so a hostile one is refused
before a byte is written).
"""

from __future__ import annotations

import unicodedata
from typing import Sequence

from shangmi.errors import SmsealError

from .text import name_char_problem

MAX_NAME_BYTES = 255  # the usual file-system limit for one component

# Windows reserves these names with or without an extension (CON.txt is CON),
# and also COM/LPT with the superscript digits ¹ ² ³.
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"COM{i}" for i in "123456789¹²³"), *(f"LPT{i}" for i in "123456789¹²³")}
# Separators, drive/stream colon and the other characters Windows forbids.
_FORBIDDEN = set('/\\:*?"<>|')
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def device_stem(name: str) -> str:
    """What Windows compares with its device names: the part before the first dot,
    trailing spaces removed, ASCII letters upper-cased (no other case mapping)."""
    return name.split(".", 1)[0].rstrip(" ").translate(_ASCII_UPPER)


def name_problem(name: object) -> str | None:
    """Return why ``name`` is not a safe file name, or None if it is (FORMAT.md §6.3)."""
    if type(name) is not str:
        return "is not a string"
    if not name:
        return "is empty"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes"
    for ch in name:
        why = name_char_problem(ch)
        if why:
            return f"contains {why} (U+{ord(ch):04X})"
        if ch in _FORBIDDEN:
            return "contains a path separator or a character Windows forbids"
    if unicodedata.normalize("NFC", name) != name:
        return "is not in Unicode NFC form"
    if name in (".", ".."):
        return "is a directory reference"
    if name != name.strip(" ") or name.endswith("."):
        return "begins or ends with a space, or ends with a dot"
    if device_stem(name) in _RESERVED:
        return "is a reserved device name"
    return None


def name_key(name: str) -> str:
    """The form two names collide in on a case-insensitive file system."""
    return unicodedata.normalize("NFC", name.casefold())


def check_names(names: Sequence[str], error: type[SmsealError]) -> None:
    """Raise ``error`` (code ``unsafe-file-name`` or ``duplicate-file-name``, context ``index``,
    1-based) if any name is unsafe or two names would collide.  The message never quotes the
    name: file names travel encrypted and are as confidential as the title."""
    seen: set[str] = set()
    for i, name in enumerate(names):
        # The names themselves are confidential (they travel encrypted): say which one by number.
        problem = name_problem(name)
        if problem:
            raise error("file name #{index} is refused: it {problem}", problem=str(problem), code='unsafe-file-name',
                        index=str(i + 1))
        key = name_key(name)
        if key in seen:
            raise error("file name #{index} occurs twice (names are compared without case)",
                        code='duplicate-file-name', index=str(i + 1))
        seen.add(key)
