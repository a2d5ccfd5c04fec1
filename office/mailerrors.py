"""Mail server failures (SMTP and IMAP) turned into one translated line that says what to do.

Each known cause gets its own sentence: an address the server does not know
(name the address and the ``[addresses]`` line), a certificate that is not
trusted (name the ``cafile`` option), a port that speaks the other kind of
security (465/993 = tls, 587/143 = starttls), a refused login, a message too
large.  Never a Python repr.
"""

from __future__ import annotations

import imaplib
import smtplib
import socket
import ssl

from shangmi import TransportError

from .i18n import _

GREETING_TIMEOUT = 5.0     # a port that speaks the other kind of security stays silent: give up soon
DATA_TIMEOUT = 120.0


class MailError(TransportError):
    """A mail server refused or could not be reached; the message is already one translated line."""


def _pairs(kind: str) -> str:
    return "465 = tls, 587 = starttls" if kind == "smtp" else "993 = tls, 143 = starttls"


def explain(exc: BaseException, *, kind: str, host: str, port: int, security: str,
            address: str | None = None, unit: str | None = None) -> MailError:
    """The ``MailError`` to raise for ``exc`` from talking to ``host:port`` (kind: smtp or imap)."""
    section = f"[{kind}]"
    where = f"{host}:{port}"
    if isinstance(exc, MailError):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailError(_("The certificate of the mail server {where} is not trusted ({why}): set cafile = "
                           "the CA file of your mail server under {section} in config.ini.").format(
            where=where, why=getattr(exc, "verify_message", "") or "unknown issuer", section=section))
    if isinstance(exc, ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(exc).upper() \
            or isinstance(exc, (smtplib.SMTPServerDisconnected, socket.timeout, TimeoutError)) \
            and security in ("tls", "starttls") and _greeting_phase(exc):
        return MailError(_("The mail server {where} does not speak security = {security} on port {port}: check "
                           "port and security under {section} ({pairs}).").format(
            where=where, security=security, port=port, section=section, pairs=_pairs(kind)))
    if isinstance(exc, smtplib.SMTPAuthenticationError) or isinstance(exc, imaplib.IMAP4.error) \
            and "auth" in str(exc).lower():
        var = "SMSEAL_SMTP_PASSWORD" if kind == "smtp" else "SMSEAL_IMAP_PASSWORD"
        return MailError(_("The mail server {where} refused the user name or password: check username under "
                           "{section} and the password in {var}.").format(where=where, section=section, var=var))
    if isinstance(exc, smtplib.SMTPRecipientsRefused) or (
            isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code in (550, 551, 553)
            and address is not None):
        return MailError(_("The mail server does not know the address {address}: check the line '{unit} = "
                           "{address}' under [addresses] in config.ini.").format(address=address, unit=unit or "?"))
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 552:
        return MailError(_("The mail server {where} refused the message as too large; smseal splits packages "
                           "by the size the server announces, so ask its administrator for the limit.").format(
            where=where))
    if isinstance(exc, smtplib.SMTPNotSupportedError) and security == "starttls":
        return MailError(_("The mail server {where} does not offer STARTTLS on port {port}: check port and "
                           "security under {section} ({pairs}).").format(
            where=where, port=port, section=section, pairs=_pairs(kind)))
    if isinstance(exc, ConnectionRefusedError):
        return MailError(_("Nothing answers at {where}: check host and port under {section} in config.ini, "
                           "and that the mail server is running.").format(where=where, section=section))
    if isinstance(exc, socket.gaierror):
        return MailError(_("The mail server name {host} cannot be found: check host under {section} in "
                           "config.ini and the network.").format(host=host, section=section))
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return MailError(_("The mail server {where} did not answer in time: check the network, and port and "
                           "security under {section} ({pairs}).").format(where=where, section=section,
                                                                       pairs=_pairs(kind)))
    if isinstance(exc, ssl.SSLError):
        return MailError(_("A secure connection to {where} failed ({why}): check port and security under "
                           "{section} ({pairs}).").format(where=where, why=_short(exc), section=section,
                                                          pairs=_pairs(kind)))
    return MailError(_("The mail server {where} failed: {why}. Nothing was lost; try again later.").format(
        where=where, why=_short(exc)))


def _greeting_phase(exc: BaseException) -> bool:
    return bool(getattr(exc, "smseal_greeting", False))


def in_greeting(exc: BaseException) -> BaseException:
    """Mark ``exc`` as raised while waiting for the server's first words (a security mismatch)."""
    try:
        exc.smseal_greeting = True  # type: ignore[attr-defined]
    except AttributeError:
        pass
    return exc


def _short(exc: BaseException) -> str:
    text = getattr(exc, "reason", None) or getattr(exc, "smtp_error", None) or str(exc) or type(exc).__name__
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(str(text).split())
    text = "".join(c for c in text if c.isprintable())
    return text[:160]
