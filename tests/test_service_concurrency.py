"""The library inside a service: one Directory and unlocked keys shared by threads and processes."""

from __future__ import annotations

import io
import multiprocessing
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

import smseal
from shangmi import sm2
from smseal.envelope import Package, open_package, seal, verify_package
from smseal.keystore import Directory, Keystore, UnlockedIdentity
from smseal.keystore.prompts import Purpose

SENDER, RECIPIENT = "赤峰市人民政府办公室", "赤峰市教育局"
PASSPHRASE = b"correct horse \xe6\xad\xa3\xe7\xa1\xae"


class CountingPassphrase:
    """Answers the unlock prompt and counts how often a key file had to be decrypted."""

    def __init__(self) -> None:
        self.asked = 0

    def __call__(self, prompt: object) -> bytes:
        if getattr(prompt, "purpose", None) == Purpose.UNLOCK:
            self.asked += 1
        return PASSPHRASE


@pytest.fixture
def office(tmp_path):
    """One office home holding both units' keys; its directory knows both units."""
    ks = Keystore(tmp_path, passphrase=CountingPassphrase(), kdf_iterations=1000)
    for name in (SENDER, RECIPIENT):
        info = ks.generate(name)
        with Directory(tmp_path) as d:
            d.add_unit(name, info.current("sign").public_key, info.current("enc").public_key)
    return tmp_path


def test_unlock_handle_decrypts_each_key_file_once_and_forgets_on_close(office, monkeypatch):
    from smseal.keystore import software

    decrypted: list[str] = []
    real_load = software.load_key

    def counting_load(path, password):       # the real function, counted: one call = one PBKDF2
        decrypted.append(path.name)
        return real_load(path, password)

    monkeypatch.setattr(software, "load_key", counting_load)
    ks = Keystore(office, passphrase=CountingPassphrase(), kdf_iterations=1000)
    ks.signer(SENDER)
    ks.signer(SENDER)
    assert decrypted == ["sign-1.key", "sign-1.key"]     # without a handle: every call pays
    decrypted.clear()
    with ks.unlock(SENDER) as ident:
        assert isinstance(ident, UnlockedIdentity) and ident.name == SENDER
        pub = ident.decrypter.public_key()
        for _ in range(20):
            buf = io.BytesIO()
            seal(Package(("a.txt", b"x")), sender=ident.signer, to=pub, out=buf)
            with Directory(office) as d:
                open_package(buf.getvalue(), key=ident.decrypters, trusted=d, out_dir=office / "o" / str(_))
        signer = ident.signer
        assert "key(s)" in repr(ident)
    assert sorted(decrypted) == ["enc-1.key", "sign-1.key"]     # once per key file, then never
    assert ident.closed and "closed" in repr(ident)
    with pytest.raises(smseal.KeystoreError, match="closed"):
        signer.sign(b"after close")
    with pytest.raises(smseal.KeystoreError, match="closed"):
        ident.signer
    with pytest.raises(TypeError):
        pickle.dumps(signer)


def test_unlock_one_role_only(office):
    ks = Keystore(office, passphrase=CountingPassphrase(), kdf_iterations=1000)
    with ks.unlock(RECIPIENT, signing=False) as ident:
        assert len(ident.decrypters) == 1
        with pytest.raises(smseal.KeyNotFound):
            ident.signer
    with ks.unlock(RECIPIENT, decryption=False) as ident:
        assert ident.decrypters == ()
        ident.signer.sign(b"m")


def test_unlock_covers_every_encryption_generation(office):
    ks = Keystore(office, passphrase=CountingPassphrase(), kdf_iterations=1000)
    old = ks.get(RECIPIENT).current("enc").public_key
    ks.rotate(RECIPIENT, "enc")
    with ks.unlock(RECIPIENT) as ident, ks.unlock(SENDER) as sender, Directory(office) as d:
        assert [k.generation for k in ident.decrypters] == [2, 1]
        buf = io.BytesIO()
        seal(Package(("old.txt", b"sealed to generation 1")), sender=sender.signer, to=old, out=buf)
        res = open_package(buf.getvalue(), key=ident.decrypters, trusted=d, out_dir=office / "old")
        assert res.files[0].read_bytes() == b"sealed to generation 1"


