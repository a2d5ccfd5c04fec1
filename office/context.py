"""``Office``: one office's state under SMSEAL_HOME, opened lazily — the configuration, the
ledger, the directory of units, the own keys, the unit's leaders and the workflow tables — with
the office's clock and time zone, for the command and the page alike.

    with Office(home, passphrase=env_passphrase()) as office:
        report = fetch(office)
        d = approval.approve_draft(office, drafts.load_draft("d.smd"))

The keystore asks for passphrases and PINs through ``passphrase`` (a
``keystore.PassphraseCallback``); the command passes one that reads
SMSEAL_PASSPHRASE or asks on the terminal, the page one that uses what the
secretary typed into the form.  ``now`` is injectable so deadlines can be
tested at any date.  A caller may hand in parts it already has open (``config``,
``keystore``, ``directory``, ``ledger``); they stay the caller's to close.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo

from . import clock
from . import home as _home
from .config import Config
from .errors import UsageError
from .i18n import _
from .ledger import Ledger
from .workflow_store import WorkflowStore

if TYPE_CHECKING:
    from smseal.keystore.directory import Directory
    from smseal.keystore.identities import Keystore
    from smseal.keystore.leaders import Leaders


class Office:
    """Lazily opened state of one office; a context manager that closes what it opened."""

    def __init__(self, home: str | os.PathLike[str] | None = None, *,
                 passphrase: Callable[[Any], bytes] | None = None, attempts: int = 1,
                 now: Callable[[], datetime] | None = None, config: Config | None = None,
                 keystore: Any = None, directory: Any = None, ledger: Ledger | None = None) -> None:
        self.home = Path(home) if home is not None else _home.resolve(None)
        self.config = config if config is not None else Config(self.home)
        self._passphrase = passphrase
        self._attempts = attempts
        self._now = now or clock.utc_now
        for name, given in (("keystore", keystore), ("directory", directory), ("ledger", ledger)):
            if given is not None:
                self.__dict__[name] = given       # shared with the caller, which closes it
        self._shared = {n for n in ("keystore", "directory") if n in self.__dict__}

    def __repr__(self) -> str:
        return f"<Office {self.home}>"

    @cached_property
    def keystore(self) -> Keystore:
        """This unit's own keys (``keystore.Keystore``)."""
        from smseal.keystore.identities import Keystore

        module = self.config.get("pkcs11", "module")
        return Keystore(self.home, passphrase=self._passphrase, pkcs11_module=module, attempts=self._attempts)

    @cached_property
    def directory(self) -> Directory:
        """The directory of other units (``keystore.Directory``)."""
        from smseal.keystore.directory import Directory

        return Directory(self.home)

    @cached_property
    def ledger(self) -> Ledger:
        """What was sent and received (``office.ledger.Ledger``)."""
        return Ledger(self.home)

    @cached_property
    def store(self) -> WorkflowStore:
        """The workflow tables (``workflow_store``)."""
        return WorkflowStore(self.home)

    @cached_property
    def leaders(self) -> Leaders:
        """This unit's leaders (``keystore.leaders.Leaders``)."""
        from smseal.keystore.leaders import Leaders

        return Leaders(self.home, passphrase=self._passphrase, pkcs11_module=self.config.get("pkcs11", "module"))

    @cached_property
    def tz(self) -> ZoneInfo:
        """The office's time zone (``[display] timezone``, default Asia/Shanghai)."""
        return clock.zone(self.config.get("display", "timezone"))

    def now(self) -> datetime:
        """The current time (UTC, aware); tests inject their own."""
        return self._now()

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
        """Close what this ``Office`` opened (not the parts its caller handed in)."""
        if "leaders" in self.__dict__:
            self.leaders.close()
            del self.__dict__["leaders"]
        for name in self._shared:             # the caller's: not ours to close
            self.__dict__.pop(name, None)
        self._shared = set()
        if "directory" in self.__dict__:
            self.directory.close()
            del self.__dict__["directory"]
        if "keystore" in self.__dict__:
            self.keystore.close()
            del self.__dict__["keystore"]
