"""Run the system ``openssl`` command for interop tests (installed by .ci/run)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

OPENSSL = shutil.which("openssl")


def openssl(*args: str | Path, input: bytes | None = None) -> bytes:
    if OPENSSL is None:
        pytest.fail("the openssl command is required for interop tests (apt-get install openssl)")
    proc = subprocess.run([OPENSSL, *map(str, args)], input=input, capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} failed:\n{proc.stderr.decode(errors='replace')}")
    return proc.stdout


def openssl_ok(*args: str | Path, input: bytes | None = None) -> bool:
    proc = subprocess.run([OPENSSL, *map(str, args)], input=input, capture_output=True, timeout=60)
    return proc.returncode == 0
