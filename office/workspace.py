"""``Office``: one office's state under SMSEAL_HOME, as the workflow functions need it.

The command (``cli``) and the page (``ui``) build one and pass it to the
library functions of ``drafts``, ``approval``, ``sending``, ``replies``,
``cases``, ``status`` and ``registers``.  Everything is opened lazily; the
caller may hand in objects it already has (the command's ``App`` does).
``now`` is injectable so deadlines can be tested at any date.

    from smseal.office.workspace import Office
    with Office("/path/to/home", passphrase=callback) as office:
        ...
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from . import clock
from . import home as _home
from .config import Config
from .errors import UsageError
from .i18n import _
from .ledger import Ledger
from .workflow_store import WorkflowStore


class Office:
    """See the module docstring.  ``close()`` (or ``with``) releases keys and databases."""

    def __init__(self, home: str | os.PathLike[str] | None = None, *, passphrase: Callable | None = None,
                 now: Callable[[], datetime] | None = None, config: Config | None = None,
                 keystore: Any = None, directory: Any = None, ledger: Ledger | None = None) -> None:
        self.home = Path(home) if home is not None else _home.resolve(None)
        self._passphrase = passphrase
        self._now = now or clock.utc_now
        self.config = config or Config(self.home)
        self._given = {k: v for k, v in (("keystore", keystore), ("directory", directory),
                                          ("ledger", ledger)) if v is not None}
        self._owned: list[Any] = []

    def __repr__(self) -> str:
        return f"<Office {self.home}>"

    # -- clock ---------------------------------------------------------------------------
    def now(self) -> datetime:
        """The current time (UTC, aware); tests inject their own."""
        return self._now()

    @cached_property
    def tz(self) -> ZoneInfo:
        """The office's time zone (``[display] timezone``, default Asia/Shanghai)."""
        return clock.zone(self.config.get("display", "timezone"))

    # -- parts -----------------------------------------------------------------------------
    @cached_property
    def keystore(self) -> Any:
        if "keystore" in self._given:
            return self._given["keystore"]
        from smseal.keystore import Keystore

        ks = Keystore(self.home, passphrase=self._passphrase, pkcs11_module=self.config.get("pkcs11", "module"))
        self._owned.append(ks)
        return ks

    @cached_property
    def directory(self) -> Any:
        if "directory" in self._given:
            return self._given["directory"]
        from smseal.keystore import Directory

        d = Directory(self.home)
        self._owned.append(d)
        return d

    @cached_property
    def ledger(self) -> Ledger:
        return self._given.get("ledger") or Ledger(self.home)

    @cached_property
    def store(self) -> WorkflowStore:
        return WorkflowStore(self.home)

    @cached_property
    def leaders(self) -> Any:
        from smseal.keystore.leaders import Leaders

        lds = Leaders(self.home, passphrase=self._passphrase, pkcs11_module=self.config.get("pkcs11", "module"))
        self._owned.append(lds)
        return lds

    @property
    def unit(self) -> str:
        """This office's unit name (``[unit] name``, written by ``smseal init``)."""
        name = self.config.get("unit", "name")
        if not name:
            raise UsageError(_("This computer has no unit yet: run 'smseal init --unit NAME' first."))
        return name

    def close(self) -> None:
        for obj in reversed(self._owned):
            obj.close()
        self._owned.clear()

    def __enter__(self) -> "Office":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
