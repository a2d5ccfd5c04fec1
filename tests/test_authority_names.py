"""Review 3, M2: the bureau compares unit names as offices do (NFKC, outer spaces removed).

Before, ``Authority.issue`` and its rotation check compared raw common names, while offices
compare ``normalize_name``: certifying "⾦融局" (Kangxi radical U+2FA6) needed no --rotate, and
offices then read the second set of live certificates as 金融局's.  docs/KEYS.md and
docs/THREATS.md say what these tests show.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shangmi import MalformedInput, PolicyError, sm2
from smseal.keystore import kmc
from smseal.keystore.authority import Authority
from smseal.keystore.bundle import make_request, verify_bundle
from smseal.keystore.x509 import Name, utcnow

REAL = "金融局"
VARIANTS = ("\u2fa6融局", "金融局 ", "\u3000金融局")    # Kangxi radical ⾦; outer spaces


@pytest.fixture
def bureau(tmp_path):
    ca = Authority.init(tmp_path / "ca", "某市保密局", signer=sm2.PrivateKey.generate())
    ca.issue(make_request(Name.build(REAL), sm2.PrivateKey.generate(), sm2.PrivateKey.generate()),
             unit_name=REAL, now=utcnow() - timedelta(days=1))
    return ca


def _request(name: str) -> bytes:
    return make_request(Name.build(name), sm2.PrivateKey.generate(), sm2.PrivateKey.generate())


@pytest.mark.parametrize("variant", VARIANTS)
def test_compatibility_variant_of_a_unit_name_cannot_skip_the_rotation_check(bureau, variant):
    for unit_name in (variant, REAL):
        with pytest.raises(PolicyError) as exc:
            bureau.issue(_request(variant), unit_name=unit_name)
        assert exc.value.code == "unit-name-not-normalised"
    # not even as a confirmed rotation: the bureau certifies the name offices read
    with pytest.raises(PolicyError):
        bureau.issue(_request(variant), unit_name=variant, rotate=True)
    assert len(bureau.current_certificates(REAL)) == 2
    assert len(bureau.current_certificates(variant)) == 2      # the same unit for the bureau too
    # the plain name still needs --rotate, and gets it
    with pytest.raises(PolicyError):
        bureau.issue(_request(REAL), unit_name=REAL)
    bureau.issue(_request(REAL), unit_name=REAL, rotate=True)


def test_escrowed_issue_refuses_a_variant_name_too(bureau):
    escrow = sm2.PrivateKey.generate().public_key()
    with pytest.raises(PolicyError):
        kmc.issue_escrowed(bureau, _request(VARIANTS[0]), escrow_key=escrow, unit_name=VARIANTS[0])


def test_bundle_with_two_units_equal_after_nfkc_is_refused(tmp_path, monkeypatch):
    ca = Authority.init(tmp_path / "ca", "某市保密局", signer=sm2.PrivateKey.generate())
    ca.issue(_request(REAL), unit_name=REAL)
    # an authority that certified a variant before this rule (or another implementation's)
    monkeypatch.setattr("smseal.keystore.authority.require_normal_form", lambda unit: None, raising=False)
    monkeypatch.setattr("smseal.keystore.skeleton.refuse_confusable", lambda unit, known: None, raising=False)
    ca.issue(_request(VARIANTS[0]), unit_name=VARIANTS[0])
    with pytest.raises(MalformedInput) as exc:
        verify_bundle(ca.publish(), ca.root)
    assert "NFKC" in str(exc.value)
