"""config.ini, the README's example and the code that reads it cannot drift apart (issue 15):
the example shows every section and key of ``office.config.SCHEMA``, nothing else, and loads
as a real configuration; every option the code reads or writes is in the schema; an option
smseal does not know is reported, not silently ignored."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace

from smseal.office import cases, clock
from smseal.office.config import ANY_KEY, SCHEMA, Config, schema_section
from tests.cli_helpers import units  # noqa: F401  (fixture)

REPO = Path(__file__).resolve().parent.parent
SOURCES = [p for d in ("cli", "office", "ui", "keystore", "envelope") for p in (REPO / d).rglob("*.py")]


def _readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Configuration (`$SMSEAL_HOME/config.ini`"):]
    return re.search(r"```ini\n(.*?)```", section, re.S).group(1)


def _readme_config(tmp_path: Path) -> Config:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "config.ini").write_text(_readme_example(), encoding="utf-8")
    return Config(tmp_path)


def test_readme_example_shows_every_option_and_only_known_ones(tmp_path):
    cfg = _readme_config(tmp_path)
    assert cfg.unknown() == []
    shown: dict[str, set[str]] = {}
    for section in cfg._cp.sections():
        shown.setdefault(schema_section(section) or section, set()).update(cfg._cp.options(section))
    assert set(shown) == set(SCHEMA), set(SCHEMA) ^ set(shown)
    for section, keys in SCHEMA.items():
        if ANY_KEY in keys:
            assert shown[section], f"[{section}] has no example entry"
        else:
            assert shown[section] == set(keys), (section, set(keys) ^ shown[section])


def test_readme_example_is_a_working_configuration(tmp_path):
    cfg = _readme_config(tmp_path)
    smtp, imap = cfg.smtp(), cfg.imap()
    assert smtp.security == "starttls" and smtp.cafile and smtp.sender == "bgs@example.gov.cn"
    assert imap is not None and imap.security == "tls" and imap.processed == "$SmsealDone" and imap.cafile
    assert cfg.address_of("财政局") == "czj@example.gov.cn" and cfg.via == "outbox"
    assert cfg.reminder_interval("extra-urgent") == 1800 and cfg.reminder_max() == 3
    assert clock.zone(cfg.get("display", "timezone")).key == "Asia/Shanghai"
    t = cases.templates(SimpleNamespace(config=cfg))["督办件"]
    assert t.reply_stage == "书面答复" and t.meeting_stage == "见面"


def test_loopback_smtp_without_tls_is_what_the_readme_says(tmp_path):
    """security = none is accepted for 127.0.0.1 only, as the example's comment says."""
    (tmp_path / "config.ini").write_text("[smtp]\nhost = 127.0.0.1\nfrom = a@b\nsecurity = none\n", encoding="utf-8")
    assert Config(tmp_path).smtp().security == "none"
    assert "127.0.0.1" in _readme_example().split("[smtp]")[1].split("[addresses]")[0]


def _config_calls(path: Path) -> list[tuple[str, str]]:
    """(section, key) of every config.get/.set with constant names in ``path``; a key read from a
    variable (unit names, urgencies, template sections) gives ``?``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "set") and len(node.args) >= 2):
            continue
        owner = ast.unparse(node.func.value)
        inside_config = path.name == "config.py" and path.parent.name == "office" and owner == "self"
        template_parser = path.name == "cases.py" and owner == "cp"
        if not (owner.endswith("config") or inside_config or template_parser):
            continue
        sec, key = node.args[0], node.args[1]
        section = "template *" if template_parser else sec.value if isinstance(sec, ast.Constant) else None
        if section is None:
            continue                       # Config.get's own generic body
        out.append((section, key.value if isinstance(key, ast.Constant) else "?"))
    return out


def test_every_option_the_code_reads_is_in_the_schema():
    seen = [(p.relative_to(REPO), s, k) for p in SOURCES for s, k in _config_calls(p)]
    assert len(seen) > 25, seen                            # the scan does find the calls
    for where, section, key in seen:
        assert section in SCHEMA, f"{where}: [{section}] is read but not in office.config.SCHEMA"
        if key != "?":
            assert key in SCHEMA[section] or ANY_KEY in SCHEMA[section], \
                f"{where}: [{section}] {key} is read but not in office.config.SCHEMA (nor in the README)"
    read = {(s, k) for _w, s, k in seen}
    for section, keys in SCHEMA.items():          # and nothing in the schema is dead
        for key in keys - {ANY_KEY}:
            assert (section, key) in read or section == "reminders" and key in ("urgent", "extra-urgent"), \
                (section, key)


def test_an_unknown_option_is_reported(units):
    a, _b, _desk, _shared = units
    with (a.home / "config.ini").open("a", encoding="utf-8") as f:
        f.write("[smtp]\nsecruity = none\n[smpt]\nhost = x\n")
    r = a("status")
    assert r.code == 0
    assert "config.ini: [smtp] secruity is not an option smseal knows" in r.err
    assert "config.ini: [smpt] is not an option smseal knows" in r.err
