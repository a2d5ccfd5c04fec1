"""``Office``: one office's state under SMSEAL_HOME, opened lazily — the configuration, the
ledger, the directory of units and the own keys — for the command and the page alike.

    with Office(home, passphrase=env_passphrase()) as office:
        report = fetch(office)

The keystore asks for passphrases and PINs through ``passphrase`` (a
``keystore.PassphraseCallback``); the command passes one that reads
SMSEAL_PASSPHRASE or asks on the terminal, the page one that uses what the
secretary typed into the form.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .config import Config
from .errors import UsageError
from .i18n import _
from .ledger import Ledger

if TYPE_CHECKING:
    from smseal.keystore.directory import Directory
    from smseal.keystore.identities import Keystore


class Office:
    """Lazily opened state of one office; a context manager that closes what it opened."""

    def __init__(self, home: Path, *, passphrase: Callable[[Any], bytes] | None = None,
                 attempts: int = 1) -> None:
        self.home = Path(home)
        self.config = Config(self.home)
        self._passphrase = passphrase
        self._attempts = attempts

    @cached_property
    def keystore(self) -> Keystore:
        from smseal.keystore.identities import Keystore

        module = self.config.get("pkcs11", "module")
        return Keystore(self.home, passphrase=self._passphrase, pkcs11_module=module, attempts=self._attempts)

    @cached_property
    def directory(self) -> Directory:
        from smseal.keystore.directory import Directory

        return Directory(self.home)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.home)

    @property
    def unit(self) -> str:
        """This office's unit name (``[unit] name`` in config.ini)."""
        name = self.config.get("unit", "name")
        if not name:
            raise UsageError(_("This computer has no unit yet: run 'smseal init --unit NAME' first."))
        return name

    def own_encryption_key_ids(self) -> set[bytes]:
        """Every encryption key id this office holds (any generation), without unlocking a key."""
        return set(self.keystore.encryption_keys())

    def __enter__(self) -> "Office":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if "directory" in self.__dict__:
            self.directory.close()
            del self.__dict__["directory"]
        if "keystore" in self.__dict__:
            self.keystore.close()
            del self.__dict__["keystore"]
