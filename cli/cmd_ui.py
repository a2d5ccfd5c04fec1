"""``smseal ui``: the local page for secretaries and the bureau (see smseal.ui)."""

from __future__ import annotations

from smseal.office import home as _home
from smseal.office.i18n import _


def register(sub) -> None:
    p = sub.add_parser("ui", help=_("open the page for secretaries and the bureau in the browser (this computer only)"))
    p.add_argument("--port", type=int, default=0, help=_("port on 127.0.0.1 (default: a free one)"))
    p.add_argument("--no-browser", action="store_true", help=_("print the address but do not open a browser"))
    p.set_defaults(func=run)


def run(args, console) -> int:
    from smseal.ui.server import serve

    if not 0 <= args.port <= 65535:
        from smseal.office.errors import UsageError

        raise UsageError(_("The port must be between 1 and 65535 (or 0 for a free one)."))
    home = _home.resolve(getattr(args, "home", None))
    try:
        serve(home, port=args.port, open_browser=not args.no_browser,
              announce=lambda line: (console.print(line), console.out.flush()))
    except KeyboardInterrupt:
        pass
    console.note(_("smseal ui stopped."))
    return 0
