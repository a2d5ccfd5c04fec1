"""open_stream: open into readers, nothing released before verification, spool gone at exit."""

from __future__ import annotations

import io
import os
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

import smseal
from smseal.envelope import OpenedFile, Package, open_package, open_stream, seal
from smseal.envelope import spool as spool_module
from tests.testkit.kit import CC, SENDER, TO, TRUSTED

BIG = bytes(range(256)) * 1200          # 300 KiB: several STREAM chunks


def sealed(*files: tuple[str, bytes], **kw: object) -> bytes:
    buf = io.BytesIO()
    seal(Package(files[0], list(files[1:]), **kw), sender=SENDER, to=TO.public_key(),
         cc=[CC.public_key()], out=buf)
    return buf.getvalue()


@pytest.fixture
def spool_dir(tmp_path):
    d = tmp_path / "spool"
    d.mkdir()
    return d


def test_same_result_as_open_package_with_readers(tmp_path, spool_dir):
    data = sealed(("正文.pdf", BIG), ("附件.txt", b"attachment"), ("空.txt", b""), title="关于值班的通知")
    on_disk = open_package(data, key=TO, trusted=TRUSTED, out_dir=tmp_path / "o")
    with open_stream(data, key=[CC, TO], trusted=TRUSTED, spool_dir=spool_dir) as res:
        assert os.listdir(spool_dir) == []           # anonymous: no name anyone could open
        assert (res.package_id, res.package_digest, res.sender_key, res.metadata) == (
            on_disk.package_id, on_disk.package_digest, on_disk.sender_key, on_disk.metadata)
        assert [(f.name, f.size) for f in res.files] == [("正文.pdf", len(BIG)), ("附件.txt", 10), ("空.txt", 0)]
        assert all(isinstance(f, OpenedFile) for f in res.files) and res.main is res.files[0]
        assert res.main.read() == BIG and res.files[1].read() == b"attachment" and res.files[2].read() == b""
        with res.main.open() as a, res.main.open() as b:      # independent positions
            assert a.read(10) == BIG[:10] and b.read(5) == BIG[:5]
            a.seek(-3, io.SEEK_END)
            assert a.read() == BIG[-3:] and b.read(5) == BIG[5:10]
        with ThreadPoolExecutor(4) as pool:                     # readers from several threads
            assert set(pool.map(lambda _: res.main.read(), range(8))) == {BIG}
        mode = os.fstat(res.main._spool.file.fileno()).st_mode
        assert stat.S_IMODE(mode) == 0o600
        text = repr(res) + repr(res.main)
        assert "正文" not in text and "值班" not in text
        kept = res.files[1]
    with pytest.raises(smseal.InvalidArgument) as info:
        kept.read()
    assert info.value.code == "package-closed"
    assert os.listdir(spool_dir) == []


@pytest.mark.parametrize("damage", ["signature", "last chunk", "truncated"])
def test_nothing_handed_out_when_verification_fails(spool_dir, damage):
    data = bytearray(sealed(("a.txt", BIG)))
    if damage == "signature":
        data[-1] ^= 1
    elif damage == "last chunk":
        data[-70] ^= 1
    else:
        del data[-100:]
    entered = False
    with pytest.raises((smseal.InvalidSignature, smseal.InvalidTag, smseal.MalformedPackage)):
        with open_stream(bytes(data), key=TO, trusted=TRUSTED, spool_dir=spool_dir):
            entered = True
    assert not entered and os.listdir(spool_dir) == []


def test_untrusted_sender_refused_before_any_decryption(monkeypatch):
    data = sealed(("a.txt", b"x"))

    def never(*a, **k):
        raise AssertionError("decrypted although the sender is not trusted")

    monkeypatch.setattr(spool_module.stream, "decrypt", never)
    with pytest.raises(smseal.UntrustedSender):
        with open_stream(data, key=TO, trusted=[CC.public_key()]):
            pass


def test_max_bytes_refuses_before_decrypting_when_the_size_is_known(monkeypatch):
    data = sealed(("big.bin", BIG * 4))            # 1.2 MiB of files

    def never(*a, **k):
        raise AssertionError("decrypted although the package is over the limit")

    monkeypatch.setattr(spool_module.stream, "decrypt", never)
    with pytest.raises(smseal.SizeLimitExceeded) as info:
        with open_stream(data, key=TO, trusted=TRUSTED, max_bytes=100_000):
            pass
    assert info.value.code == "size-limit-exceeded" and info.value.context["limit"] == "100000"


class _Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b):
        chunk = self._f.read(len(b))
        b[:len(chunk)] = chunk
        return len(chunk)


def test_max_bytes_checked_from_the_file_list_before_any_file_byte(monkeypatch):
    """Size unknown (a pipe): refused once the encrypted file list is read, nothing spooled."""
    data = sealed(("a.bin", BIG), ("b.bin", BIG))
    spooled: list[int] = []
    real_write = spool_module._SpoolSink.write

    def spying_write(self, chunk):
        if self.metadata is not None:
            spooled.append(len(chunk))
        return real_write(self, chunk)

    monkeypatch.setattr(spool_module._SpoolSink, "write", spying_write)
    with pytest.raises(smseal.SizeLimitExceeded) as info:
        with open_stream(_Unseekable(data), key=TO, trusted=TRUSTED, max_bytes=len(BIG) + 1):
            pass
    assert info.value.context == {"limit": str(len(BIG) + 1), "size": str(2 * len(BIG))}
    assert spooled == []
    with open_stream(_Unseekable(data), key=TO, trusted=TRUSTED, max_bytes=2 * len(BIG)) as res:
        assert res.files[1].read() == BIG        # exactly at the limit is allowed


def test_state_secret_label_refused_by_open_stream_too(spool_dir):
    """seal refuses such labels, so the package is built the way a careless sender's tool would."""
    from smseal.envelope.metadata import FileEntry, Metadata
    from tests.testkit import kit

    from smseal.envelope.workflow import Addressee
    listed = (Addressee("to", TO.public_key().key_id()), Addressee("cc", kit.CC.public_key().key_id()))
    meta = Metadata(label="机密★1年", files=(FileEntry("通知.txt", len(kit.MAIN_TEXT)),), recipients=listed)
    data = kit.build(kit.draft(meta_bytes=meta.serialize()))
    with pytest.raises(smseal.PolicyError):
        with open_stream(data, key=TO, trusted=TRUSTED, spool_dir=spool_dir):
            pass
    assert os.listdir(spool_dir) == []


def test_bad_max_bytes():
    with pytest.raises(smseal.InvalidArgument) as info:
        with open_stream(b"", key=TO, trusted=TRUSTED, max_bytes=-1):
            pass
    assert info.value.code == "bad-max-bytes"
