"""``smseal selftest``: which SM2 backend is active and why, and a quick known-answer check."""

from __future__ import annotations

from smseal.office.i18n import _


def register(sub) -> None:
    p = sub.add_parser("selftest", help=_("check the cryptography on this machine"))
    p.set_defaults(func=run)


def run(args, console) -> int:
    import cryptography

    from shangmi import sm2, sm3, sm4

    be = sm2.backend()
    console.print(_("SM2 backend: {name} ({reason})").format(name=be.name, reason=be.reason))
    console.print(_("SM3/SM4 backend: pyca cryptography {v}").format(v=cryptography.__version__))
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    ok = sm3.digest(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    ok &= sm4.encrypt_block(key, key).hex() == "681edf34d206965e86b3e94f536e4246"
    k = sm2.PrivateKey.generate()
    k.public_key().verify(k.sign(b"selftest"), b"selftest")
    ok &= k.decrypt(k.public_key().encrypt(b"selftest")) == b"selftest"
    console.print(_("Self-test passed.") if ok else _("Self-test FAILED."))
    return 0 if ok else 3
