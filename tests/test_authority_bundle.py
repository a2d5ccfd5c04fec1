"""The authority's issue/revoke/publish cycle and the offices' verify_bundle, good and hostile."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smseal.keystore import asn1_types as t
from smseal.keystore import bundle, x509
from smseal.keystore.authority import Authority
from smseal.keystore.x509 import Certificate, Name, WrongKeyUsage
from shangmi import (ExpiredCertificate, InvalidSignature, KeyNotFound, MalformedInput,
                     PolicyError, RevokedKey, RollbackRefused, SmsealError, UntrustedSender, sm2)
from tests.openssl_cli import openssl

FINANCE, ARCHIVE = "某市财政局", "某县档案局"
DISTID = "distid:1234567812345678"


class Office:
    """A unit's two keys, as an office machine holds them."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sign = sm2.PrivateKey.generate()
        self.enc = sm2.PrivateKey.generate()

    def request(self) -> bytes:
        return bundle.make_request(Name.build(self.name), self.sign, self.enc)


@pytest.fixture
def ca(tmp_path):
    key = sm2.PrivateKey.generate()
    auth = Authority.init(tmp_path / "ca", "某市保密局", signer=key)
    auth.test_key = key  # the tests forge with it
    return auth


@pytest.fixture
def finance():
    return Office(FINANCE)


def test_issue_publish_verify(ca, finance):
    archive = Office(ARCHIVE)
    certs = bundle.parse_unit_certificates(ca.issue_file(finance.request(), unit_name=FINANCE), pinned_root=ca.root)
    assert certs.name == FINANCE and certs.root == ca.root
    assert certs.signing.public_key == finance.sign.public_key()
    assert certs.encryption.public_key == finance.enc.public_key()
    ca.issue(archive.request(), unit_name=ARCHIVE)
    data = ca.publish()
    d = bundle.verify_bundle(data, ca.root)
    assert d.version == 1 and d.revocations == () and d.authority == ca.root
    assert [u.name for u in d.units] == sorted([FINANCE, ARCHIVE])
    unit = d.unit(FINANCE)
    assert unit.signing_key == finance.sign.public_key()
    assert unit.encryption_key == finance.enc.public_key()
    assert all(c.not_after - c.not_before == timedelta(days=730) for c in unit.signing + unit.encryption)
    assert d.pick(FINANCE, "enc", x509.utcnow()) == certs.encryption
    with pytest.raises(KeyNotFound, match="某区"):
        d.unit("某区")
    assert bundle.verify_bundle(ca.publish(), ca.root, installed_version=1).version == 2


def test_older_or_same_bundle_is_refused(ca, finance):
    ca.issue(finance.request(), unit_name=FINANCE)
    first, second = ca.publish(), ca.publish()
    bundle.verify_bundle(second, ca.root, installed_version=1)
    for old in (first, second):
        with pytest.raises(RollbackRefused, match="not newer than the installed version 2"):
            bundle.verify_bundle(old, ca.root, installed_version=2)


def test_rollback_cannot_undo_a_revocation(ca, finance):
    ca.issue(finance.request(), unit_name=FINANCE)
    before = ca.publish()
    ca.revoke(FINANCE, "keyCompromise")
    after = bundle.verify_bundle(ca.publish(), ca.root, installed_version=1)
    assert after.units == () and {e.reason for e in after.revocations} == {"keyCompromise"}
    with pytest.raises(RollbackRefused):
        bundle.verify_bundle(before, ca.root, installed_version=after.version)
    old_cert = bundle.verify_bundle(before, ca.root).unit(FINANCE).signing_cert
    with pytest.raises(RevokedKey, match=f"{FINANCE}.*keyCompromise"):
        x509.check_certificate(old_cert, x509.utcnow(), after.crl, usage="sign")


@pytest.mark.parametrize("where", ["version", "certificate", "crl", "signature", "trailing"])
def test_altered_bundle_is_refused(ca, finance, where):
    ca.issue(finance.request(), unit_name=FINANCE)
    data = bytearray(ca.publish())
    if where == "version":
        tbs = t.strict_decode(bytes(data), t.SignedDirectory(), "b")
        tbs["tbsDirectory"]["version"] = 99
        data = bytearray(t.encode(tbs))
    elif where == "certificate":
        i = data.index(FINANCE.encode())
        data[i + 1] ^= 0x01
    elif where == "crl":
        i = data.rindex(b"\x02\x01\x01")  # CRL number 1
        data[i + 2] = 0x02
    elif where == "signature":
        data[-3] ^= 0x40
    else:
        data += b"\x00"
    with pytest.raises((InvalidSignature, MalformedInput)) as exc:
        bundle.verify_bundle(bytes(data), ca.root)
    if where != "trailing":
        assert "altered or forged" in str(exc.value)


