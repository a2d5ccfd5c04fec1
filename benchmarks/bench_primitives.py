"""SM2 ops/s and SM3 / SM4-GCM MB/s: smseal's shangmi next to ``openssl speed``,
the raw pyca ``cryptography`` calls and the pure-Python ``gmssl`` package, in one run.

    python -m benchmarks.bench_primitives [--quick]

Targets (issue 2): SM2 sign and verify ≥ 0.9× ``openssl speed sm2``;
SM4-GCM ≥ 0.9× the raw ``cryptography`` rate.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from benchmarks.timing import rate, table
from shangmi import _sm2_pure, sm2, sm3, sm4, sm4_batch

MB = 1e6


def openssl_speed_sm2(seconds: int) -> tuple[float, float] | None:
    if not shutil.which("openssl"):
        return None
    out = subprocess.run(["openssl", "speed", "-seconds", str(seconds), "sm2"],
                         capture_output=True, text=True).stdout
    m = re.search(r"SM2 \(CurveSM2\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", out)
    return (float(m.group(1)), float(m.group(2))) if m else None


def openssl_speed_evp(alg: str, size: int, seconds: int) -> float | None:
    if not shutil.which("openssl"):
        return None
    out = subprocess.run(["openssl", "speed", "-seconds", str(seconds), "-bytes", str(size), "-evp", alg],
                         capture_output=True, text=True).stdout
    m = re.search(rf"^{re.escape(alg)}\S*\s+([\d.]+)k", out, re.M | re.I)
    return float(m.group(1)) * 1000 / MB if m else None


def gmssl_peer():
    try:
        from gmssl import sm2 as g2, sm3 as g3, sm4 as g4, func
    except ImportError:
        return None
    return g2, g3, g4, func


def bench_sm2(secs: float) -> None:
    key = sm2.PrivateKey.generate()
    pub = key.public_key()
    msg = b"x" * 64
    sig = key.sign(msg)
    ct = pub.encrypt(b"k" * 32)
    speed = openssl_speed_sm2(max(1, int(secs)))
    results: dict[str, list[tuple[str, float | None]]] = {op: [] for op in ("sign", "verify", "encrypt", "decrypt")}
    if speed:
        results["sign"].append(("openssl speed sm2", speed[0]))
        results["verify"].append(("openssl speed sm2", speed[1]))
    for be_name in ("openssl", "pure-python"):
        be = sm2.backend() if be_name == "openssl" else _sm2_pure.PureBackend("bench")
        if be.name != be_name:
            continue
        saved, sm2._backend = sm2._backend, be
        try:
            label = f"shangmi ({be_name})"
            results["sign"].append((label, rate(lambda: key.sign(msg), secs)))
            results["verify"].append((label, rate(lambda: pub.verify(sig, msg), secs)))
            results["encrypt"].append((label, rate(lambda: pub.encrypt(b"k" * 32), secs)))
            results["decrypt"].append((label, rate(lambda: key.decrypt(ct), secs)))
        finally:
            sm2._backend = saved
    peer = gmssl_peer()
    if peer:
        g2 = peer[0]
        priv_hex = key._d.to_bytes(32, "big").hex()
        g = g2.CryptSM2(private_key=priv_hex, public_key=pub.to_bytes()[1:].hex())
        gsig = g.sign_with_sm3(msg)
        gct = g.encrypt(b"k" * 32)
        results["sign"].append(("gmssl (pure Python)", rate(lambda: g.sign_with_sm3(msg), secs)))
        results["verify"].append(("gmssl (pure Python)", rate(lambda: g.verify_with_sm3(gsig, msg), secs)))
        results["encrypt"].append(("gmssl (pure Python)", rate(lambda: g.encrypt(b"k" * 32), secs)))
        results["decrypt"].append(("gmssl (pure Python)", rate(lambda: g.decrypt(gct), secs)))
    for op, rows in results.items():
        base = "openssl speed sm2" if op in ("sign", "verify") and speed else "shangmi (openssl)"
        table(f"SM2 {op}", "ops/s", rows, base)


def bench_symmetric(secs: float) -> None:
    size = 64 * 1024
    data = os.urandom(size)
    key, nonce = os.urandom(16), os.urandom(12)
    gcm = sm4.SM4GCM(key)

    def raw_gcm():
        e = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        e.update(data)
        e.finalize()

    def raw_sm3():
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        h.finalize()

    batch = [(nonce, data)] * 16        # one STREAM batch: 1 MiB in 64 KiB chunks
    rows = [("cryptography SM4-GCM (raw)", rate(raw_gcm, secs, size) / MB),
            ("shangmi sm4.SM4GCM", rate(lambda: gcm.encrypt(nonce, data, b"aad"), secs, size) / MB),
            (f"shangmi sm4_batch ({sm4_batch.backend().name})",
             rate(lambda: sm4_batch.seal_many(key, batch), secs, 16 * size) / MB)]
    peer = gmssl_peer()
    small = data[:4096]
    if peer:
        g4 = peer[2]
        c = g4.CryptSM4()
        c.set_key(key, g4.SM4_ENCRYPT)
        rows.append(("gmssl SM4-CBC (no GCM; pure Py)", rate(lambda: c.crypt_cbc(bytes(16), small), secs, 4096) / MB))
    table("SM4-GCM encrypt, 64 KiB messages", "MB/s", rows, "cryptography SM4-GCM (raw)")

    rows = [("openssl speed -evp sm3", openssl_speed_evp("sm3", size, max(1, int(secs)))),
            ("cryptography SM3 (raw)", rate(raw_sm3, secs, size) / MB),
            ("shangmi sm3.digest", rate(lambda: sm3.digest(data), secs, size) / MB),
            (f"shangmi sm3.SM3() ({sm4_batch.backend().name})", rate(lambda: sm3.SM3(data).digest(), secs, size) / MB)]
    if peer:
        g3, func = peer[1], peer[3]
        lst = func.bytes_to_list(small)
        rows.append(("gmssl sm3 (pure Python)", rate(lambda: g3.sm3_hash(lst), secs, 4096) / MB))
    table("SM3, 64 KiB messages", "MB/s", rows, "cryptography SM3 (raw)")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    secs = 0.5 if "--quick" in argv else 2.0
    print(f"SM2 backend: {sm2.backend().name} ({sm2.backend().reason}); {os.cpu_count()} cores")
    bench_sm2(secs)
    bench_symmetric(secs)


if __name__ == "__main__":
    main()
