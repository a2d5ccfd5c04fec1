"""SM4-GCM and SM3 through libgcrypt (GnuPG's crypto library, Debian ``libgcrypt20``), bound with ctypes.

Why: pyca's OpenSSL has only portable C for both (SM4 about 130 MB/s a core
here, SM3 about 340 MB/s), while libgcrypt ≥ 1.10 computes the SM4 S-box with
the AES-NI instruction (an affine isomorphism between the two S-boxes) 16
blocks at a time with AVX2, GHASH with PCLMUL (1.11 adds GFNI/AVX-512), and
SM3 with AVX/BMI2: about 700 MB/s and 440 MB/s a core on the same machine.
It is only an accelerator: ``load()`` refuses any libgcrypt that is missing,
older than 1.10.0 (1.9 added SM4, but 1.9.0 has a heap overflow in its hashing,
CVE-2021-3345), in FIPS mode (SM4 disabled), or that fails the
known answers (RFC 8998 A.1 for SM4-GCM, GB/T 32905 A.1/A.2 for SM3), and
callers then use pyca.  ``SHANGMI_GCRYPT=off`` in the environment refuses it
too.  ctypes releases the GIL during each call, so work runs on every core.

Every buffer argument goes through :func:`shangmi._bytes.byte_view` first, so
sizes are counted in bytes whatever the buffer's item type and strided buffers
are copied; ``shangmi.sm3`` and ``shangmi.sm4_batch`` do the same before calling
pyca's OpenSSL, so both backends give the same result for every input.

libgcrypt wipes a handle's key schedule or hash state when it is closed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import weakref
from typing import Sequence, Union

from ._bytes import BytesLike, byte_items, byte_view
from .errors import BackendError, InvalidTag

_VP = ctypes.c_void_p
_SZ = ctypes.c_size_t
_ERR = ctypes.c_uint

_CIPHER_SM4 = 318
_MODE_GCM = 9
_MD_SM3 = 326
_CTL_INITIALIZATION_FINISHED = 38
_CTL_INITIALIZATION_FINISHED_P = 39
_CTL_FIPS_MODE_P = 55
_MIN_VERSION = (1, 10, 0)
TAG_SIZE = 16
NONCE_SIZE = 12
Piece = Union[bytes, bytearray]

# RFC 8998 "ShangMi (SM) Cipher Suites for TLS 1.3", Appendix A.1 (also tests/vectors/sm4-gcm.txt).
_KAT_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
_KAT_IV = bytes.fromhex("00001234567800000000ABCD")
_KAT_AAD = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
_KAT_PT = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
                        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA")
_KAT_CT_TAG = bytes.fromhex("17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
                            "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
                            "83DE3541E4C2B58177E065A9BF7B62EC")
_KAT_SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
_KAT_SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def _bind(lib: ctypes.CDLL) -> None:
    sigs: dict[str, tuple[object, list[object]]] = {
        "gcry_check_version": (ctypes.c_char_p, [ctypes.c_char_p]),
        "gcry_control": (_ERR, [ctypes.c_int, ctypes.c_int]),
        "gcry_cipher_open": (_ERR, [ctypes.POINTER(_VP), ctypes.c_int, ctypes.c_int, ctypes.c_uint]),
        "gcry_cipher_close": (None, [_VP]),
        "gcry_cipher_setkey": (_ERR, [_VP, ctypes.c_char_p, _SZ]),
        "gcry_cipher_setiv": (_ERR, [_VP, ctypes.c_char_p, _SZ]),
        "gcry_cipher_authenticate": (_ERR, [_VP, ctypes.c_char_p, _SZ]),
        "gcry_cipher_encrypt": (_ERR, [_VP, _VP, _SZ, ctypes.c_char_p, _SZ]),
        "gcry_cipher_decrypt": (_ERR, [_VP, _VP, _SZ, ctypes.c_char_p, _SZ]),
        "gcry_cipher_gettag": (_ERR, [_VP, _VP, _SZ]),
        "gcry_cipher_checktag": (_ERR, [_VP, ctypes.c_char_p, _SZ]),
        "gcry_md_open": (_ERR, [ctypes.POINTER(_VP), ctypes.c_int, ctypes.c_uint]),
        "gcry_md_write": (None, [_VP, _VP, _SZ]),
        "gcry_md_copy": (_ERR, [ctypes.POINTER(_VP), _VP]),
        "gcry_md_read": (ctypes.POINTER(ctypes.c_char), [_VP, ctypes.c_int]),
        "gcry_md_close": (None, [_VP]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args


def _as_bytes(data: bytes | bytearray | memoryview) -> bytes:
    """ctypes passes a bytes object's own buffer (no copy); other buffers are copied once, as bytes."""
    view = byte_view(data)
    return view if type(view) is bytes else bytes(view)


