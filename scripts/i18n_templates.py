"""Print a .pot of the strings the page's templates (ui/templates/*.html) translate with
_("...") or _('...'), for scripts/i18n to merge with what xgettext finds in the Python sources."""

import json
import re
import sys
from pathlib import Path

CALL = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")


def strings(folder: Path) -> list[str]:
    found: list[str] = []
    for path in sorted(folder.glob("*.html")):
        for double, single in CALL.findall(path.read_text(encoding="utf-8")):
            s = json.loads('"' + (double or single.replace('"', '\\"')) + '"')
            if s not in found:
                found.append(s)
    return found


def po_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "ui/templates")
    print('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n')
    for s in strings(folder):
        print(f"msgid {po_quote(s)}\nmsgstr \"\"\n")
