"""Review L1-L3 of the libgcrypt binding: every bytes-like input is hashed and encrypted as its
bytes, identically on libgcrypt and pyca's OpenSSL; packages seal from streams returning
bytearray or memoryview on both backends; libgcrypt older than 1.10.0 is refused.

Known answers: GB/T 32905-2016 Appendix A examples 1 and 2 (tests/vectors/sm3.txt), fed as
arrays of several item sizes.  Every other expectation is the same bytes passed as ``bytes``.
"""

from __future__ import annotations

import array
import io
from contextlib import contextmanager

import pytest
from cryptography.hazmat.primitives import hashes
from hypothesis import given
from hypothesis import strategies as st

from shangmi import BackendError, _gcrypt, sm3, sm4_batch
from smseal.envelope import Package, open_stream, seal
from tests.testkit.kit import SENDER, TO, TRUSTED

GCRYPT = _gcrypt.load()           # scripts/test installs libgcrypt20: it must load here
SM4 = {"libgcrypt": GCRYPT.sm4_gcm, "openssl": sm4_batch.OpenSSLBatch("selected by the test")}
SM3 = {"libgcrypt": GCRYPT.sm3, "openssl": lambda: hashes.Hash(hashes.SM3())}

ABC = bytes.fromhex("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
ABCD16 = bytes.fromhex("debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")
# Item sizes 1, 2, 4 and 8 (and floats): len() of each is not its size in bytes.
TYPECODES = ["b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "f", "d"]


@contextmanager
def backends(name):
    """Both sm4_batch and sm3.SM3 on the backend ``name``."""
    saved = sm4_batch._backend, sm3._new_hash
    sm4_batch._backend, sm3._new_hash = SM4[name], SM3[name]
    try:
        yield
    finally:
        sm4_batch._backend, sm3._new_hash = saved


def as_kind(raw: bytes, kind: str):
    """(a bytes-like object of the given kind, the bytes it stands for)."""
    if kind.startswith("array-"):
        return array.array(kind[6:], raw), raw
    if kind.startswith("cast-"):
        return memoryview(raw).cast(kind[5:]), raw
    if kind == "cast-2d":
        return memoryview(raw).cast("B", [2, len(raw) // 2]), raw
    if kind == "strided-bytes":
        return memoryview(raw)[::2], raw[::2]
    if kind == "strided-bytearray":
        return memoryview(bytearray(raw))[1::3], raw[1::3]
    if kind == "strided-array":
        return memoryview(array.array("I", raw))[::2], b"".join(raw[i:i + 4] for i in range(0, len(raw), 8))
    if kind == "reversed":
        return memoryview(bytearray(raw))[::-1], raw[::-1]
    return {"bytes": bytes, "bytearray": bytearray, "memoryview": memoryview,
            "memoryview-bytearray": lambda r: memoryview(bytearray(r))}[kind](raw), raw


KINDS = (["bytes", "bytearray", "memoryview", "memoryview-bytearray", "strided-bytes", "strided-bytearray",
          "strided-array", "reversed"] + [f"array-{t}" for t in TYPECODES] + ["cast-H", "cast-I", "cast-Q"])
# Whole 8-byte items, so every array and cast kind can hold them.
raws = st.integers(0, 300).flatmap(lambda n: st.binary(min_size=8 * n, max_size=8 * n))


@pytest.mark.parametrize("name", SM3)
@pytest.mark.parametrize("typecode", TYPECODES)
def test_gb_t_32905_known_answers_from_arrays(name, typecode):
    """Example 2 is 64 bytes: 64, 32, 16 or 8 items depending on the item size."""
    with backends(name):
        assert sm3.SM3(array.array(typecode, b"abcd" * 16)).digest() == ABCD16
        h = sm3.SM3()
        h.update(memoryview(b"abc").cast("B"))
        assert h.digest() == ABC
        h = sm3.SM3()
        h.update(memoryview(b"abcd" * 16).cast("I"))
        assert h.digest() == ABCD16
    g = GCRYPT.sm3()                                         # the binding itself, not only the wrapper
    g.update(array.array(typecode, b"abcd" * 16))
    assert g.finalize() == ABCD16


@given(st.lists(st.tuples(raws, st.sampled_from(KINDS)), max_size=5))
def test_sm3_hashes_the_bytes_of_any_buffer_on_both_backends(pieces):
    expected = sm3.SM3()
    for raw, kind in pieces:
        expected.update(as_kind(raw, kind)[1])        # the bytes the buffer stands for, as bytes
    for name in SM3:
        with backends(name):
            h = sm3.SM3()
            for raw, kind in pieces:
                h.update(as_kind(raw, kind)[0])
            assert h.digest() == expected.digest(), name
        g = SM3[name]()
        if name == "libgcrypt":                              # the binding itself takes them too
            for raw, kind in pieces:
                g.update(as_kind(raw, kind)[0])
            assert g.finalize() == expected.digest()
    joined = b"".join(as_kind(raw, kind)[1] for raw, kind in pieces)
    assert sm3.digest(joined) == expected.digest()


@pytest.mark.parametrize("kind", KINDS)
def test_sm3_digest_takes_every_kind(kind):
    raw = bytes(range(64))
    buf, meant = as_kind(raw, kind)
    assert sm3.digest(buf) == sm3.digest(meant) == sm3.SM3(buf).digest()


def test_sm3_refuses_what_is_not_bytes_like_on_both_backends():
    for name in SM3:
        with backends(name):
            for bad in ("abc", 3, [1, 2]):
                with pytest.raises(TypeError):
                    sm3.SM3().update(bad)


@given(st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16), raws, raws,
       st.sampled_from(KINDS), st.sampled_from(KINDS))
def test_sm4_batch_takes_the_bytes_of_any_buffer_on_both_backends(key, nonce16, raw, aad, kind, akind):
    nonce = nonce16[:12]
    ref = b"".join(bytes(p) for p in SM4["openssl"].seal_many(key, [(nonce, as_kind(raw, kind)[1])],
                                                             as_kind(aad, akind)[1] or None))
    for name, be in SM4.items():
        with backends(name):
            buf, _ = as_kind(raw, kind)
            args = (array.array("I", key), [(memoryview(nonce).cast("I"), buf)], as_kind(aad, akind)[0] or None)
            for sealed in (sm4_batch.seal_many(*args), be.seal_many(*args)):
                assert b"".join(bytes(p) for p in sealed) == ref, name
            spread = memoryview(bytearray(x for b in ref for x in (b, 0)))[::2]     # strided, shows ref
            cts = [array.array("B", ref), spread] + ([array.array("I", ref)] if len(ref) % 4 == 0 else [])
            for ct in cts:
                for opener in (sm4_batch.open_many, be.open_many):
                    opened = opener(array.array("I", key), [(nonce, ct)], as_kind(aad, akind)[0] or None)
                    assert b"".join(bytes(p) for p in opened) == as_kind(raw, kind)[1], name


class _Reads:
    """A binary stream whose read() returns another type than bytes (an upload, a mmap)."""

    def __init__(self, data: bytes, kind) -> None:
        self._f, self._kind = io.BytesIO(data), kind

    def read(self, n: int = -1):
        return self._kind(self._f.read(n))

    def close(self) -> None:
        pass


@pytest.mark.parametrize("name", SM4)
@pytest.mark.parametrize("kind", [bytearray, memoryview, lambda b: memoryview(bytearray(b))])
@pytest.mark.parametrize("size", [0, 5, 70_000, 200_001])
def test_seal_a_stream_returning_bytearray_or_memoryview(name, kind, size):
    """Review L2: the sized stream's pieces go straight to SM4 and SM3; both backends, both ways."""
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    with backends(name):
        buf = io.BytesIO()
        seal(Package(("main.txt", b"main"), [("big.bin", _Reads(data, kind), size)]),
             sender=SENDER, to=TO.public_key(), out=buf)
    for opener in SM4:
        with backends(opener), open_stream(buf.getvalue(), key=TO, trusted=TRUSTED) as res:
            assert [f.read() for f in res.files] == [b"main", data]


@pytest.mark.parametrize("version", ["1.8.11", "1.9.0", "1.9.4", "1.9", "0.99.0", "1", "", "beta", "1.x.0",
                                     "(unknown)"])
def test_libgcrypt_older_than_1_10_is_refused(version):
    """Review L3: 1.9.0 has CVE-2021-3345 (heap overflow in hashing); before 1.9 there is no SM4."""
    assert _gcrypt.version_tuple(version) is None or _gcrypt.version_tuple(version) < (1, 10, 0)
    with pytest.raises(BackendError, match="older than 1.10.0"):
        _gcrypt.check_version(version)


@pytest.mark.parametrize("version,parsed", [("1.10.0", (1, 10, 0)), ("1.10", (1, 10, 0)), ("1.10.1", (1, 10, 1)),
                                            ("1.11.0-beta3", (1, 11, 0)), ("2.0.0", (2, 0, 0))])
def test_libgcrypt_1_10_and_newer_is_accepted(version, parsed):
    assert _gcrypt.version_tuple(version) == parsed
    _gcrypt.check_version(version)


def test_the_loader_applies_the_minimum_to_the_installed_library(monkeypatch):
    monkeypatch.setattr(_gcrypt, "_MIN_VERSION", (99, 0, 0))
    with pytest.raises(BackendError, match=f"libgcrypt {GCRYPT.version} is older than 99.0.0"):
        _gcrypt._load()
    monkeypatch.undo()
    assert _gcrypt._load().version == GCRYPT.version
