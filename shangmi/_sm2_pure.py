"""SM2 signing and encryption in pure Python (GB/T 32918.2 and .4).

The fallback backend, and the only place a fixed k can be supplied (for the
published known-answer tests).  Not constant-time: see ``_curve``.
"""

from __future__ import annotations

import hmac
import secrets

from . import _curve as c
from .errors import DecryptionError
from .sm3 import digest as sm3, kdf


def random_scalar() -> int:
    return secrets.randbelow(c.N - 1) + 1


class PureBackend:
    name = "pure-python"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    # Handles are just the numbers: there is nothing to load.
    def private_handle(self, d: int, pub: c.Point) -> int:
        return d

    def public_handle(self, pub: c.Point) -> c.Point:
        return pub

    def generate(self) -> int:
        return random_scalar()

    def sign_digest(self, d: int, e: bytes, k: int | None = None) -> tuple[int, int]:
        ei = int.from_bytes(e, "big")
        while True:
            kk = k if k is not None else random_scalar()
            pt = c.mul_g(kk)
            assert pt is not None
            r = (ei + pt[0]) % c.N
            if r == 0 or r + kk == c.N:
                if k is not None:
                    raise ValueError("fixed k gives r = 0")
                continue
            s = pow(1 + d, -1, c.N) * (kk - r * d) % c.N
            if s == 0:
                if k is not None:
                    raise ValueError("fixed k gives s = 0")
                continue
            return r, s

    def verify_digest(self, pub: c.Point, e: bytes, r: int, s: int) -> bool:
        if not (1 <= r < c.N and 1 <= s < c.N):
            return False
        t = (r + s) % c.N
        if t == 0:
            return False
        pt = c.mul_add(s, t, pub)
        if pt is None:
            return False
        return (int.from_bytes(e, "big") + pt[0]) % c.N == r

    def encrypt(self, pub: c.Point, m: bytes, k: int | None = None) -> tuple[int, int, bytes, bytes]:
        while True:
            kk = k if k is not None else random_scalar()
            c1 = c.mul_g(kk)
            s = c.mul(kk, pub)
            assert c1 is not None and s is not None  # pub has prime order, kk in [1, n-1]
            x2 = s[0].to_bytes(32, "big")
            y2 = s[1].to_bytes(32, "big")
            t = kdf(x2 + y2, len(m))
            if m and not any(t):
                if k is not None:
                    raise ValueError("fixed k gives an all-zero key stream")
                continue
            c2 = _xor(m, t)
            c3 = sm3(x2 + m + y2)
            return c1[0], c1[1], c3, c2

    def decrypt(self, d: int, c1: c.Point, c3: bytes, c2: bytes) -> bytes:
        s = c.mul(d, c1)
        if s is None:
            raise DecryptionError()
        return finish_decrypt(s[0], s[1], c3, c2)


def finish_decrypt(x2: int, y2: int, c3: bytes, c2: bytes) -> bytes:
    """Given the shared point (x2, y2) = d·C1, recover M and check C3 in constant time."""
    xb = x2.to_bytes(32, "big")
    yb = y2.to_bytes(32, "big")
    t = kdf(xb + yb, len(c2))
    if c2 and not any(t):
        raise DecryptionError()
    m = _xor(c2, t)
    if not hmac.compare_digest(sm3(xb + m + yb), c3):
        raise DecryptionError()
    return m


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")
