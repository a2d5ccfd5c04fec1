"""Seal and open a large package (1 main + 3 cc recipients) next to the OpenSSL CLI pipeline.

    .venv/bin/python benchmarks/bench_envelope.py [--size 1G] [--dir /tmp]

Each step runs in a fresh helper process that runs the step as its child
and reports ``getrusage(RUSAGE_CHILDREN).ru_maxrss``: the peak RSS of the
largest process of that step alone (smseal's Python process, or the larger
of the two openssl commands).  Wall time is measured around the helper.

OpenSSL pipeline doing comparable work:
    seal: openssl enc -sm4-cbc (encrypt)  then  openssl dgst -sm3 -sign key.pem
          -sigopt distid:1234567812345678 over the ciphertext
    open: openssl dgst -sm3 -verify ... -sigopt distid:...  then  openssl enc -d -sm4-cbc
(OpenSSL's single recipient key wrap is not even included: the comparison favours it.)

smseal encrypts with SM4-GCM and hashes with SM3 through libgcrypt when it is
installed (``shangmi._gcrypt``: AES-NI/AVX2 SM4, about five times OpenSSL's
portable C here), else through pyca's OpenSSL; ``--gcrypt off`` measures the
fallback.  ``--repeat N`` runs the four steps N times and prints each round's
ratios and their range: on a shared machine one round says little.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DISTID = "distid:1234567812345678"


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def measure(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Run ``argv`` under a helper that reports the peak RSS and CPU time of the whole step;
    return (wall s, peak RSS MiB, CPU s = user + system of every process of the step)."""
    helper = ("import resource,subprocess,sys,json;"
              "rc=subprocess.run(sys.argv[1:]).returncode;"
              "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
              "print(json.dumps([rc,u.ru_maxrss,u.ru_utime+u.ru_stime]))")
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", helper, *argv], check=True, capture_output=True, text=True,
                         env=env)
    wall = time.perf_counter() - t
    rc, rss_kib, cpu = json.loads(out.stdout.strip().splitlines()[-1])
    if rc:
        raise SystemExit(f"step failed: {' '.join(argv)}\n{out.stderr}")
    return wall, rss_kib / 1024, cpu


def sh(*cmds: str) -> list[str]:
    return ["/bin/sh", "-c", " && ".join(cmds)]


SEAL = """
import sys; sys.path.insert(0, {root!r})
from shangmi import sm2
from smseal.envelope import Package, seal
d = {d!r}
k = lambda n: sm2.PrivateKey.from_pem(open(d + n, 'rb').read())
seal(Package(d + '/doc.bin'), sender=k('/sender.pem'), to=k('/to.pem').public_key(),
     cc=[k('/cc%d.pem' % i).public_key() for i in range(3)], out=d + '/doc.smseal')
"""
OPEN = """
import sys; sys.path.insert(0, {root!r})
from shangmi import sm2
from smseal.envelope import open_package
d = {d!r}
k = lambda n: sm2.PrivateKey.from_pem(open(d + n, 'rb').read())
open_package(d + '/doc.smseal', key=k('/cc2.pem'), trusted=[k('/sender.pem').public_key()],
             out_dir=d + '/opened')
"""


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1G", help="payload size, e.g. 256M, 1G, 4G")
    ap.add_argument("--dir", default=None, help="where to put the temporary files")
    ap.add_argument("--quick", action="store_true", help="256 MiB instead of --size")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of the four steps (default 1)")
    ap.add_argument("--gcrypt", choices=("auto", "off"), default="auto",
                    help="off: smseal without libgcrypt (SHANGMI_GCRYPT=off), to measure the fallback")
    args = ap.parse_args(argv)
    size = parse_size("256M" if args.quick else args.size)
    env = {**os.environ, **({"SHANGMI_GCRYPT": "off"} if args.gcrypt == "off" else {})}
    sys.path.insert(0, str(ROOT))
    probe = "from shangmi import sm4_batch as b; print(b.backend().name + ': ' + b.backend().reason)"
    backend = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
    print(f"payload {size / (1 << 20):.0f} MiB, 1 main + 3 cc recipients, {os.cpu_count()} cores; "
          f"smseal's SM4-GCM and SM3: {backend}")
    ratios = [one_round(size, args.dir, env) for _ in range(max(1, args.repeat))]
    if len(ratios) > 1:
        names = ("seal wall", "open wall", "seal CPU", "open CPU")
        print("range over %d rounds: " % len(ratios) + ", ".join(
            f"{n} {min(r[i] for r in ratios):.2f}-{max(r[i] for r in ratios):.2f}x" for i, n in enumerate(names)))


