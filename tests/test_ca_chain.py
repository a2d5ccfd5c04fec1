"""Chains, key identifiers, signer IDs and CRLs from a CA made with the ``openssl`` command.

The CA here is what OpenSSL 3.0 writes by default: a root with only
basicConstraints and SHA-1 key identifiers (no keyUsage), a sub-CA with
pathlen:0, unit certificates from smseal's own requests.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shangmi import (ExpiredCertificate, InvalidSignature, KeystoreError, PolicyError,
                     UntrustedSender, sm2)
from smseal.keystore import bundle, chain, crl as crl_mod, x509
from smseal.keystore.authority import Authority
from smseal.keystore.x509 import CRL, Certificate, EmptySignerId, Name, WrongKeyUsage
from tests.openssl_cli import openssl

DISTID = "distid:1234567812345678"
EXT = """
[subca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[unit]
basicConstraints = CA:FALSE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def _key(d, name):
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", d / name)
    return d / name


def _sign_csr(d, csr, ca, ca_key, out, section, *, distid=True, days="365"):
    args = ["x509", "-req", "-in", d / csr, "-CA", d / ca, "-CAkey", d / ca_key,
            "-CAcreateserial", "-sm3", "-vfyopt", DISTID, "-days", days, "-extfile", d / "ext.cnf",
            "-extensions", section, "-copy_extensions", "copy", "-out", d / out]
    if distid:
        args[args.index("-vfyopt"):args.index("-vfyopt")] = ["-sigopt", DISTID]
    openssl(*args)
    return Certificate.from_pem((d / out).read_bytes())


def _ca(d, name, subj, parent=None, distid=True):
    key = _key(d, f"{name}.key")
    if parent is None:
        sig = ["-sigopt", DISTID] if distid else []
        openssl("req", "-x509", "-new", "-key", key, "-sm3", *sig, "-utf8", "-subj", subj,
                "-days", "3650", "-out", d / f"{name}.pem")
        return Certificate.from_pem((d / f"{name}.pem").read_bytes())
    openssl("req", "-new", "-key", key, "-sm3", "-sigopt", DISTID, "-utf8", "-subj", subj,
            "-out", d / f"{name}.csr")
    return _sign_csr(d, f"{name}.csr", f"{parent}.pem", f"{parent}.key", f"{name}.pem", "subca",
                     distid=distid)


def _unit(d, ca, unit, *, distid=True):
    s, e = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
    req = bundle.make_request(Name.build(unit), s, e)
    blocks = x509.pem_blocks(req, "CERTIFICATE REQUEST")
    certs = []
    for usage, der in zip(("sign", "enc"), blocks):
        (d / f"{unit}-{usage}.csr").write_bytes(x509.pem_encode("CERTIFICATE REQUEST", der))
        certs.append(_sign_csr(d, f"{unit}-{usage}.csr", f"{ca}.pem", f"{ca}.key",
                               f"{unit}-{usage}.pem", "unit", distid=distid))
    return certs, (s, e)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("opensslca")
    (d / "ext.cnf").write_text(EXT)
    root = _ca(d, "root", "/C=CN/CN=某市电子政务CA")
    sub = _ca(d, "sub", "/C=CN/CN=某市公文交换CA", parent="root")
    (finance_sign, finance_enc), keys = _unit(d, "sub", "某市财政局")
    return {"dir": d, "root": root, "sub": sub, "sign": finance_sign, "enc": finance_enc,
            "keys": keys}


def test_openssl_default_root_is_an_authority(pki):
    root = pki["root"]
    assert root.key_usage_implied and root.is_ca and root.usage == "root"
    assert chain.load_anchor(root.to_pem()) == root
    sub = pki["sub"]
    assert not sub.key_usage_implied and sub.path_len == 0
    assert chain.load_anchor(sub.to_pem()) == sub  # a sub-CA can be pinned too


def test_sha1_key_identifiers_and_chain_in_any_order(pki):
    sub, root = pki["sub"], pki["root"]
    assert pki["sign"].authority_key_id == sub.subject_key_id
    assert x509.key_id_matches(pki["sign"].authority_key_id, sub)
    assert not x509.key_id_matches(pki["sign"].authority_key_id, root)
    for order in ((root, pki["enc"], sub, pki["sign"]), (sub, pki["sign"], pki["enc"]),
                  (pki["enc"], pki["sign"], root, sub)):
        text = b"".join(c.to_pem() for c in order)
        for pin in (root, sub):
            got = bundle.parse_unit_certificates(text, pinned_root=pin)
            assert got.signing == pki["sign"] and got.encryption == pki["enc"]
            assert got.chain[-1] == pin
    assert chain.build_chain(pki["sign"], root, [sub]) == (sub, root)
    with pytest.raises(UntrustedSender):  # the sub-CA is missing
        chain.build_chain(pki["sign"], root, [])


def test_empty_signer_id_is_named_not_called_altered(pki):
    d = pki["dir"]
    (bad_sign, _), _ = _unit(d, "sub", "某县档案局", distid=False)
    with pytest.raises(EmptySignerId, match="without the standard SM2 ID 1234567812345678.*"
                                            "-sigopt distid:1234567812345678"):
        bad_sign.verify_signature(pki["sub"])
    bad_root = _ca(d, "badroot", "/CN=没有ID的根", distid=False)
    with pytest.raises(EmptySignerId):
        chain.load_anchor(bad_root.to_pem())
    forged = bytearray(pki["sign"].der)
    forged[-3] ^= 1
    with pytest.raises(InvalidSignature, match="altered or forged") as exc:
        Certificate.from_der(bytes(forged)).verify_signature(pki["sub"])
    assert not isinstance(exc.value, EmptySignerId)


def test_path_length_is_enforced(pki):
    d = pki["dir"]
    # sub has pathlen:0, so a CA under it may not certify units
    subsub = _ca(d, "subsub", "/CN=越级CA", parent="sub")
    (unit_sign, _), _ = _unit(d, "subsub", "某乡政府")
    with pytest.raises(WrongKeyUsage, match="path length|sub-authorities"):
        chain.build_chain(unit_sign, pki["root"], [pki["sub"], subsub])


def test_ca_validity_is_checked_on_the_way(pki):
    with pytest.raises(ExpiredCertificate, match="某市公文交换CA"):
        chain.build_chain(pki["sign"], pki["root"], [pki["sub"]],
                          at=x509.utcnow() + timedelta(days=4000))


def _crl(d, name, *, days=7, revoke=(), distid=True):
    """A CRL of the sub-CA made by ``openssl ca -gencrl``."""
    db = d / f"db-{name}"
    db.mkdir()
    (db / "index.txt").write_text("")
    (db / "crlnumber").write_text("1000\n")
    cnf = d / f"{name}.cnf"
    cnf.write_text(f"[ca]\ndefault_ca=c\n[c]\ndatabase={db}/index.txt\ncrlnumber={db}/crlnumber\n"
                   f"certificate={d}/sub.pem\nprivate_key={d}/sub.key\ndefault_md=sm3\n"
                   f"default_crl_days={days}\n")
    for cert in revoke:
        openssl("ca", "-config", cnf, "-revoke", d / cert, "-crl_reason", "keyCompromise")
    sig = ["-sigopt", DISTID] if distid else []
    openssl("ca", "-config", cnf, "-gencrl", *sig, "-out", d / f"{name}.crl")
    return CRL.from_pem((d / f"{name}.crl").read_bytes())


def test_crl_policy(pki):
    d, sub, now = pki["dir"], pki["sub"], x509.utcnow()
    crl = _crl(d, "current", revoke=["某市财政局-enc.pem"])
    assert crl_mod.verify_crl(crl, [pki["root"], sub], now) == sub
    assert crl.lookup(pki["enc"].serial).reason == "keyCompromise"
    assert not crl_mod.is_stale(crl, now) and crl_mod.is_stale(crl, now + timedelta(days=8))
    with pytest.raises(UntrustedSender):  # the sub-CA is not known yet
        crl_mod.verify_crl(crl, [pki["root"]], now)
    with pytest.raises(PolicyError, match="future"):
        crl_mod.verify_crl(crl, [sub], now - x509.CLOCK_SKEW - timedelta(minutes=1))
    crl_mod.verify_crl(crl, [sub], now - x509.CLOCK_SKEW + timedelta(seconds=5))
    with pytest.raises(EmptySignerId):
        crl_mod.verify_crl(_crl(d, "noid", distid=False), [sub], now)
    store = crl_mod.CrlStore(d / "store")
    assert store.save(crl, sub) and store.latest(sub).der == crl.der
    der_file = openssl("crl", "-in", d / "current.crl", "-outform", "DER")
    assert crl_mod.read_crls(der_file)[0].der == crl.der  # DER as well as PEM


def test_adopt_needs_the_matching_key(pki, tmp_path):
    d = pki["dir"]
    text = (d / "sub.pem").read_bytes() + (d / "root.pem").read_bytes()
    with pytest.raises(KeystoreError, match="none of the certificates"):
        Authority.adopt(tmp_path / "a", sm2.PrivateKey.generate(), text, password=b"pw",
                        iterations=1000)
    sec1 = openssl("ec", "-in", d / "sub.key")  # SEC1 "EC PRIVATE KEY" as ecparam writes it
    key = sm2.PrivateKey.from_pem(sec1)
    auth = Authority.adopt(tmp_path / "b", key, text, password=b"pw", iterations=1000)
    assert auth.name == "某市公文交换CA" and auth.chain == (pki["root"],)
    reopened = Authority.open(tmp_path / "b", password=b"pw")
    s, e = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
    certs = reopened.issue_file(bundle.make_request(Name.build("某市审计局"), s, e), unit_name="某市审计局")
    got = bundle.parse_unit_certificates(certs, pinned_root=pki["root"])
    assert got.chain == (pki["sub"], pki["root"])
    data = reopened.publish()
    verified = bundle.verify_bundle(data, pki["root"])
    assert verified.authority == pki["sub"] and [u.name for u in verified.units] == ["某市审计局"]
    assert bundle.verify_bundle(data, pki["sub"]).authority == pki["sub"]


def test_certificate_file_from_another_ca_changes_nothing(pki, tmp_path):
    from smseal.keystore import Directory
    from smseal.office.ca_import import import_certificates, import_crls, installed_crls
    from smseal.office.trust import Trust

    d = pki["dir"]
    other_root = _ca(d, "otherroot", "/CN=别处的CA")
    (stranger, _), _ = _unit(d, "otherroot", "某外省单位")
    home = tmp_path / "office"
    trust = Trust(home)
    trust.pin(pki["root"].to_pem(), replace=False)
    now = x509.utcnow()
    with Directory(home) as directory:
        mixed = pki["sub"].to_pem() + pki["sign"].to_pem() + pki["enc"].to_pem() + stranger.to_pem()
        with pytest.raises(UntrustedSender):
            import_certificates(directory, trust, mixed, now)
        assert directory.list() == []  # nothing applied from a refused file
        assert other_root.unit_name == "别处的CA"
        good = import_certificates(directory, trust, mixed.replace(stranger.to_pem(), b""), now)
        assert (good.units, good.keys) == (1, 0) and [u.name for u in directory.list()] == ["某市财政局"]
        # a stale CRL is applied (its revocations stand) and reported as stale
        stale = _crl(d, "stale", days=1, revoke=["某市财政局-sign.pem"])
        later = now + timedelta(days=2)
        (result,) = import_crls(directory, trust, [stale], later)
        assert result.stale and result.revoked == 1 and result.issuer == "某市公文交换CA"
        assert directory.get("某市财政局").of_role("sign")[0].revoked_at is not None
        assert [s.issuer_name for s in installed_crls(trust)] == ["某市公文交换CA"]


def test_command_names_the_empty_signer_id(pki, tmp_path, monkeypatch, capsys):
    """``keys install`` of certificates an OpenSSL CA signed without -sigopt distid:… says so."""
    from tests.cli_helpers import FAST_ENV, Runner

    for k, v in FAST_ENV.items():
        monkeypatch.setenv(k, v)
    for var in ("SMSEAL_HOME", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    d = pki["dir"]
    unit = Runner(tmp_path / "home", capsys, d)
    assert unit("init", "--unit", "某县审计局").code == 0
    assert unit("keys", "request", "-o", "audit.csr").code == 0
    blocks = x509.pem_blocks((d / "audit.csr").read_bytes(), "CERTIFICATE REQUEST")
    out = b""
    for usage, der in zip(("sign", "enc"), blocks):
        (d / f"audit-{usage}.csr").write_bytes(x509.pem_encode("CERTIFICATE REQUEST", der))
        _sign_csr(d, f"audit-{usage}.csr", "sub.pem", "sub.key", f"audit-{usage}.pem", "unit", distid=False)
        out += (d / f"audit-{usage}.pem").read_bytes()
    (d / "audit.certs").write_bytes(out + (d / "sub.pem").read_bytes())
    assert unit("directory", "trust", "root.pem", "--yes").code == 0
    r = unit("keys", "install", "audit.certs")
    assert r.code == 1
    assert "nothing was altered" in r.err and "distid:1234567812345678" in r.err, r.err


def test_directory_allows_the_same_clock_skew(tmp_path):
    from shangmi import ExpiredCertificate as Expired
    from smseal.keystore import Directory

    now = x509.utcnow()
    with Directory(tmp_path) as directory:
        for name, ahead in (("刚签发的单位", timedelta(minutes=2)), ("未来的单位", timedelta(minutes=10))):
            directory.add_unit(name, sm2.PrivateKey.generate().public_key(),
                               sm2.PrivateKey.generate().public_key(),
                               not_before=now + ahead, not_after=now + timedelta(days=30))
        directory.encryption_key("刚签发的单位", now)  # a CA clock 2 minutes ahead of ours
        with pytest.raises(Expired, match="not valid before"):
            directory.encryption_key("未来的单位", now)
