"""The configuration file ``config.ini`` in SMSEAL_HOME.

Every section and key it accepts is in ``SCHEMA`` below; the README's configuration example
shows each of them with its default and meaning (tests/test_config_schema.py keeps the schema,
the example and the code that reads the options in step).  Inline comments start with ``;``
or ``#`` after a space; a ``%`` is a plain character.
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


@dataclass(frozen=True)
class IMAPSettings:
    host: str
    port: int
    security: str
    username: str
    password: str | None
    cafile: str | None
    folder: str
    processed: str          # a keyword like $SmsealDone, or "folder:NAME"

    def __repr__(self) -> str:  # never show the password
        return f"IMAPSettings(host={self.host!r}, port={self.port}, security={self.security!r})"

    @property
    def source_name(self) -> str:
        """How fetch names this mailbox in the ledger (what was processed where)."""
        return f"imap://{self.username}@{self.host}:{self.port}/{self.folder}"


# Every section and key config.ini accepts (the README's configuration example shows each one;
# tests/test_config_schema.py keeps the two, and the code that reads them, in step).
# ``ANY_KEY``: the keys are names chosen by the office (unit names under [addresses]);
# a section ending in " *" is a family ([template 督办件], [template 议案] ...).
ANY_KEY = "*"
SCHEMA: dict[str, frozenset[str]] = {
    "unit": frozenset({"name"}),                        # written by smseal init
    "delivery": frozenset({"via"}),
    "outbox": frozenset({"root"}),
    "smtp": frozenset({"host", "port", "security", "username", "password", "from", "cafile"}),
    "addresses": frozenset({ANY_KEY}),
    "imap": frozenset({"host", "port", "security", "username", "password", "folder", "processed", "cafile"}),
    "reminders": frozenset({"extra-urgent", "urgent", "max"}),
    "pkcs11": frozenset({"module"}),
    "authority": frozenset({"token_identity"}),         # written by smseal authority init --token
    "policy": frozenset({"require_approval"}),
    "display": frozenset({"timezone"}),
    "template *": frozenset({"stages", "reply_stage", "meeting_stage"}),
}


def schema_section(section: str) -> str | None:
    """The ``SCHEMA`` entry that governs ``section`` (``"template *"`` for ``[template 督办件]``), or None."""
    if section in SCHEMA:
        return section
    for family in (k for k in SCHEMA if k.endswith(" *")):
        if section.startswith(family[:-1]) and section[len(family) - 1:].strip():
            return family
    return None


LOOPBACK = ("127.0.0.1", "localhost", "::1")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds in ``30m``, ``4h``, ``1d``, ``90s`` or a plain number of seconds."""
    t = text.strip().lower()
    try:
        if t and t[-1] in _DURATION_UNITS:
            value = int(float(t[:-1]) * _DURATION_UNITS[t[-1]])
        else:
            value = int(float(t))
    except ValueError:
        raise ConfigError(_("Not a duration: {text} (write e.g. 30m, 4h or 1d).").format(text=text)) from None
    if value <= 0:
        raise ConfigError(_("Not a duration: {text} (write e.g. 30m, 4h or 1d).").format(text=text))
    return value


