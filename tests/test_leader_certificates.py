"""Bureau-certified leaders (签发人, issue 12): the bureau certifies a leader's own key for a unit
and a person (docs/CA.md, "Leader certificates"); a recipient accepts approvals by such a leader
even when the unit's card does not name it; a leader certificate is never a unit's signing
certificate, and a unit's certificate never a leader's."""

from __future__ import annotations

from datetime import date

import pytest

from shangmi import sm2
from shangmi.errors import MalformedInput, PolicyError
from smseal.keystore.errors import WrongKeyUsage
from smseal.keystore import bundle, unit_leaders, x509
from smseal.keystore.authority import Authority
from smseal.office import approval, drafts, sending, unit_card
from smseal.office.bureau import install_bundle
from smseal.office.ca_import import import_certificates
from smseal.office.trust import Trust
from tests.workflow_helpers import open_in, pair  # noqa: F401  (fixture)


@pytest.fixture
def bureau(tmp_path, pair):
    auth = Authority.init(tmp_path / "ca", "某市保密局", signer=sm2.PrivateKey.generate())
    Trust(pair.b.home).pin(auth.root.to_pem(), replace=False)
    return auth


def _approved_by(pair, leader: str, name: str = "d.smd"):
    main = pair.file("关于拨付专项资金的请示.txt", "请拨付。")
    d = drafts.create_draft(pair.a, main, to="财政局", out=pair.tmp / name, title="关于拨付专项资金的请示",
                            doc_type="请示", reply_by=date(2027, 8, 20))
    return sending.send_draft(pair.a, approval.approve_draft(pair.a, d, leader=leader))


def test_a_bureau_certified_leader_is_accepted(pair, bureau):
    pair.a.leaders.add("李四")                   # not on the card 财政局 holds
    request = unit_card.leader_request(pair.a, "李四")
    der = bureau.issue_leader(request, unit_name="市政府办公室")
    cert = x509.Certificate.from_der(der)
    assert cert.usage == "leader" and cert.is_leader and cert.person == "李四"
    assert cert.unit_name == "市政府办公室" and cert.subject.get("title") == "签发人"
    assert x509.OID_KP_LEADER_APPROVAL in cert.purposes
    sent = _approved_by(pair, "李四")
    assert open_in(pair.b, sent.path, pair.tmp / "before")[1].state == "invalid"
    result = import_certificates(pair.b.directory, Trust(pair.b.home), cert.to_pem() + bureau.root.to_pem(),
                                 pair.a.now())
    assert result.leaders == ["李四 (市政府办公室)"] and result.units == 0
    _res, status = open_in(pair.b, sent.path, pair.tmp / "after")
    assert status.state == "verified" and status.leader == "李四"
    # a leader of 市政府办公室 approves for that unit only
    other = unit_leaders.leaders_of(pair.b.directory, "市政府办公室")
    assert any(x.name == "李四" and x.source == "bureau" and x.certificate == der for x in other)


def test_the_bureau_publishes_and_revokes_leaders_in_its_bundle(pair, bureau):
    pair.a.leaders.add("李四")
    der = bureau.issue_leader(unit_card.leader_request(pair.a, "李四"))
    assert bureau.current_certificates("市政府办公室") == []     # a leader is not the unit's own key
    installed = install_bundle(pair.b, bureau.publish())
    assert installed["leaders"] == ["李四 (市政府办公室)"] and installed["leaders_skipped"] == []
    sent = _approved_by(pair, "李四")
    assert open_in(pair.b, sent.path, pair.tmp / "ok")[1].state == "verified"
    bureau.revoke(x509.Certificate.from_der(der).serial, "keyCompromise")
    install_bundle(pair.b, bureau.publish())
    _res, status = open_in(pair.b, sent.path, pair.tmp / "revoked")
    assert status.state == "invalid" and "revoked" in status.reason


