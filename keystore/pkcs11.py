"""PKCS#11 tokens through PyKCS11: find a token, log in, make and use SM2 keys on it.

Keys made or imported here are non-extractable: CKA_SENSITIVE=True,
CKA_EXTRACTABLE=False, CKA_PRIVATE=True.  An encryption key may only derive
(or, on a vendor token, decrypt) and a signing key may only sign, so the
dual-key separation holds on the token too.

Decryption on a token without an SM2 mechanism (SoftHSM2) uses
CKM_ECDH1_DERIVE with CKD_NULL on C1: the token computes x(d·C1) into a
short-lived, non-token CKK_GENERIC_SECRET object (extractable, 32 bytes),
smseal reads it, destroys the object and finishes SM2 decryption in software
(``shangmi.sm2.decrypt_with_shared_point`` tries both y roots and keeps the
one whose C3 matches).  The private scalar never leaves the token; the
shared point is per-ciphertext and is only as secret as that one file key.

Signing needs a vendor mechanism (see ``pkcs11_profiles``); where the
profile has none, ``sign`` raises ``shangmi.UnsupportedMechanism``.  Every
token signature is verified with the public key before it is returned.
"""

from __future__ import annotations

import glob
import os
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import PyKCS11
from PyKCS11 import PyKCS11Error

from shangmi import sm2
from shangmi.errors import InvalidSignature, KeyNotFound, TokenError, UnsupportedMechanism

from . import pkcs11_profiles as prof
from .errors import AmbiguousKey, ModuleNotFound, PinLocked, TokenNotFound, WrongPin
from .pkcs11_uri import Pkcs11Uri
from .prompts import PassphraseCallback, Prompt, Purpose, ask

ENV_MODULE = "SMSEAL_PKCS11_MODULE"
_MODULE_DIRS = ("/usr/lib/*/pkcs11", "/usr/lib/pkcs11", "/usr/lib64/pkcs11", "/usr/lib/softhsm",
                "/usr/lib/*/softhsm", "/usr/local/lib", "/usr/local/lib/softhsm")

_libs: dict[str, PyKCS11.PyKCS11Lib] = {}
_libs_lock = threading.Lock()


def _ckr(exc: PyKCS11Error) -> str:
    return str(PyKCS11.CKR.get(exc.value, hex(exc.value) if isinstance(exc.value, int) else str(exc.value)))


def resolve_module(uri: Pkcs11Uri | None = None, module_path: str | None = None) -> str:
    """The module to load: ``module_path``, else the URI's module-path / module-name,
    else ``$SMSEAL_PKCS11_MODULE``; ``ModuleNotFound`` when none is configured."""
    path = module_path or (uri.module_path if uri else None)
    if not path and uri is not None and uri.module_name:
        name = uri.module_name
        if "/" in name or name.startswith("."):
            raise ModuleNotFound("module-name must be a bare library name")
        for pattern in _MODULE_DIRS:
            for cand in (f"{pattern}/{name}.so", f"{pattern}/lib{name}.so"):
                found = sorted(glob.glob(cand))
                if found:
                    path = found[0]
                    break
            if path:
                break
        if not path:
            raise ModuleNotFound("PKCS#11 module {name} not found in the usual folders", name=repr(name))
    path = path or os.environ.get(ENV_MODULE)
    if not path:
        raise ModuleNotFound("no PKCS#11 module configured",
                             hint=f"add ?module-path=... to the URI or set {ENV_MODULE}")
    return path


def load_module(path: str) -> PyKCS11.PyKCS11Lib:
    """Load (once per process) and initialise the PKCS#11 library at ``path``."""
    with _libs_lock:
        lib = _libs.get(path)
        if lib is not None:
            return lib
        if not os.path.isfile(path):
            raise ModuleNotFound("PKCS#11 module {path} does not exist", path=str(path))
        lib = PyKCS11.PyKCS11Lib()
        try:
            lib.load(path)
        except PyKCS11Error as exc:
            raise ModuleNotFound("cannot load PKCS#11 module {path}: {ckr}",
                                 path=str(path), ckr=str(_ckr(exc))) from None
        _libs[path] = lib
        return lib


@dataclass(frozen=True)
class TokenInfo:
    slot: int
    label: str
    manufacturer: str
    model: str
    serial: str