def test_every_single_byte_change_is_refused(ca, finance):
    ca.issue(finance.request(), unit_name=FINANCE)
    data = ca.publish()
    for i in range(0, len(data), 7):
        bad = bytearray(data)
        bad[i] ^= 0x21
        with pytest.raises(SmsealError):
            bundle.verify_bundle(bytes(bad), ca.root)


def test_bundle_from_another_authority_is_refused(ca, finance, tmp_path):
    impostor = Authority.init(tmp_path / "impostor", "某市保密局", password=b"p", iterations=1000)
    impostor.issue(finance.request(), unit_name=FINANCE)
    with pytest.raises(UntrustedSender, match="another authority.*某市保密局"):
        bundle.verify_bundle(impostor.publish(), ca.root)


def test_bundle_claiming_our_key_id_but_signed_by_another_key(ca, finance, tmp_path):
    impostor = Authority.init(tmp_path / "impostor", "某市保密局", password=b"p", iterations=1000)
    impostor.issue(finance.request(), unit_name=FINANCE)
    signed = t.strict_decode(impostor.publish(), t.SignedDirectory(), "b")
    signed["tbsDirectory"]["authorityKeyId"] = ca.root.subject_key_id
    with pytest.raises(InvalidSignature, match="altered or forged"):
        bundle.verify_bundle(t.encode(signed), ca.root)


def test_certificate_of_another_authority_inside_a_signed_bundle(ca, finance, tmp_path):
    impostor = Authority.init(tmp_path / "impostor", "某市保密局", password=b"p", iterations=1000)
    foreign = [Certificate.from_der(d) for d in impostor.issue(finance.request(), unit_name=FINANCE)]
    data = bundle.build_bundle(ca.test_key, ca.root, foreign, ca.crl(), version=5,
                               issued=x509.utcnow())
    with pytest.raises(InvalidSignature, match=FINANCE):
        bundle.verify_bundle(data, ca.root)


def test_certificate_with_wrong_key_usage_is_refused(ca, tmp_path):
    """A certificate mixing signing and encryption, issued by the real key (here with openssl)."""
    (tmp_path / "ca.key").write_bytes(ca.test_key.to_pem())
    (tmp_path / "ca.pem").write_bytes(ca.root.to_pem())
    office = Office("某镇政府")
    csr = x509.build_request(office.sign, Name.build(office.name), "sign")
    (tmp_path / "u.csr").write_bytes(csr.to_pem())
    (tmp_path / "u.ext").write_text("keyUsage=critical,digitalSignature,keyEncipherment\n"
                                    "authorityKeyIdentifier=keyid\n")
    openssl("x509", "-req", "-in", tmp_path / "u.csr", "-CA", tmp_path / "ca.pem",
            "-CAkey", tmp_path / "ca.key", "-sm3", "-sigopt", DISTID, "-vfyopt", DISTID,
            "-days", "30", "-extfile", tmp_path / "u.ext", "-out", tmp_path / "u.pem")
    mixed = Certificate.from_pem((tmp_path / "u.pem").read_bytes())
    mixed.verify_signature(ca.root)  # genuinely issued by the authority
    data = bundle.build_bundle(ca.test_key, ca.root, [mixed], ca.crl(), version=1,
                               issued=x509.utcnow())
    with pytest.raises(WrongKeyUsage, match="某镇政府.*digitalSignature, keyEncipherment") as exc:
        bundle.verify_bundle(data, ca.root)
    assert isinstance(exc.value, PolicyError) and exc.value.context["unit"] == "某镇政府"


def test_authority_certificates_inside_the_bundle_are_never_units(ca, tmp_path):
    other = Authority.init(tmp_path / "other", "某县保密局", password=b"p", iterations=1000)
    data = bundle.build_bundle(ca.test_key, ca.root, [ca.root, other.root], ca.crl(),
                               version=1, issued=x509.utcnow())
    assert bundle.verify_bundle(data, ca.root).units == ()
    # nor may a CA listed there publish unless it chains to the pinned one
    forged = bundle.build_bundle(ca.test_key, other.root, [other.root], ca.crl(), version=1,
                                 issued=x509.utcnow())
    with pytest.raises(UntrustedSender):
        bundle.verify_bundle(forged, ca.root)


