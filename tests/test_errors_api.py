"""Errors an integrator can log: one hierarchy, stable codes, non-secret context, no leaked names."""

from __future__ import annotations

import io
import pickle
import re
from datetime import datetime
from pathlib import Path

import pytest

import smseal
import smseal.errors
from shangmi import errors as shangmi_errors
from shangmi import sm2
from smseal.envelope import Package, make_receipt, open_package, seal
from tests.testkit.kit import CC, SENDER, TO, TRUSTED

REPO = Path(__file__).resolve().parent.parent
API_MD = (REPO / "docs" / "API.md").read_text(encoding="utf-8")
SOURCES = [p for d in ("shangmi", "envelope", "keystore", "office") for p in (REPO / d).rglob("*.py")]


def _classes() -> list[type[shangmi_errors.SmsealError]]:
    return [getattr(smseal.errors, n) for n in smseal.errors.__all__]


def test_every_error_is_importable_from_the_package_root():
    for name in smseal.errors.__all__:
        assert getattr(smseal, name) is getattr(smseal.errors, name)
    for name in shangmi_errors.__all__:       # nothing of shangmi's hierarchy is left out
        assert getattr(smseal, name) is getattr(shangmi_errors, name)
    from smseal import MalformedCard, PassphraseUnavailable  # noqa: F401  (the issue's examples)


def test_codes_are_unique_stable_and_documented():
    codes = [c.code for c in _classes()]
    assert len(codes) == len(set(codes)), codes
    assert smseal.InvalidSignature.code == "invalid-signature"       # pinned: codes never change
    assert smseal.PassphraseUnavailable.code == "passphrase-unavailable"
    refined = {m for p in SOURCES for m in re.findall(r'code="([a-z0-9-]+)"', p.read_text(encoding="utf-8"))}
    for code in set(codes) | refined:
        assert f"`{code}`" in API_MD, f"error code {code} is not documented in docs/API.md"


@pytest.mark.parametrize("cls", [smseal.InvalidArgument, smseal.WrongArgumentType])
def test_usage_errors_are_also_builtin_errors(cls):
    builtin = ValueError if cls is smseal.InvalidArgument else TypeError
    assert issubclass(cls, smseal.SmsealError) and issubclass(cls, builtin)
    assert cls.exit_code == 2


def _refused(fn, code: str, builtin: type[Exception] = ValueError) -> smseal.SmsealError:
    with pytest.raises(smseal.SmsealError) as info:
        fn()
    assert isinstance(info.value, builtin) and info.value.code == code, (info.value, info.value.code)
    return info.value


def test_usage_errors_carry_codes():
    a = ("a.txt", b"x")
    _refused(lambda: Package(a, urgency="asap"), "bad-urgency")
    _refused(lambda: Package(a, due="2027-01-01"), "not-a-date", TypeError)
    _refused(lambda: seal(Package(a), sender=SENDER, to=TO.public_key(), cc=[TO.public_key()],
                          out=io.BytesIO()), "duplicate-recipient")
    many = [sm2.PrivateKey.from_int(i + 2).public_key() for i in range(256)]
    exc = _refused(lambda: seal(Package(a), sender=SENDER, to=TO.public_key(), cc=many, out=io.BytesIO()),
                   "too-many-recipients")
    assert exc.context == {"limit": "256"}
    _refused(lambda: seal(Package(a), sender=SENDER, to=b"key", out=io.BytesIO()), "not-a-public-key",
             TypeError)
    _refused(lambda: open_package(b"", key=TO, trusted="me", out_dir="x"), "bad-trust-store", TypeError)


def test_receipt_usage_errors(tmp_path):
    buf = io.BytesIO()
    seal(Package(("a.txt", b"x")), sender=SENDER, to=TO.public_key(), out=buf)
    res = open_package(buf.getvalue(), key=TO, trusted=TRUSTED, out_dir=tmp_path)
    _refused(lambda: make_receipt(res, signer=CC, status="ok"), "bad-receipt-status")
    _refused(lambda: make_receipt(res, signer=CC, when=datetime(2027, 1, 1)), "naive-datetime")


