"""A real SMTP server on 127.0.0.1 (aiosmtpd) with TLS and login, for transport tests.

The server certificate is a fresh self-signed P-256 certificate for 127.0.0.1,
written to a CA file the client is configured to trust.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER, PASSWORD = "bgs", "mail-pass-123"


def _cert(dirpath: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    crt, k = dirpath / "smtp.crt", dirpath / "smtp.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return crt, k


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mailbox:
    messages: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def attachments(self):
        for rcpts, msg in self.messages:
            for part in msg.iter_attachments():
                yield rcpts, msg, part.get_filename(), part.get_content()


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@dataclass
class SMTPServer:
    mailbox: Mailbox
    port: int
    cafile: Path
    security: str


@pytest.fixture(params=["starttls", "tls"])
def smtp_server(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("smtp")
    crt, key = _cert(d)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(crt, key)
    box = Mailbox()
    port = _free_port()
    kw = dict(hostname="127.0.0.1", port=port, authenticator=_auth)
    if request.param == "tls":
        # Implicit TLS: the whole connection is TLS, but aiosmtpd 1.4 only counts
        # STARTTLS as TLS for auth_require_tls, so that check is off here.
        ctl = Controller(box, ssl_context=ctx, auth_require_tls=False, **kw)
    else:
        ctl = Controller(box, tls_context=ctx, require_starttls=True, auth_require_tls=True, **kw)
    ctl.start()
    try:
        yield SMTPServer(box, port, crt, request.param)
    finally:
        ctl.stop()
