"""The receiving side at an office's scale.

    python -m benchmarks.bench_inbox [--quick]

- the peak memory of ``fetch`` reading one 40 MiB and one 200 MiB package mail from Dovecot, and
  of ``send`` mailing such packages by SMTP;
- ``fetch`` of 1,000 waiting packages from a real Dovecot (IMAPS on 127.0.0.1, started here
  with its own configuration, as the tests do): every package verified, stored, its mail
  flagged; then a second fetch that finds nothing new;
- ``inbox`` with 1,000 waiting packages: the library listing and the whole command;
- ``status`` with 100,000 sent packages and 1,000,000 recipient rows (indexed SQLite): the
  default view (packages still waiting for an answer plus the newest), one package, and the
  complete listing for comparison;
- sealing a 100 KiB document to 60 recipients (1 主送 + 59 抄送) against 1;
- reading hostile mail: 1-16 MiB text bodies of armor BEGIN lines, a mail nested 2,000 levels.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import ssl
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

PASS = "bench passphrase 基准"
A_UNIT, B_UNIT = "市政府办公室", "财政局"
B_ADDR = "czj@b.example.gov.cn"


def _timed(fn, repeat: int = 3) -> float:
    """Best of ``repeat`` wall-clock runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _cli(home: Path, *argv: str) -> str:
    from smseal.cli.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["--home", str(home), *argv])
    if code != 0:
        raise RuntimeError(f"smseal {' '.join(argv)} failed with {code}")
    return out.getvalue()


def _cli_to_null(home: Path, *argv: str) -> None:
    from smseal.cli.main import main

    with open(os.devnull, "w", encoding="utf-8") as null, contextlib.redirect_stdout(null), \
            contextlib.redirect_stderr(io.StringIO()):
        if main(["--home", str(home), *argv]) != 0:
            raise RuntimeError(f"smseal {' '.join(argv)} failed")


def _homes(root: Path) -> tuple[Path, Path]:
    a, b = root / "A", root / "B"
    for home, unit in ((a, A_UNIT), (b, B_UNIT)):
        home.mkdir()
        _cli(home, "init", "--unit", unit)
        _cli(home, "keys", "export", "--public", "-o", str(root / f"{unit}.card"))
    _cli(a, "keys", "import", str(root / f"{B_UNIT}.card"), "--yes")
    _cli(b, "keys", "import", str(root / f"{A_UNIT}.card"), "--yes")
    return a, b


def bench_fetch(root: Path, a: Path, b: Path, n: int) -> None:
    import imaplib

    from smseal.envelope import Package, seal
    from smseal.keystore import Directory, Keystore
    from smseal.office.context import Office
    from smseal.office.fetch import fetch
    from smseal.office.inbox import Inbox
    from smseal.office.mailcompose import compose, package_text
    from tests.imap_server import PASSWORD, start_dovecot, stop_dovecot

    folder = Path(tempfile.mkdtemp(prefix="smseal-bench-dovecot-"))
    folder.chmod(0o755)
    ms = start_dovecot(folder)
    try:
        ks = Keystore(a, passphrase=lambda p: PASS.encode())
        signer = ks.signer(A_UNIT)
        with Directory(a) as d:
            to = d.encryption_key(B_UNIT)
        ctx = ssl.create_default_context(cafile=str(ms.cafile))
        imap = imaplib.IMAP4_SSL("127.0.0.1", ms.imaps_port, ssl_context=ctx)
        imap.login(B_ADDR, PASSWORD)
        t = time.perf_counter()
        urgencies = ("normal", "urgent", "extra-urgent")
        for i in range(n):
            buf = io.BytesIO()
            res = seal(Package((f"通知{i}.txt", os.urandom(2048)), urgency=urgencies[i % 3]), sender=signer,
                       to=to, out=buf)
            pid = res.package_id.hex()
            msg = compose(sender_unit=A_UNIT, sender_address="bgs@a.example.gov.cn", to_unit=B_UNIT,
                          to_address=B_ADDR, subject=f"smseal {pid}", text=package_text(
                              sender_unit=A_UNIT, package_id=pid, urgency=urgencies[i % 3]),
                          attachments=[(pid + ".smx", buf.getvalue())], package_id=pid)
            imap.append("INBOX", None, None, msg.as_bytes())
        filling = time.perf_counter() - t
        imap.logout()
        ks.close()
        (b / "config.ini").write_text((b / "config.ini").read_text(encoding="utf-8") + ms.imap_config(B_ADDR),
                                      encoding="utf-8")
        print(f"\n{n} package mails sealed and appended to Dovecot in {filling:.1f} s (setup)")
        with Office(b) as office:
            t = time.perf_counter()
            report = fetch(office)
            first = time.perf_counter() - t
            assert len(report.new) == n, (len(report.new), report.errors, report.refused[:2])
            t = time.perf_counter()
            again = fetch(office)
            second = time.perf_counter() - t
            assert not again.new
            print(f"fetch of {n} waiting packages from Dovecot (IMAPS, verify + store + flag each)")
            print(f"  {'first fetch':<40} {first:8.2f} s   {n / first:8.1f} packages/s")
            print(f"  {'second fetch (nothing new)':<40} {second:8.3f} s")
            lib = _timed(lambda: Inbox(office).entries())
        cmd = _timed(lambda: _cli(b, "inbox"))
        js = _timed(lambda: _cli(b, "inbox", "--json"))
        print(f"inbox with {n} waiting packages")
        print(f"  {'Inbox.entries() (library)':<40} {lib * 1000:8.1f} ms")
        print(f"  {'smseal inbox (whole command)':<40} {cmd * 1000:8.1f} ms")
        print(f"  {'smseal inbox --json':<40} {js * 1000:8.1f} ms")
    finally:
        stop_dovecot(ms)
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