def list_tokens(module_path: str) -> list[TokenInfo]:
    """The tokens in the slots of the PKCS#11 module at ``module_path`` (label, serial, flags)."""
    lib = load_module(module_path)
    out = []
    try:
        for slot in lib.getSlotList(tokenPresent=True):
            ti = lib.getTokenInfo(slot)
            if not ti.flags & PyKCS11.CKF_TOKEN_INITIALIZED:
                continue
            out.append(TokenInfo(slot, ti.label.rstrip(" \0"), ti.manufacturerID.rstrip(" \0"),
                                 ti.model.rstrip(" \0"), ti.serialNumber.rstrip(" \0")))
    except PyKCS11Error as exc:
        raise TokenError("cannot list tokens: {ckr}", ckr=str(_ckr(exc))) from None
    return out


def _matches(t: TokenInfo, uri: Pkcs11Uri) -> bool:
    return ((uri.token is None or t.label == uri.token)
            and (uri.manufacturer is None or t.manufacturer == uri.manufacturer)
            and (uri.model is None or t.model == uri.model)
            and (uri.serial is None or t.serial == uri.serial)
            and (uri.slot_id is None or t.slot == uri.slot_id))


class TokenSession:
    """A logged-in read/write session on the one token a URI names."""

    def __init__(self, uri: Pkcs11Uri | str, *, passphrase: PassphraseCallback | None = None,
                 module_path: str | None = None) -> None:
        self.uri = Pkcs11Uri.parse(uri) if isinstance(uri, str) else uri
        self.module_path = resolve_module(self.uri, module_path)
        self.lib = load_module(self.module_path)
        tokens = [t for t in list_tokens(self.module_path) if _matches(t, self.uri)]
        what = f"token {self.uri.token!r}" if self.uri.token else "token"
        if not tokens:
            raise TokenNotFound("no {what} found in {basename}", what=str(what),
                                basename=str(os.path.basename(self.module_path)))
        if len(tokens) > 1:
            raise TokenNotFound("{n} tokens match; name one with token= or serial=", n=str(len(tokens)))
        self.token = tokens[0]
        self.lock = threading.RLock()
        try:
            self.session = self.lib.openSession(self.token.slot,
                                                PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION)
        except PyKCS11Error as exc:
            raise TokenError("cannot open a session on token {label}: {ckr}", label=repr(self.token.label),
                             ckr=str(_ckr(exc))) from None
        try:
            self._login(passphrase)
        except BaseException:
            self.close()
            raise

    def _login(self, passphrase: PassphraseCallback | None) -> None:
        if self.uri.pin_value is not None:
            pin = self.uri.pin_value.encode("utf-8")
        else:
            pin = ask(passphrase, Prompt(f"PIN for token {self.token.label}", Purpose.PIN, self.token.label))
        try:
            self.session.login(pin)
        except PyKCS11Error as exc:
            if exc.value == PyKCS11.CKR_USER_ALREADY_LOGGED_IN:
                return  # this process already unlocked the token
            if exc.value in (PyKCS11.CKR_PIN_INCORRECT, PyKCS11.CKR_PIN_INVALID, PyKCS11.CKR_PIN_LEN_RANGE):
                raise WrongPin("wrong PIN for token {label}", label=repr(self.token.label)) from None
            if exc.value == PyKCS11.CKR_PIN_LOCKED:
                raise PinLocked("the user PIN of token {label} is locked", label=repr(self.token.label)) from None
            raise TokenError("login to token {label} failed: {ckr}", label=repr(self.token.label),
                             ckr=str(_ckr(exc))) from None
        finally:
            del pin

    def close(self) -> None:
        """Log out and close the session (idempotent)."""
        session, self.session = getattr(self, "session", None), None
        if session is not None:
            try:
                session.closeSession()
            except PyKCS11Error:
                pass

    def __enter__(self) -> "TokenSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<TokenSession {getattr(self, 'token', None) and self.token.label!r}>"

    # -- objects ------------------------------------------------------------------------
    def find(self, cls: int, label: str | None, key_id: bytes | None) -> int:
        """The one object of class ``cls`` with this label and/or id."""
        if label is None and key_id is None:
            raise KeyNotFound("name the key with object= (label) or id= in the pkcs11: URI")
        tmpl: list[tuple[Any, object]] = [(PyKCS11.CKA_CLASS, cls)]
        if label is not None:
            tmpl.append((PyKCS11.CKA_LABEL, label))
        if key_id is not None:
            tmpl.append((PyKCS11.CKA_ID, tuple(key_id)))
        with self.lock:
            try:
                found = self.session.findObjects(tmpl)
            except PyKCS11Error as exc:
                raise TokenError("object search failed: {ckr}", ckr=str(_ckr(exc))) from None
        kind = "private key" if cls == PyKCS11.CKO_PRIVATE_KEY else "public key"
        desc = ", ".join(p for p in (label and f"label {label!r}", key_id and f"id {key_id.hex()}") if p)
        if not found:
            raise KeyNotFound("no {kind} with {desc} on token {label}", kind=str(kind), desc=str(desc),
                              label=repr(self.token.label))
        if len(found) > 1:
            raise AmbiguousKey("{n} {kind}s with {desc} on token {label}", n=str(len(found)), kind=str(kind),
                               desc=str(desc), label=repr(self.token.label))
        handle: int = found[0]
        return handle

    def public_key_of(self, label: str | None, key_id: bytes | None) -> sm2.PublicKey:
        """The SM2 public key of the token object named by label and/or CKA_ID."""
        handle = self.find(PyKCS11.CKO_PUBLIC_KEY, label, key_id)
        with self.lock:
            try:
                (point,) = self.session.getAttributeValue(handle, [PyKCS11.CKA_EC_POINT], allAsBinary=True)
            except PyKCS11Error as exc:
                raise TokenError("cannot read the public point: {ckr}", ckr=str(_ckr(exc))) from None
        if point is None:
            raise TokenError("the token did not return CKA_EC_POINT")
        return prof.decode_ec_point(bytes(point))

    def destroy(self, label: str | None, key_id: bytes | None) -> None:
        """Destroy the token objects named by label and/or CKA_ID (private and public)."""
        for cls in (PyKCS11.CKO_PRIVATE_KEY, PyKCS11.CKO_PUBLIC_KEY):
            try:
                handle = self.find(cls, label, key_id)
            except KeyNotFound:
                continue
            with self.lock:
                self.session.destroyObject(handle)

    # -- making keys --------------------------------------------------------------------
    def _templates(self, profile: prof.VendorProfile, role: str, label: str,
                   key_id: bytes) -> tuple[list[tuple[Any, object]], list[tuple[Any, object]]]:
        common = [(PyKCS11.CKA_KEY_TYPE, profile.key_type), (PyKCS11.CKA_TOKEN, True),
                  (PyKCS11.CKA_LABEL, label), (PyKCS11.CKA_ID, tuple(key_id))]
        pub = [(PyKCS11.CKA_CLASS, PyKCS11.CKO_PUBLIC_KEY), (PyKCS11.CKA_PRIVATE, False), *common]
        if profile.ec_params is not None:
            # on generation the curve is named in the public template only (the private
            # template's CKA_EC_PARAMS is read-only then); import adds it to both
            pub.append((PyKCS11.CKA_EC_PARAMS, tuple(profile.ec_params)))
        priv = [(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY), (PyKCS11.CKA_PRIVATE, True),
                (PyKCS11.CKA_SENSITIVE, True), (PyKCS11.CKA_EXTRACTABLE, False), *common]
        if role == "sign":
            profile.require_sign()
            pub.append((PyKCS11.CKA_VERIFY, True))
            priv += [(PyKCS11.CKA_SIGN, True), (PyKCS11.CKA_DERIVE, False)]
        elif profile.decrypt_mechanism is None:
            priv += [(PyKCS11.CKA_DERIVE, True), (PyKCS11.CKA_SIGN, False)]
        else:
            pub.append((PyKCS11.CKA_ENCRYPT, True))
            priv += [(PyKCS11.CKA_DECRYPT, True), (PyKCS11.CKA_SIGN, False)]
        return pub, priv

    def _located(self, label: str, key_id: bytes) -> Pkcs11Uri:
        return self.uri.without_pin().with_(object=label, id=key_id, type=None,
                                            module_path=self.uri.module_path or self.module_path)

    def generate(self, profile: prof.VendorProfile, role: str, label: str) -> tuple[sm2.PublicKey, Pkcs11Uri]:
        """Generate a non-extractable SM2 key pair on the token; return its public key and URI."""
        key_id = secrets.token_bytes(16)
        pub_t, priv_t = self._templates(profile, role, label, key_id)
        with self.lock:
            try:
                pub_h, _ = self.session.generateKeyPair(
                    pub_t, priv_t, mecha=PyKCS11.Mechanism(profile.keygen_mechanism, None))
            except PyKCS11Error as exc:
                if exc.value in (PyKCS11.CKR_MECHANISM_INVALID, PyKCS11.CKR_CURVE_NOT_SUPPORTED,
                                 PyKCS11.CKR_DOMAIN_PARAMS_INVALID):
                    raise UnsupportedMechanism("token {label} cannot generate SM2 keys with profile {name}: {ckr}",
                                               label=repr(self.token.label),
                                               name=repr(profile.name), ckr=str(_ckr(exc))) from None
                raise TokenError("key generation failed: {ckr}", ckr=str(_ckr(exc))) from None
            (point,) = self.session.getAttributeValue(pub_h, [PyKCS11.CKA_EC_POINT], allAsBinary=True)
        return prof.decode_ec_point(bytes(point)), self._located(label, key_id)

    def import_key(self, profile: prof.VendorProfile, role: str, label: str,
                   key: sm2.PrivateKey) -> tuple[sm2.PublicKey, Pkcs11Uri]:
        """Store an existing software key on the token as a sensitive, non-extractable object.

        The token marks it CKA_ALWAYS_SENSITIVE=False / CKA_NEVER_EXTRACTABLE=False,
        truthfully: the value did exist outside the token once.
        """
        d = key.private_bytes()  # the token needs the scalar itself
        key_id = secrets.token_bytes(16)
        pub_t, priv_t = self._templates(profile, role, label, key_id)
        pub_t.append((PyKCS11.CKA_EC_POINT, tuple(prof.encode_ec_point(key.public_key()))))
        if profile.ec_params is not None:
            priv_t.append((PyKCS11.CKA_EC_PARAMS, tuple(profile.ec_params)))
        priv_t.append((PyKCS11.CKA_VALUE, tuple(d)))
        del d
        with self.lock:
            try:
                priv_h = self.session.createObject(priv_t)
                try:
                    self.session.createObject(pub_t)
                except PyKCS11Error:
                    self.session.destroyObject(priv_h)
                    raise
            except PyKCS11Error as exc:
                raise TokenError("key import failed: {ckr}", ckr=str(_ckr(exc))) from None
            finally:
                priv_t.clear()
        return key.public_key(), self._located(label, key_id)


