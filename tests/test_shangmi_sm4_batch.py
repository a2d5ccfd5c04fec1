"""shangmi.sm4_batch and the libgcrypt accelerator (shangmi._gcrypt) give the same bytes as
pyca's OpenSSL and the ``openssl`` command, both ways, and the envelope opens across backends.

Sources of the known answers: RFC 8998 Appendix A.1 (SM4-GCM, tests/vectors/sm4-gcm.txt) and
GB/T 32905-2016 Appendix A (SM3, tests/vectors/sm3.txt).  libgcrypt is installed by
scripts/test (Debian ``libgcrypt20``), so here it must load: the fallback is tested by
forcing it.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shangmi import InvalidTag, _gcrypt, sm3, sm4_batch
from smseal.envelope import stream
from tests.openssl_cli import openssl
from tests.vectors import hx, load

GCRYPT = _gcrypt.load()           # fails the module if libgcrypt is missing: scripts/test installs it
BACKENDS = {"libgcrypt": GCRYPT.sm4_gcm, "openssl": sm4_batch.OpenSSLBatch("selected by the test")}

keys = st.binary(min_size=16, max_size=16)
nonces = st.binary(min_size=12, max_size=12)
# Sizes around block and chunk boundaries, and random ones.
sizes = st.one_of(st.sampled_from([0, 1, 15, 16, 17, 31, 32, 33, 4095, 4096, 65535, 65536, 65537]),
                  st.integers(0, 3000))
messages = st.lists(st.tuples(nonces, sizes.flatmap(lambda n: st.binary(min_size=n, max_size=n))),
                    min_size=0, max_size=6)
aads = st.one_of(st.none(), st.binary(min_size=1, max_size=40))


@contextmanager
def backend(name):
    saved = sm4_batch._backend
    sm4_batch._backend = BACKENDS[name]
    try:
        yield
    finally:
        sm4_batch._backend = saved


def joined(pieces) -> bytes:
    return b"".join(bytes(p) for p in pieces)


def test_libgcrypt_is_the_active_backend_here():
    assert sm4_batch.backend().name == "libgcrypt"
    assert isinstance(sm3.SM3()._h, _gcrypt.GcryptSM3)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("vname,v", load("sm4-gcm.txt").items())
def test_rfc8998_vector(name, vname, v):
    be = BACKENDS[name]
    key, iv, aad, pt = hx(v["Key"]), hx(v["IV"]), hx(v["AAD"]), hx(v["Plaintext"])
    ct_tag = hx(v["Ciphertext"]) + hx(v["Tag"])
    assert joined(be.seal_many(key, [(iv, pt)] * 3, aad)) == ct_tag * 3
    assert joined(be.open_many(key, [(iv, ct_tag)] * 3, aad)) == pt * 3
    with pytest.raises(InvalidTag):
        be.open_many(key, [(iv, ct_tag)], aad[:-1])


@pytest.mark.parametrize("vname,v", load("sm3.txt").items())
def test_gb_t_32905_vectors_through_libgcrypt_sm3(vname, v):
    msg = hx(v["Msg"])
    h = GCRYPT.sm3()
    for i in range(len(msg)):
        h.update(msg[i:i + 1])
    assert h.copy().finalize() == hx(v["MD"])
    assert h.finalize() == hx(v["MD"])


@settings(max_examples=60)
@given(keys, messages, aads, st.sampled_from(["libgcrypt", "openssl"]))
def test_backends_agree_both_ways(key, items, aad, sealer):
    opener = "openssl" if sealer == "libgcrypt" else "libgcrypt"
    sealed = joined(BACKENDS[sealer].seal_many(key, items, aad))
    assert sealed == joined(BACKENDS[opener].seal_many(key, items, aad))
    split, pos = [], 0
    for nonce, pt in items:
        split.append((nonce, sealed[pos:pos + len(pt) + 16]))
        pos += len(pt) + 16
    assert pos == len(sealed)
    assert joined(BACKENDS[opener].open_many(key, split, aad)) == b"".join(pt for _, pt in items)


@settings(max_examples=40)
@given(keys, messages.filter(bool), st.data())
def test_any_altered_message_is_refused_with_its_index(key, items, data):
    victim = data.draw(st.integers(0, len(items) - 1))
    split = []
    for i, (nonce, pt) in enumerate(items):
        ct = joined(sm4_batch.seal_many(key, [(nonce, pt)]))
        if i == victim:
            bit = data.draw(st.integers(0, len(ct) * 8 - 1))
            ct = bytearray(ct)
            ct[bit // 8] ^= 1 << (bit % 8)
            ct = bytes(ct)
        split.append((nonce, ct))
    for be in BACKENDS.values():
        with pytest.raises(InvalidTag) as err:
            be.open_many(key, split)
        assert err.value.context["index"] == str(victim)


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_any_bytes_like_input(name, kind):
    key, nonce, pt = os.urandom(16), os.urandom(12), os.urandom(100)
    ct = joined(BACKENDS["openssl"].seal_many(key, [(nonce, pt)], b"aad"))
    be = BACKENDS[name]
    assert joined(be.seal_many(kind(key), [(kind(nonce), kind(pt))], kind(b"aad"))) == ct
    assert joined(be.open_many(kind(key), [(kind(nonce), kind(ct))], kind(b"aad"))) == pt


@pytest.mark.parametrize("name", BACKENDS)
def test_too_short_messages_and_bad_arguments(name):
    be = BACKENDS[name]
    with pytest.raises(InvalidTag):
        be.open_many(bytes(16), [(bytes(12), bytes(15))])
    with pytest.raises(ValueError):
        sm4_batch.seal_many(bytes(15), [])
    with pytest.raises(ValueError):
        sm4_batch.open_many(bytes(16), [(bytes(11), bytes(16))])


@settings(max_examples=8)
@given(keys, nonces, st.binary(min_size=1, max_size=5000))
def test_the_openssl_command_agrees_both_ways(key, nonce, pt):
    """GCM's ciphertext is CTR from counter block nonce ‖ 00000002: the system's ``openssl enc
    -sm4-ctr`` (OpenSSL 3, not pyca's) must produce it and turn it back into the plaintext."""
    ct = joined(GCRYPT.sm4_gcm.seal_many(key, [(nonce, pt)]))[:-16]
    ctr = ["enc", "-sm4-ctr", "-K", key.hex(), "-iv", (nonce + b"\0\0\0\2").hex()]
    assert openssl(*ctr, input=pt) == ct
    assert openssl(*ctr, "-d", input=ct) == pt
    assert joined(GCRYPT.sm4_gcm.open_many(key, [(nonce, joined(sm4_batch.OpenSSLBatch("").seal_many(
        key, [(nonce, pt)])))])) == pt


@settings(max_examples=40)
@given(st.lists(st.tuples(st.sampled_from(["bytes", "bytearray", "memoryview", "readonly"]),
                          st.binary(max_size=300)), max_size=8))
def test_libgcrypt_sm3_matches_pyca_for_every_buffer_kind(pieces):
    fast, ref = GCRYPT.sm3(), sm3.hashes.Hash(sm3.hashes.SM3())
    for kind, data in pieces:
        buf = {"bytes": data, "bytearray": bytearray(data), "memoryview": memoryview(bytearray(data)),
               "readonly": memoryview(data)}[kind]
        fast.update(buf)
        ref.update(data)
        assert fast.copy().finalize() == ref.copy().finalize()
    assert fast.finalize() == ref.finalize()


@settings(max_examples=25)
@given(st.integers(0, 1000), st.sampled_from([16, 32, 64]), st.sampled_from(["libgcrypt", "openssl"]))
def test_stream_sealed_on_one_backend_opens_on_the_other(total, chunk, sealer):
    """The STREAM layer through both backends: byte-identical payloads, either way round."""
    key, plain = os.urandom(16), os.urandom(total)
    out = []
    with backend(sealer):
        pos = [0]

        def read(n):
            pos[0] += n
            return plain[pos[0] - n:pos[0]]

        digest = stream.encrypt(key, read, total, out.append, chunk_size=chunk)
    wire = joined(out)
    other = "openssl" if sealer == "libgcrypt" else "libgcrypt"
    for name in (sealer, other):
        got = []
        with backend(name):
            d2, trailer = stream.decrypt(key, io.BytesIO(wire + b"T" * 64), got.append, trailer_size=64,
                                         chunk_size=chunk)
        assert (joined(got), d2, trailer) == (plain, digest, b"T" * 64)
    assert digest == sm3.digest(wire)


def test_shangmi_gcrypt_off_forces_the_fallback():
    code = ("from shangmi import sm3, sm4_batch; b = sm4_batch.backend();"
            "print(b.name, type(sm3.SM3()._h).__module__); print(b.reason)")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "SHANGMI_GCRYPT": "off"},
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0].split()[0] == "openssl" and "_gcrypt" not in out[0]
    assert "SHANGMI_GCRYPT=off" in out[1]
