"""The wheel as an integrator installs it: one ``smseal`` namespace beside PyPI's ``envelope``.

Builds the wheel from the tracked sources (as ``pip wheel`` does, with build isolation), installs
it into a fresh virtual environment together with PyPI's ``envelope`` (an e-mail signing library
that owns the top-level name ``envelope``), and imports both there from a neutral folder in
isolated mode, so nothing from the repository or the test venv can leak in.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

_CHECK = r"""
import importlib.metadata, io, os, sys
import envelope, smseal, shangmi
import smseal.envelope, smseal.keystore, smseal.office, smseal.cli.main
from shangmi import sm2
from smseal.envelope import Package, seal, open_stream

site = os.path.dirname(os.path.dirname(smseal.__file__))
# PyPI's envelope is the top-level "envelope"; ours lives under smseal only.
assert os.path.dirname(envelope.__file__) == os.path.join(site, "envelope"), envelope.__file__
assert hasattr(envelope, "Envelope"), dir(envelope)
assert smseal.envelope.__file__.startswith(os.path.join(site, "smseal", "envelope"))
assert smseal.__version__ == importlib.metadata.version("smseal"), smseal.__version__
for typed in ("smseal/py.typed", "shangmi/py.typed"):
    assert os.path.exists(os.path.join(site, typed)), typed
assert os.path.exists(os.path.join(site, "smseal/office/locale/zh_CN/LC_MESSAGES/smseal.mo"))

# the installed library works: seal to a unit and open it back into memory
sender, unit = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
buf = io.BytesIO()
seal(Package(("a.txt", b"hello")), sender=sender, to=unit.public_key(), out=buf)
with open_stream(buf.getvalue(), key=unit, trusted=[sender.public_key()]) as res:
    assert res.files[0].read() == b"hello"
print("ok", smseal.__version__)
"""


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{args[:3]} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _tracked_sources(dst: Path) -> None:
    """Copy what git tracks (plus the working-tree edits) into ``dst``: no venv, no build/."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in files.decode().split("\0"):
            if name and (REPO / name).exists():
                tar.add(REPO / name, arcname=name, recursive=False)
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        tar.extractall(dst, filter="data")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    _tracked_sources(root / "src")
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", root / "dist", root / "src")
    (whl,) = (root / "dist").glob("smseal-*.whl")
    return whl


def test_wheel_installs_one_namespace(wheel):
    with zipfile.ZipFile(wheel) as z:
        tops = {n.split("/", 1)[0] for n in z.namelist() if not n.split("/", 1)[0].endswith(".dist-info")}
        entry_points = z.read(next(n for n in z.namelist() if n.endswith("entry_points.txt"))).decode()
    assert tops == {"smseal", "shangmi"}, tops
    assert "smseal = smseal.cli.main:main" in entry_points


def test_beside_pypi_envelope_in_a_fresh_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    py = venv / "bin" / "python"
    _run(py, "-m", "pip", "install", "-q", wheel, "envelope")
    neutral = tmp_path / "elsewhere"
    neutral.mkdir()
    out = _run(py, "-I", "-c", _CHECK, cwd=neutral)
    assert out.startswith("ok ")
    # the console script is installed and runs from the wheel
    assert "smseal" in _run(venv / "bin" / "smseal", "--help", cwd=neutral)
