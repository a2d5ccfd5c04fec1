"""docs/CA.md, run as written: a CA made with the ``openssl`` command only, trusted and adopted.

The blocks marked ``<!-- run: ROLE -->`` are run in order with bash in one
folder; ROLE ``ca`` is the CA's operator, any other role is an office whose
SMSEAL_HOME is its own folder.  ``<!-- file: NAME -->`` blocks are written
there first.  Between the steps the test seals and opens packages with the
command (in-process) to show the whole chain: trust → install → import →
seal → open → revocation refused; then adoption of the sub-CA's key by
``smseal authority``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import FAST_ENV, Runner

DOC = Path(__file__).resolve().parent.parent / "docs" / "CA.md"
_BLOCK = re.compile(r"<!-- (run|file): ([^ ]+) -->\n```[a-z]*\n(.*?)```", re.S)


def recipe() -> list[tuple[str, str, str]]:
    """(kind, role or file name, text) for every marked block, in document order."""
    return [(m.group(1), m.group(2), m.group(3)) for m in _BLOCK.finditer(DOC.read_text("utf-8"))]


def _run_block(role: str, text: str, desk: Path, homes: Path) -> None:
    env = {**os.environ, **FAST_ENV,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("SMSEAL_HOME", None)
    if role != "ca":
        env["SMSEAL_HOME"] = str(homes / role)
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=desk, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"[{role}] {text}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


@pytest.fixture
def office(tmp_path, monkeypatch, capsys):
    for k, v in FAST_ENV.items():
        monkeypatch.setenv(k, v)
    for var in ("SMSEAL_HOME", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    desk, homes = tmp_path / "desk", tmp_path / "homes"
    desk.mkdir()
    homes.mkdir()

    def run_until(blocks, stop: str | None):
        while blocks:
            kind, role, text = blocks[0]
            if stop is not None and stop in text:
                return
            blocks.pop(0)
            if kind == "file":
                (desk / role).write_text(text, encoding="utf-8")
            else:
                _run_block(role, text, desk, homes)

    def runner(role: str) -> Runner:
        return Runner(homes / role, capsys, desk)

    return desk, run_until, runner


def test_recipe_blocks_are_found():
    kinds = [(k, r) for k, r, _ in recipe()]
    assert ("file", "ca.cnf") in kinds and ("run", "bureau") in kinds
    assert sum(k == "run" for k, _ in kinds) >= 12


def test_openssl_ca_trusted_then_adopted(office):
    desk, run_until, runner = office
    finance, archive = runner("finance"), runner("archive")
    blocks = recipe()
    (desk / "通知.txt").write_text("关于开展年度保密自查的通知", encoding="utf-8")

    # Part A, steps 1-4: an OpenSSL root (no keyUsage) and sub-CA; units pin the root or the
    # sub-CA, install certificates given in any order, import the CA's certificate file.
    run_until(blocks, "-revoke")
    r = finance("seal", "通知.txt", "--to", "某市档案局", "-o", "to-archive.smx")
    assert r.code == 0, r.err
    r = archive("open", "to-archive.smx", "-o", "opened")
    assert r.code == 0, r.err
    assert (desk / "opened" / "通知.txt").read_text("utf-8") == "关于开展年度保密自查的通知"
    r = archive("seal", "通知.txt", "--to", "某市财政局", "-o", "from-archive.smx")
    assert r.code == 0, r.err

    # Step 5: the CA revokes the archive (keyCompromise) and publishes a CRL.
    run_until(blocks, "pkcs8 -topk8")
    r = finance("seal", "通知.txt", "--to", "某市档案局", "-o", "again.smx")
    assert r.code == 1 and "某市档案局" in r.err and "keyCompromise" in r.err, r.err
    assert not (desk / "again.smx").exists()
    r = finance("open", "from-archive.smx", "-o", "refused")  # sealed before, but compromised
    assert r.code == 1 and "某市档案局" in r.err, r.err
    listed = finance("directory", "crl", "list", "--json")
    assert '"某市公文交换CA"' in listed.out and '"stale": false' in listed.out

    # Part B: the bureau adopts the sub-CA's key (encrypted PKCS#8 as OpenSSL writes it) and
    # issues and publishes with it; the office that pinned the OpenSSL root installs both.
    run_until(blocks, None)
    from smseal.keystore.authority import Authority
    from smseal.keystore.x509 import Certificate

    auth = desk.parent / "homes" / "bureau" / "authority"
    adopted = Certificate.from_pem((auth / "root.pem").read_bytes())
    assert adopted.unit_name == "某市公文交换CA" and adopted.key_usage_implied is False
    assert [c.unit_name for c in Authority.chain.fget(Authority(auth, adopted, None))] == ["某市电子政务CA"]
    r = runner("bureau")("authority", "list", "--json")
    assert r.code == 0 and "某市财政局" in r.out
    # the certificate smseal issued names the sub-CA by OpenSSL's SHA-1 key identifier
    issued = Certificate.from_pem((desk / "财政局-new.certs").read_bytes().split(b"-----END CERTIFICATE-----")[0]
                                  + b"-----END CERTIFICATE-----\n")
    assert issued.authority_key_id == adopted.subject_key_id
    r = finance("seal", "通知.txt", "--to", "某市财政局", "-o", "self.smx")
    assert r.code == 0, r.err
    assert finance("open", "self.smx", "-o", "self").code == 0
