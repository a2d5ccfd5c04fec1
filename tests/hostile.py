"""Helpers for the hardening tests (issue 9): hostile units, backdated packages, a file swapper."""

from __future__ import annotations

import ctypes
import importlib
import ctypes.util
import os
import struct
import types
from datetime import datetime, timedelta, timezone
from pathlib import Path

from shangmi import sm2
from smseal import envelope
from smseal.keystore import Directory, parse_card

seal_module = importlib.import_module("smseal.envelope.seal")


def now() -> datetime:
    return datetime.now(timezone.utc)


class HostileUnit:
    """A unit with software keys, registered in ``home``'s directory under ``name``."""

    def __init__(self, home: Path, name: str) -> None:
        self.name = name
        self.sign = sm2.PrivateKey.generate()
        self.enc = sm2.PrivateKey.generate()
        with Directory(home) as d:
            d.add_unit(name, self.sign.public_key(), self.enc.public_key())

    def revoke_in(self, home: Path, at: datetime, reason: str = "cessationOfOperation") -> None:
        with Directory(home) as d:
            d.revoke(self.name, at, reason)


def seal_at(when: datetime, *, sender, to: sm2.PublicKey, out: Path, text: bytes = b"forged",
            name: str = "doc.txt", title: str | None = None, package_id: bytes | None = None,
            **meta) -> envelope.SealResult:
    """Seal with the header time ``when`` (what a backdating unit does); optionally reuse a package id."""
    import secrets

    real_time = seal_module.time
    seal_module.time = types.SimpleNamespace(time=lambda: when.timestamp())
    if package_id is not None:
        calls = {"n": 0}

        def token_bytes(n: int) -> bytes:
            calls["n"] += 1          # file key, salt, then the package id
            return package_id if n == len(package_id) and calls["n"] == 3 else secrets.token_bytes(n)
        seal_module.secrets = types.SimpleNamespace(token_bytes=token_bytes)
    try:
        res = envelope.seal(envelope.Package((name, text), title=title, **meta), sender=sender, to=to, out=out)
    finally:
        seal_module.time = real_time
        seal_module.secrets = secrets
    if package_id is not None and res.package_id != package_id:
        raise AssertionError("could not reuse the package id (envelope.seal changed how it draws ids)")
    return res


def card_enc_key(card: Path) -> sm2.PublicKey:
    return parse_card(card.read_bytes()).encryption_key


class CloseWatcher:
    """inotify on one file: has any descriptor of it been closed since we started watching?"""

    IN_CLOSE_WRITE, IN_CLOSE_NOWRITE, IN_NONBLOCK = 0x8, 0x10, 0o4000

    def __init__(self, path: Path) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = libc.inotify_init1(self.IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, os.fsencode(path), self.IN_CLOSE_WRITE | self.IN_CLOSE_NOWRITE) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")

    def closed(self) -> bool:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return False
        mask = struct.unpack_from("iIII", data)[1]
        return bool(mask & (self.IN_CLOSE_WRITE | self.IN_CLOSE_NOWRITE))

    def close(self) -> None:
        os.close(self.fd)