def test_expired_certificate_is_refused(ca, finance):
    long_ago = x509.utcnow() - timedelta(days=400)
    expired = [Certificate.from_der(d)
               for d in ca.issue(finance.request(), unit_name=FINANCE, validity_days=365, now=long_ago)]
    assert ca.publish() and bundle.verify_bundle(ca.publish(), ca.root).units == ()
    data = bundle.build_bundle(ca.test_key, ca.root, expired, ca.crl(), version=9,
                               issued=x509.utcnow())
    with pytest.raises(ExpiredCertificate, match=f"certificate of {FINANCE}.*not valid on") as exc:
        bundle.verify_bundle(data, ca.root)
    assert exc.value.context["unit"] == FINANCE


def test_unsorted_or_duplicate_certificates_are_refused(ca, finance):
    sign, enc = (Certificate.from_der(d) for d in ca.issue(finance.request(), unit_name=FINANCE))
    signed = t.strict_decode(bundle.build_bundle(ca.test_key, ca.root, [sign, enc], ca.crl(),
                                                 version=1, issued=x509.utcnow()),
                             t.SignedDirectory(), "b")
    tbs = signed["tbsDirectory"]
    first = tbs["certificates"][0]
    tbs["certificates"].append(first)
    signed["signature"] = t.univ.BitString.fromOctetString(ca.test_key.sign(t.encode(tbs)))
    with pytest.raises(MalformedInput, match="increasing serial"):
        bundle.verify_bundle(t.encode(signed), ca.root)


def test_unknown_format_is_refused(ca):
    signed = t.strict_decode(ca.publish(), t.SignedDirectory(), "b")
    signed["tbsDirectory"]["format"] = "smseal-directory-v2"
    signed["signature"] = t.univ.BitString.fromOctetString(
        ca.test_key.sign(t.encode(signed["tbsDirectory"])))
    with pytest.raises(MalformedInput, match="unknown directory bundle format"):
        bundle.verify_bundle(t.encode(signed), ca.root)


def test_garbage_is_refused(ca):
    for junk in (b"", b"\x30", b"\x30\x00", b"hello", b"\x30\x84\xff\xff\xff\xff",
                 b"\x30" * 100_000):
        with pytest.raises(MalformedInput):
            bundle.verify_bundle(junk, ca.root)


# --- rotation -------------------------------------------------------------------------------

def test_rotation_keeps_both_generations_and_picks_the_newest(ca, finance):
    t1 = x509.utcnow() - timedelta(days=10)
    old = [Certificate.from_der(d) for d in ca.issue(finance.request(), unit_name=FINANCE, now=t1)]
    new_office = Office(FINANCE)
    new = [Certificate.from_der(d) for d in ca.issue(new_office.request(), unit_name=FINANCE, rotate=True)]
    d = bundle.verify_bundle(ca.publish(), ca.root)
    unit = d.unit(FINANCE)
    assert unit.signing == (new[0], old[0]) and unit.encryption == (new[1], old[1])
    assert unit.encryption_key == new_office.enc.public_key()
    now = x509.utcnow()
    assert d.pick(FINANCE, "enc", now) == new[1]
    assert d.pick(FINANCE, "sign", t1 + timedelta(days=1)) == old[0]  # new one not yet valid
    # the old generation is retired: superseded keeps old signatures verifiable
    ca.revoke(x509.serial_hex(old[0].serial), "superseded")
    ca.revoke(old[1].serial, "superseded")
    d2 = bundle.verify_bundle(ca.publish(), ca.root, installed_version=d.version)
    assert d2.unit(FINANCE).signing == (new[0],)
    x509.check_certificate(old[0], t1 + timedelta(days=1), d2.crl, usage="sign")
    with pytest.raises(RevokedKey, match="superseded"):
        x509.check_certificate(old[0], x509.utcnow() + timedelta(seconds=1), d2.crl)


def test_pick_reports_why_nothing_qualifies(ca, finance):
    ca.issue(finance.request(), unit_name=FINANCE)
    d = bundle.verify_bundle(ca.publish(), ca.root)
    with pytest.raises(ExpiredCertificate, match=FINANCE):
        d.pick(FINANCE, "sign", x509.utcnow() + timedelta(days=800))


# --- request and certificates files ---------------------------------------------------------