# VmHWM, not ru_maxrss: Linux carries the parent's peak into a forked child's ru_maxrss.
_PEAK = ("import sys\n"
         "from smseal.cli.main import main\n"
         "code = main(sys.argv[1:])\n"
         "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
         "print('PEAK', hwm[0], file=sys.stderr)\n"
         "sys.exit(code)\n")


def _random_file(path: Path, mib: int) -> Path:
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(1 << 20))
    return path


def peak_rss(python: str, home: Path, *argv: str) -> tuple[float, int, str]:
    """Run ``smseal --home HOME ARGV`` in a fresh process: (seconds, peak RSS in KiB, stdout)."""
    import subprocess

    t = time.perf_counter()
    proc = subprocess.run([python, "-c", _PEAK, "--home", str(home), *argv], capture_output=True, text=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, timeout=3600)
    took = time.perf_counter() - t
    peak = [int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("PEAK ")]
    if proc.returncode != 0 or not peak:
        raise RuntimeError(f"smseal {' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-800:]} "
                           f"{proc.stdout[-800:]}")
    return took, peak[0], proc.stdout


def bench_fetch_memory(root: Path, a: Path, b: Path, sizes_mb: list[int]) -> None:
    """Peak RSS of ``smseal fetch`` reading one large package mail from Dovecot (review F6: it
    was ~10x the mail): each mail's parts are streamed ``imap.CHUNK`` bytes at a time into a
    spool file, so the peak should not grow with the package."""
    import imaplib

    from smseal.envelope import Package, seal
    from smseal.keystore import Directory, Keystore
    from smseal.office.mailcompose import compose, package_text
    from tests.imap_server import PASSWORD, start_dovecot, stop_dovecot

    folder = Path(tempfile.mkdtemp(prefix="smseal-bench-dovecot-"))
    folder.chmod(0o755)
    ms = start_dovecot(folder)
    config = (b / "config.ini").read_text(encoding="utf-8")
    try:
        (b / "config.ini").write_text(config + ms.imap_config(B_ADDR), encoding="utf-8")
        ks = Keystore(a, passphrase=lambda p: PASS.encode())
        signer = ks.signer(A_UNIT)
        with Directory(a) as d:
            to = d.encryption_key(B_UNIT)
        print("\nfetch of one large package mail from Dovecot (IMAPS), fresh process each")
        for mb in sizes_mb:
            doc = _random_file(root / f"doc-{mb}.bin", mb)
            sealed = root / f"doc-{mb}.smx"
            with open(sealed, "wb") as out:
                res = seal(Package(doc), sender=signer, to=to, out=out)
            doc.unlink()
            pid = res.package_id.hex()
            msg = compose(sender_unit=A_UNIT, sender_address="bgs@a.example.gov.cn", to_unit=B_UNIT,
                          to_address=B_ADDR, subject=f"smseal {pid}",
                          text=package_text(sender_unit=A_UNIT, package_id=pid, urgency="normal"),
                          attachments=[(pid + ".smx", sealed.read_bytes())], package_id=pid)
            raw = msg.as_bytes()
            del msg
            ctx = ssl.create_default_context(cafile=str(ms.cafile))
            imap = imaplib.IMAP4_SSL("127.0.0.1", ms.imaps_port, ssl_context=ctx)
            imap.login(B_ADDR, PASSWORD)
            imap.append("INBOX", None, None, raw)
            imap.logout()
            mail_mb = len(raw) / 2 ** 20
            del raw
            sealed.unlink()
            took, peak, out = peak_rss(sys.executable, b, "fetch", "--json")
            import json

            new = json.loads(out)["new"]
            assert [e["package_id"] for e in new] == [pid], out[-300:]
            print(f"  {f'{mb} MiB package ({mail_mb:.0f} MiB mail)':<40} {took:8.1f} s   "
                  f"peak RSS {peak / 1024:6.1f} MiB")
        took, peak, _out = peak_rss(sys.executable, b, "inbox")
        print(f"  {'for scale: smseal inbox (same home)':<40} {took:8.1f} s   peak RSS {peak / 1024:6.1f} MiB")
    finally:
        (b / "config.ini").write_text(config, encoding="utf-8")
        stop_dovecot(ms)
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def bench_send_memory(root: Path, a: Path, sizes_mb: list[int]) -> None:
    """Peak RSS of ``smseal send`` sealing one large document and mailing it by SMTP (aiosmtpd
    with STARTTLS, delivering through Dovecot's LDA, as the tests do): the package is streamed
    from its file into DATA (office/mailstream.py), so the peak should not grow with it."""
    from tests.imap_server import smtp_config, start_dovecot, start_smtp, stop_dovecot

    folder = Path(tempfile.mkdtemp(prefix="smseal-bench-dovecot-"))
    folder.chmod(0o755)
    ms = start_dovecot(folder)
    config = (a / "config.ini").read_text(encoding="utf-8")
    try:
        start_smtp(ms, size_limit=1 << 30)
        (a / "config.ini").write_text(config + smtp_config(ms, "bgs@a.example.gov.cn")
                                      + f"[addresses]\n{B_UNIT} = {B_ADDR}\n", encoding="utf-8")
        print("\nsend of one large document by SMTP (seal + mail), fresh process each")
        for mb in sizes_mb:
            doc = _random_file(root / f"send-{mb}.bin", mb)
            took, peak, _out = peak_rss(sys.executable, a, "send", str(doc), "--to", B_UNIT, "--json")
            doc.unlink()
            wire = ms.delivered[-1][1] / 2 ** 20
            print(f"  {f'{mb} MiB document ({wire:.0f} MiB mail)':<40} {took:8.1f} s   "
                  f"peak RSS {peak / 1024:6.1f} MiB")
    finally:
        (a / "config.ini").write_text(config, encoding="utf-8")
        if ms._controller is not None:
            ms._controller.stop()
        stop_dovecot(ms)
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def bench_status(a: Path, packages: int, per_package: int) -> None:
    from smseal.office.ledger import Ledger

    ledger = Ledger(a)
    db = ledger._connect()
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    units = [f"单位{i:03d}" for i in range(per_package)]
    t = time.perf_counter()
    db.execute("BEGIN")
    open_every = 100                      # 1 % of the packages still wait for someone
    for p in range(packages):
        pid = secrets.token_hex(16)
        at = (start + timedelta(minutes=p)).isoformat()
        db.execute("INSERT INTO sent VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (pid, at, None, f"赤政办发〔2026〕{p}号", "normal", None, None, f"/x/{pid}.smx", b"d" * 32,
                    "smtp"))
        rows = []
        for i, u in enumerate(units):
            answered = not (p % open_every == 0 and i == 0)
            rows.append((pid, u, "to" if i == 0 else "cc", secrets.token_bytes(16),
                         at if answered else None, "received" if answered else None, None))
        db.executemany("INSERT INTO sent_recipients VALUES (?,?,?,?,?,?,?)", rows)
        db.executemany("INSERT INTO deliveries (package_id, unit, state, via, address, at) VALUES (?,?,?,?,?,?)",
                       [(pid, u, "delivered", "smtp", "x@y", at) for u in units[:1]])
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
    print(f"\nledger with {packages:,} sent packages and {packages * per_package:,} recipient rows "
          f"built in {time.perf_counter() - t:.1f} s (setup)")
    attention = _timed(lambda: ledger.sent_status(scope="attention"))
    one_pkg = ledger.sent_status(scope="attention")[0].package_id
    single = _timed(lambda: ledger.sent_package(one_pkg))
    cmd = _timed(lambda: _cli(a, "status"))
    everything = _timed(lambda: ledger.sent_status(scope="all"), repeat=1)
    streamed = _timed(lambda: sum(1 for _ in ledger.iter_sent_status(scope="all")), repeat=1)
    whole_all = _timed(lambda: _cli_to_null(a, "status", "--all"), repeat=1)
    print("status")
    print(f"  {'sent_status(scope=attention) (library)':<40} {attention * 1000:8.1f} ms  "
          f"({len(ledger.sent_status(scope='attention')):,} packages)")
    print(f"  {'smseal status (whole command)':<40} {cmd * 1000:8.1f} ms")
    print(f"  {'sent_package(id)':<40} {single * 1000:8.2f} ms")
    print(f"  {'sent_status(scope=all), every row':<40} {everything * 1000:8.1f} ms  (as one list)")
    print(f"  {'iter_sent_status(scope=all), streamed':<40} {streamed * 1000:8.1f} ms")
    print(f"  {'smseal status --all > /dev/null':<40} {whole_all * 1000:8.1f} ms  "
          f"({packages * (per_package + 2):,} lines, streamed)")


