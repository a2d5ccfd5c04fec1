"""``Keystore``: own unit identities (a signing key and a separate encryption key) over
software key files and PKCS#11 tokens, behind one interface.

Layout under ``SMSEAL_HOME`` (default ``~/.smseal``)::

    identities/u-<hex>/identity.json   manifest: name, public keys, where each private key is
    identities/u-<hex>/sign-1.key      encrypted PKCS#8, 0600 (software keys only)
    identities/u-<hex>/enc-1.key

The manifest holds no secret.  A key is referenced as ``file:<name>`` (beside
the manifest) or by a ``pkcs11:`` URI without PIN plus a vendor profile name.
Supported placements (``generate(signing=..., encryption=...)``):

* both keys in software files (default);
* signing key in a software file, encryption key on a token — works with any
  token that does ECDH on the SM2 curve (SoftHSM2 included);
* both keys on a vendor token whose profile names an SM2 signing mechanism.
  Asking for a signing key on a token whose profile cannot sign raises
  ``shangmi.UnsupportedMechanism`` before anything is created.

Rotation adds a generation; new packages use the newest, and every older
encryption key stays usable (``find_decrypter``) for packages sealed earlier.
Passphrases and PINs are asked through the caller's callback, at most once per
identity (or token) for the life of a ``Keystore`` object.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from shangmi import sm2
from shangmi.errors import (DuplicateEntry, InvalidArgument, InvalidKey, KeyNotFound, KeystoreError, NoMatchingKey,
                            UnsupportedMechanism, WrongPassphrase)
from shangmi.sm3 import digest as sm3_digest

from . import software
from .atomic import write_atomic
from .names import normalize_name
from .base import ROLES, Decrypter, IdentityInfo, KeyInfo, Role, Signer
from .paths import ensure_private_dir, smseal_home
from .pkcs11 import TokenKey, TokenSession
from .pkcs11_profiles import get_profile
from .pkcs11_uri import Pkcs11Uri
from .prompts import PassphraseCallback, Prompt, Purpose, ask
from .unlocked import UnlockedIdentity, UnlockedKey

SOFTWARE = "software"
_FORMAT = "smseal-identity/1"
_MAX_MANIFEST = 256 * 1024


def _slug(name: str) -> str:
    return "u-" + sm3_digest(name.encode("utf-8"))[:10].hex()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Keystore:
    """Own identities under ``home``; see the module docstring for the layout."""

    def __init__(self, home: str | os.PathLike[str] | None = None, *,
                 passphrase: PassphraseCallback | None = None, kdf_iterations: int | None = None,
                 pkcs11_module: str | None = None, attempts: int = 1) -> None:
        """``attempts``: how many times a wrong passphrase for a key file is asked again
        (a person at a terminal gets 3; automation, which cannot correct itself, 1)."""
        self.home = smseal_home(home)
        self._attempts = max(1, attempts)
        self.root = self.home / "identities"
        self._callback = passphrase
        self._iterations = software.kdf_iterations(kdf_iterations)
        self._module = pkcs11_module
        self._asked: dict[tuple[str, str], bytes] = {}
        self._handed_out: list[TokenKey] = []

    def __repr__(self) -> str:
        return f"<Keystore {self.home}>"

    # -- passphrases -----------------------------------------------------------------
    def _ask(self, prompt: Prompt, *, remember: bool = True) -> bytes:
        key = (prompt.purpose.value, prompt.subject)
        if remember and key in self._asked:
            return self._asked[key]
        value = ask(self._callback, prompt)
        if remember:
            self._asked[key] = value
        return value

    def _forget(self, purpose: Purpose, subject: str) -> None:
        self._asked.pop((purpose.value, subject), None)

    def _pin_callback(self) -> PassphraseCallback:
        return lambda prompt: self._ask(prompt)

    # -- manifests -------------------------------------------------------------------
    def _dir(self, name: str) -> Path:
        return self.root / _slug(name)

    def _read(self, folder: Path) -> IdentityInfo:
        path = folder / "identity.json"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise KeyNotFound("no such identity") from None
        try:
            if len(raw) > _MAX_MANIFEST:
                raise ValueError("too large")
            doc = json.loads(raw.decode("utf-8"))
            if doc.get("format") != _FORMAT:
                raise ValueError("unknown format")
            keys = tuple(KeyInfo(role=k["role"], generation=int(k["generation"]),
                                 public_key=sm2.PublicKey.from_bytes(bytes.fromhex(k["public_key"])),
                                 ref=str(k["ref"]), created=str(k["created"]), profile=k.get("profile"))
                         for k in doc["keys"])
            if any(k.role not in ROLES for k in keys):
                raise ValueError("bad role")
            return IdentityInfo(name=normalize_name(doc["name"]), keys=keys)
        except (ValueError, KeyError, TypeError, InvalidKey) as exc:
            raise KeystoreError("identity manifest {path} is damaged ({kind})", path=str(path),
                                kind=str(exc.__class__.__name__)) from None

    def _write(self, folder: Path, ident: IdentityInfo) -> None:
        doc = {"format": _FORMAT, "name": ident.name,
               "keys": [{"role": k.role, "generation": k.generation, "public_key": k.public_key.to_bytes().hex(),
                         "ref": k.ref, "created": k.created, **({"profile": k.profile} if k.profile else {})}
                        for k in ident.keys]}
        write_atomic(folder / "identity.json",
                     json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8") + b"\n")

    @contextmanager
    def _locked(self, folder: Path) -> Iterator[None]:
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # -- listing -------------------------------------------------------------------------
    def list(self) -> list[IdentityInfo]:
        """Every own identity, by name (manifests only: no key is unlocked)."""
        if not self.root.is_dir():
            return []
        out = [self._read(d) for d in sorted(self.root.iterdir())
               if d.name.startswith("u-") and (d / "identity.json").exists()]
        return sorted(out, key=lambda i: i.name)

    def get(self, name: str) -> IdentityInfo:
        """The own identity ``name`` (``KeyNotFound`` if there is none); nothing is unlocked."""
        name = normalize_name(name)
        try:
            return self._read(self._dir(name))
        except KeyNotFound:
            raise KeyNotFound("no identity named {name}", name=str(name)) from None

    # -- making keys ---------------------------------------------------------------------
    def _new_key(self, folder: Path, name: str, role: Role, generation: int, location: str,
                 profile: str | None, key: sm2.PrivateKey | None) -> KeyInfo:
        if location == SOFTWARE:
            if key is None:
                key = sm2.PrivateKey.generate()
            password = self._ask(Prompt(f"New passphrase for the keys of {name}", Purpose.NEW, name))
            filename = f"{role}-{generation}.key"
            software.store_new_key(folder / filename, key, password, iterations=self._iterations)
            return KeyInfo(role, generation, key.public_key(), f"file:{filename}", _now())
        if not location.startswith("pkcs11:"):
            raise InvalidArgument("a key location is 'software' or a pkcs11: URI", code="bad-key-location")
        p = get_profile(profile)
        if role == "sign":
            p.require_sign()
        uri = Pkcs11Uri.parse(location)
        label = f"smseal {role}-{generation} {name}"
        with TokenSession(uri, passphrase=self._pin_callback(), module_path=self._module) as ts:
            if key is None:
                public, where = ts.generate(p, role, label)
            else:
                public, where = ts.import_key(p, role, label, key)
        return KeyInfo(role, generation, public, str(where), _now(), p.name)

    def generate(self, name: str, *, signing: str = SOFTWARE, encryption: str = SOFTWARE,
                 profile: str | None = None) -> IdentityInfo:
        """Create identity ``name`` with a fresh signing key and a fresh encryption key.

        ``signing`` / ``encryption`` are ``"software"`` or a ``pkcs11:`` URI naming the
        token to generate on; ``profile`` is the vendor profile for token keys."""
        return self._create(name, {"sign": (signing, None), "enc": (encryption, None)}, profile)

    def import_identity(self, name: str, signing_key: sm2.PrivateKey, encryption_key: sm2.PrivateKey, *,
                        signing: str = SOFTWARE, encryption: str = SOFTWARE,
                        profile: str | None = None) -> IdentityInfo:
        """Create identity ``name`` from existing private keys (e.g. read with ``read_private_key``)."""
        if signing_key.public_key() == encryption_key.public_key():
            raise DuplicateEntry("the signing and the encryption key must be different keys")
        return self._create(name, {"sign": (signing, signing_key), "enc": (encryption, encryption_key)}, profile)

    def _create(self, name: str, plan: dict[str, tuple[str, sm2.PrivateKey | None]], profile: str | None) -> IdentityInfo:
        name = normalize_name(name)
        if plan["sign"][0] != SOFTWARE:
            get_profile(profile).require_sign()   # refuse before anything is made
        ensure_private_dir(self.root)
        folder = self._dir(name)
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            raise DuplicateEntry("an identity named {name} already exists", name=str(name)) from None
        made: list[KeyInfo] = []
        try:
            with self._locked(folder):
                for role in ROLES:
                    location, key = plan[role]
                    made.append(self._new_key(folder, name, role, 1, location, profile, key))
                self._write(folder, IdentityInfo(name, tuple(made)))
        except BaseException:
            self._forget(Purpose.NEW, name)
            self._discard(folder, made)
            raise
        return IdentityInfo(name, tuple(made))

    def _discard(self, folder: Path, made: Iterable[KeyInfo]) -> None:
        """Undo a half-made identity: token objects it created, then the folder."""
        for k in made:
            if k.on_token:
                try:
                    uri = Pkcs11Uri.parse(k.ref)
                    with TokenSession(uri, passphrase=self._pin_callback(), module_path=self._module) as ts:
                        ts.destroy(uri.object, uri.id)
                except KeystoreError:
                    pass
        shutil.rmtree(folder, ignore_errors=True)

    def rotate(self, name: str, role: Role, *, location: str | None = None,
               profile: str | None = None, key: sm2.PrivateKey | None = None) -> KeyInfo:
        """Add a new generation of ``role`` key; older ones are kept (old packages still open).

        ``location`` defaults to where the current key of that role lives."""
        ident = self.get(name)
        if role not in ROLES:
            raise InvalidArgument("role is 'sign' or 'enc'", code="bad-role")
        current = ident.current(role)
        if location is None:
            location = SOFTWARE if not current.on_token else str(Pkcs11Uri.parse(current.ref).with_(object=None, id=None))
            profile = profile or current.profile
        folder = self._dir(ident.name)
        with self._locked(folder):
            ident = self._read(folder)
            if key is not None and any(k.public_key == key.public_key() for k in ident.keys):
                raise DuplicateEntry("this key is already part of the identity")
            if location == SOFTWARE and any(not k.on_token for k in ident.keys):
                self._unlock_check(folder, ident)
            gen = max(k.generation for k in ident.of_role(role)) + 1
            new = self._new_key(folder, ident.name, role, gen, location, profile, key)
            self._write(folder, IdentityInfo(ident.name, ident.keys + (new,)))
        return new

    def _unlock_check(self, folder: Path, ident: IdentityInfo) -> None:
        """Prove the passphrase on an existing key file, so one identity keeps one passphrase."""
        existing = next(k for k in ident.keys if not k.on_token)
        self._load_software(folder, ident.name, existing)
        # the NEW prompt for this identity is answered by the passphrase just proven
        self._asked[(Purpose.NEW.value, ident.name)] = self._asked[(Purpose.UNLOCK.value, ident.name)]

    # -- using keys ------------------------------------------------------------------------
    def _load_software(self, folder: Path, name: str, info: KeyInfo) -> sm2.PrivateKey:
        for attempt in range(1, self._attempts + 1):
            password = self._ask(Prompt(f"Passphrase for the keys of {name}", Purpose.UNLOCK, name))
            try:
                key = software.load_key(folder / info.ref[5:], password)
                break
            except WrongPassphrase:
                self._forget(Purpose.UNLOCK, name)
                if attempt == self._attempts:
                    raise
        if key.public_key() != info.public_key:
            raise InvalidKey("key file {ref} does not hold the key the identity records", ref=str(info.ref[5:]))
        return key

    def _open(self, ident: IdentityInfo, info: KeyInfo) -> sm2.PrivateKey | TokenKey:
        if info.on_token:
            tk = TokenKey.open(info.ref, profile=info.profile, passphrase=self._pin_callback(),
                               module_path=self._module, expected=info.public_key)
            self._handed_out.append(tk)
            return tk
        if not info.ref.startswith("file:") or "/" in info.ref[5:] or info.ref[5:].startswith("."):
            raise KeystoreError("identity manifest has a bad key reference")
        return self._load_software(self._dir(ident.name), ident.name, info)

    def unlock(self, name: str, *, signing: bool = True, decryption: bool = True) -> UnlockedIdentity:
        """Unlock ``name``'s current signing key and every encryption key generation, once.

        Returns an ``UnlockedIdentity`` (use it as a context manager: its keys are forgotten
        on close).  This is what a service holds: the key files are decrypted here (PBKDF2,
        about 0.2-0.3 s per file) and never again for the life of the handle, and the handle
        may be shared by threads.  ``signing=False`` / ``decryption=False`` leave one role
        locked (e.g. a token whose profile cannot sign).  See ``smseal.keystore.unlocked``.
        """
        ident = self.get(name)
        opened: list[UnlockedKey] = []
        try:
            signer = None
            if signing:
                info = ident.current("sign")
                if info.on_token:
                    get_profile(info.profile).require_sign()
                signer = UnlockedKey(self._open(ident, info), "sign", info.generation, serialize=info.on_token)
                opened.append(signer)
            if decryption:
                for info in reversed(ident.of_role("enc")):
                    opened.append(UnlockedKey(self._open(ident, info), "enc", info.generation,
                                              serialize=info.on_token))
        except BaseException:
            for k in opened:
                k.close()
            raise
        return UnlockedIdentity(ident, signer, [k for k in opened if k.role == "enc"])

    def signer(self, name: str) -> Signer:
        """The current signing key of ``name``.

        A software key file is decrypted on every call (PBKDF2, about 0.2-0.3 s); a service
        that signs often holds ``unlock(name).signer`` instead."""
        ident = self.get(name)
        info = ident.current("sign")
        if info.on_token:
            get_profile(info.profile).require_sign()
        return self._open(ident, info)

    def decrypter(self, name: str, *, generation: int | None = None) -> Decrypter:
        """The encryption key of ``name`` (the newest, or a given generation).

        Decrypts the key file on every call (PBKDF2); see ``unlock`` for repeated use."""
        ident = self.get(name)
        keys = ident.of_role("enc")
        if generation is not None:
            keys = [k for k in keys if k.generation == generation]
        if not keys:
            raise KeyNotFound("identity {name} has no such encryption key", name=str(ident.name))
        return self._open(ident, keys[-1])

    def encryption_keys(self) -> dict[bytes, tuple[str, KeyInfo]]:
        """Every encryption key held, any generation: key id -> (identity name, key info)."""
        return {k.key_id: (i.name, k) for i in self.list() for k in i.of_role("enc")}

    def find_decrypter(self, key_ids: Iterable[bytes]) -> tuple[bytes, Decrypter]:
        """The first of ``key_ids`` this keystore holds an encryption key for, and that key.

        Only the matching key is unlocked, on every call (PBKDF2, about 0.2-0.3 s for a key
        file): a service opening many packages holds ``unlock(name).decrypters`` instead.
        ``shangmi.NoMatchingKey`` if none is held."""
        held = self.encryption_keys()
        for kid in key_ids:
            if bytes(kid) in held:
                name, info = held[bytes(kid)]
                return bytes(kid), self._open(self.get(name), info)
        raise NoMatchingKey("none of the keys held can open this package (it is not addressed to us)")

    # -- export, passphrase change, delete --------------------------------------------------
    def export_private(self, name: str, role: Role, *, generation: int | None = None,
                       prf: str = "hmac-sm3") -> bytes:
        """PEM of a software key, encrypted under a passphrase asked with ``Purpose.EXPORT``
        (``prf="hmac-sha256"`` for OpenSSL 3.0).  Token keys cannot be exported."""
        ident = self.get(name)
        keys = [k for k in ident.of_role(role) if generation is None or k.generation == generation]
        if not keys:
            raise KeyNotFound("identity {name} has no such {role} key", name=str(ident.name), role=str(role))
        info = keys[-1]
        if info.on_token:
            raise UnsupportedMechanism("this key lives on a token and cannot leave it (non-extractable)")
        key = self._load_software(self._dir(ident.name), ident.name, info)
        password = self._ask(Prompt(f"Passphrase for the exported key of {ident.name}", Purpose.EXPORT,
                                    ident.name), remember=False)
        return key.to_pem(password, prf=prf, iterations=self._iterations)

    def change_passphrase(self, name: str) -> None:
        """Re-encrypt every software key of ``name``; nothing changes if the old one is wrong."""
        ident = self.get(name)
        folder = self._dir(ident.name)
        files = [k for k in ident.keys if not k.on_token]
        with self._locked(folder):
            for k in files:                       # prove the old passphrase on all first
                self._load_software(folder, ident.name, k)
            old = self._asked[(Purpose.UNLOCK.value, ident.name)]
            new = self._ask(Prompt(f"New passphrase for the keys of {ident.name}", Purpose.NEW, ident.name),
                            remember=False)
            for k in files:
                software.rewrap_key(folder / k.ref[5:], old, new, iterations=self._iterations)
        self._asked[(Purpose.UNLOCK.value, ident.name)] = new

    def delete(self, name: str, *, destroy_token_keys: bool = False) -> None:
        """Remove identity ``name`` and its key files.  Token objects are destroyed only when
        ``destroy_token_keys`` is set (otherwise they stay on the token, unreferenced)."""
        ident = self.get(name)
        folder = self._dir(ident.name)
        grave = self.root / f".deleted-{secrets.token_hex(6)}"
        os.rename(folder, grave)   # atomic: the identity is gone or still whole
        if destroy_token_keys:
            self._discard(grave, [k for k in ident.keys if k.on_token])
        shutil.rmtree(grave, ignore_errors=True)

    def close(self) -> None:
        """Close token sessions handed out and forget remembered passphrases and PINs."""
        for tk in self._handed_out:
            tk.close()
        self._handed_out.clear()
        self._asked.clear()

    def __enter__(self) -> "Keystore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_private_key(data: bytes, password: bytes | None = None) -> sm2.PrivateKey:
    """Read a PEM private key for ``import_identity`` (PKCS#8 plain/encrypted, SEC1)."""
    if len(data) > software.MAX_KEY_FILE:
        raise InvalidKey("too large to be a key file")
    return sm2.PrivateKey.from_pem(data, password=password)
