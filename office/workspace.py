"""``Office``: one office's state under SMSEAL_HOME, as the workflow functions need it
(``context.Office`` — config, keystore, directory, ledger — plus clock, time zone, workflow
tables and leaders).

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
from .context import Office as _BaseOffice
from .ledger import Ledger
from .workflow_store import WorkflowStore


class Office(_BaseOffice):
    """``context.Office`` plus what the workflow needs: an injectable clock, the office's time
    zone, the workflow tables and the unit's leaders.  See the module docstring."""

    def __init__(self, home: str | os.PathLike[str] | None = None, *, passphrase: Callable[[Any], bytes] | None = None,
                 attempts: int = 1, now: Callable[[], datetime] | None = None, config: Config | None = None,
                 keystore: Any = None, directory: Any = None, ledger: Ledger | None = None) -> None:
        super().__init__(Path(home) if home is not None else _home.resolve(None), passphrase=passphrase,
                         attempts=attempts)
        self._now = now or clock.utc_now
        if config is not None:
            self.config = config
        for name, given in (("keystore", keystore), ("directory", directory), ("ledger", ledger)):
            if given is not None:
                self.__dict__[name] = given       # shared with the caller, which closes it
        self._shared = {n for n in ("keystore", "directory") if n in self.__dict__}

    def __repr__(self) -> str:
        return f"<Office {self.home}>"

    def now(self) -> datetime:
        """The current time (UTC, aware); tests inject their own."""
        return self._now()

    @cached_property
    def tz(self) -> ZoneInfo:
        """The office's time zone (``[display] timezone``, default Asia/Shanghai)."""
        return clock.zone(self.config.get("display", "timezone"))

    @cached_property
    def store(self) -> WorkflowStore:
        """The workflow tables (``workflow_store``)."""
        return WorkflowStore(self.home)

    @cached_property
    def leaders(self) -> Any:
        """This unit's leaders (``keystore.leaders.Leaders``)."""
        from smseal.keystore.leaders import Leaders

        return Leaders(self.home, passphrase=self._passphrase, pkcs11_module=self.config.get("pkcs11", "module"))

    def close(self) -> None:
        if "leaders" in self.__dict__:
            self.leaders.close()
            del self.__dict__["leaders"]
        for name in self._shared:             # the caller's: not ours to close
            self.__dict__.pop(name, None)
        super().close()


def as_office(obj: Any) -> Office:
    """``obj`` if it is an ``Office``, else an ``Office`` sharing its parts (the command's ``App``)."""
    if isinstance(obj, Office):
        return obj
    return Office(obj.home, config=obj.config, keystore=obj.keystore, directory=obj.directory, ledger=obj.ledger)