def version_tuple(version: str) -> tuple[int, ...] | None:
    """``"1.10.1"`` → ``(1, 10, 1)``, ``"1.10"`` → ``(1, 10, 0)``; a suffix after the numbers
    (``"1.11.0-beta3"``) is ignored; None if the text does not start with a dotted version."""
    parts: list[int] = []
    for part in version.split("."):
        digits = ""
        for ch in part:
            if not ("0" <= ch <= "9"):
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) != len(part):
            break
    return tuple(parts + [0] * (3 - len(parts))) if len(parts) >= 2 else None


def check_version(version: str) -> None:
    """Raise BackendError unless ``version`` (as ``gcry_check_version`` reports it) is at least
    1.10.0: older ones have no SM4 (before 1.9) or a heap overflow in hashing (1.9.0, CVE-2021-3345)."""
    parsed = version_tuple(version)
    if parsed is None or parsed < _MIN_VERSION:
        minimum = ".".join(map(str, _MIN_VERSION))
        raise BackendError("libgcrypt {version} is older than {minimum} (no SM4, or CVE-2021-3345)",
                           version=str(version), minimum=str(minimum))


def _mismatch(index: int) -> InvalidTag:
    return InvalidTag("message {index} failed authentication", index=str(index))


class Gcrypt:
    """A libgcrypt that passed the known answers: ``.sm4_gcm`` and ``.sm3()``."""

    def __init__(self, lib: ctypes.CDLL, path: str, version: str) -> None:
        self.lib, self.path, self.version = lib, path, version
        self.reason = f"libgcrypt {version} at {path}"
        self.sm4_gcm = GcryptSM4GCM(self)

    def sm3(self) -> "GcryptSM3":
        """A new SM3 hash with the interface of pyca's ``hashes.Hash``."""
        return GcryptSM3(self.lib)


