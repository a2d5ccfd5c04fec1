"""The library inside a service: packages per second as an OA bridge would run it.

    python -m benchmarks.bench_service [--quick]

One "package" is the work of both ends for one document: the sender seals a 10 KiB file to
one unit, and that unit opens it into memory (``open_stream``) against a shared ``Directory``.
Measured:

- single thread, without an unlock handle (``Keystore.signer()`` and ``find_decrypter()`` on
  every package: two key files decrypted each time, PBKDF2 at the default iteration count);
- single thread, threads and processes with unlock handles (``Keystore.unlock``), the
  threads sharing one ``Directory`` and one handle per unit, each process unlocking once in
  its initializer;
- sealing to 1 recipient against 60 (1 主送 + 59 抄送).

The machine's load average is printed with the numbers: on a shared machine they move.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.timing import table
from smseal.envelope import Package, open_stream, seal
from smseal.keystore import Directory, Keystore, UnlockedIdentity

SENDER, RECIPIENT = "赤峰市人民政府办公室", "赤峰市教育局"
PASS = b"benchmark passphrase"
BODY = os.urandom(10 * 1024)


def _home(root: Path, n_units: int) -> Path:
    """A home with the sender, the recipient and ``n_units`` more units in its directory."""
    home = root / "home"
    ks = Keystore(home, passphrase=lambda p: PASS)          # default PBKDF2 cost: the real thing
    with Directory(home) as d:
        for name in (SENDER, RECIPIENT):
            info = ks.generate(name)
            d.add_unit(name, info.current("sign").public_key, info.current("enc").public_key)
        from shangmi import sm2
        for i in range(n_units):
            d.add_unit(f"抄送单位{i:02d}", sm2.PrivateKey.generate().public_key(),
                       sm2.PrivateKey.generate().public_key())
    return home


def _one(signer: Any, decrypters: Any, directory: Directory, to: Any) -> None:
    buf = io.BytesIO()
    seal(Package(("通知.pdf", BODY), title="关于值班的通知"), sender=signer, to=to, out=buf)
    with open_stream(buf.getvalue(), key=decrypters, trusted=directory) as res:
        assert res.main.read() == BODY


def _per_second(fn: Any, n: int) -> float:
    start = time.perf_counter()
    fn(n)
    return n / (time.perf_counter() - start)


def _without_handle(home: Path, n: int) -> float:
    ks = Keystore(home, passphrase=lambda p: PASS)
    with Directory(home) as d:
        to = d.encryption_key(RECIPIENT)

        def run(k: int) -> None:
            for _ in range(k):
                buf = io.BytesIO()
                seal(Package(("通知.pdf", BODY)), sender=ks.signer(SENDER), to=to, out=buf)
                from smseal.envelope import inspect
                kid, dec = ks.find_decrypter(r.key_id for r in inspect(buf.getvalue()).recipients)
                with open_stream(buf.getvalue(), key=dec, trusted=d) as res:
                    assert res.main.read() == BODY
        return _per_second(run, n)


def _with_handle(home: Path, n: int, threads: int) -> float:
    ks = Keystore(home, passphrase=lambda p: PASS)
    with ks.unlock(SENDER, decryption=False) as s, ks.unlock(RECIPIENT, signing=False) as r, \
            Directory(home) as d:
        to = d.encryption_key(RECIPIENT)
        _one(s.signer, r.decrypters, d, to)
        if threads == 1:
            return _per_second(lambda k: [_one(s.signer, r.decrypters, d, to) for _ in range(k)], n)
        with ThreadPoolExecutor(threads) as pool:
            return _per_second(lambda k: list(pool.map(lambda _: _one(s.signer, r.decrypters, d, to),
                                                        range(k))), n)


_worker: dict[str, Any] = {}


def _init(home: str) -> None:
    ks = Keystore(home, passphrase=lambda p: PASS)
    _worker["s"] = ks.unlock(SENDER, decryption=False)
    _worker["r"] = ks.unlock(RECIPIENT, signing=False)
    _worker["d"] = Directory(home)
    _worker["to"] = _worker["d"].encryption_key(RECIPIENT)


def _batch(k: int) -> int:
    s, r = _worker["s"], _worker["r"]
    assert isinstance(s, UnlockedIdentity) and isinstance(r, UnlockedIdentity)
    for _ in range(k):
        _one(s.signer, r.decrypters, _worker["d"], _worker["to"])
    return k


def _processes(home: Path, n: int, procs: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(procs, mp_context=ctx, initializer=_init, initargs=(str(home),)) as pool:
        list(pool.map(_batch, [1] * procs))                    # start and unlock every worker first
        per = max(1, n // (procs * 4))
        return _per_second(lambda k: list(pool.map(_batch, [per] * (k // per))), per * (n // per))


def _seal_ms(home: Path, n_recipients: int, n: int) -> float:
    ks = Keystore(home, passphrase=lambda p: PASS)
    with ks.unlock(SENDER, decryption=False) as s, Directory(home) as d:
        keys = [d.encryption_key(RECIPIENT)] + [d.encryption_key(f"抄送单位{i:02d}")
                                                for i in range(n_recipients - 1)]
        start = time.perf_counter()
        for _ in range(n):
            seal(Package(("通知.pdf", BODY)), sender=s.signer, to=keys[0], cc=keys[1:], out=io.BytesIO())
        return (time.perf_counter() - start) / n * 1000


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    n = 60 if quick else 400
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        home = _home(Path(tmp), 59)
        print(f"load average before: {os.getloadavg()[0]:.2f} on {cores} cores")
        rows = [("1 thread, no unlock handle", _without_handle(home, 2 if quick else 5)),
                ("1 thread, unlock handle", _with_handle(home, n, 1)),
                ("4 threads, unlock handles", _with_handle(home, n, 4)),
                ("8 threads, unlock handles", _with_handle(home, n, 8)),
                (f"{min(2, cores)} processes, unlock handles", _processes(home, n, min(2, cores)))]
        table("seal + open_stream of a 10 KiB document, per package", "packages/s", rows,
              "1 thread, unlock handle")
        one, sixty = _seal_ms(home, 1, 20 if quick else 100), _seal_ms(home, 60, 5 if quick else 30)
        print("\nseal a 10 KiB document (unlock handle), ms per package")
        print(f"  {'to 1 recipient':<34} {one:12.1f}")
        print(f"  {'to 60 recipients (1 + 59 cc)':<34} {sixty:12.1f}  {sixty / one:7.1f}x")
        print(f"\nload average after: {os.getloadavg()[0]:.2f} on {cores} cores")


if __name__ == "__main__":
    main(sys.argv[1:])
