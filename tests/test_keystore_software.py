"""Software identities: encrypted key files under SMSEAL_HOME."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from smseal.keystore import Keystore, env_passphrase
from smseal.keystore.atomic import create_atomic, write_atomic
from smseal.keystore.errors import PassphraseUnavailable
from smseal.keystore.prompts import Purpose
from smseal.keystore.software import kdf_iterations, load_key
from shangmi import sm2
from shangmi.errors import (DuplicateEntry, InvalidKey, KeyNotFound, KeystoreError, NoMatchingKey,
                            WrongPassphrase)

UNIT = "赤峰市人民政府办公室"
FAST = 1000


def answers(passphrase: bytes = b"correct horse", export: bytes = b"export pw"):
    asked: list = []

    def cb(prompt):
        asked.append((prompt.purpose, prompt.subject, str(prompt)))
        return export if prompt.purpose is Purpose.EXPORT else passphrase
    cb.asked = asked  # type: ignore[attr-defined]
    return cb


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture
def ks(tmp_path: Path):
    with Keystore(tmp_path, passphrase=answers(), kdf_iterations=FAST) as k:
        k.generate(UNIT)
        yield k


def test_generate_layout_and_modes(ks: Keystore, tmp_path: Path):
    ident = ks.get(UNIT)
    sign, enc = ident.current("sign"), ident.current("enc")
    assert sign.public_key != enc.public_key                    # dual keys
    folder = tmp_path / "identities" / os.listdir(tmp_path / "identities")[0]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("sign-1.key", "enc-1.key", "identity.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    text = (folder / "sign-1.key").read_text()
    assert text.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert "correct horse" not in (folder / "identity.json").read_text()
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp")]   # no temp files left
    assert [i.name for i in ks.list()] == [UNIT]


def test_signer_and_decrypter(ks: Keystore):
    signer = ks.signer(UNIT)
    assert isinstance(signer, sm2.PrivateKey) or hasattr(signer, "sign")
    sig = signer.sign(b"header")
    ks.get(UNIT).current("sign").public_key.verify(sig, b"header")     # default uid
    dec = ks.decrypter(UNIT)
    assert dec.decrypt(dec.public_key().encrypt(b"file key")) == b"file key"


def test_passphrase_asked_once_per_identity(tmp_path: Path):
    cb = answers()
    with Keystore(tmp_path, passphrase=cb, kdf_iterations=FAST) as k:
        k.generate(UNIT)
        k.signer(UNIT)
        k.decrypter(UNIT)
    assert [a[0] for a in cb.asked] == [Purpose.NEW, Purpose.UNLOCK]
    assert all(a[1] == UNIT for a in cb.asked)


def test_wrong_passphrase_changes_nothing(ks: Keystore, tmp_path: Path):
    before = snapshot(tmp_path)
    with Keystore(tmp_path, passphrase=answers(b"wrong"), kdf_iterations=FAST) as other:
        with pytest.raises(WrongPassphrase):
            other.signer(UNIT)
        with pytest.raises(WrongPassphrase):
            other.change_passphrase(UNIT)
        with pytest.raises(WrongPassphrase):
            other.rotate(UNIT, "enc")
    assert snapshot(tmp_path) == before


def test_corrupt_or_truncated_key_file(ks: Keystore, tmp_path: Path):
    folder = next((tmp_path / "identities").iterdir())
    key_file = folder / "sign-1.key"
    good = key_file.read_bytes()
    for bad in (good[: len(good) // 2], good[:-40] + good[-20:], b"not a key", good.replace(b"M", b"N", 3),
                b"x" * 70000):
        key_file.write_bytes(bad)
        with Keystore(tmp_path, passphrase=answers(), kdf_iterations=FAST) as k:
            with pytest.raises((InvalidKey, WrongPassphrase)):
                k.signer(UNIT)
        assert key_file.read_bytes() == bad                      # nothing rewritten or deleted
    key_file.unlink()
    with Keystore(tmp_path, passphrase=answers(), kdf_iterations=FAST) as k:
        with pytest.raises(KeyNotFound):
            k.signer(UNIT)


def test_swapped_key_file_is_refused(ks: Keystore, tmp_path: Path):
    folder = next((tmp_path / "identities").iterdir())
    (folder / "sign-1.key").write_bytes((folder / "enc-1.key").read_bytes())
    with Keystore(tmp_path, passphrase=answers(), kdf_iterations=FAST) as k:
        with pytest.raises(InvalidKey, match="does not hold"):
            k.signer(UNIT)


def test_damaged_manifest(ks: Keystore, tmp_path: Path):
    folder = next((tmp_path / "identities").iterdir())
    (folder / "identity.json").write_text('{"format": "smseal-identity/1", "name": 3}')
    with pytest.raises(KeystoreError, match="damaged"):
        ks.get(UNIT)


def test_duplicate_identity(ks: Keystore, tmp_path: Path):
    before = snapshot(tmp_path)
    with pytest.raises(DuplicateEntry):
        ks.generate(" " + UNIT + " ")                             # same name after normalisation
    assert snapshot(tmp_path) == before


def test_rotation_keeps_old_keys(ks: Keystore):
    old = ks.get(UNIT).current("enc")
    new = ks.rotate(UNIT, "enc")
    assert new.generation == 2 and new.public_key != old.public_key
    assert ks.get(UNIT).current("enc") == new                 # new packages use the newest
    msg = b"sealed before rotation"
    kid, dec = ks.find_decrypter([old.key_id])
    assert kid == old.key_id and dec.decrypt(old.public_key.encrypt(msg)) == msg
    assert ks.decrypter(UNIT, generation=1).public_key() == old.public_key
    with pytest.raises(NoMatchingKey):
        ks.find_decrypter([b"\x01" * 16])
    # the rotated key is under the identity's one passphrase
    with Keystore(ks.home, passphrase=answers(), kdf_iterations=FAST) as k:
        assert k.decrypter(UNIT).public_key() == new.public_key


def test_import_and_export(tmp_path: Path):
    s, e = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
    with Keystore(tmp_path, passphrase=answers(), kdf_iterations=FAST) as k:
        ident = k.import_identity("某某局", s, e)
        assert ident.current("sign").public_key == s.public_key()
        pem = k.export_private("某某局", "enc", prf="hmac-sha256")
        assert sm2.PrivateKey.from_pem(pem, password=b"export pw").public_key() == e.public_key()
        with pytest.raises(DuplicateEntry):
            k.import_identity("别的局", s, s)


def test_change_passphrase(ks: Keystore, tmp_path: Path):
    seq = iter([b"correct horse", b"new passphrase"])
    with Keystore(tmp_path, passphrase=lambda p: next(seq), kdf_iterations=FAST) as k:
        k.change_passphrase(UNIT)
    with Keystore(tmp_path, passphrase=answers(b"new passphrase"), kdf_iterations=FAST) as k:
        k.signer(UNIT)
        k.decrypter(UNIT)


def test_delete(ks: Keystore, tmp_path: Path):
    ks.delete(UNIT)
    assert ks.list() == []
    assert not any(p.is_file() for p in (tmp_path / "identities").rglob("*"))
    with pytest.raises(KeyNotFound):
        ks.signer(UNIT)


def test_no_callback_and_env_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with Keystore(tmp_path, kdf_iterations=FAST) as k:
        with pytest.raises(PassphraseUnavailable):
            k.generate(UNIT)
        assert k.list() == []                                    # nothing half-made
    monkeypatch.delenv("SMSEAL_PASSPHRASE", raising=False)
    with Keystore(tmp_path, passphrase=env_passphrase(), kdf_iterations=FAST) as k:
        with pytest.raises(PassphraseUnavailable, match="SMSEAL_PASSPHRASE"):
            k.generate(UNIT)
    monkeypatch.setenv("SMSEAL_PASSPHRASE", "from the environment")
    monkeypatch.setenv("SMSEAL_HOME", str(tmp_path))
    monkeypatch.setenv("SMSEAL_KDF_ITERATIONS", str(FAST))
    with Keystore(passphrase=env_passphrase()) as k:             # home and iterations from env
        k.generate(UNIT)
    key_file = next((tmp_path / "identities").iterdir()) / "sign-1.key"
    assert load_key(key_file, b"from the environment")
    assert kdf_iterations() == FAST


def test_secrets_not_in_repr(ks: Keystore):
    signer = ks.signer(UNIT)
    shown = repr(ks) + repr(signer) + repr(ks.get(UNIT)) + str(ks.get(UNIT))
    assert "correct horse" not in shown
    assert format(signer._d, "x") not in shown if isinstance(signer, sm2.PrivateKey) else True


def test_atomic_helpers(tmp_path: Path):
    target = tmp_path / "f"
    create_atomic(target, b"one")
    with pytest.raises(DuplicateEntry):
        create_atomic(target, b"two")
    assert target.read_bytes() == b"one"
    write_atomic(target, b"three")
    assert target.read_bytes() == b"three" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
