"""Regressions from the security review: hostile payload plaintext that an outsider
(holding only public keys) can build, refused quickly and without leaving anything behind."""

from __future__ import annotations

import os

import pytest

from smseal import envelope
from shangmi import InvalidSignature, MalformedPackage
from tests.testkit.kit import TO, TRUSTED, build, draft


@pytest.mark.parametrize("signed", [False, True])
def test_zero_length_metadata_is_refused_not_a_hang(tmp_path, signed):
    d = draft(meta_bytes=b"\x00\x00\x00\x00", files=(("x.txt", b"A"),))
    pkg = build(d) if signed else build(d, signature=b"\x01" * 64)
    with pytest.raises((MalformedPackage, InvalidSignature)):
        envelope.open_package(pkg, key=TO, trusted=TRUSTED, out_dir=tmp_path / "o")
    assert os.listdir(tmp_path) == []