def one_round(size: int, where: str | None, env: dict[str, str]) -> tuple[float, float, float, float]:
    """Seal and open with smseal and with the OpenSSL pipeline; print the table; return the ratios
    (seal wall, open wall, seal CPU, open CPU)."""
    load_before = os.getloadavg()
    d = tempfile.mkdtemp(prefix="bench-envelope-", dir=where)
    try:
        from shangmi import sm2
        for name in ("sender", "to", "cc0", "cc1", "cc2"):
            Path(d, name + ".pem").write_bytes(sm2.PrivateKey.generate().to_pem())
        with open(f"{d}/doc.bin", "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(size >> 20):
                f.write(block)
            f.write(block[:size & ((1 << 20) - 1)])
        key, iv = os.urandom(16).hex(), os.urandom(16).hex()
        subprocess.run(["openssl", "pkey", "-in", f"{d}/sender.pem", "-pubout", "-out", f"{d}/sender.pub"],
                       check=True, capture_output=True)
        rows = []
        rows.append(("smseal seal", *measure([sys.executable, "-c", SEAL.format(root=str(ROOT), d=d)], env)))
        rows.append(("openssl seal (enc -sm4-cbc; dgst -sm3 -sign)", *measure(sh(
            f"openssl enc -sm4-cbc -K {key} -iv {iv} -in {d}/doc.bin -out {d}/doc.cbc",
            f"openssl dgst -sm3 -sign {d}/sender.pem -sigopt {DISTID} -out {d}/doc.sig {d}/doc.cbc"))))
        os.unlink(f"{d}/doc.bin")   # disk: keep at most two payload-sized files
        rows.append(("smseal open", *measure([sys.executable, "-c", OPEN.format(root=str(ROOT), d=d)], env)))
        shutil.rmtree(f"{d}/opened")
        rows.append(("openssl open (dgst -sm3 -verify; enc -d)", *measure(sh(
            f"openssl dgst -sm3 -verify {d}/sender.pub -sigopt {DISTID} -signature {d}/doc.sig {d}/doc.cbc",
            f"openssl enc -d -sm4-cbc -K {key} -iv {iv} -in {d}/doc.cbc -out {d}/doc.out"))))
        load_after = os.getloadavg()
        print(f"load average (1/5/15 min) {'/'.join(f'{x:.2f}' for x in load_before)} before, "
              f"{'/'.join(f'{x:.2f}' for x in load_after)} after")
        print(f"{'step':48} {'wall s':>8} {'MB/s':>8} {'peak RSS MiB':>13} {'CPU s':>7}")
        for name, wall, rss, cpu in rows:
            print(f"{name:48} {wall:8.2f} {size / wall / 1e6:8.1f} {rss:13.1f} {cpu:7.2f}")
        # The target of issue 10: smseal's time at most half the OpenSSL pipeline's (ratio <= 0.50).
        # CPU time says how much work each side does, whatever else the machine runs.
        r = (rows[0][1] / rows[1][1], rows[2][1] / rows[3][1], rows[0][3] / rows[1][3], rows[2][3] / rows[3][3])
        print(f"smseal / openssl wall time: seal {r[0]:.2f}x, open {r[1]:.2f}x (lower is faster); "
              f"CPU time: seal {r[2]:.2f}x, open {r[3]:.2f}x", flush=True)
        return r
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
