"""Keystore ops/s: SM2 sign and decrypt through a PKCS#11 token next to the software backend.

    python -m benchmarks.bench_keystore [--quick]

A SoftHSM2 token is made from nothing in a temp folder.  Token decryption runs
CKM_ECDH1_DERIVE (CKD_NULL) on C1 with the non-extractable key and finishes SM2
in software; SoftHSM2 has no SM2 signing mechanism, which is printed, not faked.
A vendor token is benchmarked too when SMSEAL_TEST_PKCS11_MODULE (+ _TOKEN, _PIN,
_PROFILE) names one.  Also shown: the cost of unlocking a software key file at
the default PBKDF2 iteration count (what a thief of the file pays per guess).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.timing import rate, table
from shangmi import sm2
from shangmi.errors import UnsupportedMechanism

SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
PIN = "135790"


def _softhsm(tmp: Path) -> str | None:
    module = next((m for m in SOFTHSM_MODULES if os.path.isfile(m)), None)
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        return None
    (tmp / "tokens").mkdir()
    conf = tmp / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run([util, "--init-token", "--free", "--label", "smseal-bench", "--so-pin", "24680246",
                    "--pin", PIN], check=True, capture_output=True)
    return module


def _token_rows(label: str, uri, profile_name: str | None, pin: bytes, seconds: float,
                sign_rows: list, dec_rows: list) -> None:
    from smseal.keystore.pkcs11 import TokenKey, TokenSession
    from smseal.keystore.pkcs11_profiles import get_profile

    profile = get_profile(profile_name)
    msg, file_key = b"h" * 200, os.urandom(32)
    with TokenSession(uri, passphrase=lambda p: pin) as ts:
        public, where = ts.generate(profile, "enc", "smseal-bench-enc")
        with TokenKey.open(where, profile=profile, passphrase=lambda p: pin) as key:
            ct = public.encrypt(file_key)
            assert key.decrypt(ct) == file_key
            dec_rows.append((f"{label} decrypt", rate(lambda: key.decrypt(ct), seconds)))
        ts.destroy(where.object, where.id)
        if not profile.can_sign:
            sign_rows.append((f"{label} sign", None))
            print(f"  note: {label} cannot sign SM2 (profile {profile.name!r} has no SM2 signing "
                  "mechanism); keep the signing key in a software file.")
            return
        try:
            public, where = ts.generate(profile, "sign", "smseal-bench-sign")
        except UnsupportedMechanism as exc:
            sign_rows.append((f"{label} sign", None))
            print(f"  note: {exc}")
            return
        with TokenKey.open(where, profile=profile, passphrase=lambda p: pin) as key:
            sign_rows.append((f"{label} sign", rate(lambda: key.sign(msg), seconds)))
        ts.destroy(where.object, where.id)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    seconds = 0.5 if "--quick" in argv else 2.0
    from smseal.keystore.pkcs11_uri import Pkcs11Uri
    from smseal.keystore.software import load_key, store_new_key

    soft = sm2.PrivateKey.generate()
    msg, file_key = b"h" * 200, os.urandom(32)
    ct = soft.public_key().encrypt(file_key)
    sign_rows = [("software sign", rate(lambda: soft.sign(msg), seconds))]
    dec_rows = [("software decrypt", rate(lambda: soft.decrypt(ct), seconds))]

    with tempfile.TemporaryDirectory() as tmp:
        module = _softhsm(Path(tmp))
        if module is None:
            print("  note: SoftHSM2 is not installed (apt-get install softhsm2): token rows skipped")
        else:
            _token_rows("SoftHSM2 2.6 token", Pkcs11Uri(token="smseal-bench", module_path=module), "softhsm2",
                        PIN.encode(), seconds, sign_rows, dec_rows)
        vendor = os.environ.get("SMSEAL_TEST_PKCS11_MODULE")
        if vendor:
            _token_rows("vendor token", Pkcs11Uri(token=os.environ.get("SMSEAL_TEST_PKCS11_TOKEN"),
                                                  module_path=vendor),
                        os.environ.get("SMSEAL_TEST_PKCS11_PROFILE"),
                        os.environ.get("SMSEAL_TEST_PKCS11_PIN", "").encode(), seconds, sign_rows, dec_rows)

        path = Path(tmp) / "k.key"
        store_new_key(path, soft, b"bench passphrase")       # shangmi's default iteration count
        t0 = time.perf_counter()
        load_key(path, b"bench passphrase")
        unlock = time.perf_counter() - t0

    table("SM2 sign, 200-byte message", "ops/s", sign_rows, "software sign")
    table("SM2 decrypt of a 32-byte file key (GM/T 0009 DER)", "ops/s", dec_rows, "software decrypt")
    print(f"\nsoftware key file unlock at the default PBKDF2-HMAC-SM3 count: {unlock * 1000:,.0f} ms "
          "(per passphrase guess)")


if __name__ == "__main__":
    main()
