"""The ``smseal`` command: argument parsing, dispatch, messages and exit codes.

Each subcommand lives in its own module (``cli/cmd_*.py``) exposing
``register(subparsers)``; this module only wires them together and turns
expected failures into one translated sentence plus a hint, never a traceback.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from typing import Sequence

import shangmi
import smseal

from smseal.office import argparse_i18n
from smseal.office.i18n import _
from smseal.office.messages import system_refused
from smseal.keystore.suggest import closest

from . import commands
from .output import Console

EXIT_OK = 0
EXIT_REFUSED = 1      # verification or decryption refused
EXIT_USAGE = 2        # bad arguments
EXIT_OTHER = 3        # anything else expected (see shangmi.errors for codes 4-7)
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    def _check_value(self, action: argparse.Action, value: object) -> None:
        """A mistyped choice ('sael', 'recipts', 'lsit') names the nearest ones."""
        choices = action.choices
        if choices is not None and value not in choices:
            near = closest(str(value), [str(c) for c in choices])
            if near:
                raise argparse.ArgumentError(action, _("invalid choice '{value}'; did you mean {suggestions}?").format(
                    value=value, suggestions=_(", ").join(f"'{n}'" for n in near)))
        super()._check_value(action, value)

    def error(self, message: str) -> None:  # usage errors exit 2 with a hint
        self.print_usage(sys.stderr)
        from smseal.office.textsafe import printable

        sys.stderr.write(_("smseal: error: {message}\nRun 'smseal --help' for help.\n").format(
            message=printable(message)))
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    argparse_i18n.install()
    p = _Parser(prog="smseal",
                description=_("Seal official document packages with SM2/SM3/SM4 (commercial cryptography)."))
    p.add_argument("--version", action="version", help=_("show the version and the SM2 backend, then exit"),
                   version=f"smseal {smseal.__version__} (SM2 backend: {{backend}})")
    p.add_argument("--verbose", "-v", action="store_true", help=_("show technical details of errors"))
    p.add_argument("--home", metavar="DIR", help=_("the folder with this office's keys and records (default: $SMSEAL_HOME or ~/.smseal)"))
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.register_all(sub)
    return p


def _terminate_like_interrupt() -> None:
    """SIGTERM, SIGHUP and SIGQUIT (logout, a closed terminal, shutdown, kill) unwind like Ctrl-C, so temporary plaintext and
    partial outputs are removed by the same cleanup code."""
    import signal
    import threading

    def _raise(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        # Closing the terminal (SIGHUP) and Ctrl-\ (SIGQUIT) too: unauthenticated
        # plaintext in the private folder must never outlive the run.
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(sig, _raise)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--version" in argv:
        from shangmi import sm2

        print(f"smseal {smseal.__version__} (SM2 backend: {sm2.backend().name})")
        return EXIT_OK
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    console = Console(verbose=args.verbose)
    _terminate_like_interrupt()
    try:
        return int(args.func(args, console) or 0)
    except shangmi.SmsealError as exc:
        console.error(exc)
        return exc.exit_code
    except (ValueError, TypeError) as exc:
        # The libraries raise these for inputs they refuse (a bad file name, a bad
        # unit name); --verbose shows the traceback in case it is a bug instead.
        if args.verbose:
            raise
        console.fail(str(exc))
        return EXIT_USAGE
    except BrokenPipeError:
        # 'smseal status | head': the reader has all it wanted.  Not an error; silence the
        # interpreter's own complaint when it flushes stdout at exit.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except sqlite3.Error as exc:
        # The ledger or the directory database refused (disk full, read-only, locked too long).
        if args.verbose:
            raise
        console.fail(_("smseal could not write its records ({why}). What was finished is kept; free disk space "
                       "or fix the permissions under {home}, then check 'smseal status'.").format(
            why=str(exc).splitlines()[0] if str(exc) else type(exc).__name__, home=args.home or "SMSEAL_HOME"))
        return EXIT_OTHER
    except OSError as exc:
        # The disk or the system refused (permissions, a folder where a file is expected, disk full).
        if args.verbose:
            raise
        console.fail(system_refused(exc))
        return EXIT_OTHER
    except KeyboardInterrupt:
        console.fail(_("Interrupted; nothing was left half-written."))
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
