"""Receipts (签收回执) and the armor codec."""

from __future__ import annotations

import io

import pytest

from smseal.envelope import Package, make_receipt, open_package, seal, verify_receipt
from smseal.envelope import armor
from smseal.envelope.receipt import Receipt
from shangmi.errors import InvalidSignature, MalformedPackage, UntrustedSender, VerificationError
from tests.testkit.kit import CC, INSIDER_SIGNER, OUTSIDER, SENDER, TO, TRUSTED

TO_SIGNER = OUTSIDER      # stands in for the main recipient unit's signing key


@pytest.fixture
def opened(tmp_path):
    buf = io.BytesIO()
    sr = seal(Package(("a.txt", b"hello")), sender=SENDER, to=TO.public_key(),
              cc=[CC.public_key()], out=buf)
    res = open_package(buf.getvalue(), key=TO, trusted=TRUSTED, out_dir=tmp_path / "o")
    return buf.getvalue(), sr, res


def test_receipt_verifies_against_package_and_records(opened, tmp_path):
    pkg, sr, res = opened
    assert sr.package_digest == res.package_digest
    r = make_receipt(res, signer=TO_SIGNER)
    (tmp_path / "r.asc").write_bytes(r.armor())
    forms = (lambda: r, r.to_bytes, r.armor, lambda: r.armor().decode().encode(),
             lambda: str(tmp_path / "r.asc"), lambda: tmp_path / "r.asc", lambda: io.BytesIO(r.to_bytes()))
    for form in forms:
        for package in (pkg, sr, res):
            info = verify_receipt(form(), package=package, trusted=[TO_SIGNER.public_key()])
            assert info.package_id == sr.package_id and info.recipient_key_id == TO.public_key().key_id()
            assert info.status == "received"
    assert Receipt.from_bytes(r.to_bytes()).to_bytes() == r.to_bytes()


def test_receipt_refusals(opened, tmp_path):
    pkg, sr, res = opened
    r = make_receipt(res, signer=TO_SIGNER)
    with pytest.raises(UntrustedSender):
        verify_receipt(r, package=sr, trusted=[INSIDER_SIGNER.public_key()])
    bad = bytearray(r.to_bytes())
    bad[-1] ^= 1
    with pytest.raises(InvalidSignature):
        verify_receipt(bytes(bad), package=sr, trusted=[TO_SIGNER.public_key()])
    other = io.BytesIO()
    seal(Package(("a.txt", b"hello")), sender=SENDER, to=TO.public_key(), out=other)
    with pytest.raises(VerificationError):
        verify_receipt(r, package=other.getvalue(), trusted=[TO_SIGNER.public_key()])
    for cut in (0, 5, 12, len(r.to_bytes()) - 1):
        with pytest.raises(MalformedPackage):
            Receipt.from_bytes(r.to_bytes()[:cut])
    with pytest.raises(MalformedPackage):
        Receipt.from_bytes(r.to_bytes() + b"\x00")


def test_receipt_for_a_key_not_addressed(opened):
    pkg, sr, res = opened
    forged = make_receipt(res, signer=INSIDER_SIGNER)
    ok = verify_receipt(forged, package=sr, trusted=[INSIDER_SIGNER.public_key()])
    assert ok.signer_key == INSIDER_SIGNER.public_key()   # the ledger must compare the unit
    import dataclasses
    draft = dataclasses.replace(res, recipient_key_id=b"\x00" * 16)
    with pytest.raises(VerificationError):
        verify_receipt(make_receipt(draft, signer=TO_SIGNER), package=sr, trusted=[TO_SIGNER.public_key()])


@pytest.mark.parametrize("n", [1, 2, 3, 47, 48, 49, 95, 96, 97, 1000])
def test_armor_round_trip_canonical(n):
    data = bytes(range(256)) * (n // 256 + 1)
    text = armor.encode(data[:n], armor.PACKAGE)
    assert armor.decode(text, armor.PACKAGE) == data[:n]
    lines = text.split(b"\n")
    assert all(len(x) == 64 for x in lines[1:-3]) and 0 < len(lines[-3]) <= 64
    assert armor.decode(text.replace(b"\n", b"\r\n"), armor.PACKAGE) == data[:n]


@pytest.mark.parametrize("edit", [
    lambda t: t.replace(b"-----\n", b"-----\n ", 1),            # space at a line start
    lambda t: t.replace(b"\n-----END", b" \n-----END", 1),       # trailing space on the last line
    lambda t: t.replace(b"-----BEGIN", b"-----BEGIN ", 1),
    lambda t: t[:-1],                                             # END without newline
    lambda t: t + b"x",
    lambda t: t.replace(b"A", b"-", 1),
])
def test_armor_strict(edit):
    text = armor.encode(bytes(range(200)), armor.PACKAGE)
    with pytest.raises(MalformedPackage):
        armor.decode(edit(text), armor.PACKAGE)
