"""The unit's leaders (签发人): people with a personal SM2 signing key bound to the unit.

A leader approves (签发) a document before the unit sends it.  The key is the
leader's own — a key file under the leader's own passphrase, or a key on the
leader's token — and it is published in the unit's card (``cards``), so the
recipients can check the approval against the leaders the unit registered.

Layout under ``SMSEAL_HOME``::

    leaders/leaders.json        manifest: name, public key, where the key is, added, removed
    leaders/l-<hex>.key         encrypted PKCS#8, 0600, under the leader's passphrase

Removing a leader keeps the manifest entry (with ``removed``) so the unit's
next card leaves the key out and recipients revoke it; the key file is
deleted, so it cannot approve again from this computer.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Iterator

from shangmi import sm2
from shangmi.errors import DuplicateEntry, InvalidKey, InvalidSignature, KeyNotFound, KeystoreError, WrongPassphrase
from shangmi.sm3 import digest as sm3_digest

from . import software
from .atomic import write_atomic
from .base import Signer
from .cards import CardLeader, check_leader_proof, prove_leader
from .names import from_text, normalize_name, now, to_text
from .paths import ensure_private_dir, smseal_home
from .pkcs11 import TokenKey, TokenSession
from .pkcs11_profiles import get_profile
from .pkcs11_uri import Pkcs11Uri
from .prompts import PassphraseCallback, Prompt, Purpose, ask

_FORMAT = "smseal-leaders/1"
_MAX_MANIFEST = 256 * 1024


@dataclass(frozen=True)
class LeaderInfo:
    """One leader as the manifest records it (no secret in here)."""

    name: str
    public_key: sm2.PublicKey
    ref: str                      # file:<name> or a pkcs11: URI without PIN
    profile: str | None
    added: datetime
    removed: datetime | None = None
    #: (unit, the leader's signature of ``cards.leader_statement``) for the unit's card
    proof: tuple[str, bytes] | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.removed is None

    @property
    def on_token(self) -> bool:
        return self.ref.startswith("pkcs11:")


def _slug(name: str) -> str:
    return "l-" + sm3_digest(name.encode("utf-8"))[:10].hex()


class Leaders:
    """This unit's leaders under ``home``; passphrases and PINs asked through ``passphrase``."""

    def __init__(self, home: str | os.PathLike[str] | None = None, *,
                 passphrase: PassphraseCallback | None = None, kdf_iterations: int | None = None,
                 pkcs11_module: str | None = None) -> None:
        self.root = smseal_home(home) / "leaders"
        self._callback = passphrase
        self._iterations = software.kdf_iterations(kdf_iterations)
        self._module = pkcs11_module
        self._open_keys: list[TokenKey] = []

    def __repr__(self) -> str:
        return f"<Leaders {self.root}>"

    # -- manifest ----------------------------------------------------------------------
    def _read(self) -> list[LeaderInfo]:
        path = self.root / "leaders.json"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        try:
            if len(raw) > _MAX_MANIFEST:
                raise ValueError("too large")
            doc = json.loads(raw.decode("utf-8"))
            if doc.get("format") != _FORMAT:
                raise ValueError("unknown format")
            return [LeaderInfo(normalize_name(e["name"]),
                               sm2.PublicKey.from_bytes(bytes.fromhex(e["public_key"])),
                               str(e["ref"]), e.get("profile"), from_text(e["added"]),
                               from_text(e["removed"]) if e.get("removed") else None,
                               (normalize_name(e["proof"]["unit"]), bytes.fromhex(e["proof"]["signature"]))
                               if e.get("proof") else None)
                    for e in doc["leaders"]]
        except (ValueError, KeyError, TypeError, InvalidKey) as exc:
            raise KeystoreError("leader manifest {path} is damaged ({kind})", path=str(path),
                                kind=str(exc.__class__.__name__)) from None

    def _write(self, leaders: list[LeaderInfo]) -> None:
        doc = {"format": _FORMAT, "leaders": [
            {"name": e.name, "public_key": e.public_key.to_bytes().hex(), "ref": e.ref,
             "profile": e.profile, "added": to_text(e.added),
             "removed": to_text(e.removed) if e.removed else None,
             **({"proof": {"unit": e.proof[0], "signature": e.proof[1].hex()}} if e.proof else {})}
            for e in leaders]}
        write_atomic(self.root / "leaders.json",
                     json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8") + b"\n")

    @contextmanager
    def _locked(self) -> Iterator[list[LeaderInfo]]:
        ensure_private_dir(self.root)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield self._read()
        finally:
            os.close(fd)

    # -- listing ---------------------------------------------------------------------------
    def list(self, *, include_removed: bool = False) -> list[LeaderInfo]:
        """The leaders, active ones only unless ``include_removed``."""
        return [e for e in self._read() if include_removed or e.active]

    def get(self, name: str) -> LeaderInfo:
        """The active leader ``name``; ``KeyNotFound`` otherwise."""
        name = normalize_name(name)
        for e in self.list():
            if e.name == name:
                return e
        raise KeyNotFound("no leader named {name} in this unit", name=str(name))

    def only(self) -> LeaderInfo:
        """The unit's only active leader; ``KeyNotFound`` if there is none or several."""
        active = self.list()
        if len(active) != 1:
            raise KeyNotFound("this unit has no leader" if not active else
                              f"this unit has {len(active)} leaders: name the one who approves")
        return active[0]

    # -- changes ---------------------------------------------------------------------------
    def add(self, name: str, *, token: str | None = None, profile: str | None = None,
            key: sm2.PrivateKey | None = None, unit: str | None = None) -> LeaderInfo:
        """Make a signing key for leader ``name``: a key file under the leader's passphrase,
        or on the token ``token`` (a pkcs11: URI; the token's profile must sign SM2).

        With ``unit``, a key file also signs at once the proof the unit's card carries
        (``cards.prove_leader``); a token key signs it at the first ``card_leader``."""
        name = normalize_name(name)
        with self._locked() as leaders:
            if any(e.name == name and e.active for e in leaders):
                raise DuplicateEntry("a leader named {name} already exists", name=str(name))
            if token is None:
                key = key or sm2.PrivateKey.generate()
                password = ask(self._callback, Prompt(f"New passphrase for the key of leader {name}",
                                                      Purpose.NEW, name))
                filename = f"{_slug(name)}-{len(leaders) + 1}.key"
                software.store_new_key(self.root / filename, key, password, iterations=self._iterations)
                proof = None if unit is None else (normalize_name(unit), prove_leader(unit, name, key).proof)
                info = LeaderInfo(name, key.public_key(), f"file:{filename}", None, now(), None, proof)
            else:
                p = get_profile(profile)
                p.require_sign()      # refuse before anything is made on a token that cannot sign
                uri = Pkcs11Uri.parse(token)
                with TokenSession(uri, passphrase=self._pin, module_path=self._module) as ts:
                    public, where = (ts.generate(p, "sign", f"smseal leader {name}") if key is None
                                     else ts.import_key(p, "sign", f"smseal leader {name}", key))
                info = LeaderInfo(name, public, str(where), p.name, now())
            if any(e.public_key == info.public_key for e in leaders):
                raise DuplicateEntry("this key is already a leader key")
            self._write([*leaders, info])
        return info

    def remove(self, name: str) -> LeaderInfo:
        """Mark leader ``name`` removed (kept in the manifest) and delete the key file."""
        name = normalize_name(name)
        with self._locked() as leaders:
            for i, e in enumerate(leaders):
                if e.name == name and e.active:
                    gone = LeaderInfo(e.name, e.public_key, e.ref, e.profile, e.added, now())
                    leaders[i] = gone
                    self._write(leaders)
                    if e.ref.startswith("file:"):
                        (self.root / e.ref[5:]).unlink(missing_ok=True)
                    return gone
        raise KeyNotFound("no leader named {name} in this unit", name=str(name))

    def card_leader(self, name: str, unit: str) -> CardLeader:
        """Active leader ``name`` as ``unit``'s card names it, with the leader's proof: the one
        recorded, or (once, then recorded) signed now with the leader's key (asks the
        leader's passphrase or PIN)."""
        info = self.get(name)
        unit = normalize_name(unit)
        if info.proof is not None and info.proof[0] == unit:
            leader = CardLeader(info.name, info.public_key, info.proof[1])
            try:
                check_leader_proof(unit, leader)
                return leader
            except InvalidSignature:
                pass                    # a damaged record: sign again
        leader = prove_leader(unit, info.name, self.signer(info.name))
        with self._locked() as leaders:
            self._write([replace(e, proof=(unit, leader.proof)) if e.public_key == info.public_key else e
                         for e in leaders])
        return leader

    # -- using keys ----------------------------------------------------------------------
    def _pin(self, prompt: Prompt) -> bytes:
        return ask(self._callback, prompt)

    def signer(self, name: str) -> Signer:
        """The signing key of leader ``name`` (asks the leader's passphrase or the token PIN)."""
        info = self.get(name)
        if info.on_token:
            get_profile(info.profile).require_sign()
            tk = TokenKey.open(info.ref, profile=info.profile, passphrase=self._pin,
                               module_path=self._module, expected=info.public_key)
            self._open_keys.append(tk)
            return tk
        filename = info.ref[5:]
        if not info.ref.startswith("file:") or "/" in filename or filename.startswith("."):
            raise KeystoreError("leader manifest has a bad key reference")
        password = ask(self._callback, Prompt(f"Passphrase of leader {info.name}", Purpose.UNLOCK, info.name))
        try:
            key = software.load_key(self.root / filename, password)
        except WrongPassphrase:
            raise WrongPassphrase("wrong passphrase for the key of leader {name}", name=str(info.name)) from None
        if key.public_key() != info.public_key:
            raise InvalidKey("the leader's key file does not hold the key the manifest records")
        return key

    def close(self) -> None:
        """Close token sessions handed out by ``signer``."""
        for tk in self._open_keys:
            tk.close()
        self._open_keys.clear()

    def __enter__(self) -> "Leaders":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