class Config:
    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.path = self.home / "config.ini"
        # Raw: a "%" in a unit name or a password is a character, not an interpolation.
        self._cp = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"))
        self._cp.optionxform = str  # type: ignore[assignment,method-assign]  # keep unit names as written
        if self.path.exists():
            try:
                self._cp.read(self.path, encoding="utf-8")
            except (configparser.Error, UnicodeDecodeError) as exc:
                raise ConfigError(_("{path} cannot be read ({why}); fix or remove the broken line.")
                                  .format(path=self.path, why=str(exc).splitlines()[0])) from None

    def get(self, section: str, key: str, default: str | None = None) -> str | None:
        """The value of ``key`` in ``[section]``, or ``default``."""
        return self._cp.get(section, key, fallback=default)

    def unknown(self) -> list[str]:
        """``[section] key`` of every entry this file has that ``SCHEMA`` does not know (a typo,
        or an option of another version): smseal ignores them."""
        out = []
        for section in self._cp.sections():
            known = SCHEMA.get(schema_section(section) or "")
            if known is None:
                out.append(f"[{section}]")
                continue
            out += [f"[{section}] {key}" for key in self._cp.options(section)
                    if ANY_KEY not in known and key not in known]
        return out

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
        if security == "none" and host not in LOOPBACK:
            raise ConfigError(_("Unencrypted SMTP is allowed only to this computer (127.0.0.1)."))
        port = int(self.get("smtp", "port", "465" if security == "tls" else "587") or 0)
        password = os.environ.get("SMSEAL_SMTP_PASSWORD") or self.get("smtp", "password")
        return SMTPSettings(host, port, security, self.get("smtp", "username"), password, sender,
                            self.get("smtp", "cafile"))

    def imap(self) -> IMAPSettings | None:
        """The mailbox ``fetch`` reads, or None when ``[imap]`` names no host."""
        host = self.get("imap", "host")
        if not host:
            return None
        username = self.get("imap", "username")
        if not username:
            raise ConfigError(_("[imap] needs username = ... in {path}.").format(path=self.path))
        security = (self.get("imap", "security", "tls") or "tls").lower()
        if security not in ("starttls", "tls", "none"):
            raise ConfigError(_("[imap] security must be tls, starttls or none."))
        if security == "none" and host not in LOOPBACK:
            raise ConfigError(_("Unencrypted IMAP is allowed only to this computer (127.0.0.1)."))
        try:
            port = int(self.get("imap", "port", "993" if security == "tls" else "143") or 0)
        except ValueError:
            raise ConfigError(_("[imap] port must be a number.")) from None
        password = os.environ.get("SMSEAL_IMAP_PASSWORD") or self.get("imap", "password")
        processed = (self.get("imap", "processed", "$SmsealDone") or "$SmsealDone").strip()
        if not processed.startswith("folder:") and not (processed.startswith("$") and processed[1:].isalnum()):
            raise ConfigError(_("[imap] processed must be a keyword like $SmsealDone or folder:NAME."))
        return IMAPSettings(host, port, security, username, password, self.get("imap", "cafile"),
                            self.get("imap", "folder", "INBOX") or "INBOX", processed)

    def reminder_interval(self, urgency: str) -> int | None:
        """Seconds without a receipt before a 催领 reminder for this urgency (None: never)."""
        defaults = {"extra-urgent": "30m", "urgent": "4h"}
        if urgency not in defaults:
            return None
        return parse_duration(self.get("reminders", urgency, defaults[urgency]) or defaults[urgency])

    def reminder_max(self) -> int:
        try:
            return max(0, int(self.get("reminders", "max", "3") or 3))
        except ValueError:
            raise ConfigError(_("[reminders] max must be a number.")) from None

    def has_transport(self) -> bool:
        """True when config.ini names a way to reach other units (a shared folder or SMTP)."""
        return bool(self.get("delivery", "via") or self.get("outbox", "root") or self.get("smtp", "host"))
    @staticmethod
    def check_value(value: str) -> None:
        """``ConfigError`` unless ``value`` can be written to and read back from config.ini as is."""
        if value != value.strip() or any(c in value for c in "\r\n") or value.startswith(("[", ";", "#")):
            raise ConfigError(_("{value!r} cannot be stored in config.ini (line breaks, outer spaces, or a "
                                "leading bracket or comment sign).").format(value=value))

    def set(self, section: str, key: str, value: str) -> None:
        self.check_value(value)
        if not self._cp.has_section(section):
            self._cp.add_section(section)
        self._cp.set(section, key, value)
        from .fsutil import atomic_output

        with atomic_output(self.path, overwrite=True, mode=0o600) as f:
            import io

            buf = io.StringIO()
            self._cp.write(buf)
            f.write(buf.getvalue().encode("utf-8"))
