"""Interop of keystore.x509 with the ``openssl`` command (OpenSSL 3.0.19 here), both ways.

What OpenSSL 3.0 does with SM2 signer IDs (found by these tests; see the
report in keystore/x509.py's docstring):
- ``openssl verify`` checks a certificate's SM2 signature with an EMPTY ID
  unless ``-vfyopt distid:1234567812345678`` is given; the option applies to
  the certificates named on the command line, not to the CAfile's root (whose
  self-signature is not checked unless ``-check_ss_sig``, and then with the
  empty ID).  So ``openssl verify -vfyopt distid:1234567812345678 -CAfile
  root.pem unit.pem`` accepts our certificates and the plain command does not.
- ``openssl req -verify`` likewise needs ``-vfyopt distid:1234567812345678``.
- ``openssl crl -verify`` (and ``verify -crl_check``) has no way to pass an ID:
  it only accepts SM2 CRLs signed with the empty ID.  Our CRLs use the
  standard ID, so their signature is checked here with ``openssl dgst -sm3
  -sigopt distid:...`` over the exact tbsCertList bytes instead.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest

from smseal.keystore import bundle, x509
from smseal.keystore.authority import Authority
from smseal.keystore.x509 import CRL, Certificate, CertificationRequest, Name, RevokedEntry
from shangmi import InvalidSignature, sm2
from tests.openssl_cli import OPENSSL, openssl, openssl_ok

DISTID = "distid:1234567812345678"
UNIT = "某市财政局"


def _openssl_3_0() -> bool:
    return openssl("version").decode().startswith("OpenSSL 3.0.")


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([OPENSSL, *map(str, args)], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """An authority (key held here so openssl can use it), one unit, a CRL with two entries."""
    d = tmp_path_factory.mktemp("pki")
    root_key = sm2.PrivateKey.generate()
    auth = Authority.init(d / "ca", "某市保密局", signer=root_key, organization="某市")
    sign_key, enc_key = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
    request = bundle.make_request(Name.build(UNIT, organization="某市"), sign_key, enc_key)
    sign_der, enc_der = auth.issue(request, unit_name=UNIT)
    revoked = auth.issue(bundle.make_request(Name.build("某县档案局"), sm2.PrivateKey.generate(),
                                             sm2.PrivateKey.generate()), unit_name="某县档案局")
    serials = auth.revoke("某县档案局", "keyCompromise")
    crl = auth.crl()
    files = {"root": auth.root.to_pem(), "sign": x509.pem_encode("CERTIFICATE", sign_der),
             "enc": x509.pem_encode("CERTIFICATE", enc_der), "crl": crl.to_pem(),
             "request": request, "rootkey": root_key.to_pem(),
             "rootpub": root_key.public_key().to_pem()}
    for name, data in files.items():
        (d / f"{name}.pem").write_bytes(data)
    blocks = x509.pem_blocks(request, "CERTIFICATE REQUEST")
    for i, der in enumerate(blocks):
        (d / f"req{i}.pem").write_bytes(x509.pem_encode("CERTIFICATE REQUEST", der))
    return {"dir": d, "auth": auth, "root_key": root_key, "crl": crl, "serials": serials,
            "revoked_der": revoked, "sign": Certificate.from_der(sign_der),
            "enc": Certificate.from_der(enc_der)}


# --- what smseal writes, read by openssl ---------------------------------------------------

@pytest.mark.parametrize("which, usage_line", [
    ("sign", "Digital Signature, Non Repudiation"),
    ("enc", "Key Encipherment, Data Encipherment, Key Agreement"),
    ("root", "Certificate Sign, CRL Sign"),
])
def test_openssl_x509_text_reads_certificates(pki, which, usage_line):
    text = openssl("x509", "-in", pki["dir"] / f"{which}.pem", "-text", "-noout",
                   "-nameopt", "utf8,sep_comma_plus_space").decode()
    assert "Version: 3 (0x2)" in text
    assert text.count("Signature Algorithm: SM2-with-SM3") == 2
    assert "ASN1 OID: SM2" in text
    assert "X509v3 Key Usage: critical" in text and usage_line in text
    assert "X509v3 Basic Constraints: critical" in text
    assert ("CA:TRUE" in text) == (which == "root")
    assert "X509v3 Subject Key Identifier" in text and "X509v3 Authority Key Identifier" in text
    assert "Issuer: C=CN, O=某市, CN=某市保密局" in text
    if which != "root":
        assert f"Subject: O=某市, CN={UNIT}" in text


def test_openssl_verify_accepts_both_unit_certificates_with_distid(pki):
    d = pki["dir"]
    out = openssl("verify", "-vfyopt", DISTID, "-CAfile", d / "root.pem",
                  d / "sign.pem", d / "enc.pem").decode()
    assert out.count(": OK") == 2
    # the root itself, as its own trust anchor
    openssl("verify", "-CAfile", d / "root.pem", d / "root.pem")


def test_openssl_3_0_verify_without_distid_uses_the_empty_id(pki):
    """Documents OpenSSL 3.0's behaviour: without -vfyopt it hashes an empty ID into Z."""
    d = pki["dir"]
    plain = _run("verify", "-CAfile", d / "root.pem", d / "sign.pem")
    if _openssl_3_0():
        assert plain.returncode != 0 and b"certificate signature failure" in plain.stdout + plain.stderr
    # a certificate signed with the empty ID is what plain `openssl verify` wants; ours refuses it
    leaf = d / "leaf_noid.pem"
    (d / "sign.ext").write_text("keyUsage=critical,digitalSignature\n")
    openssl("x509", "-req", "-in", d / "req0.pem", "-CA", d / "root.pem", "-CAkey",
            d / "rootkey.pem", "-sm3", "-vfyopt", DISTID, "-days", "5",
            "-extfile", d / "sign.ext", "-out", leaf)
    openssl("verify", "-CAfile", d / "root.pem", leaf)
    with pytest.raises(InvalidSignature):
        Certificate.from_pem(leaf.read_bytes()).verify_signature(pki["auth"].root)


