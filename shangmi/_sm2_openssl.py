"""SM2 through OpenSSL libcrypto ≥ 3.0, bound in ABI mode with ctypes.

We bind the libcrypto the interpreter has already loaded (``_ssl`` and
``_hashlib`` pull it in) or else the system one, and probe that it really
does SM2 before using it: some distributions build OpenSSL ``no-sm2``.
ctypes releases the GIL during each call, so SM2 work runs on all cores.

Only the heavy steps go through OpenSSL: signing a digest e, verifying,
encrypting, decrypting.  Z = SM3(ENTL‖ID‖a‖b‖G‖P) and e = SM3(Z‖M) are
computed in Python by ``sm2`` so both backends share that code.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import weakref

from . import _curve as c
from . import der
from .errors import BackendError, DecryptionError

_VP = ctypes.c_void_p
_SZ = ctypes.c_size_t
_EVP_PKEY_PUBLIC_KEY = 0x86
_EVP_PKEY_KEYPAIR = 0x87


def _candidates() -> list[str]:
    names: list[str] = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.rsplit(None, 1)[-1]
                if "/libcrypto.so" in path and path not in names:
                    names.append(path)
    except OSError:
        pass
    found = ctypes.util.find_library("crypto")
    if found:
        names.append(found)
    names += ["libcrypto.so.3", "libcrypto.3.dylib"]
    return names


def _bind(lib: ctypes.CDLL) -> None:
    sigs = {
        "OpenSSL_version_num": (ctypes.c_ulong, []),
        "EVP_PKEY_CTX_new_from_name": (_VP, [_VP, ctypes.c_char_p, ctypes.c_char_p]),
        "EVP_PKEY_CTX_new": (_VP, [_VP, _VP]),
        "EVP_PKEY_CTX_free": (None, [_VP]),
        "EVP_PKEY_free": (None, [_VP]),
        "EVP_PKEY_keygen_init": (ctypes.c_int, [_VP]),
        "EVP_PKEY_generate": (ctypes.c_int, [_VP, ctypes.POINTER(_VP)]),
        "EVP_PKEY_get_bn_param": (ctypes.c_int, [_VP, ctypes.c_char_p, ctypes.POINTER(_VP)]),
        "EVP_PKEY_fromdata_init": (ctypes.c_int, [_VP]),
        "EVP_PKEY_fromdata": (ctypes.c_int, [_VP, ctypes.POINTER(_VP), ctypes.c_int, _VP]),
        "EVP_PKEY_sign_init": (ctypes.c_int, [_VP]),
        "EVP_PKEY_sign": (ctypes.c_int, [_VP, ctypes.c_char_p, ctypes.POINTER(_SZ), ctypes.c_char_p, _SZ]),
        "EVP_PKEY_verify_init": (ctypes.c_int, [_VP]),
        "EVP_PKEY_verify": (ctypes.c_int, [_VP, ctypes.c_char_p, _SZ, ctypes.c_char_p, _SZ]),
        "EVP_PKEY_encrypt_init": (ctypes.c_int, [_VP]),
        "EVP_PKEY_encrypt": (ctypes.c_int, [_VP, ctypes.c_char_p, ctypes.POINTER(_SZ), ctypes.c_char_p, _SZ]),
        "EVP_PKEY_decrypt_init": (ctypes.c_int, [_VP]),
        "EVP_PKEY_decrypt": (ctypes.c_int, [_VP, ctypes.c_char_p, ctypes.POINTER(_SZ), ctypes.c_char_p, _SZ]),
        "OSSL_PARAM_BLD_new": (_VP, []),
        "OSSL_PARAM_BLD_free": (None, [_VP]),
        "OSSL_PARAM_BLD_push_utf8_string": (ctypes.c_int, [_VP, ctypes.c_char_p, ctypes.c_char_p, _SZ]),
        "OSSL_PARAM_BLD_push_octet_string": (ctypes.c_int, [_VP, ctypes.c_char_p, ctypes.c_char_p, _SZ]),
        "OSSL_PARAM_BLD_push_BN": (ctypes.c_int, [_VP, ctypes.c_char_p, _VP]),
        "OSSL_PARAM_BLD_to_param": (_VP, [_VP]),
        "OSSL_PARAM_free": (None, [_VP]),
        "BN_bin2bn": (_VP, [ctypes.c_char_p, ctypes.c_int, _VP]),
        "BN_bn2binpad": (ctypes.c_int, [_VP, ctypes.c_char_p, ctypes.c_int]),
        "BN_clear_free": (None, [_VP]),
        "ERR_clear_error": (None, []),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)  # AttributeError: this libcrypto is too old
        fn.restype = res
        fn.argtypes = args


class _Handle:
    """Owns one EVP_PKEY*; freed when the Python object goes away."""

    __slots__ = ("ptr", "__weakref__")

    def __init__(self, lib: ctypes.CDLL, ptr: int) -> None:
        self.ptr = ptr
        weakref.finalize(self, lib.EVP_PKEY_free, ptr)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("key handles cannot be pickled")


class OpenSSLBackend:
    name = "openssl"

    def __init__(self, lib: ctypes.CDLL, path: str) -> None:
        self._lib = lib
        self.path = path
        v = lib.OpenSSL_version_num()
        self.version = f"{v >> 28}.{(v >> 20) & 0xFF}.{(v >> 4) & 0xFF}"
        self.reason = f"libcrypto {self.version} at {path} does SM2"

    # -- key handles ----------------------------------------------------------------
    def _fromdata(self, selection: int, pub: c.Point, d: int | None) -> _Handle:
        lib = self._lib
        bld = lib.OSSL_PARAM_BLD_new()
        bn = None
        params = None
        ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
        try:
            point = b"\x04" + pub[0].to_bytes(32, "big") + pub[1].to_bytes(32, "big")
            ok = bld and ctx
            ok = ok and lib.OSSL_PARAM_BLD_push_utf8_string(bld, b"group", b"SM2", 3) == 1
            ok = ok and lib.OSSL_PARAM_BLD_push_octet_string(bld, b"pub", point, len(point)) == 1
            if d is not None and ok:
                bn = lib.BN_bin2bn(d.to_bytes(32, "big"), 32, None)
                ok = bool(bn) and lib.OSSL_PARAM_BLD_push_BN(bld, b"priv", bn) == 1
            if ok:
                params = lib.OSSL_PARAM_BLD_to_param(bld)
            out = _VP()
            if not (params and lib.EVP_PKEY_fromdata_init(ctx) == 1
                    and lib.EVP_PKEY_fromdata(ctx, ctypes.byref(out), selection, params) == 1) \
                    or out.value is None:
                lib.ERR_clear_error()
                raise BackendError("libcrypto refused the SM2 key")
            return _Handle(lib, out.value)
        finally:
            if params:
                lib.OSSL_PARAM_free(params)
            if bn:
                lib.BN_clear_free(bn)
            if bld:
                lib.OSSL_PARAM_BLD_free(bld)
            if ctx:
                lib.EVP_PKEY_CTX_free(ctx)

    def private_handle(self, d: int, pub: c.Point) -> _Handle:
        return self._fromdata(_EVP_PKEY_KEYPAIR, pub, d)

    def public_handle(self, pub: c.Point) -> _Handle:
        return self._fromdata(_EVP_PKEY_PUBLIC_KEY, pub, None)

    def generate(self) -> int:
        lib = self._lib
        ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
        pkey = _VP()
        bn = _VP()
        try:
            if not (ctx and lib.EVP_PKEY_keygen_init(ctx) == 1
                    and lib.EVP_PKEY_generate(ctx, ctypes.byref(pkey)) == 1
                    and lib.EVP_PKEY_get_bn_param(pkey, b"priv", ctypes.byref(bn)) == 1):
                lib.ERR_clear_error()
                raise BackendError("libcrypto could not generate an SM2 key")
            buf = ctypes.create_string_buffer(32)
            if lib.BN_bn2binpad(bn, buf, 32) != 32:
                raise BackendError("libcrypto returned an oversized SM2 key")
            return int.from_bytes(buf.raw, "big")
        finally:
            if bn:
                lib.BN_clear_free(bn)
            if pkey:
                lib.EVP_PKEY_free(pkey)
            if ctx:
                lib.EVP_PKEY_CTX_free(ctx)

    # -- operations ------------------------------------------------------------------
    def _op(self, handle: _Handle, init: str, op: str, data: bytes, cap: int) -> bytes | None:
        lib = self._lib
        ctx = lib.EVP_PKEY_CTX_new(handle.ptr, None)
        if not ctx:
            raise BackendError("libcrypto: out of memory")
        try:
            if getattr(lib, init)(ctx) != 1:
                lib.ERR_clear_error()
                raise BackendError("libcrypto: {function} failed", function=str(init))
            buf = ctypes.create_string_buffer(cap)
            n = _SZ(cap)
            if getattr(lib, op)(ctx, buf, ctypes.byref(n), data, len(data)) != 1:
                lib.ERR_clear_error()
                return None
            return buf.raw[:n.value]
        finally:
            lib.EVP_PKEY_CTX_free(ctx)

    def sign_digest(self, handle: _Handle, e: bytes) -> tuple[int, int]:
        sig = self._op(handle, "EVP_PKEY_sign_init", "EVP_PKEY_sign", e, 80)
        if sig is None:
            raise BackendError("libcrypto could not sign")
        rd = der.Reader(sig).sub()
        return rd.integer(), rd.integer()

    def verify_digest(self, handle: _Handle, e: bytes, r: int, s: int) -> bool:
        if not (1 <= r < c.N and 1 <= s < c.N):
            return False
        sig = der.seq(der.integer(r), der.integer(s))
        lib = self._lib
        ctx = lib.EVP_PKEY_CTX_new(handle.ptr, None)
        try:
            ok = lib.EVP_PKEY_verify_init(ctx) == 1 and lib.EVP_PKEY_verify(ctx, sig, len(sig), e, len(e)) == 1
            if not ok:
                lib.ERR_clear_error()
            return bool(ok)
        finally:
            lib.EVP_PKEY_CTX_free(ctx)

    def encrypt(self, handle: _Handle, m: bytes) -> tuple[int, int, bytes, bytes]:
        out = self._op(handle, "EVP_PKEY_encrypt_init", "EVP_PKEY_encrypt", m, len(m) + 128)
        if out is None:
            raise BackendError("libcrypto could not encrypt")
        rd = der.Reader(out).sub()
        x, y, c3, c2 = rd.integer(), rd.integer(), rd.octets(), rd.octets()
        return x, y, c3, c2

    def decrypt(self, handle: _Handle, c1: c.Point, c3: bytes, c2: bytes) -> bytes:
        ct = der.seq(der.integer(c1[0]), der.integer(c1[1]), der.octets(c3), der.octets(c2))
        out = self._op(handle, "EVP_PKEY_decrypt_init", "EVP_PKEY_decrypt", ct, len(c2) + 64)
        if out is None:
            raise DecryptionError()
        return out


def _probe(lib: ctypes.CDLL) -> None:
    """Sign and verify once with a throwaway key, and check against the pure code."""
    from . import _sm2_pure

    be = OpenSSLBackend(lib, "")
    d = be.generate()
    pub = c.mul_g(d)
    assert pub is not None
    h = be.private_handle(d, pub)
    e = bytes(range(32))
    r, s = be.sign_digest(h, e)
    if not _sm2_pure.PureBackend("probe").verify_digest(pub, e, r, s):
        raise BackendError("libcrypto SM2 signature does not verify in the reference code")
    if not be.verify_digest(be.public_handle(pub), e, r, s):
        raise BackendError("libcrypto SM2 does not verify its own signature")


def load() -> OpenSSLBackend:
    """Find a libcrypto that does SM2; raise BackendError with the reason otherwise."""
    if os.environ.get("SHANGMI_BACKEND", "").lower() in ("pure", "pure-python"):
        raise BackendError("SHANGMI_BACKEND=pure asks for the pure-Python backend")
    reasons = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            _bind(lib)
            if lib.OpenSSL_version_num() < 0x30000000:
                reasons.append(f"{path}: OpenSSL older than 3.0")
                continue
            _probe(lib)
            return OpenSSLBackend(lib, path)
        except (OSError, AttributeError) as exc:
            reasons.append(f"{path}: {exc}")
        except BackendError as exc:
            reasons.append(f"{path}: {exc} (built without SM2?)")
    raise BackendError("no libcrypto with SM2: " + "; ".join(reasons) if reasons else "no libcrypto found")
