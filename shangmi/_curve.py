"""The SM2 recommended curve sm2p256v1 (GB/T 32918.5-2017) in pure Python.

Used by both backends for cheap checks (point decoding, on-curve tests,
decompression) and by the pure-Python backend for everything.  Python
integers are not constant-time; the pure backend is a fallback for systems
whose libcrypto lacks SM2, and ``python -m shangmi`` says when it is active.
"""

from __future__ import annotations

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

Point = tuple[int, int]          # affine; infinity is None
_Jac = tuple[int, int, int]      # Jacobian (X, Y, Z); infinity has Z == 0


def on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def decompress(x: int, y_odd: int) -> int:
    """Return y for x with the given parity; raises ValueError if x is not on the curve."""
    if not 0 <= x < P:
        raise ValueError("x out of range")
    rhs = (x * x * x + A * x + B) % P
    y = pow(rhs, (P + 1) // 4, P)  # P ≡ 3 (mod 4)
    if y * y % P != rhs:
        raise ValueError("x is not on the curve")
    if y & 1 != y_odd:
        y = P - y
    return y


def _double(p: _Jac) -> _Jac:
    x, y, z = p
    if z == 0 or y == 0:
        return (1, 1, 0)
    # a = -3: M = 3(X - Z²)(X + Z²)
    zz = z * z % P
    m = 3 * (x - zz) * (x + zz) % P
    yy = y * y % P
    s = 4 * x * yy % P
    x3 = (m * m - 2 * s) % P
    y3 = (m * (s - x3) - 8 * yy * yy) % P
    z3 = 2 * y * z % P
    return (x3, y3, z3)


def _add(p: _Jac, q: _Jac) -> _Jac:
    x1, y1, z1 = p
    x2, y2, z2 = q
    if z1 == 0:
        return q
    if z2 == 0:
        return p
    z1z1 = z1 * z1 % P
    z2z2 = z2 * z2 % P
    u1 = x1 * z2z2 % P
    u2 = x2 * z1z1 % P
    s1 = y1 * z2 * z2z2 % P
    s2 = y2 * z1 * z1z1 % P
    if u1 == u2:
        if s1 != s2:
            return (1, 1, 0)
        return _double(p)
    h = (u2 - u1) % P
    r = (s2 - s1) % P
    hh = h * h % P
    hhh = h * hh % P
    v = u1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    y3 = (r * (v - x3) - s1 * hhh) % P
    z3 = h * z1 * z2 % P
    return (x3, y3, z3)


def _to_affine(p: _Jac) -> Point | None:
    x, y, z = p
    if z == 0:
        return None
    zi = pow(z, -1, P)
    zi2 = zi * zi % P
    return (x * zi2 % P, y * zi2 * zi % P)


def _mul_jac(k: int, pt: Point) -> _Jac:
    """k·pt with a 4-bit fixed window."""
    base: _Jac = (pt[0], pt[1], 1)
    table = [(1, 1, 0), base]
    for _ in range(14):
        table.append(_add(table[-1], base))
    acc: _Jac = (1, 1, 0)
    for shift in range((k.bit_length() + 3) // 4 * 4 - 4, -4, -4):
        for _ in range(4):
            acc = _double(acc)
        w = (k >> shift) & 0xF
        if w:
            acc = _add(acc, table[w])
    return acc


_G_TABLE: list[list[_Jac]] | None = None


def _g_table() -> list[list[_Jac]]:
    """Precomputed j·16^i·G for the fixed-base comb (built once, ~20 ms)."""
    global _G_TABLE
    if _G_TABLE is None:
        rows = []
        base: _Jac = (GX, GY, 1)
        for _ in range(64):
            row = [(1, 1, 0), base]
            for _ in range(14):
                row.append(_add(row[-1], base))
            rows.append(row)
            for _ in range(4):
                base = _double(base)
        _G_TABLE = rows
    return _G_TABLE


def mul_g(k: int) -> Point | None:
    """k·G."""
    k %= N
    table = _g_table()
    acc: _Jac = (1, 1, 0)
    i = 0
    while k:
        w = k & 0xF
        if w:
            acc = _add(acc, table[i][w])
        k >>= 4
        i += 1
    return _to_affine(acc)


def mul(k: int, pt: Point) -> Point | None:
    """k·pt for a point already known to be on the curve."""
    return _to_affine(_mul_jac(k % N, pt))


def mul_add(k1: int, k2: int, pt: Point) -> Point | None:
    """k1·G + k2·pt (for verification)."""
    g = mul_g(k1)
    q = _mul_jac(k2 % N, pt)
    if g is None:
        return _to_affine(q)
    return _to_affine(_add((g[0], g[1], 1), q))
