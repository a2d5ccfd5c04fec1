#!/usr/bin/env python3
"""Print a .pot of the library's error templates (for scripts/i18n).

A template is the first argument of an exception raised in shangmi/, envelope/ or keystore/
when it is a plain string literal with {fields} and the call passes those fields as keywords,
e.g. ``raise UnknownUnit("no unit named {unit} in the directory", unit=name)``: str(exc) is the
English sentence, and the command renders ``_(template)`` with the same fields.  f-strings are
not templates (their text differs on every call), so they are not extracted.
"""

from __future__ import annotations

import ast
import string
import sys
from pathlib import Path

LIBRARY = ("shangmi", "envelope", "keystore")


def templates(root: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for pkg in LIBRARY:
        for path in sorted((root / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and node.args and node.keywords):
                    continue
                first = node.args[0]
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    continue
                fields = {f for _, f, _, _ in string.Formatter().parse(first.value) if f}
                names = {k.arg for k in node.keywords if k.arg}
                if fields and fields <= names:
                    found.setdefault(first.value, []).append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    out = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for msgid in sorted(templates(root)):
        out += ["#, python-brace-format", f"msgid {_quote(msgid)}", 'msgstr ""', ""]
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
