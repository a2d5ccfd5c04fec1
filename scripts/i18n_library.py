#!/usr/bin/env python3
"""Print a .pot of the library's error templates (for scripts/i18n).

A template is the first argument of an exception raised in shangmi/, envelope/, keystore/ or
office/ when it is a plain string literal with {fields} and the call passes those fields as keywords,
e.g. ``raise UnknownUnit("no unit named {unit} in the directory", unit=name)``: str(exc) is the
English sentence, and the command renders ``_(template)`` with the same fields.  f-strings are
not templates (their text differs on every call), so they are not extracted
(tests/test_error_templates.py keeps them out of the library).

Also extracted: the descriptions passed as ``what`` ("the certificate", "the unit card" ...) to
the library's checking functions; a template's ``{what}`` is shown translated.
"""

from __future__ import annotations

import ast
import string
import sys
from pathlib import Path

LIBRARY = ("shangmi", "envelope", "keystore", "office")


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


def descriptions(root: Path) -> dict[str, list[str]]:
    """String constants passed as the ``what`` parameter of the library's functions."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8"))
             for pkg in LIBRARY for path in sorted((root / pkg).rglob("*.py"))}
    position: dict[str, int] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [a.arg for a in node.args.args]
                if "what" in names and not node.name.startswith("_fail"):
                    position[node.name] = names.index("what") - (names[:1] in (["self"], ["cls"]))
    found: dict[str, list[str]] = {}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name not in position:
                continue
            args = [k.value for k in node.keywords if k.arg == "what"]
            if not args and len(node.args) > position[name]:
                args = [node.args[position[name]]]
            for a in args:
                if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value.strip():
                    found.setdefault(a.value, []).append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    out = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    found = templates(root)
    for msgid in sorted(found):
        out += ["#, python-brace-format", f"msgid {_quote(msgid)}", 'msgstr ""', ""]
    for msgid in sorted(set(descriptions(root)) - set(found)):
        flag = ["#, python-brace-format"] if "{" in msgid else []
        out += [*flag, f"msgid {_quote(msgid)}", 'msgstr ""', ""]
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
