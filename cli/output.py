"""What the command prints: results on stdout, messages and errors on stderr.

Expected failures become one translated line that says what happened and what
to do next; ``--verbose`` adds the technical detail.  Never a traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import shangmi

from smseal.office.i18n import _
from smseal.office.messages import describe, facts


class Console:
    def __init__(self, *, verbose: bool = False, out=None, err=None) -> None:
        self.verbose = verbose
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def note(self, text: str) -> None:
        print(text, file=self.err)

    def json(self, obj: Any) -> None:
        json.dump(obj, self.out, ensure_ascii=False, indent=2, sort_keys=True, default=str)
        self.out.write("\n")

    def fail(self, text: str) -> None:
        print(_("smseal: {text}").format(text=text), file=self.err)

    def error(self, exc: shangmi.SmsealError) -> None:
        self.fail(describe(exc))
        near = facts(exc).get("suggestions")
        if near:
            print(_("Did you mean: {names}?").format(names=near), file=self.err)
        if self.verbose:
            print(f"  [{type(exc).__name__}] {exc}", file=self.err)
            if exc.hint:
                print("  " + exc.hint, file=self.err)
