"""What the command prints: results on stdout, messages and errors on stderr.

Expected failures become one translated line that says what happened and what
to do next; ``--verbose`` adds the technical detail.  Never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable

import shangmi

from smseal.office.i18n import _
from smseal.office.messages import describe, facts
from smseal.office.textsafe import dumps_json, printable


class Console:
    """Every line goes through ``office.textsafe.printable``: text from packages, cards,
    bundles or file names can never put a control or bidi character on the terminal."""

    def __init__(self, *, verbose: bool = False, out=None, err=None) -> None:
        self.verbose = verbose
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def print(self, text: str = "") -> None:
        self.out.write(printable(text) + "\n")     # one write per line (status --all prints a million)

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
