"""``status --all`` and ``status --json`` stream the sent packages from one ledger cursor
(``Ledger.iter_sent_status``, ``StatusView.sent``, ``Console.json_streaming``) instead of reading
every recipient row twice into lists (with a million recipient rows that took 2 GB and ~14 s
before the first line; benchmarks/bench_inbox.py measures it).  The output is unchanged."""

from __future__ import annotations

import io
import json
import unicodedata

import pytest

from smseal.cli.output import Console
from smseal.office import textsafe
from smseal.office.ledger import Ledger
from tests.cli_helpers import units  # noqa: F401  (fixture)


def _send(a, *extra):
    res = a("send", "附件1.txt", "--to", "财政局", "--json", *extra)
    assert res.code == 0, res.err
    return json.loads(res.out)["package_id"]


def test_status_all_never_lists_every_row_at_once(units, monkeypatch):
    a, b, desk, shared = units
    pids = [_send(a, "--doc-number", f"赤政办发〔2027〕{i}号") for i in range(3)]
    assert b("fetch").code == 0 and b("open", pids[1][:10], "-o", "收文").code == 0
    assert a("fetch").code == 0
    expected_text = a("status", "--all").out
    expected_json = json.loads(a("status", "--all", "--json").out)
    del expected_json["now"]                # the clock moves between the two runs

    def whole_list(*args, **kw):
        raise AssertionError("status read every sent package into one list")

    monkeypatch.setattr(Ledger, "sent_status", whole_list)
    text = a("status", "--all")
    assert text.code == 0, text.err
    assert text.out == expected_text
    rows = sorted((line.split("赤政办发〔2027〕")[1][0], "not signed yet" in line)
                  for line in text.out.splitlines() if "赤政办发" in line)
    assert rows == [("0", True), ("1", False), ("2", True)]          # one table row per recipient
    js = a("status", "--all", "--json")
    streamed = json.loads(js.out)
    assert js.code == 0 and streamed.pop("now") and streamed == expected_json
    assert sorted((s["doc_number"], s["signed"]) for s in expected_json["sent"]) == [
        ("赤政办发〔2027〕0号", 0), ("赤政办发〔2027〕1号", 1), ("赤政办发〔2027〕2号", 0)]


def test_iter_sent_status_reads_lazily(units):
    a, b, desk, shared = units
    for _ in range(3):
        _send(a)
    it = Ledger(a.home).iter_sent_status(scope="all")
    first = next(it)                        # a package comes before the cursor is exhausted
    assert first.recipients and first.recipients[0].unit == "财政局"
    assert len([first, *it]) == 3


@pytest.mark.parametrize("items", [[], [{"a": [1, {"b": "中文\u202e"}]}, {"z": None}]])
def test_json_streaming_writes_what_json_writes(items):
    head = {"now": "2027-05-10T00:00:00+00:00", "cases": [{"q": [1, 2]}], "rates": {}, "received": [],
            "timezone": "Asia/Shanghai"}
    streamed, whole = Console(out=io.StringIO()), Console(out=io.StringIO())
    streamed.json_streaming(head, "sent", iter(items))
    whole.json({**head, "sent": items})
    assert streamed.out.getvalue() == whole.out.getvalue()


def test_printable_fast_path_escapes_exactly_what_the_rule_escapes():
    slow = [cp for cp in range(0x110000)
            if unicodedata.category(chr(cp)) in textsafe._ESCAPED_CATEGORIES or chr(cp) in textsafe._INVISIBLE_LETTERS]
    fast = [cp for cp in range(0x110000) if textsafe.printable("a" + chr(cp)) != "a" + chr(cp)]
    assert fast == slow
