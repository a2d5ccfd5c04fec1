"""Running the page: bind 127.0.0.1 (a random free port unless one is given), print the one-time
address, open the browser, serve until Ctrl-C (or SIGTERM), then stop cleanly."""

from __future__ import annotations

import socket
import threading
import webbrowser
from pathlib import Path
from typing import Callable

from smseal.office.errors import UsageError
from smseal.office.i18n import _

from .app import create_app
from .security import Gate

HOST = "127.0.0.1"


def bind(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0: a free port chosen by the system)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise UsageError(_("Port {port} on 127.0.0.1 is taken; choose another with --port, or leave it out "
                           "to use a free one.").format(port=port)) from None
    sock.listen(64)
    return sock


def serve(home: Path, *, port: int = 0, open_browser: bool = True,
          announce: Callable[[str], None] = print) -> None:
    """Serve the page for the office at ``home`` until interrupted."""
    import uvicorn

    sock = bind(port)
    gate = Gate(sock.getsockname()[1])
    app = create_app(home, gate)
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False,
                            date_header=False, lifespan="off")
    server = uvicorn.Server(config)
    announce(_("smseal ui is running for this computer only. Open this address (it works once):"))
    announce("  " + gate.login_url)
    announce(_("Press Ctrl-C to stop."))
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(gate.login_url,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
