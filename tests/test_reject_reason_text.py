"""拒收 reasons follow the text rule of the format (docs/FORMAT.md §14, §6.2) in the library:
``reject`` refuses control, bidi and invisible characters and over-long reasons before anything is
verified or sent (it used to turn controls into spaces silently and let the notice writer fail
late), and a notice carrying such a reason, signed by another implementation, is refused on
receipt and never recorded."""

from __future__ import annotations

import json

import pytest

from shangmi.errors import MalformedPackage
from smseal.office.errors import UsageError
from smseal.office.reject import check_reason
from tests.cli_helpers import units  # noqa: F401  (fixture)


def _sent_and_fetched(a, b) -> str:
    res = a("send", "附件1.txt", "--to", "财政局", "--json")
    assert res.code == 0, res.err
    assert b("fetch").code == 0
    return json.loads(res.out)["package_id"]


def _nothing_sent_back(shared) -> bool:
    back = shared / "市政府办公室"
    return not any(p.is_file() for sub in ("receipts", "notices") for p in (back / sub).glob("*"))


@pytest.mark.parametrize("reason", [
    "\u2067已签收，无异议\u2069\u200f\u202b请勿催办\u202c",     # bidi isolates, RLM, embedding
    "不属于本单位\x1b[2J职责",                                  # ESC (was turned into a space)
    "请转交\u200b发改委",                                      # zero-width space
    "请转交\u3164发改委",                                      # Hangul filler
    "一行\u2028两行",                                          # line separator
])
def test_reject_refuses_a_reason_the_format_refuses(units, reason):
    a, b, desk, shared = units
    pid = _sent_and_fetched(a, b)
    res = b("reject", pid[:10], "--reason", reason)
    assert res.code == 2 and "U+" in res.err and "plain text" in res.err, res.err
    assert _nothing_sent_back(shared)
    assert json.loads(b("inbox", "--json").out)["waiting"][0]["package_id"] == pid   # still waiting


def test_reject_refuses_a_reason_longer_than_the_notice_holds(units):
    a, b, desk, shared = units
    pid = _sent_and_fetched(a, b)
    res = b("reject", pid[:10], "--reason", "职" * 200)           # 600 bytes of UTF-8
    assert res.code == 2 and "600" in res.err and "512" in res.err, res.err
    assert _nothing_sent_back(shared)


def test_line_breaks_become_spaces():
    assert check_reason("  不属于本单位\r\n职责范围\t请转交  ") == "不属于本单位 职责范围 请转交"
    with pytest.raises(UsageError):
        check_reason(" \n\t")
    with pytest.raises(UsageError):
        check_reason("原因\x85")                                   # NEL is not a line break here


def test_a_reason_with_bidi_controls_is_refused_on_receipt(units, monkeypatch):
    from smseal.envelope import notice as notice_mod
    from smseal.office.context import Office
    from smseal.office.inbox import Inbox
    from smseal.office.receipts import import_rejection

    a, b, desk, shared = units
    pid = _sent_and_fetched(a, b)
    from tests.cli_helpers import FAST_ENV

    with Office(b.home, passphrase=lambda _p: FAST_ENV["SMSEAL_PASSPHRASE"].encode()) as office:
        entry = Inbox(office).resolve(pid)
        with office.ledger._connect() as db:
            (kid,) = db.execute("SELECT recipient_key_id FROM inbox WHERE package_id = ?", (pid,)).fetchone()
        from smseal.envelope import verify_package

        res = verify_package(entry.path, trusted=office.directory)
        with monkeypatch.context() as m:                        # another implementation, no text rule
            m.setattr(notice_mod, "_check_kind_fields", lambda *a: None)
            forged = notice_mod.make_notice(
                "rejection", package_id=res.package_id, package_digest=res.package_digest,
                recipient_key_id=bytes(kid), urgency=res.urgency, signer=office.keystore.signer("财政局"),
                text="\u2067已签收，无异议\u2069").to_bytes()
    with Office(a.home) as office:
        with pytest.raises(MalformedPackage):
            import_rejection(office, forged)
    (sent,) = json.loads(a("status", "--json").out)["sent"]
    assert sent["recipients"][0]["rejection_reason"] is None
    (shared / "市政府办公室" / "notices").mkdir(parents=True, exist_ok=True)
    (shared / "市政府办公室" / "notices" / f"{pid}-rejection.notice").write_bytes(forged)
    report = json.loads(a("fetch", "--json").out)
    assert report["rejections"] == [] and len(report["refused"]) == 1
    assert "\u2067" not in a("status").out
