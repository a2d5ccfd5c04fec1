"""What the command prints: results on stdout, messages and errors on stderr.

Expected failures become one translated line that says what happened and what
to do next; ``--verbose`` adds the technical detail.  Never a traceback.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import shangmi

from smseal.office.i18n import _
from smseal.office.messages import describe, facts
from smseal.office.textsafe import dumps_json, printable

from . import table


class Console:
    """Every line goes through ``office.textsafe.printable``: text from packages, cards,
    bundles or file names can never put a control or bidi character on the terminal."""

    def __init__(self, *, verbose: bool = False, out=None, err=None) -> None:
        self.verbose = verbose
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def print(self, text: str = "", *, red: bool = False) -> None:
        """One line on stdout; ``red`` colours it on a terminal (not piped, not with NO_COLOR)."""
        line = printable(text)
        if red and table.is_terminal(self.out) and not os.environ.get("NO_COLOR"):
            line = f"\x1b[31m{line}\x1b[0m"
        self.out.write(line + "\n")     # one write per line (status --all prints a million)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], *, indent: str = "  ",
              compact: Sequence[Sequence[str]] | None = None, **how: Any) -> None:
        """An aligned table, indented, that fits the terminal (``cli.table.render``; ``how``:
        shrink, last, hide_empty, red).  ``compact``: the same rows in fewer words, used on a
        terminal when ``rows`` would not fit without shortening the ``last`` columns."""
        room = shutil.get_terminal_size((80, 24)).columns - table.width(indent)
        if compact is not None and table.is_terminal(self.out):
            trial = table.render(headers, rows, stream=self.out, max_width=room,
                                 **{**how, "last": (), "red": ()})
            if max(table.width(line) for line in trial) > room:
                rows = compact
        for line in table.render(headers, rows, stream=self.out, max_width=room, **how):
            print(indent + line, file=self.out)

    def note(self, text: str) -> None:
        print(printable(text), file=self.err)

    def json(self, obj: Any) -> None:
        self.out.write(dumps_json(obj, indent=2, sort_keys=True, default=str))
        self.out.write("\n")

    def json_streaming(self, head: dict[str, Any], key: str, items: Iterable[Any]) -> None:
        """``json({**head, key: list(items)})``, the same text, written as ``items`` come (a list of
        a million recipients is never held whole, in memory or as one string)."""
        def dump(obj: Any, indent: str) -> str:
            return dumps_json(obj, indent=2, sort_keys=True, default=str).replace("\n", "\n" + indent)

        write = self.out.write
        keys = sorted([*head, key])
        write("{\n")
        for i, k in enumerate(keys):
            write(f"  {dump(k, '')}: ")
            if k == key:
                sep = "["
                for item in items:
                    write(f"{sep}\n    {dump(item, '    ')}")
                    sep = ","
                write("[]" if sep == "[" else "\n  ]")
            else:
                write(dump(head[k], "  "))
            write(",\n" if i < len(keys) - 1 else "\n")
        write("}\n")

    def fail(self, text: str) -> None:
        print(printable(_("smseal: {text}").format(text=text)), file=self.err)

    def error(self, exc: shangmi.SmsealError) -> None:
        self.fail(describe(exc))
        near = facts(exc).get("suggestions")
        if near:
            print(printable(_("Did you mean: {names}?").format(names=near)), file=self.err)
        if self.verbose:
            print(printable(f"  [{type(exc).__name__}] {exc}"), file=self.err)
            if exc.hint:
                print(printable("  " + exc.hint), file=self.err)
