"""RFC 7512 pkcs11: URIs."""

from __future__ import annotations

import pytest

from smseal.keystore.pkcs11_uri import InvalidPkcs11Uri, Pkcs11Uri


def test_parse_rfc7512_examples():
    # examples from RFC 7512 section 3.3
    u = Pkcs11Uri.parse("pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;"
                        "model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;"
                        "serial=?pin-source=file:/etc/token_pin")
    assert u.token == "The Software PKCS#11 Softtoken"
    assert u.manufacturer == "Snake Oil, Inc."
    assert u.id == bytes.fromhex("69953e5cf4bdec91") and u.type == "cert" and u.serial == ""
    assert u.pin_source == "file:/etc/token_pin"
    u = Pkcs11Uri.parse("pkcs11:object=my-sign-key;type=private?module-name=mypkcs11")
    assert (u.object, u.type, u.module_name) == ("my-sign-key", "private", "mypkcs11")
    u = Pkcs11Uri.parse("pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc."
                        "?pin-value=the-pin")
    assert u.pin_value == "the-pin"
    assert Pkcs11Uri.parse("pkcs11:") == Pkcs11Uri()
    assert Pkcs11Uri.parse("pkcs11:slot-id=5").slot_id == 5


def test_chinese_labels_and_round_trip():
    u = Pkcs11Uri(token="赤峰市", object="smseal enc-1 赤峰市人民政府办公室", id=b"\x00\xff;?",
                  module_path="/usr/lib/softhsm/libsofthsm2.so")
    text = str(u)
    assert text.startswith("pkcs11:token=%E8%B5%A4") and "?module-path=/usr/lib/softhsm/libsofthsm2.so" in text
    assert "id=%00%FF%3B%3F" in text
    assert Pkcs11Uri.parse(text) == u


def test_pin_never_shown():
    u = Pkcs11Uri.parse("pkcs11:token=t?pin-value=s3cr%65t")
    assert u.pin_value == "s3cret"
    assert "s3cr" not in str(u) and "s3cr" not in repr(u)
    assert "pin-value=s3cret" in u.to_string(include_pin=True)
    assert u.without_pin().pin_value is None


@pytest.mark.parametrize("bad", [
    "pkcs12:token=x", "token=x", "pkcs11:token=a;token=b", "pkcs11:token", "pkcs11:Token=x",
    "pkcs11:token=%zz", "pkcs11:token=%4", "pkcs11:token=a b", "pkcs11:token=a/b", "pkcs11:bogus=1",
    "pkcs11:pin-value=1", "pkcs11:token=x?object=y", "pkcs11:type=secret", "pkcs11:slot-id=abc",
    "pkcs11:id=", "pkcs11:token=%FF", "pkcs11:token=\u8d64", "pkcs11:" + "a" * 9000,
])
def test_malformed(bad):
    with pytest.raises(InvalidPkcs11Uri):
        Pkcs11Uri.parse(bad)


def test_vendor_attributes_kept():
    u = Pkcs11Uri.parse("pkcs11:token=t;x-vendor=abc")
    assert u.vendor == (("x-vendor", "abc"),)
    assert Pkcs11Uri.parse(str(u)) == u
