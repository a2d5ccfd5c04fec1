"""One rule for inputs everywhere: a str is a path; content is bytes; anything else is a stream."""

from __future__ import annotations

import io
import os

import pytest

import smseal
from smseal.envelope import (Package, inspect, make_receipt, open_package, open_stream, seal,
                             verify_package, verify_receipt)
from tests.testkit.kit import SENDER, TO, TRUSTED


@pytest.fixture
def armored(tmp_path) -> bytes:
    buf = io.BytesIO()
    seal(Package(("a.txt", b"hello")), sender=SENDER, to=TO.public_key(), out=buf, armor=True)
    return buf.getvalue()


def test_every_reader_takes_path_bytes_and_stream(armored, tmp_path):
    path = tmp_path / "p.asc"
    path.write_bytes(armored)
    for src in (str(path), path, armored, bytearray(armored), memoryview(armored), io.BytesIO(armored)):
        if isinstance(src, io.BytesIO):
            src.seek(0)
        assert inspect(src).armored
        for fn in (lambda s: verify_package(s, trusted=TRUSTED).package_id,
                   lambda s: open_package(s, key=TO, trusted=TRUSTED, out_dir=tmp_path / os.urandom(4).hex()).package_id):
            if isinstance(src, io.BytesIO):
                src.seek(0)
            assert fn(src) == inspect(armored).package_id


def test_armored_text_in_a_str_is_refused_without_echoing_it(armored, tmp_path):
    text = armored.decode()
    calls = [lambda: inspect(text), lambda: verify_package(text, trusted=TRUSTED),
             lambda: open_package(text, key=TO, trusted=TRUSTED, out_dir=tmp_path / "o"),
             lambda: open_stream(text, key=TO, trusted=TRUSTED).__enter__()]
    for call in calls:
        with pytest.raises(smseal.WrongArgumentType) as info:
            call()
        assert info.value.code == "text-as-path" and isinstance(info.value, TypeError)
        assert text[40:80] not in str(info.value) + repr(info.value)
    assert not (tmp_path / "o").exists()


def test_receipt_text_in_a_str_is_refused_too(armored, tmp_path):
    res = open_package(armored, key=TO, trusted=TRUSTED, out_dir=tmp_path / "o")
    r = make_receipt(res, signer=SENDER)
    with pytest.raises(smseal.WrongArgumentType) as info:
        verify_receipt(r.armor().decode(), package=res, trusted=TRUSTED)
    assert info.value.code == "text-as-path"


class _Pipe(io.RawIOBase):
    """A stream that cannot seek, like a socket or an upload."""

    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b):
        self.reads += 1
        chunk = self._f.read(len(b))
        b[:len(chunk)] = chunk
        return len(chunk)


def test_package_takes_any_sequence_and_sized_streams(tmp_path):
    pipe = _Pipe(b"from a pipe")
    pkg = Package(("main.txt", b"main"), (("a.txt", b"a"), ("p.txt", pipe, 11)))   # a tuple
    assert pipe.reads == 0                      # with a size: nothing read before sealing
    buf = io.BytesIO()
    seal(pkg, sender=SENDER, to=TO.public_key(), out=buf)
    with open_stream(buf.getvalue(), key=TO, trusted=TRUSTED) as res:
        assert [f.read() for f in res.files] == [b"main", b"a", b"from a pipe"]
    with pytest.raises(smseal.InvalidArgument) as info:   # a sized stream is read once
        seal(pkg, sender=SENDER, to=TO.public_key(), out=io.BytesIO())
    assert info.value.code == "stream-consumed"


def test_unsized_pipe_is_spooled_at_once_and_seals_twice():
    pipe = _Pipe(b"spooled")
    pkg = Package(("p.txt", pipe))
    assert pipe.reads > 0                       # copied into the anonymous spool right away
    for _ in range(2):
        buf = io.BytesIO()
        seal(pkg, sender=SENDER, to=TO.public_key(), out=buf)
        with open_stream(buf.getvalue(), key=TO, trusted=TRUSTED) as res:
            assert res.main.read() == b"spooled"


def test_sized_stream_must_hold_exactly_its_size():
    for data, size in ((b"short", 10), (b"too long", 3)):
        pkg = Package(("p.txt", _Pipe(data), size))
        with pytest.raises(OSError):
            seal(pkg, sender=SENDER, to=TO.public_key(), out=io.BytesIO())


@pytest.mark.parametrize("bad", ["a.txt", b"a.txt", [("a.txt", b"x", -1)], [("a.txt", b"x", "3")]])
def test_bad_attachment_specs(bad):
    with pytest.raises(smseal.ArgumentError) as info:
        Package(("m.txt", b"m"), bad)
    assert info.value.code == "bad-file-spec"
