"""Live tests against a real vendor token; skipped unless one is configured.

    SMSEAL_TEST_PKCS11_MODULE=/path/to/vendor-pkcs11.so
    SMSEAL_TEST_PKCS11_TOKEN=<token label>       SMSEAL_TEST_PKCS11_PIN=<user PIN>
    SMSEAL_TEST_PKCS11_PROFILE=sansec|koal|...   (default softhsm2/ec-derive)

The tests generate keys on that token (labels starting "smseal-live-") and
destroy them afterwards.
"""

from __future__ import annotations

import os
import secrets

import pytest

from smseal.keystore.pkcs11 import TokenKey, TokenSession
from smseal.keystore.pkcs11_profiles import get_profile
from smseal.keystore.pkcs11_uri import Pkcs11Uri

MODULE = os.environ.get("SMSEAL_TEST_PKCS11_MODULE")
pytestmark = pytest.mark.skipif(not MODULE, reason="no vendor PKCS#11 module configured "
                                                   "(set SMSEAL_TEST_PKCS11_MODULE, _TOKEN, _PIN, _PROFILE)")


@pytest.fixture
def vendor():
    uri = Pkcs11Uri(token=os.environ.get("SMSEAL_TEST_PKCS11_TOKEN"), module_path=MODULE)
    pin = os.environ.get("SMSEAL_TEST_PKCS11_PIN", "").encode()
    profile = get_profile(os.environ.get("SMSEAL_TEST_PKCS11_PROFILE"))
    label = f"smseal-live-{secrets.token_hex(4)}"
    with TokenSession(uri, passphrase=lambda p: pin) as ts:
        yield ts, profile, label, (lambda p: pin)
        ts.destroy(label, None)


def test_vendor_decrypt(vendor):
    ts, profile, label, cb = vendor
    public, where = ts.generate(profile, "enc", label)
    with TokenKey.open(where, profile=profile, passphrase=cb, expected=public) as key:
        assert key.decrypt(public.encrypt(b"k" * 32)) == b"k" * 32


def test_vendor_sign(vendor):
    ts, profile, label, cb = vendor
    if not profile.can_sign:
        pytest.skip(f"profile {profile.name} has no SM2 signing mechanism")
    public, where = ts.generate(profile, "sign", label)
    with TokenKey.open(where, profile=profile, passphrase=cb, expected=public) as key:
        sig = key.sign(b"live vendor test")
        public.verify(sig, b"live vendor test")
