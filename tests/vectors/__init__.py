"""Loads the known-answer vector files kept beside this module.

Format (as pyca/cryptography's vector files): ``#`` comments, ``[section]``
headers, ``Name = HEX`` lines.  Every file names its published source at the top.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def load(name: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    cur: dict[str, str] | None = None
    for raw in (HERE / name).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            cur = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        if cur is None or not _:
            raise ValueError(f"{name}: cannot parse line {raw!r}")
        cur[key.strip()] = value.strip()
    if not sections:
        raise ValueError(f"{name}: no vectors")
    return sections


def hx(v: str) -> bytes:
    return bytes.fromhex(v)
