"""Passphrases and PINs come from the caller, never from ``input()``.

The library asks through a callback ``(prompt: Prompt) -> bytes``.  A
``Prompt`` is a ``str`` (the sentence to show) that also says what is asked
for (``purpose``) and about what (``subject``), so a CLI can ask twice for a
new passphrase and a GUI can pick a PIN pad.  For automation,
``env_passphrase()`` answers from ``SMSEAL_PASSPHRASE`` / ``SMSEAL_PIN``.
"""

from __future__ import annotations

import os
from enum import Enum
from typing import Callable, Mapping

from .errors import PassphraseUnavailable


class Purpose(str, Enum):
    """What a prompt asks for (see ``Prompt.purpose``)."""

    UNLOCK = "unlock"          # passphrase of an existing key file
    NEW = "new"                # passphrase for a key file about to be written
    EXPORT = "export"          # passphrase protecting an exported key
    PIN = "pin"                # user PIN of a PKCS#11 token


class Prompt(str):
    """The text to show, with ``.purpose`` (a ``Purpose``) and ``.subject`` attached."""

    purpose: Purpose
    subject: str

    def __new__(cls, text: str, purpose: Purpose, subject: str = "") -> "Prompt":
        obj = super().__new__(cls, text)
        obj.purpose = purpose
        obj.subject = subject
        return obj


PassphraseCallback = Callable[[Prompt], bytes]

ENV_PASSPHRASE = "SMSEAL_PASSPHRASE"
ENV_PIN = "SMSEAL_PIN"


def env_passphrase(environ: Mapping[str, str] | None = None) -> PassphraseCallback:
    """A callback that answers PIN prompts from ``SMSEAL_PIN`` and all others from
    ``SMSEAL_PASSPHRASE``; raises ``PassphraseUnavailable`` when the variable is unset."""
    env = os.environ if environ is None else environ

    def answer(prompt: Prompt) -> bytes:
        name = ENV_PIN if getattr(prompt, "purpose", None) is Purpose.PIN else ENV_PASSPHRASE
        value = env.get(name)
        if not value:
            raise PassphraseUnavailable("{name} is not set", name=str(name), hint=f'set {name} or run interactively')
        return value.encode("utf-8")

    return answer


def ask(callback: PassphraseCallback | None, prompt: Prompt) -> bytes:
    """Ask ``callback``; refuse a missing callback or an empty answer."""
    if callback is None:
        if prompt.purpose is Purpose.PIN:
            raise PassphraseUnavailable("a PIN is needed ({prompt}) but no way to ask for it was given",
                                        prompt=str(prompt))
        raise PassphraseUnavailable("a passphrase is needed ({prompt}) but no way to ask for it was given",
                                    prompt=str(prompt))
    value = callback(prompt)
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, (bytes, bytearray)) or not value:
        raise PassphraseUnavailable("an empty passphrase or PIN was given")
    return bytes(value)