class TokenKey:
    """A private key on a token: ``sign`` (vendor profiles only) and ``decrypt``.

    Holds its own logged-in session; ``close()`` (or ``with``) releases it.
    """

    def __init__(self, session: TokenSession, handle: int, public_key: sm2.PublicKey,
                 profile: prof.VendorProfile) -> None:
        self._session = session
        self._handle = handle
        self._public = public_key
        self.profile = profile

    @classmethod
    def open(cls, uri: Pkcs11Uri | str, *, profile: str | prof.VendorProfile | None = None,
             passphrase: PassphraseCallback | None = None, module_path: str | None = None,
             expected: sm2.PublicKey | None = None) -> "TokenKey":
        """Open the private key a URI names (object= and/or id=)."""
        p = profile if isinstance(profile, prof.VendorProfile) else prof.get_profile(profile)
        session = TokenSession(uri, passphrase=passphrase, module_path=module_path)
        try:
            u = session.uri
            handle = session.find(PyKCS11.CKO_PRIVATE_KEY, u.object, u.id)
            try:
                public = session.public_key_of(u.object, u.id)
            except KeyNotFound:
                if expected is None:
                    raise
                public = expected
            if expected is not None and public != expected:
                raise KeyNotFound("the key on the token is not the one the identity records")
            return cls(session, handle, public, p)
        except BaseException:
            session.close()
            raise

    def public_key(self) -> sm2.PublicKey:
        """The public key of this token key."""
        return self._public

    def sign(self, data: bytes) -> bytes:
        """DER SM2 signature of ``data`` made on the token with the profile's vendor mechanism."""
        mech = self.profile.require_sign()
        payload = self.profile.sign_payload(self._public, data)
        with self._session.lock:
            try:
                out = bytes(self._session.session.sign(self._handle, payload, PyKCS11.Mechanism(mech, None)))
            except PyKCS11Error as exc:
                if exc.value == PyKCS11.CKR_MECHANISM_INVALID:
                    raise UnsupportedMechanism("the token does not know mechanism {mech} (profile {name})",
                                               mech=f'{mech:#x}',
                                               name=repr(self.profile.name)) from None
                raise TokenError("signing on the token failed: {ckr}", ckr=str(_ckr(exc))) from None
        try:
            sig = self.profile.signature_to_der(out)
            self._public.verify(sig, data)
        except InvalidSignature:
            raise TokenError("the token returned a signature that does not verify; profile {name} may not fit this "
                             "token",
                             name=repr(self.profile.name)) from None
        return sig

    def decrypt(self, wrapped: bytes) -> bytes:
        """SM2 decryption with the non-extractable key: the token derives x(d·C1) (ECDH), the rest is done here."""
        if self.profile.decrypt_mechanism is not None:
            data = self.profile.ciphertext_for_token(wrapped)
            mech = PyKCS11.Mechanism(self.profile.decrypt_mechanism, None)
            with self._session.lock:
                try:
                    return bytes(self._session.session.decrypt(self._handle, data, mech))
                except PyKCS11Error as exc:
                    from shangmi.errors import DecryptionError
                    if exc.value in (PyKCS11.CKR_ENCRYPTED_DATA_INVALID, PyKCS11.CKR_ENCRYPTED_DATA_LEN_RANGE):
                        raise DecryptionError() from None
                    raise TokenError("decryption on the token failed: {ckr}", ckr=str(_ckr(exc))) from None
        c1, _, _ = sm2.decode_ciphertext(wrapped)   # checks C1 is on the curve first
        point = b"\x04" + c1[0].to_bytes(32, "big") + c1[1].to_bytes(32, "big")
        return prof.finish_derive_decrypt(wrapped, self._derive_x(point))

    def _derive_x(self, point: bytes) -> bytes:
        s = self._session.session
        tmpl = [(PyKCS11.CKA_CLASS, PyKCS11.CKO_SECRET_KEY), (PyKCS11.CKA_KEY_TYPE, PyKCS11.CKK_GENERIC_SECRET),
                (PyKCS11.CKA_TOKEN, False), (PyKCS11.CKA_SENSITIVE, False),
                (PyKCS11.CKA_EXTRACTABLE, True), (PyKCS11.CKA_VALUE_LEN, 32)]
        mech = PyKCS11.ECDH1_DERIVE_Mechanism(point, kdf=PyKCS11.CKD_NULL)
        with self._session.lock:
            try:
                secret = s.deriveKey(self._handle, tmpl, mech)
            except PyKCS11Error as exc:
                if exc.value in (PyKCS11.CKR_MECHANISM_INVALID, PyKCS11.CKR_KEY_TYPE_INCONSISTENT,
                                 PyKCS11.CKR_KEY_FUNCTION_NOT_PERMITTED):
                    raise UnsupportedMechanism("the token cannot ECDH-derive with this key: {ckr}",
                                               ckr=str(_ckr(exc))) from None
                raise TokenError("ECDH derive on the token failed: {ckr}", ckr=str(_ckr(exc))) from None
            try:
                (value,) = s.getAttributeValue(secret, [PyKCS11.CKA_VALUE], allAsBinary=True)
            finally:
                s.destroyObject(secret)
        if value is None:
            raise TokenError("the token did not release the derived value")
        return bytes(value)

    def close(self) -> None:
        """Close this key's token session (idempotent)."""
        self._session.close()

    def __enter__(self) -> "TokenKey":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<TokenKey {self._public.fingerprint()[:8].hex()} on {self._session.token.label!r}>"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("token keys cannot be pickled")


__all__ = ["TokenSession", "TokenKey", "TokenInfo", "list_tokens", "load_module", "resolve_module",
           "ENV_MODULE"]
