"""Translations: gettext catalogs in office/locale (English msgids, zh_CN catalog).

The language follows the usual variables (LANGUAGE, LC_ALL, LC_MESSAGES, LANG):
Chinese when the locale is Chinese, English otherwise.  ``N_`` marks strings
for extraction without translating them at import time.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

LOCALEDIR = Path(__file__).with_name("locale")
DOMAIN = "smseal"
_ENV = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
_cache: dict[tuple[str, ...], gettext.NullTranslations] = {}


def _current() -> gettext.NullTranslations:
    key = tuple(os.environ.get(v, "") for v in _ENV)
    t = _cache.get(key)
    if t is None:
        t = _cache[key] = gettext.translation(DOMAIN, LOCALEDIR, fallback=True)
    return t


def _(message: str) -> str:
    return _current().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current().ngettext(singular, plural, n)


def N_(message: str) -> str:
    return message


def is_chinese() -> bool:
    return isinstance(_current(), gettext.GNUTranslations)
