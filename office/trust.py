"""The pinned authority root and the installed directory bundle's version (SMSEAL_HOME/trust/).

Installing a bundle: verify it completely first (no side effects), then
apply its units, keys and revocations to the directory (``Directory.apply_bundle``, the
library's one place for that), then record its version — so a refused bundle leaves the
installed directory unchanged and an older bundle can never be installed after a newer one
(no rollback).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UsageError
from .fsutil import write_atomic
from .i18n import _

if TYPE_CHECKING:
    from smseal.keystore.x509 import Certificate


class Trust:
    """The pinned root (``trust/root.pem``) and the installed bundle's version (``trust/bundle.json``)."""

    def __init__(self, home: Path) -> None:
        self.dir = Path(home) / "trust"
        self.root_path = self.dir / "root.pem"
        self.state_path = self.dir / "bundle.json"

    def pinned_root(self) -> "Certificate":
        """The pinned authority root; a ``UsageError`` if none is pinned yet."""
        from smseal.keystore.bundle import load_root

        if not self.root_path.exists():
            raise UsageError(_("No authority is pinned yet: run 'smseal directory trust root.pem' first."))
        return load_root(self.root_path.read_bytes())

    def pin(self, pem: bytes, *, replace: bool) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(self.root_path, pem, overwrite=replace, mode=0o600)

    def installed_version(self) -> int | None:
        if not self.state_path.exists():
            return None
        return int(json.loads(self.state_path.read_text(encoding="utf-8"))["version"])

    def record(self, version: int, issued: datetime) -> None:
        write_atomic(self.state_path, json.dumps({"version": version, "issued": issued.isoformat()}).encode(),
                     overwrite=True, mode=0o600)
