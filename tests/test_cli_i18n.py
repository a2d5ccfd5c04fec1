"""The gettext catalogs: every user-facing string in cli/ and office/ is translated, placeholders match,
and the compiled .mo agrees with the .po (run scripts/i18n after changing strings)."""

from __future__ import annotations

import ast
import gettext
import re
import string
from pathlib import Path

import pytest

from smseal import cli, office, ui
from smseal.office.messages import ERRORS

# Every folder whose user-facing strings go through gettext (the command, the exchange layer, the page).
SOURCES = [Path(m.__file__).parent for m in (cli, office, ui)]
PO = Path(office.__file__).parent / "locale" / "zh_CN" / "LC_MESSAGES" / "smseal.po"
MO = PO.with_suffix(".mo")
ROOT = Path(__file__).resolve().parent.parent


def _po_entries() -> dict[str, str]:
    entries: dict[str, str] = {}
    cur: list[str] | None = None
    msgid: list[str] = []
    msgstr: list[str] = []
    for line in PO.read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("msgid "):
            msgid, msgstr, cur = [ast.literal_eval(line[6:])], [], msgid
            cur = msgid
        elif line.startswith("msgstr "):
            msgstr = [ast.literal_eval(line[7:])]
            cur = msgstr
        elif line.startswith('"') and cur is not None:
            cur.append(ast.literal_eval(line))
        elif not line.strip() and msgid:
            if "".join(msgid):
                entries["".join(msgid)] = "".join(msgstr)
            msgid, msgstr, cur = [], [], None
    return entries


def _source_strings() -> set[str]:
    found = set()
    for path in (p for folder in SOURCES for p in folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.add(node.args[0].value)
    # the page's templates translate with _("...") too (scripts/i18n_templates.py extracts them)
    import importlib.util

    spec = importlib.util.spec_from_file_location("i18n_templates", ROOT / "scripts" / "i18n_templates.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    found.update(mod.strings(Path(ui.__file__).parent / "templates"))
    return found


def _library_templates() -> set[str]:
    """Error templates of the library (scripts/i18n_library.py), rendered by the command."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "scripts" / "i18n_library.py"
    spec = importlib.util.spec_from_file_location("i18n_library", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return set(mod.templates(path.parent.parent))


def _fields(s: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(s) if f is not None}


def test_every_source_string_is_translated():
    po = _po_entries()
    missing = sorted(s for s in _source_strings() | _library_templates() if not po.get(s))
    assert not missing, f"untranslated (run scripts/i18n): {missing}"
    for template in ERRORS.values():
        assert po.get(template)


@pytest.mark.parametrize("msgid,msgstr", sorted(_po_entries().items()))
def test_placeholders_match(msgid, msgstr):
    assert _fields(msgid) == _fields(msgstr)


def test_compiled_catalog_is_current():
    t = gettext.GNUTranslations(open(MO, "rb"))
    for msgid, msgstr in _po_entries().items():
        assert t.gettext(msgid) == msgstr, "the .mo is stale: run scripts/i18n"


def test_chinese_sentences_read_as_chinese():
    po = _po_entries()
    for template in ERRORS.values():
        if template != "{detail}":
            assert re.search(r"[\u4e00-\u9fff]", po[template]), template