def test_a_leader_certificate_is_never_a_unit_signing_certificate(pair, bureau):
    pair.a.leaders.add("李四")
    cert = x509.Certificate.from_der(bureau.issue_leader(unit_card.leader_request(pair.a, "李四")))
    with pytest.raises(WrongKeyUsage):
        x509.check_certificate(cert, pair.a.now(), None, usage="sign")
    with pytest.raises(WrongKeyUsage):
        bundle._unit_usage(cert)
    verified = bundle.verify_bundle(bureau.publish(), bureau.root)
    assert verified.units == () and verified.leaders == (cert,)
    # the same key cannot be certified as a unit's signing key afterwards
    subject = x509.Name.build("市政府办公室")
    signer = pair.a.leaders.signer("李四")
    with pytest.raises(PolicyError):
        bureau.certify(subject, [(signer.public_key(), "sign")])
    # and a unit request carrying a leader's request is refused
    leader_csr = x509.build_request(signer, subject, "leader").to_pem()
    enc = x509.build_request(sm2.PrivateKey.generate(), subject, "enc").to_pem()
    with pytest.raises((MalformedInput, WrongKeyUsage)):
        bundle.parse_request(leader_csr + enc)


def test_a_unit_certificate_is_never_a_leader_certificate(pair, bureau):
    unit_key = sm2.PrivateKey.generate()
    sign_der, _enc = bureau.certify(x509.Name.build("市政府办公室"),
                                    [(unit_key.public_key(), "sign"), (sm2.PrivateKey.generate().public_key(), "enc")])
    sign_cert = x509.Certificate.from_der(sign_der)
    assert sign_cert.usage == "sign" and not sign_cert.is_leader
    with pytest.raises(WrongKeyUsage):
        unit_leaders.add_certified_leader(pair.b.directory, sign_cert)
    unit_request = x509.build_request(unit_key, x509.Name.build("张三", organization="市政府办公室"), "sign")
    with pytest.raises(WrongKeyUsage):
        bureau.issue_leader(unit_request.to_pem())     # a unit's signing request is no leader's request
    # a key already certified as a unit's signing key cannot become a leader's
    leader_like = x509.build_request(unit_key, x509.Name.build("张三", organization="市政府办公室"), "leader")
    with pytest.raises(PolicyError):
        bureau.issue_leader(leader_like.to_pem())


def test_a_leader_purpose_on_an_encryption_key_is_refused(bureau):
    key = sm2.PrivateKey.generate()
    forged = x509.issue_certificate(key, None, x509.Name.build("x"), key.public_key(), serial=7,
                                    not_before=x509.utcnow(), not_after=x509.utcnow() + x509.days(1),
                                    profile="root")
    assert forged.usage == "root"
    with pytest.raises(WrongKeyUsage):
        x509.classify_usage(frozenset({"keyEncipherment"}), False, "x",
                            purposes=frozenset({x509.OID_KP_LEADER_APPROVAL}))


def test_openssl_reads_the_leader_certificate(pair, bureau, tmp_path):
    """The extension is plain X.509: openssl shows the critical purpose and the title 签发人."""
    import subprocess

    pair.a.leaders.add("李四")
    cert = x509.Certificate.from_der(bureau.issue_leader(unit_card.leader_request(pair.a, "李四")))
    (tmp_path / "leader.pem").write_bytes(cert.to_pem())
    out = subprocess.run(["openssl", "x509", "-in", str(tmp_path / "leader.pem"), "-noout", "-text",
                          "-nameopt", "utf8"], capture_output=True, text=True, check=True).stdout
    assert "X509v3 Extended Key Usage: critical" in out and x509.OID_KP_LEADER_APPROVAL in out
    assert "签发人" in out and "李四" in out


def test_a_crl_file_revokes_a_certified_leader(pair, bureau):
    """A leader revoked by the bureau's CRL imported as a file (directory crl import) no longer
    approves, like one revoked through a bundle."""
    from smseal.office.ca_import import import_crls

    pair.a.leaders.add("李四")
    der = bureau.issue_leader(unit_card.leader_request(pair.a, "李四"))
    cert = x509.Certificate.from_der(der)
    import_certificates(pair.b.directory, Trust(pair.b.home), cert.to_pem() + bureau.root.to_pem(), pair.a.now())
    sent = _approved_by(pair, "李四")
    assert open_in(pair.b, sent.path, pair.tmp / "ok")[1].state == "verified"
    bureau.revoke(cert.serial, "keyCompromise")
    crl = x509.CRL.from_der(bundle.verify_bundle(bureau.publish(), bureau.root).crl.der)
    import_crls(pair.b.directory, Trust(pair.b.home), [crl], pair.a.now())
    _res, status = open_in(pair.b, sent.path, pair.tmp / "revoked")
    assert status.state == "invalid" and "revoked" in status.reason
