"""``python -m shangmi``: say which backends are active and why, then self-test."""

from __future__ import annotations

import sys

from . import sm2, sm3, sm4


def main() -> int:
    be = sm2.backend()
    print(f"SM2 backend: {be.name} ({be.reason})")
    import cryptography

    from . import sm4_batch

    print(f"SM3/SM4 backend: pyca cryptography {cryptography.__version__}")
    print(f"SM4-GCM batches and incremental SM3: {sm4_batch.backend().name} ({sm4_batch.backend().reason})")
    ok = sm3.digest(b"abc").hex().startswith("66c7f0f4")
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    ok &= sm4.encrypt_block(key, key).hex() == "681edf34d206965e86b3e94f536e4246"
    k = sm2.PrivateKey.generate()
    k.public_key().verify(k.sign(b"self-test"), b"self-test")
    ok &= k.decrypt(k.public_key().encrypt(b"self-test")) == b"self-test"
    print("self-test:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