def _tbs_and_signature_verify(d, tbs: bytes, sig: bytes, *, distid: bool = True) -> bool:
    (d / "tbs.der").write_bytes(tbs)
    (d / "sig.der").write_bytes(sig)
    args = ["dgst", "-sm3", "-verify", d / "rootpub.pem", "-signature", d / "sig.der"]
    if distid:
        args += ["-sigopt", DISTID]
    return openssl_ok(*args, d / "tbs.der")


def test_root_self_signature_checked_by_openssl_dgst(pki):
    root = pki["auth"].root
    assert _tbs_and_signature_verify(pki["dir"], root.tbs_der, root.signature)
    assert not _tbs_and_signature_verify(pki["dir"], root.tbs_der, root.signature, distid=False)


def test_openssl_crl_text_reads_the_crl(pki):
    text = openssl("crl", "-in", pki["dir"] / "crl.pem", "-text", "-noout",
                   "-nameopt", "utf8,sep_comma_plus_space").decode()
    assert "Version 2 (0x1)" in text and "Signature Algorithm: SM2-with-SM3" in text
    assert "Issuer: C=CN, O=某市, CN=某市保密局" in text
    assert "X509v3 CRL Number" in text and "X509v3 Authority Key Identifier" in text
    assert text.count("Key Compromise") == 2
    for serial in pki["serials"]:
        assert x509.serial_hex(serial).upper() in text.replace(":", "").upper()
    assert "Next Update" in text


def test_crl_signature_checked_by_openssl_dgst(pki):
    crl = pki["crl"]
    assert _tbs_and_signature_verify(pki["dir"], crl.tbs_der, crl.signature)


def test_openssl_3_0_crl_verify_only_knows_the_empty_id(pki, tmp_path, monkeypatch):
    """``openssl crl -verify`` cannot take a distid: it refuses our standard-ID CRL and
    accepts the same CRL signed with the empty ID, so the encoding is not the problem."""
    d = pki["dir"]
    ours = _run("crl", "-in", d / "crl.pem", "-verify", "-noout", "-CAfile", d / "root.pem")
    if _openssl_3_0():
        assert b"verify failure" in ours.stdout + ours.stderr

    class EmptyIdSigner:
        def sign(self, data):
            return pki["root_key"].sign(data, uid=b"")

        def public_key(self):
            return pki["root_key"].public_key()

    monkeypatch.setattr(CRL, "verify_signature", lambda self, issuer: None)
    now = x509.utcnow()
    empty = x509.issue_crl(EmptyIdSigner(), pki["auth"].root, number=9, this_update=now,
                           next_update=now + timedelta(days=1),
                           revoked=[RevokedEntry(5, now, "superseded")])
    (tmp_path / "empty.pem").write_bytes(empty.to_pem())
    ok = _run("crl", "-in", tmp_path / "empty.pem", "-verify", "-noout", "-CAfile", d / "root.pem")
    assert b"verify OK" in ok.stdout + ok.stderr
    monkeypatch.undo()
    with pytest.raises(InvalidSignature):
        CRL.from_der(empty.der).verify_signature(pki["auth"].root)


