"""Urgency (紧急程度) as people type it and as the format carries it.

The format's words are ``normal``, ``urgent`` and ``extra-urgent``; a secretary types 加急 or
特急 (GB/T 9704's words).  Both are accepted everywhere a user names an urgency.
"""

from __future__ import annotations

from smseal.envelope.format import URGENCIES

# format word -> the GB/T 9704 mark shown to people ('' for normal: nothing is printed)
LABEL: dict[str, str] = {"normal": "", "urgent": "加急", "extra-urgent": "特急"}

_ALIASES: dict[str, str] = {
    **{u: u for u in URGENCIES},
    "普通": "normal", "平件": "normal",
    "加急": "urgent",
    "特急": "extra-urgent",
}

CHOICES: tuple[str, ...] = tuple(_ALIASES)


def parse(text: str) -> str:
    """The format word for what the user typed; ValueError when it is none of them."""
    try:
        return _ALIASES[text.strip()]
    except KeyError:
        raise ValueError(text) from None