def bench_seal_many(quick: bool) -> None:
    from shangmi import sm2
    from smseal.envelope import Package, seal

    signer = sm2.PrivateKey.generate()
    keys = [sm2.PrivateKey.generate().public_key() for _ in range(60)]
    body = os.urandom(100 * 1024)

    def once(n: int) -> float:
        buf = io.BytesIO()
        t = time.perf_counter()
        seal(Package(("正文.pdf", body)), sender=signer, to=keys[0], cc=keys[1:n], out=buf)
        return time.perf_counter() - t

    rounds = 10 if quick else 40
    one = statistics.median(once(1) for _ in range(rounds))
    sixty = statistics.median(once(60) for _ in range(rounds))
    print("\nseal a 100 KiB document, median ms")
    print(f"  {'to 1 recipient':<40} {one * 1000:8.1f} ms")
    print(f"  {'to 60 recipients (1 + 59 cc)':<40} {sixty * 1000:8.1f} ms   (+{(sixty - one) * 1000:.1f} ms)")


def bench_hostile_mail() -> None:
    """Reading hostile mail: a text body of nothing but BEGIN lines (the armor search is one linear
    pass) and a mail nested 2,000 MIME levels deep (refused before parsing)."""
    from shangmi.errors import MalformedInput
    from smseal.office.mailparse import read_items

    head = b"From: x@e\r\nX-Smseal: 1\r\nContent-Type: text/plain\r\n\r\n"
    line = b"-----BEGIN SMSEAL PACKAGE-----\n"
    print("\nhostile mail, read_items")
    for mib in (1, 4, 16):
        raw = head + line * ((mib << 20) // len(line))
        t = time.perf_counter()
        read_items(raw)
        print(f"  {f'{mib} MiB of BEGIN lines':<40} {(time.perf_counter() - t) * 1000:8.1f} ms")
    deep = b"From: x@e\r\nX-Smseal: 1\r\n" + b"Content-Type: message/rfc822\r\n\r\n" * 2000 + b"\r\nhi\r\n"
    t = time.perf_counter()
    try:
        read_items(deep)
    except MalformedInput:
        pass
    print(f"  {'2,000 nested levels (refused)':<40} {(time.perf_counter() - t) * 1000:8.1f} ms")


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    os.environ.setdefault("SMSEAL_PASSPHRASE", PASS)
    os.environ.setdefault("SMSEAL_KDF_ITERATIONS", "1000")
    repo = Path(__file__).resolve().parent.parent
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))            # tests.imap_server: the same Dovecot setup as the tests
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        a, b = _homes(Path(tmp))
        if os.path.exists("/usr/sbin/dovecot"):
            bench_fetch_memory(Path(tmp), a, b, [40] if quick else [40, 200])
            bench_send_memory(Path(tmp), a, [40] if quick else [40, 200])
            bench_fetch(Path(tmp), a, b, 200 if quick else 1000)
        else:
            print("Dovecot is not installed: fetch benchmark skipped (apt-get install dovecot-imapd)")
        bench_status(a, 10_000 if quick else 100_000, 10)
    bench_seal_many(quick)
    bench_hostile_mail()
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