@pytest.mark.parametrize("index", [0, 1])
def test_openssl_req_verify_accepts_both_requests_with_distid(pki, index):
    path = pki["dir"] / f"req{index}.pem"
    res = _run("req", "-in", path, "-verify", "-noout", "-vfyopt", DISTID)
    assert res.returncode == 0 and b"verify OK" in res.stdout + res.stderr
    text = openssl("req", "-in", path, "-text", "-noout").decode()
    assert "Requested Extensions" in text and "X509v3 Key Usage: critical" in text
    if _openssl_3_0():
        plain = _run("req", "-in", path, "-verify", "-noout")
        assert b"verify failure" in plain.stdout + plain.stderr


# --- what openssl writes, read by smseal -----------------------------------------------------

@pytest.fixture(scope="module")
def ossl(tmp_path_factory):
    d = tmp_path_factory.mktemp("ossl")
    openssl("genpkey", "-algorithm", "SM2", "-out", d / "ca.key")
    openssl("genpkey", "-algorithm", "SM2", "-out", d / "unit.key")
    openssl("req", "-new", "-x509", "-key", d / "ca.key", "-sm3", "-sigopt", DISTID, "-utf8",
            "-subj", "/C=CN/O=某市/CN=某市保密局", "-days", "30",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", d / "ca.pem")
    openssl("req", "-new", "-key", d / "unit.key", "-sm3", "-sigopt", DISTID, "-utf8",
            "-subj", f"/CN={UNIT}", "-addext", "keyUsage=critical,digitalSignature,nonRepudiation",
            "-out", d / "unit.csr")
    (d / "leaf.ext").write_text("basicConstraints=critical,CA:FALSE\n"
                                "keyUsage=critical,keyEncipherment,keyAgreement\n"
                                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    openssl("x509", "-req", "-in", d / "unit.csr", "-CA", d / "ca.pem", "-CAkey", d / "ca.key",
            "-sm3", "-sigopt", DISTID, "-vfyopt", DISTID, "-days", "10",
            "-extfile", d / "leaf.ext", "-out", d / "leaf.pem")
    return d


def test_read_and_verify_openssl_root(ossl):
    root = bundle.load_root((ossl / "ca.pem").read_bytes())
    assert root.unit_name == "某市保密局" and root.subject.get("O") == "某市"
    assert root.is_ca and root.usage == "root" and root.issuer == root.subject
    assert root.public_key == sm2.PrivateKey.from_pem((ossl / "ca.key").read_bytes()).public_key()
    assert len(root.subject_key_id) == 20  # openssl's SHA-1 method: only consistency matters
    assert root.not_after - root.not_before == timedelta(days=30)


def test_read_and_verify_openssl_request(ossl):
    req = CertificationRequest.from_pem((ossl / "unit.csr").read_bytes())
    req.verify()
    assert req.subject.common_name == UNIT and req.usage == "sign"


def test_read_and_verify_openssl_issued_leaf(ossl):
    root = Certificate.from_pem((ossl / "ca.pem").read_bytes())
    leaf = Certificate.from_pem((ossl / "leaf.pem").read_bytes())
    leaf.verify_signature(root)
    assert leaf.usage == "enc" and leaf.authority_key_id == root.subject_key_id
    x509.check_certificate(leaf, x509.utcnow(), None, usage="enc")


def test_openssl_certificate_signed_with_empty_id_is_refused(ossl):
    """What the OpenSSL 3.0 CLI writes without -sigopt distid: not a GM/T 0015 signature."""
    openssl("req", "-new", "-x509", "-key", ossl / "ca.key", "-sm3", "-subj", "/CN=noid",
            "-days", "3", "-addext", "keyUsage=critical,keyCertSign", "-out", ossl / "noid.pem")
    with pytest.raises(InvalidSignature):
        bundle.load_root((ossl / "noid.pem").read_bytes())
