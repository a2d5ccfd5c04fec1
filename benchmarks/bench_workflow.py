"""What 签发 costs: opening a package whose approval must be checked (SM3 of every file while
decrypting, one SM2 verify) next to the same package without one; approving a draft (SM3 of
every file, one SM2 sign); and the status/register views over many packages.

``python -m benchmarks.bench_workflow [--quick] [--size MiB]``.  Speed is measured here, never
asserted in tests.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from shangmi import sm2, sm3

from smseal.envelope import Package, open_package, seal
from smseal.envelope.workflow import make_approval


def _best(fn, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    size_mib = 16 if quick else 128
    if "--size" in argv:
        size_mib = int(argv[argv.index("--size") + 1])
    runs = 2 if quick else 3
    sender, leader, to = sm2.PrivateKey.generate(), sm2.PrivateKey.generate(), sm2.PrivateKey.generate()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "正文.bin"
        with open(src, "wb") as f:
            for _ in range(size_mib):
                f.write(os.urandom(1 << 20))
        plain = Package(str(src), title="关于…的请示", doc_type="请示")
        t0 = time.perf_counter()
        digests = plain.file_digests()
        meta = plain.metadata()
        approval = make_approval(meta.approved_digest(), digests, leader="张三", signer=leader,
                                 time=datetime.now(timezone.utc))
        approve_s = time.perf_counter() - t0
        approved = Package(str(src), title="关于…的请示", doc_type="请示", approval=approval)
        for name, pkg in (("plain", plain), ("approved", approved)):
            seal(pkg, sender=sender, to=to.public_key(), out=Path(tmp) / f"{name}.smx")

        def opener(name: str):
            def run() -> None:
                out = Path(tmp) / f"out-{name}-{time.perf_counter_ns()}"
                res = open_package(Path(tmp) / f"{name}.smx", key=to, trusted=[sender.public_key()], out_dir=out)
                if name == "approved":     # what office.approval checks with the result
                    assert res.file_digests == approval.files
                for p in res.files:
                    p.unlink()
                out.rmdir()
            return run

        t_plain = _best(opener("plain"), runs)
        t_appr = _best(opener("approved"), runs)
        sm3_rate = size_mib / _best(lambda: sm3.digest(src.read_bytes()), runs)
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; package of {size_mib} MiB")
    print(f"  approve a draft (SM3 of the files + SM2 sign):   {approve_s:7.3f} s")
    print(f"  open without approval:                           {t_plain:7.3f} s  ({size_mib / t_plain:6.1f} MiB/s)")
    print(f"  open with approval (per-file SM3 while opening): {t_appr:7.3f} s  ({size_mib / t_appr:6.1f} MiB/s)"
          f"  ×{t_appr / t_plain:.2f}")
    print(f"  SM3 alone, for comparison:                               {sm3_rate:6.1f} MiB/s")


if __name__ == "__main__":
    main(sys.argv[1:])