def test_eight_threads_share_one_directory_and_one_unlocked_key(office, tmp_path):
    """500 packages sealed, verified and opened by 8 threads through one Directory object."""
    ks = Keystore(office, passphrase=CountingPassphrase(), kdf_iterations=1000)
    out = tmp_path / "out"
    with ks.unlock(SENDER) as sender, ks.unlock(RECIPIENT) as recipient, Directory(office) as directory:
        to = directory.encryption_key(RECIPIENT)
        threads_seen: set[int] = set()

        def one(i: int) -> tuple[bytes, str]:
            threads_seen.add(threading.get_ident())
            body = f"第{i}号文件".encode() * (1 + i % 7)
            buf = io.BytesIO()
            sr = seal(Package((f"{i}.txt", body), title=f"通知{i}"), sender=sender.signer, to=to, out=buf)
            v = verify_package(buf.getvalue(), trusted=directory)
            res = open_package(buf.getvalue(), key=recipient.decrypters, trusted=directory, out_dir=out / str(i))
            assert v.package_id == res.package_id == sr.package_id and res.sender == SENDER
            assert res.files[0].read_bytes() == body and res.metadata.title == f"通知{i}"
            return res.package_id, res.sender or ""

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, range(500)))
    assert len({pid for pid, _ in results}) == 500
    assert {unit for _, unit in results} == {SENDER}
    assert len(threads_seen) > 1


def test_directory_closes_every_threads_connection(office):
    d = Directory(office)
    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(lambda _: d.get(SENDER).name, range(16))) == {SENDER}
    d.close()
    with pytest.raises(smseal.KeystoreError, match="closed"):
        d.get(SENDER)


# --- processes: workers are started with "spawn" so nothing is inherited by accident ----------

_worker: dict[str, object] = {}


def _init_worker(home: str) -> None:
    ks = Keystore(home, passphrase=lambda prompt: PASSPHRASE, kdf_iterations=1000)
    _worker["sender"] = ks.unlock(SENDER, decryption=False)
    _worker["recipient"] = ks.unlock(RECIPIENT, signing=False)


def _seal_and_open(job: tuple[int, Directory, str]) -> tuple[bytes, str | None, bytes]:
    i, directory, out = job
    sender, recipient = _worker["sender"], _worker["recipient"]
    assert isinstance(sender, UnlockedIdentity) and isinstance(recipient, UnlockedIdentity)
    buf = io.BytesIO()
    body = f"进程{i}".encode()
    seal(Package(("p.txt", body)), sender=sender.signer, to=directory.encryption_key(RECIPIENT), out=buf)
    res = open_package(buf.getvalue(), key=recipient.decrypters, trusted=directory, out_dir=f"{out}/{i}")
    return res.package_id, res.sender, res.files[0].read_bytes()


def _open_untrusted(job: tuple[bytes, Directory]) -> None:
    data, directory = job
    recipient = _worker["recipient"]
    assert isinstance(recipient, UnlockedIdentity)
    open_package(data, key=recipient.decrypters, trusted=directory, out_dir="never-created")


def test_process_pool_with_a_pickled_directory(office, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    outsider = sm2.PrivateKey.generate()
    with Directory(office) as directory:
        buf = io.BytesIO()
        seal(Package(("x.txt", b"x")), sender=outsider, to=directory.encryption_key(RECIPIENT), out=buf)
        with ProcessPoolExecutor(2, mp_context=ctx, initializer=_init_worker, initargs=(str(office),)) as pool:
            jobs = [(i, directory, str(tmp_path / "p")) for i in range(40)]
            results = list(pool.map(_seal_and_open, jobs))
            with pytest.raises(smseal.UntrustedSender) as info:      # errors come back whole
                pool.submit(_open_untrusted, (buf.getvalue(), directory)).result()
    assert len({pid for pid, _, _ in results}) == 40
    assert all(unit == SENDER and body == f"进程{i}".encode() for i, (_, unit, body) in enumerate(results))
    assert info.value.code == "untrusted-sender"
    assert info.value.context["key_id"] == outsider.public_key().key_id().hex()
    assert not (tmp_path / "never-created").exists()


def test_a_sender_verifies_its_own_copy_with_its_own_directory(tmp_path):
    """The sending office's directory lists other units, not itself: its own keys still count."""
    ks = Keystore(tmp_path, passphrase=CountingPassphrase(), kdf_iterations=1000)
    ks.generate(SENDER)
    other = sm2.PrivateKey.generate()
    buf = io.BytesIO()
    with ks.unlock(SENDER, decryption=False) as ident, Directory(tmp_path) as d:
        assert d.list() == []
        sr = seal(Package(("a.txt", b"x")), sender=ident.signer, to=other.public_key(), out=buf)
        res = verify_package(buf.getvalue(), trusted=d)
        assert (res.package_id, res.sender) == (sr.package_id, SENDER)
        assert pickle.loads(pickle.dumps(d)).check_sender(ident.signer.public_key(), res.sealed_at) == SENDER
    with Directory(path=tmp_path / "directory.sqlite") as bare, pytest.raises(smseal.UntrustedSender):
        verify_package(buf.getvalue(), trusted=bare)     # no home given: only what the directory lists
