"""A wrong passphrase is always WrongPassphrase, never 'damaged key' (about one wrong passphrase
in 256 passes the SM4-CBC padding check; the strict parse of the result must catch it)."""

from __future__ import annotations

import pytest

from shangmi import sm2
from shangmi.errors import WrongPassphrase


def test_wrong_passphrases_that_pass_the_padding_check_are_still_wrong_passphrases():
    key = sm2.PrivateKey.generate()
    pem = key.to_pem(b"right", iterations=1000)
    for i in range(1500):  # ~6 of these pass the padding check by chance
        with pytest.raises(WrongPassphrase):
            sm2.PrivateKey.from_pem(pem, password=f"wrong {i}".encode())
    assert sm2.PrivateKey.from_pem(pem, password=b"right").public_key() == key.public_key()
