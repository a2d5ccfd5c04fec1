"""Property tests: chunk-boundary round trips, single-bit flips, parse/serialize identity."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smseal.envelope import Package
from smseal.envelope import stream
from smseal.envelope.format import MAX_TIME, TAG_SIZE, Header, Stanza
from smseal.envelope.open import _open
from smseal.envelope.seal import _seal
from shangmi.errors import MalformedPackage, SmsealError
from tests.testkit.kit import CC, SENDER, TO, TRUSTED

C = 64          # a small chunk so that boundaries are cheap to reach
KEY = b"\x07" * 16
SIZES = [0, 1, C - 1, C, C + 1, 2 * C, 3 * C + 5, 7 * C]


def _stream_roundtrip(data: bytes, chunk: int) -> bytes:
    ct = io.BytesIO()
    r = io.BytesIO(data)
    digest = stream.encrypt(KEY, r.read, len(data), ct.write, chunk_size=chunk)
    out = io.BytesIO()
    got_digest, trailer = stream.decrypt(KEY, io.BytesIO(ct.getvalue() + b"T" * 64), out.write,
                                         trailer_size=64, chunk_size=chunk)
    assert got_digest == digest and trailer == b"T" * 64
    n_chunks = max(1, -(-len(data) // chunk))
    assert len(ct.getvalue()) == len(data) + n_chunks * TAG_SIZE
    return out.getvalue()


@pytest.mark.parametrize("size", SIZES)
def test_stream_boundaries(size):
    data = bytes(range(256)) * (size // 256 + 1)
    assert _stream_roundtrip(data[:size], C) == data[:size]


@given(st.binary(max_size=8 * C), st.sampled_from([16, 64, 100]))
def test_stream_roundtrip_any(data, chunk):
    assert _stream_roundtrip(data, chunk) == data


def _package(size: int, chunk: int = C) -> tuple[bytes, bytes]:
    content = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    buf = io.BytesIO()
    _seal(Package(("a.bin", content), title="标题"), sender=SENDER, to=TO.public_key(),
          cc=[CC.public_key()], out=buf, armor=False, overwrite=False, chunk_size=chunk)
    return buf.getvalue(), content


def _open_bytes(data: bytes, out, chunk: int = C):
    return _open(data, key=TO, trusted=TRUSTED, out_dir=out, overwrite=False, chunk_size=chunk)


@pytest.mark.parametrize("size", SIZES + [5 * C])
def test_package_boundaries(size, tmp_path):
    """Whole packages whose plaintext (metadata + file) lands on every chunk boundary case."""
    data, content = _package(size)
    res = _open_bytes(data, tmp_path / "o")
    assert res.main.read_bytes() == content


def test_plaintext_on_exact_boundaries(tmp_path):
    from dataclasses import replace

    from smseal.envelope.package import Package as P
    from smseal.envelope.workflow import Addressee
    listed = (Addressee("to", TO.public_key().key_id()), Addressee("cc", CC.public_key().key_id()))
    base = len(replace(P(("a.bin", b""), title="标题").metadata(), recipients=listed).serialize())
    for total in (C - 1, C, C + 1, 3 * C):
        size = total - base
        data, content = _package(size)
        res = _open_bytes(data, tmp_path / str(total))
        assert res.main.read_bytes() == content


@pytest.fixture(scope="module")
def small_package():
    return _package(3 * C + 10)


def _rejected(data: bytes, tmp_path, tag: str) -> None:
    out = tmp_path / tag
    with pytest.raises(SmsealError):
        _open_bytes(data, out)
    assert not out.exists()


def test_every_byte_bit_flip_rejected(small_package, tmp_path):
    data, _ = small_package
    for i in range(len(data)):
        b = bytearray(data)
        b[i] ^= 1 << (i % 8)
        _rejected(bytes(b), tmp_path, str(i))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_single_bit_flip_rejected(small_package, tmp_path, data):
    pkg, _ = small_package
    i = data.draw(st.integers(0, len(pkg) * 8 - 1))
    b = bytearray(pkg)
    b[i // 8] ^= 1 << (i % 8)
    _rejected(bytes(b), tmp_path, f"h{i}")


stanzas = st.lists(st.tuples(st.binary(min_size=16, max_size=16), st.binary(min_size=1, max_size=160)),
                   min_size=1, max_size=6, unique_by=lambda t: t[0])
headers = st.builds(
    lambda pid, t, u, salt, com, rs: Header(pid, t, u, SENDER.public_key().to_bytes(), salt, com,
                                            tuple(Stanza("to" if i == 0 else "cc", k, w)
                                                  for i, (k, w) in enumerate(rs))),
    st.binary(min_size=16, max_size=16), st.integers(0, MAX_TIME),
    st.sampled_from(["normal", "urgent", "extra-urgent"]), st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32), stanzas)


@given(headers)
def test_header_parse_serialize_identity(h):
    body = h.serialize()
    assert Header.parse(body) == h
    assert Header.parse(body).serialize() == body


@given(headers, st.data())
def test_header_mutations_parse_canonically_or_fail(h, data):
    """Any byte edit either is refused or parses to something that serializes to the same bytes."""
    body = bytearray(h.serialize())
    i = data.draw(st.integers(0, len(body) - 1))
    body[i] = data.draw(st.integers(0, 255))
    try:
        parsed = Header.parse(bytes(body))
    except MalformedPackage:
        return
    assert parsed.serialize() == bytes(body)
