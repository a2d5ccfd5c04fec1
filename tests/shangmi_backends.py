"""A fixture that runs a test once per SM2 backend (OpenSSL libcrypto and pure Python)."""

from __future__ import annotations

import pytest

from shangmi import _sm2_openssl, _sm2_pure, sm2

_OPENSSL = None


def _openssl():
    global _OPENSSL
    if _OPENSSL is None:
        _OPENSSL = _sm2_openssl.load()
    return _OPENSSL


_PURE = _sm2_pure.PureBackend("selected by the test")


@pytest.fixture(params=["openssl", "pure-python"])
def sm2_backend(request, monkeypatch):
    be = _openssl() if request.param == "openssl" else _PURE
    monkeypatch.setattr(sm2, "_backend", be)
    return be


def use(name: str):
    return _openssl() if name == "openssl" else _PURE
