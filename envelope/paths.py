"""File names that travel inside a package, and how they are kept inside ``out_dir``.

A name is one path component: it can never name a directory, a parent, a
drive, a device or a stream, on any of the systems where offices open
packages (Linux, Windows, macOS).  The same check runs when sealing (so we
never produce such a package) and when opening (so a hostile one is refused
before a byte is written).
"""

from __future__ import annotations

import unicodedata

MAX_NAME_BYTES = 255  # the usual file-system limit for one component

# Windows reserves these names with or without an extension (CON.txt is CON).
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"COM{i}" for i in "123456789¹²³"), *(f"LPT{i}" for i in "123456789¹²³")}
# Separators, drive/stream colon and the other characters Windows forbids.
_FORBIDDEN = set('/\\:*?"<>|')
# Characters that make a name display as something else (bidi overrides, zero width).
_DECEPTIVE = {"\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2028", "\u2029",
              "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067",
              "\u2068", "\u2069", "\ufeff"}


def name_problem(name: object) -> str | None:
    """Return why ``name`` is not a safe file name, or None if it is."""
    if type(name) is not str:
        return "is not a string"
    if not name:
        return "is empty"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"is longer than {MAX_NAME_BYTES} bytes"
    if unicodedata.normalize("NFC", name) != name:
        return "is not in Unicode NFC form"
    for ch in name:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Co", "Cn") or ch in _DECEPTIVE:
            return "contains a control or invisible character"
        if ch in _FORBIDDEN:
            return "contains a path separator or a character Windows forbids"
    if name in (".", ".."):
        return "is a directory reference"
    if name != name.strip(" ") or name.endswith("."):
        return "begins or ends with a space, or ends with a dot"
    stem = name.split(".", 1)[0].rstrip(" ").upper()
    if stem in _RESERVED:
        return "is a reserved device name"
    return None


def name_key(name: str) -> str:
    """The form two names collide in on a case-insensitive file system."""
    return unicodedata.normalize("NFC", name.casefold())


def check_names(names: list[str], error: type[Exception]) -> None:
    """Raise ``error`` if any name is unsafe or two names would collide."""
    seen: set[str] = set()
    for i, name in enumerate(names):
        problem = name_problem(name)
        if problem:
            shown = f" {name!r}" if isinstance(name, str) else ""
            raise error(f"file name #{i + 1}{shown} is refused: it {problem}")
        key = name_key(name)
        if key in seen:
            raise error(f"file name {name!r} occurs twice (names are compared without case)")
        seen.add(key)
