"""The library passes ``mypy --strict`` (py.typed is shipped: importers' type checkers rely on it).

mypy cannot follow setuptools' editable-install import hook, so the test lays the packages out
as the wheel installs them (``smseal/envelope`` ... as symbolic links to the repository's
folders) in a temporary folder and checks them there, with pyproject.toml's [tool.mypy].
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: Checked strictly: these packages with all their modules, and these single modules.
#: smseal.cli is not listed: the argparse command is untyped (argparse.Namespace everywhere).
STRICT = ("shangmi", "smseal.envelope", "smseal.keystore", "smseal.office", "smseal.ui")
MODULES = ("smseal", "smseal.errors")

pytestmark = pytest.mark.slow


def _installed_layout(root: Path) -> None:
    (root / "smseal").mkdir()
    for f in (REPO / "smseal").iterdir():
        if f.name != "__pycache__":
            (root / "smseal" / f.name).symlink_to(f)
    for folder in ("envelope", "keystore", "office", "cli", "ui"):
        (root / "smseal" / folder).symlink_to(REPO / folder)
    (root / "shangmi").symlink_to(REPO / "shangmi")


def test_library_passes_mypy_strict(tmp_path):
    _installed_layout(tmp_path)
    args = [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"), "--strict",
            "--cache-dir", str(tmp_path / ".mypy_cache")]
    for package in STRICT:
        args += ["-p", package]
    for module in MODULES:
        args += ["-m", module]
    proc = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout.replace(str(tmp_path) + "/", "") + proc.stderr
