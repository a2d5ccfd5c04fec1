"""A real mail system on 127.0.0.1 for the receiving tests: Debian's Dovecot (IMAPS with a
throw-away certificate, and plain IMAP for the loopback case) started with its own
configuration in a temporary folder, and an SMTP server (aiosmtpd, STARTTLS and login) that
delivers each accepted message into the recipient's Dovecot mailbox with Dovecot's LDA —
the way a Postfix in front of Dovecot does it.  No system configuration is read or touched.

Runs as the current user; as root (CI) Dovecot's login processes run as ``dovenull`` and the
mail files belong to ``nobody``, because Dovecot refuses to run those as root.
"""

from __future__ import annotations

import os
import pwd
import grp
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.smtp_server import _cert, _free_port

DOVECOT = "/usr/sbin/dovecot"
LDA = "/usr/lib/dovecot/deliver"
PASSWORD = "imap-pass-456"
USERS = ("bgs@a.example.gov.cn", "czj@b.example.gov.cn", "fgw@c.example.gov.cn")
SMTP_USER, SMTP_PASSWORD = "relay", "smtp-pass-789"


def _user_or(name: str, fallback: str) -> str:
    try:
        pwd.getpwnam(name)
        return name
    except KeyError:
        return fallback


@dataclass
class MailSystem:
    folder: Path
    config: Path
    imaps_port: int
    imap_port: int
    cafile: Path
    smtp_port: int = 0
    delivered: list = field(default_factory=list)
    _controller: Controller | None = None

    def deliver(self, user: str, raw: bytes) -> None:
        """Put one message into ``user``'s INBOX with Dovecot's LDA."""
        proc = subprocess.run([LDA, "-c", str(self.config), "-d", user], input=raw, capture_output=True,
                              timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"dovecot-lda failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")

    def imap(self, user: str):
        """A logged-in imaplib client on IMAPS, INBOX selected (for checking flags in tests)."""
        import imaplib

        ctx = ssl.create_default_context(cafile=str(self.cafile))
        c = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=ctx, timeout=30)
        c.login(user, PASSWORD)
        c.select("INBOX")
        return c

    def imap_config(self, user: str, *, security: str = "tls", port: int | None = None, cafile: bool = True,
                    extra: str = "") -> str:
        port = port if port is not None else (self.imaps_port if security == "tls" else self.imap_port)
        lines = ["[imap]", "host = 127.0.0.1", f"port = {port}", f"security = {security}",
                 f"username = {user}", f"password = {PASSWORD}"]
        if cafile:
            lines.append(f"cafile = {self.cafile}")
        return "\n".join(lines) + "\n" + extra


def _write_config(d: Path, imap_port: int, imaps_port: int) -> Path:
    root = os.geteuid() == 0
    if root:
        login_user = _user_or("dovenull", "nobody")
        internal_user = _user_or("dovecot", "nobody")
        internal_group = grp.getgrgid(pwd.getpwnam(internal_user).pw_gid).gr_name
        mail_uid, mail_gid = pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid
        chroot = ""
    else:
        me = pwd.getpwuid(os.getuid())
        login_user = internal_user = me.pw_name
        internal_group = grp.getgrgid(os.getgid()).gr_name
        mail_uid, mail_gid = os.getuid(), os.getgid()
        chroot = "  chroot =\n"
    mail = d / "mail"
    mail.mkdir()
    if root:
        os.chown(mail, mail_uid, mail_gid)
    (d / "passwd").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}::::::\n" for u in USERS), encoding="utf-8")
    conf = d / "dovecot.conf"
    conf.write_text(f"""\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{d}/imap.crt
ssl_key = <{d}/imap.key
ssl_dh = </usr/share/dovecot/dh.pem
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{mail}/%u
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={mail}/%u
}}
service imap-login {{
{chroot}  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
{chroot}}}
""", encoding="utf-8")
    return conf


def _wait_for(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on {port}")


def start_dovecot(d: Path) -> MailSystem:
    crt, key = _cert(d)
    crt.rename(d / "imap.crt")
    key.rename(d / "imap.key")
    imap_port, imaps_port = _free_port(), _free_port()
    conf = _write_config(d, imap_port, imaps_port)
    # The master daemonizes and keeps its standard streams: give it a file, not a pipe.
    with open(d / "start.log", "wb") as out:
        code = subprocess.call([DOVECOT, "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, timeout=30)
    if code != 0:
        log = (d / "dovecot.log").read_text(errors="replace") if (d / "dovecot.log").exists() else ""
        raise RuntimeError(f"dovecot failed to start: {(d / 'start.log').read_text(errors='replace')} {log}")
    _wait_for(imap_port)
    _wait_for(imaps_port)
    return MailSystem(d, conf, imaps_port, imap_port, d / "imap.crt")


def stop_dovecot(ms: MailSystem) -> None:
    pidfile = ms.folder / "run" / "master.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


class _LDAHandler:
    """aiosmtpd handler: unknown mailboxes are refused at RCPT (550); accepted mail goes to Dovecot."""

    def __init__(self, ms: MailSystem) -> None:
        self.ms = ms

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() not in USERS:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown in local recipient table" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            self.ms.deliver(rcpt.lower(), envelope.original_content or envelope.content)
        self.ms.delivered.append((envelope.rcpt_tos, len(envelope.content)))
        return "250 OK delivered"


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode() \
        and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


def start_smtp(ms: MailSystem, *, size_limit: int = 10_240_000) -> Controller:
    """STARTTLS + login on a free port; ``size_limit`` is announced as ESMTP SIZE."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(ms.folder / "imap.crt", ms.folder / "imap.key")
    port = _free_port()
    ctl = Controller(_LDAHandler(ms), hostname="127.0.0.1", port=port, authenticator=_auth, tls_context=ctx,
                     require_starttls=True, auth_require_tls=True, data_size_limit=size_limit,
                     decode_data=False)
    ctl.start()
    ms.smtp_port = port
    ms._controller = ctl
    return ctl


def _folder(tmp_path_factory) -> Path:
    if os.geteuid() == 0:
        # Dovecot's unprivileged processes must reach the folder: pytest's own temp root is 0700.
        d = Path(tempfile.mkdtemp(prefix="smseal-dovecot-"))
        d.chmod(0o755)
        return d
    return tmp_path_factory.mktemp("dovecot")


@pytest.fixture
def mail_system(tmp_path_factory):
    """Dovecot + an SMTP front that delivers through dovecot-lda; one per test (clean mailboxes)."""
    if not (os.path.exists(DOVECOT) and os.path.exists(LDA)):
        pytest.fail("Debian's dovecot-imapd is needed (scripts/test installs it)")
    d = _folder(tmp_path_factory)
    ms = start_dovecot(d)
    start_smtp(ms)
    try:
        yield ms
    finally:
        if ms._controller is not None:
            ms._controller.stop()
        stop_dovecot(ms)
        if os.geteuid() == 0:
            shutil.rmtree(d, ignore_errors=True)


def smtp_config(ms: MailSystem, sender: str) -> str:
    return ("[delivery]\nvia = smtp\n"
            f"[smtp]\nhost = 127.0.0.1\nport = {ms.smtp_port}\nsecurity = starttls\n"
            f"username = {SMTP_USER}\npassword = {SMTP_PASSWORD}\nfrom = {sender}\ncafile = {ms.cafile}\n")
