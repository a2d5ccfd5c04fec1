"""keystore.x509: round trips, strict parsing of hostile input, and the certificate policy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st
from pyasn1.type import univ

from smseal.keystore import asn1_types as t
from smseal.keystore import x509
from smseal.keystore.x509 import CRL, Certificate, CertificationRequest, Name, RevokedEntry, WrongKeyUsage
from shangmi import (ExpiredCertificate, InvalidSignature, MalformedInput, PolicyError,
                     RevokedKey, SmsealError, sm2)

T0 = datetime(2027, 3, 1, 8, 0, 0, tzinfo=timezone.utc)
UNIT = "赤峰市人民政府办公室"
ROOT_KEY = sm2.PrivateKey.generate()
ROOT = x509.issue_certificate(ROOT_KEY, None, Name.build("某市保密局", country="CN"),
                              ROOT_KEY.public_key(), serial=1, not_before=T0,
                              not_after=T0 + timedelta(days=3650), profile="root")


def _unit_cert(profile="sign", serial=0x1234, days=365, subject=UNIT, key=None):
    key = key or sm2.PrivateKey.generate()
    return x509.issue_certificate(ROOT_KEY, ROOT, Name.build(subject), key.public_key(),
                                  serial=serial, not_before=T0,
                                  not_after=T0 + timedelta(days=days), profile=profile)


SIGN = _unit_cert("sign", 0x51)
ENC = _unit_cert("enc", 0x52)


def _resign(der: bytes, mutate, key=ROOT_KEY) -> bytes:
    """Decode a certificate, let ``mutate`` change its TBS, sign it again with ``key``."""
    cert = t.strict_decode(der, t.Certificate(), "test")
    mutate(cert["tbsCertificate"])
    cert["signature"] = univ.BitString.fromOctetString(key.sign(t.encode(cert["tbsCertificate"])))
    return t.encode(cert)


def _set_extension(tbs, oid: str, value: bytes, critical: bool):
    exts = [e for e in tbs["extensions"] if str(e["extnID"]) != oid]
    exts.append(x509.extension(oid, value, critical))
    tbs["extensions"] = x509.extensions_of(exts, tbs["extensions"])


# --- round trips -------------------------------------------------------------------------------

def test_certificate_round_trip_fields():
    cert = Certificate.from_der(SIGN.der)
    assert cert == SIGN and cert.der == SIGN.der
    assert cert.unit_name == UNIT and cert.issuer == ROOT.subject
    assert cert.serial == 0x51 and cert.not_before == T0
    assert cert.usage == "sign" and cert.key_usage == {"digitalSignature", "nonRepudiation"}
    assert not cert.is_ca and cert.path_len is None
    assert cert.subject_key_id == cert.public_key.fingerprint()[:20]
    assert cert.subject_key_id[:16] == cert.public_key.key_id()
    assert cert.authority_key_id == ROOT.subject_key_id
    assert ENC.usage == "enc"
    assert ENC.key_usage == {"keyEncipherment", "dataEncipherment", "keyAgreement"}
    assert ROOT.usage == "root" and ROOT.is_ca and ROOT.path_len == 0
    assert Certificate.from_pem(SIGN.to_pem()) == SIGN
    SIGN.verify_signature(ROOT)
    ROOT.verify_signature(ROOT)
    assert "PrivateKey" not in repr(SIGN)


def test_times_after_2049_use_generalized_time():
    late = datetime(2051, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert x509.encode_time(late).getName() == "generalTime"
    assert x509.encode_time(T0).getName() == "utcTime"
    cert = _unit_cert(days=(late - T0).days)
    assert cert.not_after.year == 2051 and Certificate.from_der(cert.der) == cert


def test_names_are_utf8_and_checked():
    name = Name.build("某市财政局", organization="某市", unit="办公室", country="CN")
    assert str(name) == "C=CN, O=某市, OU=办公室, CN=某市财政局"
    assert name.common_name == "某市财政局" and name.get("OU") == "办公室"
    assert b"\x0c\x0f" + "某市财政局".encode() in name.der  # UTF8String
    assert b"\x13\x02CN" in name.der                         # PrintableString country
    for bad in ("", " ", "a\nb", "x" * 65, "a\x00"):
        with pytest.raises(ValueError):
            Name.build(bad)
    with pytest.raises(ValueError):
        Name.build("u", country="China")


def test_request_round_trip_and_usage():
    key = sm2.PrivateKey.generate()
    for usage in ("sign", "enc"):
        req = x509.build_request(key, Name.build(UNIT), usage)
        again = CertificationRequest.from_pem(req.to_pem())
        again.verify()
        assert again.usage == usage and again.public_key == key.public_key()
        assert again.subject.common_name == UNIT


def test_crl_round_trip():
    entries = [RevokedEntry(0x99, T0, "keyCompromise"), RevokedEntry(0x07, T0, "unspecified"),
               RevokedEntry(0x1000, T0 + timedelta(hours=1), "superseded")]
    crl = x509.issue_crl(ROOT_KEY, ROOT, number=42, this_update=T0,
                         next_update=T0 + timedelta(days=30), revoked=entries)
    again = CRL.from_pem(crl.to_pem())
    again.verify_signature(ROOT)
    assert again.number == 42 and again.issuer == ROOT.subject
    assert again.authority_key_id == ROOT.subject_key_id
    assert again.next_update == T0 + timedelta(days=30)
    assert [e.serial for e in again.revoked] == [0x07, 0x99, 0x1000]
    assert again.lookup(0x99).reason == "keyCompromise" and again.lookup(0x07).reason == "unspecified"
    assert again.lookup(0x08) is None
    empty = x509.issue_crl(ROOT_KEY, ROOT, number=1, this_update=T0,
                           next_update=T0 + timedelta(days=1), revoked=[])
    assert CRL.from_der(empty.der).revoked == ()
    with pytest.raises(ValueError):
        x509.issue_crl(ROOT_KEY, ROOT, number=2, this_update=T0, next_update=T0,
                       revoked=[RevokedEntry(1, T0, "certificateHold")])


# --- strict parsing -------------------------------------------------------------------------

@pytest.mark.parametrize("mutate, error, words", [
    (lambda tbs: tbs.__setitem__("version", 0), MalformedInput, "v3"),
    (lambda tbs: tbs.__setitem__("serialNumber", -5), MalformedInput, "serial"),
    (lambda tbs: tbs.__setitem__("serialNumber", 1 << 160), MalformedInput, "serial"),
    (lambda tbs: tbs["signature"].__setitem__("parameters", univ.Any(b"\x05\x00")),
     MalformedInput, "algorithm"),
    (lambda tbs: tbs["validity"].__setitem__("notAfter", x509.encode_time(T0 - timedelta(1))),
     MalformedInput, "notAfter"),
    (lambda tbs: _set_extension(tbs, "1.2.3.4", b"\x05\x00", True), MalformedInput,
     "unknown critical extension"),
    (lambda tbs: tbs["extensions"].append(tbs["extensions"][0]), MalformedInput, "twice"),
    (lambda tbs: _set_extension(tbs, x509.OID_KEY_USAGE, x509.key_usage_value(
        frozenset({"digitalSignature", "keyEncipherment"})), True), WrongKeyUsage, UNIT),
    (lambda tbs: tbs.__setitem__("subject", t.strict_decode(
        Name.build("x", organization="o").der[:0] + b"\x30\x00", t.X509Name(), "n")),
     MalformedInput, "common name"),
])
def test_bad_certificates_are_refused(mutate, error, words):
    with pytest.raises(error, match=words):
        cert = Certificate.from_der(_resign(SIGN.der, mutate))
        cert.usage  # noqa: B018


def test_unknown_noncritical_extension_is_ignored():
    der = _resign(SIGN.der, lambda tbs: _set_extension(tbs, "1.2.3.4", b"\x05\x00", False))
    Certificate.from_der(der).verify_signature(ROOT)


def test_non_canonical_der_is_refused():
    der = SIGN.der
    # the outer SEQUENCE length in a longer-than-needed form
    body = der[4:]
    for bad in (b"\x30\x83\x00" + der[2:4] + body, der + b"\x00", der[:-1], b"", b"\x31" + der[1:],
                b"\x30\x80" + body + b"\x00\x00"):
        with pytest.raises(MalformedInput):
            Certificate.from_der(bad)
    with pytest.raises(MalformedInput, match="too large"):
        Certificate.from_der(b"\x30" + b"\x00" * (t.MAX_OBJECT_SIZE + 1))


def test_explicit_default_boolean_is_refused():
    """critical FALSE written out is BER, not DER: refused even with a valid signature."""
    der = x509.der
    rd = der.Reader(SIGN.der).sub()
    tbs_items = []
    tbs = rd.sub()
    while not tbs.at_end():
        tbs_items.append(tbs.element())
    exts = der.Reader(tbs_items[-1]).sub(0xA3).sub()
    rebuilt = []
    while not exts.at_end():
        ext = der.Reader(exts.element()).sub()
        oid, rest = ext.element(), []
        while not ext.at_end():
            rest.append(ext.element())
        if len(rest) == 1:  # not critical: write the DEFAULT out
            rest.insert(0, der.tlv(0x01, b"\x00"))
        rebuilt.append(der.seq(oid, *rest))
    tbs_items[-1] = der.tlv(0xA3, der.seq(*rebuilt))
    new_tbs = der.seq(*tbs_items)
    sig = der.tlv(der.BIT_STRING, b"\x00" + ROOT_KEY.sign(new_tbs))
    ber = der.seq(new_tbs, der.seq(der.oid(t.OID_SM2_WITH_SM3)), sig)
    ROOT_KEY.public_key().verify(sig[3:], new_tbs)  # the signature itself is fine
    with pytest.raises(MalformedInput, match="canonical"):
        Certificate.from_der(ber)


@given(st.data())
def test_any_single_byte_change_is_refused(data):
    der = bytearray(SIGN.der)
    i = data.draw(st.integers(0, len(der) - 1), label="position")
    delta = data.draw(st.integers(1, 255), label="xor")
    der[i] ^= delta
    with pytest.raises(SmsealError):
        Certificate.from_der(bytes(der)).verify_signature(ROOT)


def test_signature_by_another_key_is_refused():
    other = sm2.PrivateKey.generate()
    forged = _resign(SIGN.der, lambda tbs: None, key=other)
    with pytest.raises(InvalidSignature, match=UNIT):
        Certificate.from_der(forged).verify_signature(ROOT)
    with pytest.raises(InvalidSignature, match="issued by"):
        SIGN.verify_signature(SIGN)  # not the issuer's name

    def as_root_lookalike(tbs):  # a unit certificate with the root's name and key id
        tbs["subject"] = tbs["issuer"]
        _set_extension(tbs, x509.OID_SUBJECT_KEY_ID, x509.der.octets(ROOT.subject_key_id), False)

    lookalike = Certificate.from_der(_resign(SIGN.der, as_root_lookalike))
    with pytest.raises(InvalidSignature, match="not an authority"):
        ENC.verify_signature(lookalike)


def test_request_with_bad_self_signature_or_no_usage():
    key = sm2.PrivateKey.generate()
    req = x509.build_request(key, Name.build(UNIT), "enc")
    der = bytearray(req.der)
    der[-5] ^= 1
    with pytest.raises(SmsealError):
        CertificationRequest.from_der(bytes(der)).verify()
    parsed = t.strict_decode(req.der, t.CertificationRequest(), "r")
    parsed["certificationRequestInfo"]["attributes"].clear()
    info = parsed["certificationRequestInfo"]
    parsed["signature"] = univ.BitString.fromOctetString(key.sign(t.encode(info)))
    bare = CertificationRequest.from_der(t.encode(parsed))
    bare.verify()
    with pytest.raises(WrongKeyUsage, match="signing or for encryption"):
        bare.usage  # noqa: B018
    other = x509.build_request(sm2.PrivateKey.generate(), Name.build(UNIT), "enc")
    swapped = t.strict_decode(other.der, t.CertificationRequest(), "r")
    swapped["certificationRequestInfo"]["subjectPKInfo"] = x509._spki(key.public_key())
    with pytest.raises(InvalidSignature):
        CertificationRequest.from_der(t.encode(swapped)).verify()


def test_crl_signed_by_another_key_or_altered_is_refused():
    crl = x509.issue_crl(ROOT_KEY, ROOT, number=3, this_update=T0,
                         next_update=T0 + timedelta(days=3),
                         revoked=[RevokedEntry(0x51, T0, "keyCompromise")])
    der = bytearray(crl.der)
    i = crl.der.index(b"\x02\x01\x51")  # the revoked serial
    der[i + 2] = 0x52
    with pytest.raises(InvalidSignature):
        CRL.from_der(bytes(der)).verify_signature(ROOT)
    other_key = sm2.PrivateKey.generate()
    other_root = x509.issue_certificate(other_key, None, ROOT.subject, other_key.public_key(),
                                        serial=1, not_before=T0, not_after=T0 + timedelta(9),
                                        profile="root")
    with pytest.raises(InvalidSignature, match="another key"):
        crl.verify_signature(other_root)


# --- policy ---------------------------------------------------------------------------------

def _crl(*entries):
    return x509.issue_crl(ROOT_KEY, ROOT, number=1, this_update=T0,
                          next_update=T0 + timedelta(days=30), revoked=entries)


def test_check_certificate_accepts_a_good_certificate():
    x509.check_certificate(SIGN, T0 + timedelta(days=10), _crl(), usage="sign")
    x509.check_certificate(ENC, T0 + timedelta(days=10), None, usage="enc")


def test_compromised_key_is_refused_at_any_time():
    """A thief can backdate: keyCompromise and unspecified apply before the revocation date too."""
    revoked_on = T0 + timedelta(days=100)
    for reason in ("keyCompromise", "unspecified"):
        crl = _crl(RevokedEntry(SIGN.serial, revoked_on, reason))
        for at in (T0 + timedelta(days=1), revoked_on + timedelta(days=1)):
            with pytest.raises(RevokedKey, match=f"{UNIT}.*{reason}") as exc:
                x509.check_certificate(SIGN, at, crl, usage="sign")
            assert exc.value.context["unit"] == UNIT and exc.value.context["reason"] == reason


def test_superseded_key_is_refused_only_from_the_revocation_date():
    revoked_on = T0 + timedelta(days=100)
    crl = _crl(RevokedEntry(SIGN.serial, revoked_on, "superseded"))
    x509.check_certificate(SIGN, revoked_on - timedelta(seconds=1), crl, usage="sign")
    with pytest.raises(RevokedKey, match="superseded"):
        x509.check_certificate(SIGN, revoked_on, crl, usage="sign")


def test_expired_and_not_yet_valid_are_refused():
    with pytest.raises(ExpiredCertificate, match=f"{UNIT}.*expired on 2028-02-29") as exc:
        x509.check_certificate(SIGN, T0 + timedelta(days=366), None)
    assert exc.value.context["reason"] == "expired"
    with pytest.raises(ExpiredCertificate, match="not valid before"):
        x509.check_certificate(SIGN, T0 - x509.CLOCK_SKEW - timedelta(seconds=1), None)
    # a PC clock a few minutes behind the CA's still accepts a certificate issued just now
    x509.check_certificate(SIGN, T0 - x509.CLOCK_SKEW, None)


def test_wrong_usage_is_refused():
    with pytest.raises(WrongKeyUsage, match=f"encryption certificate of {UNIT}") as exc:
        x509.check_certificate(SIGN, T0, None, usage="enc")
    assert isinstance(exc.value, PolicyError)
    with pytest.raises(WrongKeyUsage):
        x509.check_certificate(ENC, T0, None, usage="sign")


def test_crl_of_another_issuer_is_refused():
    other_key = sm2.PrivateKey.generate()
    other_root = x509.issue_certificate(other_key, None, Name.build("另一个保密局"),
                                        other_key.public_key(), serial=1, not_before=T0,
                                        not_after=T0 + timedelta(9), profile="root")
    crl = x509.issue_crl(other_key, other_root, number=1, this_update=T0,
                         next_update=T0 + timedelta(days=1), revoked=[])
    with pytest.raises(MalformedInput, match="另一个保密局"):
        x509.check_certificate(SIGN, T0, crl)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        x509.check_certificate(SIGN, datetime(2027, 3, 2), None)


def test_key_usage_must_be_minimal_der():
    assert x509.key_usage_value(frozenset({"digitalSignature"})) == bytes.fromhex("03020780")
    for bad in ("03020080", "0301 00", "030100", "03020700", "0304 07800000"):
        with pytest.raises(MalformedInput):
            x509.parse_key_usage(bytes.fromhex(bad.replace(" ", "")))