def test_request_file_checks(finance):
    good = finance.request()
    req = bundle.parse_request(good)
    assert req.name == FINANCE and req.signing.usage == "sign" and req.encryption.usage == "enc"
    blocks = x509.pem_blocks(good, "CERTIFICATE REQUEST")
    pem = [x509.pem_encode("CERTIFICATE REQUEST", b) for b in blocks]
    assert bundle.parse_request(pem[1] + pem[0]).name == FINANCE  # order does not matter
    with pytest.raises(MalformedInput, match="holds 1"):
        bundle.parse_request(pem[0])
    with pytest.raises(MalformedInput, match="one signing and one encryption"):
        bundle.parse_request(pem[0] + pem[0])
    other = x509.build_request(finance.enc, Name.build("别的单位"), "enc")
    with pytest.raises(MalformedInput, match="different units"):
        bundle.parse_request(pem[0] + other.to_pem())
    same_key = x509.build_request(finance.sign, Name.build(FINANCE), "enc")
    with pytest.raises(MalformedInput, match="same key"):
        bundle.parse_request(pem[0] + same_key.to_pem())
    tampered = bytearray(blocks[0])
    tampered[-10] ^= 1
    with pytest.raises(SmsealError):
        bundle.parse_request(x509.pem_encode("CERTIFICATE REQUEST", bytes(tampered)) + pem[1])
    with pytest.raises(ValueError):
        bundle.make_request(Name.build(FINANCE), finance.sign, finance.sign)


def test_certificates_file_checks(ca, finance, tmp_path):
    text = ca.issue_file(finance.request(), unit_name=FINANCE)
    assert text.count(b"-----BEGIN CERTIFICATE-----") == 3
    other = Authority.init(tmp_path / "other", "某市保密局", password=b"p", iterations=1000)
    with pytest.raises(UntrustedSender, match="not by the trusted authority"):
        bundle.parse_unit_certificates(text, pinned_root=other.root)
    with pytest.raises(ExpiredCertificate):
        bundle.parse_unit_certificates(text, now=x509.utcnow() + timedelta(days=1000))
    blocks = x509.pem_blocks(text, "CERTIFICATE")
    in_order = bundle.parse_unit_certificates(text)
    for order in ((1, 0, 2), (2, 1, 0), (0, 2, 1)):  # any order, as `cat` makes it
        swapped = b"".join(x509.pem_encode("CERTIFICATE", blocks[i]) for i in order)
        assert bundle.parse_unit_certificates(swapped) == in_order
    without_root = b"".join(x509.pem_encode("CERTIFICATE", b) for b in blocks[:2])
    with pytest.raises(MalformedInput, match="exactly one root"):
        bundle.parse_unit_certificates(without_root)
    assert bundle.parse_unit_certificates(without_root, pinned_root=ca.root) == in_order
    with pytest.raises(MalformedInput, match="2 signing and 0 encryption"):
        bundle.parse_unit_certificates(x509.pem_encode("CERTIFICATE", blocks[0]) * 2)


def _openssl_request(tmp_path, subj: str) -> bytes:
    """A unit request made with the openssl command only (two keys, two CSRs)."""
    out = b""
    for usage, ku in (("sign", "digitalSignature,nonRepudiation"),
                      ("enc", "keyEncipherment,keyAgreement")):
        key = tmp_path / f"{usage}.key"
        openssl("genpkey", "-algorithm", "SM2", "-out", key)
        out += openssl("req", "-new", "-key", key, "-sm3", "-sigopt", DISTID, "-utf8",
                       "-subj", subj, "-addext", f"keyUsage=critical,{ku}")
    return out


def test_request_made_with_openssl_is_certified(ca, tmp_path):
    certs = ca.issue(_openssl_request(tmp_path, f"/C=CN/O=某市/CN={FINANCE}"), unit_name=FINANCE)
    sign = Certificate.from_der(certs[0])
    assert sign.subject == Name.build(FINANCE, organization="某市", country="CN")
    key = sm2.PrivateKey.from_pem((tmp_path / "sign.key").read_bytes())
    assert sign.public_key == key.public_key() and sign.usage == "sign"


def test_issue_checks_the_unit_name_and_subject(ca, tmp_path, finance):
    with pytest.raises(PolicyError, match=f"for {FINANCE}, not for 某县档案局"):
        ca.issue(finance.request(), unit_name="某县档案局")
    with pytest.raises(PolicyError, match="emailAddress|1.2.840.113549.1.9.1"):
        ca.issue(_openssl_request(tmp_path, f"/CN={FINANCE}/emailAddress=cz@example.cn"), unit_name=FINANCE)
    assert ca.certificates() == []