def test_confidential_file_names_never_in_messages():
    secret = "../绝密名单.pdf"
    exc = _refused(lambda: Package(("正文.pdf", b"x"), [(secret, b"y")]), "unsafe-file-name")
    assert "绝密名单" not in str(exc) and "绝密名单" not in repr(exc) and exc.context["index"] == "2"
    assert not any("绝密名单" in v for v in exc.context.values())       # the reason names no name
    exc = _refused(lambda: Package(("干部任免.pdf", b"x"), [("干部任免.PDF", b"y")]), "duplicate-file-name")
    assert "干部任免" not in str(exc) + repr(exc)


def test_open_result_repr_names_no_file(tmp_path):
    buf = io.BytesIO()
    seal(Package(("干部任免.pdf", b"x"), title="干部任免"), sender=SENDER, to=TO.public_key(), out=buf)
    res = open_package(buf.getvalue(), key=TO, trusted=TRUSTED, out_dir=tmp_path / "收文")
    text = repr(res)
    assert "干部任免" not in text and "收文" not in text and res.package_id.hex() in text


def test_errors_survive_pickling_with_code_and_context():
    """A process pool hands errors back pickled: code, context and hint must survive."""
    exc = smseal.InvalidArgument("at most 256 recipients", code="too-many-recipients", limit="256",
                                 hint="split the list")
    back = pickle.loads(pickle.dumps(exc))
    assert (type(back), str(back), back.code, back.context, back.hint) == (
        smseal.InvalidArgument, str(exc), "too-many-recipients", {"limit": "256"}, "split the list")
    assert pickle.loads(pickle.dumps(smseal.RevokedKey("r", unit="某局"))).context == {"unit": "某局"}


def test_untrusted_sender_names_the_key_id():
    buf = io.BytesIO()
    seal(Package(("a.txt", b"x")), sender=SENDER, to=TO.public_key(), out=buf)
    with pytest.raises(smseal.UntrustedSender) as info:
        open_package(buf.getvalue(), key=TO, trusted=[CC.public_key()], out_dir="never")
    assert info.value.code == "untrusted-sender"
    assert info.value.context["key_id"] == SENDER.public_key().key_id().hex()


def test_logger_logs_ids_only(tmp_path, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="smseal")
    buf = io.BytesIO()
    sr = seal(Package(("干部任免.pdf", b"x"), title="干部任免通知"), sender=SENDER, to=TO.public_key(), out=buf)
    open_package(buf.getvalue(), key=TO, trusted=TRUSTED, out_dir=tmp_path / "收文")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("smseal"))
    assert sr.package_id.hex() in text and "sealed" in text and "opened" in text
    assert "干部任免" not in text and "收文" not in text
    assert smseal.logger.name == "smseal"


def test_seal_result_round_trips_through_a_dict():
    import json

    buf = io.BytesIO()
    sr = seal(Package(("a.txt", b"x")), sender=SENDER, to=TO.public_key(), cc=[CC.public_key()], out=buf)
    d = json.loads(json.dumps(sr.to_dict()))
    assert type(sr).from_dict(d) == sr and d["size"] == len(buf.getvalue())
    for broken in ({}, {**d, "package_id": "zz"}, {**d, "sealed_at": "2027-01-01T00:00:00"},
                   {**d, "recipients": []}, {**d, "size": -1}):
        with pytest.raises(smseal.MalformedInput):
            type(sr).from_dict(broken)


def test_shangmi_errors_all_lists_every_class():
    defined = {n for n, o in vars(shangmi_errors).items()
               if isinstance(o, type) and issubclass(o, shangmi_errors.SmsealError)
               and o.__module__ == shangmi_errors.__name__}
    assert defined == set(shangmi_errors.__all__)


def test_existing_output_named_by_the_package_is_not_in_the_message(tmp_path):
    buf = io.BytesIO()
    seal(Package(("干部任免.pdf", b"x")), sender=SENDER, to=TO.public_key(), out=buf)
    out = tmp_path / "收文"
    out.mkdir()
    (out / "干部任免.pdf").write_bytes(b"already here")
    with pytest.raises(smseal.OutputExists) as info:
        open_package(buf.getvalue(), key=TO, trusted=TRUSTED, out_dir=out)
    exc = info.value
    assert "干部任免" not in str(exc) + repr(exc) + repr(exc.context)
    assert exc.context == {"out_dir": str(out)} and exc.path == str(out / "干部任免.pdf")
    assert (out / "干部任免.pdf").read_bytes() == b"already here"