class GcryptSM3:
    """Incremental SM3 (update / copy / finalize, like pyca's ``hashes.Hash``); one thread at a time."""

    __slots__ = ("_lib", "_h", "__weakref__")
    _lib: ctypes.CDLL
    _h: int

    def __init__(self, lib: ctypes.CDLL, source: "GcryptSM3 | None" = None) -> None:
        h = _VP()
        err = lib.gcry_md_copy(ctypes.byref(h), source._h) if source is not None \
            else lib.gcry_md_open(ctypes.byref(h), _MD_SM3, 0)
        if err or not h.value:
            raise BackendError("libgcrypt could not open SM3")
        self._lib, self._h = lib, h.value
        weakref.finalize(self, lib.gcry_md_close, h.value)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Hash the bytes of ``data`` (any bytes-like object; its size in bytes, not items)."""
        buf = byte_view(data)
        if isinstance(buf, bytes):
            self._lib.gcry_md_write(self._h, buf, len(buf))
        elif len(buf):
            # A writable buffer is passed in place; a read-only view other than bytes is copied.
            if buf.readonly:
                copy = bytes(buf)
                self._lib.gcry_md_write(self._h, copy, len(copy))
            else:
                arr = (ctypes.c_char * len(buf)).from_buffer(buf)
                self._lib.gcry_md_write(self._h, ctypes.addressof(arr), len(buf))
                del arr

    def copy(self) -> "GcryptSM3":
        return GcryptSM3(self._lib, self)

    def finalize(self) -> bytes:
        """The digest; the object must not be updated afterwards (as with pyca)."""
        return ctypes.string_at(self._lib.gcry_md_read(self._h, _MD_SM3), 32)


class GcryptSM4GCM:
    """SM4-GCM over many independent messages under one key (the ``shangmi.sm4_batch`` backend
    protocol); each call uses its own handle, so one object may serve several threads at once."""

    name = "libgcrypt"

    def __init__(self, gc: Gcrypt) -> None:
        self._lib = gc.lib
        self.reason = f"{gc.reason} (SM4 with AES-NI/AVX2 where the CPU has them)"

    def _open(self, key: BytesLike) -> int:
        h = _VP()
        if self._lib.gcry_cipher_open(ctypes.byref(h), _CIPHER_SM4, _MODE_GCM, 0) or not h.value:
            raise BackendError("libgcrypt could not open SM4-GCM")
        key = _as_bytes(key)
        if self._lib.gcry_cipher_setkey(h, key, len(key)):
            self._lib.gcry_cipher_close(h)
            raise BackendError("libgcrypt refused the SM4 key")
        return h.value

    def _start(self, h: int, nonce: BytesLike, aad: BytesLike | None) -> None:
        if len(nonce) != NONCE_SIZE or self._lib.gcry_cipher_setiv(h, _as_bytes(nonce), NONCE_SIZE):
            raise BackendError("libgcrypt refused the SM4-GCM nonce")
        if aad and self._lib.gcry_cipher_authenticate(h, _as_bytes(aad), len(aad)):
            raise BackendError("libgcrypt refused the associated data")

    def seal_many(self, key: BytesLike, items: Sequence[tuple[BytesLike, BytesLike]],
                  aad: BytesLike | None = None) -> list[Piece]:
        """``ciphertext_i ‖ tag_i`` of every (nonce_i, plaintext_i), one after another in one buffer
        (the wire form of a STREAM batch: no join needed)."""
        items = byte_items(items)
        aad = None if aad is None else byte_view(aad)
        out = bytearray(sum(len(pt) for _, pt in items) + TAG_SIZE * len(items))
        if not out:
            return []
        view = (ctypes.c_char * len(out)).from_buffer(out)
        base = ctypes.addressof(view)
        lib, h, pos = self._lib, self._open(key), 0
        try:
            for nonce, pt in items:
                self._start(h, nonce, aad)
                n = len(pt)
                if lib.gcry_cipher_encrypt(h, base + pos, n, _as_bytes(pt), n) \
                        or lib.gcry_cipher_gettag(h, base + pos + n, TAG_SIZE):
                    raise BackendError("libgcrypt SM4-GCM encryption failed")
                pos += n + TAG_SIZE
        finally:
            lib.gcry_cipher_close(h)
            del view
        return [out]

    def open_many(self, key: BytesLike, items: Sequence[tuple[BytesLike, BytesLike]],
                  aad: BytesLike | None = None) -> list[Piece]:
        """The plaintexts of every (nonce_i, ciphertext_i ‖ tag_i), one after another in one buffer;
        raises :class:`shangmi.InvalidTag` (nothing returned) at the first item that does not verify."""
        items = byte_items(items)
        aad = None if aad is None else byte_view(aad)
        for i, (_, ct) in enumerate(items):
            if len(ct) < TAG_SIZE:
                raise _mismatch(i)
        out = bytearray(sum(len(ct) for _, ct in items) - TAG_SIZE * len(items))
        view = (ctypes.c_char * len(out)).from_buffer(out) if out else None
        base = ctypes.addressof(view) if view is not None else 0
        lib, h, pos = self._lib, self._open(key), 0
        try:
            for i, (nonce, ct) in enumerate(items):
                self._start(h, nonce, aad)
                n = len(ct) - TAG_SIZE
                # The input pointer is the bytes object itself: ciphertext ‖ tag, of which n bytes are read.
                if n and lib.gcry_cipher_decrypt(h, base + pos, n, _as_bytes(ct), n):
                    raise BackendError("libgcrypt SM4-GCM decryption failed")
                if lib.gcry_cipher_checktag(h, bytes(ct[n:]), TAG_SIZE):
                    if out:
                        ctypes.memset(base, 0, len(out))   # no unauthenticated plaintext lingers
                    raise _mismatch(i)
                pos += n
        finally:
            lib.gcry_cipher_close(h)
            del view
        return [out] if out else []


def _candidates() -> list[str]:
    found = ctypes.util.find_library("gcrypt")
    return ([found] if found else []) + ["libgcrypt.so.20"]


def _known_answers(gc: Gcrypt) -> None:
    be = gc.sm4_gcm
    items = [(_KAT_IV, _KAT_PT)] * 2     # twice through one handle: setiv must reset every state
    if b"".join(be.seal_many(_KAT_KEY, items, _KAT_AAD)) != _KAT_CT_TAG * 2:
        raise BackendError("SM4-GCM known answer (RFC 8998 A.1) failed")
    if b"".join(be.open_many(_KAT_KEY, [(_KAT_IV, _KAT_CT_TAG)] * 2, _KAT_AAD)) != _KAT_PT * 2:
        raise BackendError("SM4-GCM known answer (RFC 8998 A.1) did not decrypt")
    try:
        be.open_many(_KAT_KEY, [(_KAT_IV, _KAT_CT_TAG[:-1] + b"\x00")], _KAT_AAD)
        raise BackendError("SM4-GCM accepted a wrong tag")
    except InvalidTag:
        pass
    # GB/T 32905-2016 Appendix A, examples 1 and 2 (also tests/vectors/sm3.txt).
    h = gc.sm3()
    h.update(b"abc")
    h2 = h.copy()
    h2.update(bytearray(b"d" + b"abcd" * 15))
    if (h.finalize().hex(), h2.finalize().hex()) != (_KAT_SM3_ABC, _KAT_SM3_ABCD16):
        raise BackendError("SM3 known answer (GB/T 32905 A.1/A.2) failed")


def _load() -> Gcrypt:
    if os.environ.get("SHANGMI_GCRYPT", "").lower() in ("0", "off", "no"):
        raise BackendError("SHANGMI_GCRYPT=off asks for pyca's OpenSSL only")
    reasons = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            _bind(lib)
            raw = lib.gcry_check_version(None)   # the version; also initializes the library
            version = raw.decode("ascii", "replace") if raw else "(unknown)"
            check_version(version)
            if not lib.gcry_control(_CTL_INITIALIZATION_FINISHED_P, 0):
                lib.gcry_control(_CTL_INITIALIZATION_FINISHED, 0)
            if lib.gcry_control(_CTL_FIPS_MODE_P, 0):
                reasons.append(f"{path}: in FIPS mode (SM4 disabled)")
                continue
            gc = Gcrypt(lib, path, version)
            _known_answers(gc)
            return gc
        except (OSError, AttributeError) as exc:
            reasons.append(f"{path}: {exc}")
        except BackendError as exc:
            reasons.append(f"{path}: {exc}")
    raise BackendError("no usable libgcrypt: " + "; ".join(reasons) if reasons else "no libgcrypt found")


_loaded: Gcrypt | BackendError | None = None
_lock = threading.Lock()


def load() -> Gcrypt:
    """The process's libgcrypt, found and checked once; raise BackendError with the reason otherwise."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                try:
                    _loaded = _load()
                except BackendError as exc:
                    _loaded = exc
    if isinstance(_loaded, BackendError):
        raise BackendError(str(_loaded))
    return _loaded
