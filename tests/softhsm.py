"""A real SoftHSM2 token, made from nothing for the test session.

Import the fixture objects into a test module (``from tests.softhsm import
softhsm, softhsm_token``).  The session fixture writes a softhsm2.conf with its
own token folder in a temp dir, points SOFTHSM2_CONF at it *before* any test
loads the module (SoftHSM reads it once, at C_Initialize) and initialises
two tokens with ``softhsm2-util --init-token --free``:

* ``smseal-test``  the main token (keys are generated on it by the tests);
* ``smseal-pin``   kept for the wrong-PIN test, never logged into otherwise
  (a token another session already unlocked would not check the PIN again).

The tests are meant to run, not skip: a missing softhsm2 package is a failure
with the command to install it (``apt-get install softhsm2``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

MODULE_CANDIDATES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                     "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so")
TOKEN = "smseal-test"
PIN_TOKEN = "smseal-pin"
PIN = "135790"
SO_PIN = "24680246"


@dataclass(frozen=True)
class SoftHsm:
    module: str
    conf: Path
    tokendir: Path
    token: str = TOKEN
    pin: str = field(default=PIN, repr=False)
    so_pin: str = field(default=SO_PIN, repr=False)

    def uri(self, token: str | None = None, **extra: str) -> str:
        """A pkcs11: URI for ``token`` carrying the module path (no PIN)."""
        from smseal.keystore.pkcs11_uri import Pkcs11Uri
        return str(Pkcs11Uri(token=token or self.token, module_path=self.module, **extra))

    def env(self) -> dict[str, str]:
        return {**os.environ, "SOFTHSM2_CONF": str(self.conf)}


def _module() -> str:
    for path in MODULE_CANDIDATES:
        if os.path.isfile(path):
            return path
    pytest.fail("SoftHSM2 is not installed: apt-get install softhsm2 (libsofthsm2.so not found)")


_SHARED: list[SoftHsm] = []


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory):
    """The SoftHSM2 installation with the test tokens initialised.

    Each test module that imports this fixture gets its own session fixture; they all share
    one installation, because SoftHSM reads its configuration once per process.
    """
    if _SHARED:
        yield _SHARED[0]
        return
    util = shutil.which("softhsm2-util")
    if util is None:
        pytest.fail("softhsm2-util is not installed: apt-get install softhsm2")
    module = _module()
    base = tmp_path_factory.mktemp("softhsm")
    tokendir = base / "tokens"
    tokendir.mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokendir}\nobjectstore.backend = file\n"
                    "log.level = ERROR\nslots.removable = false\n")
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in (TOKEN, PIN_TOKEN):
        subprocess.run([util, "--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", PIN],
                       check=True, capture_output=True, env={**os.environ})
    _SHARED.append(SoftHsm(module=module, conf=conf, tokendir=tokendir))
    yield _SHARED[0]
    _SHARED.clear()
    if old is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = old


@pytest.fixture
def softhsm_token(softhsm: SoftHsm) -> SoftHsm:
    """The main test token (function scope, for tests that only need one token)."""
    return softhsm


def pin_callback(pin: str = PIN):
    """A passphrase callback answering PIN prompts with ``pin`` and others with b"test passphrase"."""
    from smseal.keystore.prompts import Purpose

    def answer(prompt):
        return pin.encode() if prompt.purpose is Purpose.PIN else b"test passphrase"
    return answer
