"""Delivery of packages and receipts: an outbox folder per unit (the embedded
default; works on a shared network folder) or SMTP with TLS.

Transports only move sealed bytes; they never see plaintext or keys.
Package e-mails carry the package id and urgency (both in the clear header
anyway), never the confidential title.
"""

from __future__ import annotations

import os
import shutil
import smtplib
import socket
import ssl
from pathlib import Path
from typing import Any, Callable, Protocol

from shangmi import TransportError

from .config import Config
from .fsutil import atomic_output, safe_component
from .i18n import _
from .mailcompose import (MIN_PART, compose, package_text, part_name, part_size_for, receipt_text,
                          reminder_text, subject_tag)
from .mailerrors import DATA_TIMEOUT, GREETING_TIMEOUT, MailError, explain, in_greeting
from .mailstream import MailTemplate, template
from .mailstream import send as stream_send

PACKAGE_SUFFIX = ".smx"
RECEIPT_SUFFIX = ".receipt"
NOTICE_SUFFIX = ".notice"


class Transport(Protocol):
    name: str

    def check(self, units: list[str]) -> None:
        """Raise before any work when a delivery to ``units`` cannot work (configuration,
        addresses, the server reachable and accepting the login)."""
        ...

    def deliver_package(self, package: Path, unit: str, package_id: str, urgency: str) -> str: ...

    def deliver_receipt(self, data: bytes, unit: str, package_id: str, notice: bytes | None = None) -> str: ...

    def deliver_notice(self, data: bytes, unit: str, package_id: str, urgency: str, sequence: int) -> str: ...


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
            raise TransportError("cannot write to {folder}: {strerror}", folder=str(folder),
                                 strerror=str(exc.strerror)) from None

    def check(self, units: list[str]) -> None:
        """The shared folder exists (or can be made) and is writable."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(_("The shared folder {root} cannot be used ({why}): check root under [outbox] "
                                   "in config.ini.").format(root=self.root, why=exc.strerror or exc)) from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise TransportError(_("The shared folder {root} is not writable: check root under [outbox] in "
                                   "config.ini and its permissions.").format(root=self.root))

    def deliver_package(self, package: Path, unit: str, package_id: str, urgency: str) -> str:
        return self._put(self.inbox(unit) / "packages", package_id + PACKAGE_SUFFIX, Path(package))

    def deliver_receipt(self, data: bytes, unit: str, package_id: str, notice: bytes | None = None) -> str:
        if notice is not None:   # the reason of a 拒收 goes first: fetch finds both together
            self._put(self.inbox(unit) / "notices", f"{package_id}-rejection{NOTICE_SUFFIX}", notice)
        return self._put(self.inbox(unit) / "receipts", package_id + RECEIPT_SUFFIX, data)

    def deliver_notice(self, data: bytes, unit: str, package_id: str, urgency: str, sequence: int) -> str:
        return self._put(self.inbox(unit) / "notices", f"{package_id}-reminder-{sequence}{NOTICE_SUFFIX}", data)


class SMTPTransport:
    """Mail through the office's SMTP server (STARTTLS or implicit TLS; plain only to 127.0.0.1).

    ``armor`` puts a package into the text body (7 bit) instead of an attachment.
    A package larger than the server's ESMTP SIZE goes out as numbered parts.
    """

    name = "smtp"

    def __init__(self, config: Config, *, armor: bool = False) -> None:
        self.config = config
        self.settings = config.smtp()
        self.armor = armor

    @property
    def unit(self) -> str:
        return self.config.get("unit", "name") or self.settings.sender

    def _fail(self, exc: BaseException, address: str | None = None, unit: str | None = None) -> MailError:
        s = self.settings
        return explain(exc, kind="smtp", host=s.host, port=s.port, security=s.security, address=address, unit=unit)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            ctx = ssl.create_default_context(cafile=s.cafile) if s.security != "none" else None
        except (OSError, ssl.SSLError) as exc:
            raise MailError(_("The cafile {path} under [smtp] cannot be read ({why}).").format(
                path=s.cafile, why=getattr(exc, "strerror", None) or exc)) from None
        try:
            try:
                if s.security == "tls":
                    client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=GREETING_TIMEOUT, context=ctx)
                else:
                    client = smtplib.SMTP(s.host, s.port, timeout=GREETING_TIMEOUT)
            except (smtplib.SMTPServerDisconnected, socket.timeout, TimeoutError, ssl.SSLError) as exc:
                if isinstance(exc, ssl.SSLCertVerificationError):
                    raise
                raise in_greeting(exc)
            if client.sock is not None:
                client.sock.settimeout(DATA_TIMEOUT)
            client.ehlo()
            if s.security == "starttls":
                client.starttls(context=ctx)
                client.ehlo()
            if s.username:
                client.login(s.username, s.password or "")
            return client
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise self._fail(exc) from None

    @staticmethod
    def size_limit(client: smtplib.SMTP) -> int:
        """The largest message the server accepts (ESMTP SIZE), 0 when it announces none."""
        try:
            return int((client.esmtp_features.get("size") or "0").split()[0] or 0)
        except (ValueError, IndexError):
            return 0

    def check(self, units: list[str]) -> None:
        """Every recipient has an address, and the server answers and accepts the login."""
        for u in units:
            self.config.address_of(u)
        client = self._connect()
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            pass

    def _session(self, work: Callable[[smtplib.SMTP, int], int], address: str, unit: str) -> int:
        """Run ``work(client, size_limit)`` over one connection (quit afterwards); smtplib's and
        the socket's errors become one ``MailError`` that names ``address`` and ``unit``."""
        client = self._connect()
        try:
            return work(client, self.size_limit(client))
        except MailError:
            raise
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise self._fail(exc, address, unit) from None
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                pass

    def _too_large(self, unit: str, limit: int) -> MailError:
        return MailError(_("The message for {unit} is larger than the {limit:,} bytes the mail server "
                           "accepts.").format(unit=unit, limit=limit))

    def _send_all(self, messages: list[Any], address: str, unit: str) -> int:
        """Send the (small) ``messages`` over one connection; return how many were sent."""
        def work(client: smtplib.SMTP, limit: int) -> int:
            for msg in messages:
                if limit and len(msg.as_bytes()) > limit:
                    raise self._too_large(unit, limit)
                client.send_message(msg)
            return len(messages)
        return self._session(work, address, unit)

    def package_plan(self, path: Path, unit: str, package_id: str, urgency: str,
                     limit: int) -> list[tuple[MailTemplate, int, int]]:
        """The mail(s) that carry the package file ``path`` to ``unit``, as (template, offset,
        length): one mail, or numbered parts each within ``limit`` (the server's ESMTP SIZE; 0
        for none).  Only the templates are in memory; ``mailstream.send`` reads the file."""
        s = self.settings
        address = self.config.address_of(unit)
        common: dict[str, Any] = dict(sender_unit=self.unit, sender_address=s.sender, to_unit=unit,
                                      to_address=address, urgency=urgency, package_id=package_id)
        subject = f"{subject_tag(urgency)}smseal 公文文件包 / sealed package {package_id}"
        size = path.stat().st_size
        if self.armor:
            with open(path, "rb") as f:
                armored_already = f.read(4096).lstrip().startswith(b"-----BEGIN")
            one = template(lambda ph: compose(subject=subject, armored=ph, text=package_text(
                sender_unit=self.unit, package_id=package_id, urgency=urgency, armored=True), **common),
                armor=True, verbatim=armored_already)
        else:
            one = template(lambda ph: compose(
                subject=subject, attachments=[(package_id + PACKAGE_SUFFIX, ph)], text=package_text(
                    sender_unit=self.unit, package_id=package_id, urgency=urgency), **common))
        if not limit or one.size(size, path) <= limit:
            return [(one, 0, size)]
        from smseal.envelope.open import package_digest_of

        digest = package_digest_of(path)
        part = part_size_for(limit)
        while True:
            total = max(1, -(-size // part))

            def part_mail(n: int) -> MailTemplate:
                return template(lambda ph: compose(
                    subject=f"{subject} ({n}/{total})", attachments=[(part_name(package_id, n, total, digest), ph)],
                    text=package_text(sender_unit=self.unit, package_id=package_id, urgency=urgency,
                                      part=(n, total)), **common))
            plan = [(part_mail(n), (n - 1) * part, min(part, size - (n - 1) * part)) for n in range(1, total + 1)]
            if all(t.size(length) <= limit for t, _o, length in plan) or part <= MIN_PART:
                return plan
            part = max(MIN_PART, part * 9 // 10)

    def deliver_package(self, package: Path, unit: str, package_id: str, urgency: str) -> str:
        """Send the package file by mail, streamed from the file (``mailstream``): memory holds a
        block of it, not the package, whatever its size."""
        address = self.config.address_of(unit)
        path = Path(package)

        def work(client: smtplib.SMTP, limit: int) -> int:
            plan = self.package_plan(path, unit, package_id, urgency, limit)
            for tmpl, offset, length in plan:
                if limit and tmpl.size(length, path) > limit:
                    raise self._too_large(unit, limit)
                stream_send(client, self.settings.sender, address, tmpl, path, offset, length)
            return len(plan)
        n = self._session(work, address, unit)
        return address if n == 1 else _("{address} ({n} parts)").format(address=address, n=n)

    def deliver_receipt(self, data: bytes, unit: str, package_id: str, notice: bytes | None = None) -> str:
        address = self.config.address_of(unit)
        reason = None
        if notice is not None:
            from smseal.envelope.notice import Notice

            reason = Notice.from_bytes(notice).text
        attachments = [(package_id + RECEIPT_SUFFIX, data)]
        if notice is not None:
            attachments.append((f"{package_id}-rejection{NOTICE_SUFFIX}", notice))
        subject = (f"smseal 拒收 / refused {package_id}" if notice is not None
                   else f"smseal 签收回执 / receipt {package_id}")
        msg = compose(sender_unit=self.unit, sender_address=self.settings.sender, to_unit=unit, to_address=address,
                      subject=subject, text=receipt_text(sender_unit=self.unit, package_id=package_id,
                                                         rejected=reason),
                      attachments=attachments, package_id=package_id)
        self._send_all([msg], address, unit)
        return address

    def deliver_notice(self, data: bytes, unit: str, package_id: str, urgency: str, sequence: int) -> str:
        address = self.config.address_of(unit)
        msg = compose(sender_unit=self.unit, sender_address=self.settings.sender, to_unit=unit, to_address=address,
                      subject=f"{subject_tag(urgency)}smseal 催领 / reminder {package_id}",
                      text=reminder_text(sender_unit=self.unit, package_id=package_id, urgency=urgency,
                                         sequence=sequence),
                      attachments=[(f"{package_id}-reminder-{sequence}{NOTICE_SUFFIX}", data)],
                      urgency=urgency, package_id=package_id)
        self._send_all([msg], address, unit)
        return address


def make(config: Config, via: str | None = None, *, armor: bool = False) -> Transport:
    """The transport named by ``via`` (default: ``[delivery] via`` in config.ini)."""
    via = via or config.via
    if via == "outbox":
        return OutboxTransport(config.outbox_root)
    if via == "smtp":
        return SMTPTransport(config, armor=armor)
    from .errors import ConfigError

    raise ConfigError(_("Unknown delivery method {via!r}: use outbox or smtp.").format(via=via))
