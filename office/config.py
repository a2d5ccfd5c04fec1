"""The configuration file ``config.ini`` in SMSEAL_HOME.

    [delivery]
    via = outbox                  ; outbox (default) or smtp

    [outbox]
    root = /mnt/share/smseal      ; a shared folder; default: SMSEAL_HOME/outbox

    [smtp]
    host = mail.example.gov.cn
    port = 587
    security = starttls           ; starttls, tls (implicit TLS) or none (127.0.0.1 only)
    username = bgs
    ; the password comes from $SMSEAL_SMTP_PASSWORD, or password = ... in this file (kept 0600)
    from = bgs@example.gov.cn
    cafile = /etc/ssl/certs/gov-ca.pem   ; optional: trust this CA for the server certificate

    [addresses]
    财政局 = czj@example.gov.cn    ; where each unit receives packages and receipts by e-mail
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .i18n import _


@dataclass(frozen=True)
class SMTPSettings:
    host: str
    port: int
    security: str
    username: str | None
    password: str | None
    sender: str
    cafile: str | None

    def __repr__(self) -> str:  # never show the password
        return f"SMTPSettings(host={self.host!r}, port={self.port}, security={self.security!r})"


class Config:
    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.path = self.home / "config.ini"
        self._cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
        self._cp.optionxform = str  # keep unit names as written
        if self.path.exists():
            self._cp.read(self.path, encoding="utf-8")

    def get(self, section: str, key: str, default: str | None = None) -> str | None:
        return self._cp.get(section, key, fallback=default)

    @property
    def via(self) -> str:
        return self.get("delivery", "via", "outbox") or "outbox"

    @property
    def outbox_root(self) -> Path:
        return Path(self.get("outbox", "root") or self.home / "outbox").expanduser()

    def address_of(self, unit: str) -> str:
        addr = self.get("addresses", unit)
        if not addr:
            raise ConfigError(_("No e-mail address for {unit}: add it under [addresses] in {path}.")
                              .format(unit=unit, path=self.path))
        return addr

    def smtp(self) -> SMTPSettings:
        host = self.get("smtp", "host")
        sender = self.get("smtp", "from")
        if not host or not sender:
            raise ConfigError(_("SMTP is not configured: set host and from under [smtp] in {path}.")
                              .format(path=self.path))
        security = (self.get("smtp", "security", "starttls") or "starttls").lower()
        if security not in ("starttls", "tls", "none"):
            raise ConfigError(_("[smtp] security must be starttls, tls or none."))
        if security == "none" and host not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError(_("Unencrypted SMTP is allowed only to this computer (127.0.0.1)."))
        port = int(self.get("smtp", "port", "465" if security == "tls" else "587") or 0)
        password = os.environ.get("SMSEAL_SMTP_PASSWORD") or self.get("smtp", "password")
        return SMTPSettings(host, port, security, self.get("smtp", "username"), password, sender,
                            self.get("smtp", "cafile"))

    def set(self, section: str, key: str, value: str) -> None:
        if not self._cp.has_section(section):
            self._cp.add_section(section)
        self._cp.set(section, key, value)
        from .fsutil import atomic_output

        with atomic_output(self.path, overwrite=True, mode=0o600) as f:
            import io

            buf = io.StringIO()
            self._cp.write(buf)
            f.write(buf.getvalue().encode("utf-8"))
