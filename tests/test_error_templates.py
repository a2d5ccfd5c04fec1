"""Library errors a user can meet are templates with context, translated (issue 15).

Every ``raise SomeSmsealError(...)`` in shangmi/, envelope/, keystore/ and office/ passes its
message as a plain string, with its ``{fields}`` as keywords (``raise UnknownUnit("no unit named
{unit} in the directory", unit=name)``), so the command can show it in the user's language.
An f-string (or ``%`` / ``.format`` on an English string) would reach a Chinese reader only as a
generic kind of error.  Not walked: builtin exceptions (``ValueError``, ``TypeError`` ...), which
are a programmer's errors and never the command's messages; the sites in ``ALLOWED`` below,
each with its reason.
"""

from __future__ import annotations

import ast
import builtins
import string
from pathlib import Path

import pytest

from shangmi.errors import MalformedInput
from smseal.keystore import asn1_types
from smseal.office.i18n import _
from smseal.office.messages import describe, detail

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("shangmi", "envelope", "keystore", "office")
BUILTIN = {n for n in dir(builtins) if isinstance(getattr(builtins, n), type)
           and issubclass(getattr(builtins, n), BaseException)}

# (file, the raised callable): why its message may be built at run time.
ALLOWED = {
    ("shangmi/der.py", "self._fail"): "the DER reader's detail names bytes and tags of a malformed "
                                      "signature, not a situation a person can act on; the kind of "
                                      "error (translated) says what the reader needs",
    ("envelope/armor.py", "self._fail"): "'bad armor: ...' names the line of a damaged text form; the "
                                         "translated kind (not a well-formed package or receipt) and "
                                         "its advice are what the reader needs",
}


def _raise_sites():
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                    yield rel, node.lineno, node.exc


def _built_at_run_time(arg: ast.expr) -> bool:
    if isinstance(arg, ast.JoinedStr):
        return True
    if isinstance(arg, ast.BinOp) and isinstance(arg.op, (ast.Mod, ast.Add)):
        return True
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "format":
        inner = arg.func.value                  # _("...").format(...) is translated: fine
        return not (isinstance(inner, ast.Call) and getattr(inner.func, "id", None) in ("_", "N_"))
    return False


def test_no_library_error_message_is_built_at_run_time():
    found, used = [], set()
    for rel, line, call in _raise_sites():
        name = ast.unparse(call.func)
        if name in BUILTIN or not _built_at_run_time(call.args[0]):
            continue
        if (rel, name) in ALLOWED:
            used.add((rel, name))
            continue
        found.append(f"{rel}:{line}: raise {name}({ast.unparse(call.args[0])[:70]} ...)")
    assert not found, "error messages built at run time (use a template and keywords):\n" + "\n".join(found)
    assert used == set(ALLOWED), f"allow-list entries no longer needed: {set(ALLOWED) - used}"


def _templates():
    for rel, line, call in _raise_sites():
        first = call.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str) and call.keywords:
            fields = {f for _t, f, _s, _c in string.Formatter().parse(first.value) if f}
            if fields:
                yield rel, line, first.value, fields, {k.arg for k in call.keywords if k.arg}


def test_every_template_gets_its_fields_and_a_translation(monkeypatch):
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    seen = 0
    for rel, line, template, fields, keywords in _templates():
        seen += 1
        assert fields <= keywords, f"{rel}:{line}: {sorted(fields - keywords)} not passed as keywords"
        assert _(template) != template, f"{rel}:{line}: not translated in smseal.po: {template}"
    assert seen > 240                      # the walk does find them


@pytest.mark.parametrize("what,english,chinese", [
    ("certificate", "certificate is not DER (expected a SEQUENCE)", "证书不是 DER 编码（应为 SEQUENCE）"),
    ("directory bundle", "directory bundle is not DER (expected a SEQUENCE)", "单位目录包不是 DER 编码"),
])
def test_a_converted_error_reads_in_chinese_with_its_description(monkeypatch, what, english, chinese):
    monkeypatch.delenv("LANGUAGE", raising=False)
    with pytest.raises(MalformedInput) as info:
        asn1_types.strict_decode(b"\x01\x02", asn1_types.Certificate(), what)
    assert str(info.value) == english and info.value.context == {"what": what}
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    assert chinese in detail(info.value)
    assert chinese in describe(info.value) and "expected" not in describe(info.value)
