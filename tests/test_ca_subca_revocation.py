"""A root's CRL that revokes a sub-CA: everything certified through it stops being trusted.

Made with the ``openssl`` command only (as docs/CA.md): root → two sub-CAs that share one name
(different keys and serials) → units.  After the root's CRL revokes the first sub-CA
(keyCompromise), sealing to its units and opening their packages (sealed earlier, too) are
refused, and nothing new is installed through it (a certificate file, ``keys install``, pinning
it); the units of the other sub-CA with the same name stay trusted.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.cli_helpers import Runner, cli_env
from tests.test_ca_recipe import recipe

ID = "distid:1234567812345678"
ROOT_CA = """
[ root_ca ]
dir              = ./rootdb
database         = $dir/index.txt
new_certs_dir    = $dir/newcerts
serial           = $dir/serial
crlnumber        = $dir/crlnumber
certificate      = ./root.pem
private_key      = ./root.key
default_md       = sm3
default_days     = 3650
default_crl_days = 7
policy           = policy_unit
"""


def _ca_config() -> str:
    return next(text for kind, name, text in recipe() if kind == "file" and name == "ca.cnf") + ROOT_CA


@pytest.fixture
def desk(tmp_path, monkeypatch, capsys):
    cli_env(monkeypatch)
    d = tmp_path / "desk"
    d.mkdir()
    (d / "ca.cnf").write_text(_ca_config(), encoding="utf-8")

    def sh(script: str) -> None:
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=d, capture_output=True,
                              text=True, timeout=120, env={**os.environ})
        assert proc.returncode == 0, f"{script}\n{proc.stdout}\n{proc.stderr}"

    def office(name: str) -> Runner:
        return Runner(tmp_path / "homes" / name, capsys, d)

    return d, sh, office


def _subca(name: str) -> str:
    """Shell for a sub-CA key and certificate ``name``.pem named 某市公文交换CA, signed by the root."""
    return f"""
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out {name}.key
openssl req -new -key {name}.key -sm3 -sigopt {ID} -utf8 -subj "/C=CN/O=某市/CN=某市公文交换CA" -out {name}.csr
openssl x509 -req -in {name}.csr -CA root.pem -CAkey root.key -CAcreateserial -sm3 -sigopt {ID} \\
    -vfyopt {ID} -days 3650 -extfile ca.cnf -extensions v3_subca -out {name}.pem
"""


def _issue(unit: str, sub: str) -> str:
    """Shell: certificates for request ``unit``.csr from sub-CA ``sub``, chain in ``unit``.certs."""
    return f"""
csplit -s -z -f "{unit}-" "{unit}.csr" '/-----BEGIN CERTIFICATE REQUEST-----/' '{{*}}'
for part in 00 01; do
    openssl ca -config ca.cnf -batch -cert {sub}.pem -keyfile {sub}.key -in "{unit}-$part" \\
        -out "{unit}-$part.pem" -sigopt {ID} -vfyopt {ID}
done
cat root.pem "{unit}-01.pem" {sub}.pem "{unit}-00.pem" > "{unit}.certs"
"""


def test_revoked_subca_untrusts_its_units(desk):
    d, sh, office = desk
    finance, archive, audit = office("finance"), office("archive"), office("audit")
    (d / "通知.txt").write_text("关于开展年度保密自查的通知", encoding="utf-8")
    sh(f"""
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out root.key
openssl req -x509 -new -key root.key -sm3 -sigopt {ID} -utf8 -subj "/C=CN/O=某市/CN=某市电子政务CA" \\
    -days 7300 -out root.pem
{_subca("sub")}{_subca("twin")}
mkdir -p db/newcerts rootdb/newcerts && touch db/index.txt rootdb/index.txt
echo 1000 > db/serial && echo 1000 > db/crlnumber && echo 2000 > rootdb/serial && echo 2000 > rootdb/crlnumber
""")
    for who, unit in ((finance, "某市财政局"), (archive, "某市档案局"), (audit, "某市审计局")):
        assert who("init", "--unit", unit).code == 0
        assert who("keys", "request", "-o", f"{unit}.csr").code == 0
        assert who("directory", "trust", "root.pem", "--yes").code == 0
    sh(_issue("某市财政局", "twin") + _issue("某市档案局", "sub") + _issue("某市审计局", "sub"))
    sh("cat sub.pem twin.pem 某市财政局-00.pem 某市财政局-01.pem 某市档案局-00.pem 某市档案局-01.pem"
       " > directory.pem")
    for who, unit in ((finance, "某市财政局"), (archive, "某市档案局")):
        r = who("keys", "install", f"{unit}.certs")
        assert r.code == 0, r.err
        r = who("directory", "update", "directory.pem")
        assert r.code == 0, r.err

    # both sub-CAs trusted: packages flow both ways
    r = archive("seal", "通知.txt", "--to", "某市财政局", "-o", "from-archive.smx")
    assert r.code == 0, r.err
    r = finance("seal", "通知.txt", "--to", "某市档案局", "-o", "to-archive.smx")
    assert r.code == 0, r.err
    assert archive("open", "to-archive.smx", "-o", "opened").code == 0

    # the root revokes the sub-CA (not its twin of the same name) and publishes its CRL
    sh(f"""
openssl ca -config ca.cnf -name root_ca -revoke sub.pem -crl_reason keyCompromise
openssl ca -config ca.cnf -name root_ca -gencrl -sigopt {ID} -out root.crl
""")
    r = finance("directory", "crl", "import", "root.crl")
    assert r.code == 0, r.err

    r = finance("seal", "通知.txt", "--to", "某市档案局", "-o", "again.smx")
    assert r.code == 1 and "某市档案局" in r.err and "keyCompromise" in r.err, r.err
    assert not (d / "again.smx").exists()
    for extra in ((), ("--accept-before-revocation",)):   # sealed before: a thief can backdate
        r = finance("open", "from-archive.smx", "-o", "refused", "--no-receipt", *extra)
        assert r.code == 1 and "某市档案局" in r.err, r.err
        assert not (d / "refused").exists()
    # the twin sub-CA shares the name, not the serial or key: its unit stays trusted
    r = finance("seal", "通知.txt", "--to", "某市财政局", "-o", "self.smx")
    assert r.code == 0, r.err
    assert finance("open", "self.smx", "-o", "self").code == 0
    # the revoked sub-CA no longer counts as an authority (e.g. for its own CRLs)
    listed = finance("directory", "crl", "list", "--json")
    assert listed.code == 0 and '"某市电子政务CA"' in listed.out

    # nothing new through the revoked sub-CA: a certificate file, keys install, pinning it
    sh("cat sub.pem 某市审计局-00.pem 某市审计局-01.pem > late.pem")
    r = finance("directory", "update", "late.pem")
    assert r.code == 1 and "某市公文交换CA" in r.err and "revoked" in r.err, r.err
    assert "某市审计局" not in finance("directory", "list").out
    assert audit("directory", "crl", "import", "root.crl").code == 0
    r = audit("keys", "install", "某市审计局.certs")
    assert r.code == 1 and "某市公文交换CA" in r.err, r.err
    r = finance("directory", "trust", "sub.pem", "--yes", "--replace")
    assert r.code == 1 and "某市公文交换CA" in r.err, r.err
    assert finance("directory", "trust", "twin.pem", "--yes", "--replace").code == 0
