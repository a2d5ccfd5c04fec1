"""Delivery of packages and receipts: an outbox folder per unit (the embedded
default; works on a shared network folder) or SMTP with TLS.

Transports only move sealed bytes; they never see plaintext or keys.
Package e-mails carry the package id and urgency (both in the clear header
anyway), never the confidential title.
"""

from __future__ import annotations

import shutil
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

from shangmi import TransportError

from .config import Config
from .fsutil import atomic_output, safe_component
from .i18n import _

PACKAGE_SUFFIX = ".smx"
RECEIPT_SUFFIX = ".receipt"


class Transport(Protocol):
    name: str

    def deliver_package(self, package: Path, unit: str, package_id: str, urgency: str) -> str: ...

    def deliver_receipt(self, data: bytes, unit: str, package_id: str) -> str: ...


class OutboxTransport:
    """``<root>/<unit>/packages/<id>.smx`` and ``<root>/<unit>/receipts/<id>-<n>.receipt``."""

    name = "outbox"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def inbox(self, unit: str) -> Path:
        return self.root / safe_component(unit)

    def _put(self, folder: Path, name: str, data: bytes | Path) -> str:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            dest = folder / name
            n = 1
            while dest.exists():  # the same receipt sent twice is kept, not overwritten
                dest = folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
                n += 1
            with atomic_output(dest) as out:
                if isinstance(data, Path):
                    with open(data, "rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)  # streams: packages can be large
                else:
                    out.write(data)
            return str(dest)
        except OSError as exc:
            raise TransportError(f"cannot write to {folder}: {exc.strerror}") from None

    def deliver_package(self, package: Path, unit: str, package_id: str, urgency: str) -> str:
        return self._put(self.inbox(unit) / "packages", package_id + PACKAGE_SUFFIX, Path(package))

    def deliver_receipt(self, data: bytes, unit: str, package_id: str) -> str:
        return self._put(self.inbox(unit) / "receipts", package_id + RECEIPT_SUFFIX, data)


_URGENCY_TAG = {"urgent": "【加急】", "extra-urgent": "【特急】"}


class SMTPTransport:
    name = "smtp"

    def __init__(self, config: Config) -> None:
        self.config = config
        self.settings = config.smtp()

    def _send(self, to: str, subject: str, body: str, filename: str, data: bytes) -> str:
        s = self.settings
        msg = EmailMessage()
        msg["From"] = s.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Message-ID"] = make_msgid(domain=s.sender.rpartition("@")[2] or None)
        msg["X-Smseal"] = "1"
        msg.set_content(body)
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
        ctx = ssl.create_default_context(cafile=s.cafile) if s.security != "none" else None
        try:
            if s.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=60, context=ctx)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=60)
            with client:
                client.ehlo()
                if s.security == "starttls":
                    client.starttls(context=ctx)
                    client.ehlo()
                if s.username:
                    client.login(s.username, s.password or "")
                client.send_message(msg)
        except smtplib.SMTPAuthenticationError:
            raise TransportError("the mail server refused the user name or password") from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise TransportError(f"mail server {s.host}:{s.port}: {type(exc).__name__}: {exc}") from None
        return to

    def deliver_package(self, package: Path, unit: str, package_id: str, urgency: str) -> str:
        data = Path(package).read_bytes()  # a mail message holds its attachment whole anyway
        subject = f"{_URGENCY_TAG.get(urgency, '')}smseal 公文文件包 {package_id}"
        body = _("A sealed document package is attached. Open it with: smseal open {name}\n").format(
            name=package_id + PACKAGE_SUFFIX)
        return self._send(self.config.address_of(unit), subject, body, package_id + PACKAGE_SUFFIX, data)

    def deliver_receipt(self, data: bytes, unit: str, package_id: str) -> str:
        subject = f"smseal 签收回执 {package_id}"
        body = _("A signed receipt is attached. Record it with: smseal receipts import {name}\n").format(
            name=package_id + RECEIPT_SUFFIX)
        return self._send(self.config.address_of(unit), subject, body, package_id + RECEIPT_SUFFIX, data)


def make(config: Config, via: str | None = None) -> Transport:
    via = via or config.via
    if via == "outbox":
        return OutboxTransport(config.outbox_root)
    if via == "smtp":
        return SMTPTransport(config)
    from .config import ConfigError

    raise ConfigError(_("Unknown delivery method {via!r}: use outbox or smtp.").format(via=via))
