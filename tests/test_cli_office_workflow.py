"""The workflow through the ``smseal`` command: leader keys on cards, draft → approve → send →
open (签发人 shown, policy refusal) → reply → status with 办复率; groups; cases; registers."""

from __future__ import annotations

import csv
import json

from openpyxl import load_workbook

from tests.cli_helpers import units  # noqa: F401  (fixture)


def _leader_and_cards(a, b):
    assert a("keys", "leader", "add", "张三").code == 0
    assert a("keys", "export", "--public", "-o", "a2.card", "--force").code == 0
    r = b("keys", "import", "a2.card", "--yes")
    assert r.code == 0, r.err
    assert "张三" in r.out and "Updated 市政府办公室" in r.out


def test_draft_approve_send_open_reply_status(units):
    a, b, desk, shared = units
    _leader_and_cards(a, b)
    r = a("draft", "关于报送2027年工作安排的通知.pdf", "附件1.txt", "--to", "财政局", "--type", "请示",
          "--title", "关于拨付专项资金的请示", "--doc-number", "赤政办〔2027〕9号", "--copy-number", "000123",
          "--reply-by", "2027-05-10", "-o", "d.smd")
    assert r.code == 0, r.err
    r = a("approve", "d.smd", "--yes")
    assert r.code == 0, r.err
    assert "SM3" in r.out and "附件1.txt" in r.out and "张三" in r.out
    r = a("send", "d.smd")
    assert r.code == 0, r.err
    assert "approved by (签发人): 张三" in r.out
    (pkg,) = (shared / "财政局" / "packages").glob("*.smx")
    (b.home / "config.ini").open("a", encoding="utf-8").write("[policy]\nrequire_approval = 请示, 报告\n")
    r = b("open", str(pkg), "-o", "收文", "--json")
    assert r.code == 0, r.err
    opened = json.loads(r.out)
    assert opened["approval"] == {"state": "verified", "leader": "张三", "reason": None}
    assert opened["doc_type"] == "请示" and opened["copy_number"] == "000123"
    pid = opened["package_id"]
    r = b("reply", pid[:10], "附件1.txt", "--title", "关于拨付专项资金的答复", "--type", "函")
    assert r.code == 0, r.err
    (reply,) = (shared / "市政府办公室" / "packages").glob("*.smx")
    r = a("open", str(reply), "-o", "答复")
    assert r.code == 0, r.err
    assert f"reply to our package {pid}" in r.out and "linked" in r.out
    st = json.loads(a("status", "--json").out)
    assert st["rates"]["by_unit"]["财政局"]["reply_rate"] == {"done": 1, "total": 1, "percent": 100.0}
    rec = st["sent"][0]["recipients"][0]
    assert rec["replied"] and st["sent"][0]["signer"] == "张三" and st["sent"][0]["copy_number"] == "000123"
    out = a("status").out
    assert "reply rate (办复率)" in out and "1/1 (100%)" in out and "approved by (签发人) 张三" in out


def test_chinese_open_line_and_policy_refusal(units, monkeypatch):
    a, b, desk, shared = units
    _leader_and_cards(a, b)
    (b.home / "config.ini").open("a", encoding="utf-8").write("[policy]\nrequire_approval = 请示\n")
    r = a("send", "附件1.txt", "--to", "财政局", "--type", "请示", "--title", "未签发的请示")
    assert r.code == 0, r.err
    (pkg,) = (shared / "财政局" / "packages").glob("*.smx")
    r = b("open", str(pkg), "-o", "refused", "--no-receipt")
    assert r.code == 5 and "requires a leader's approval (签发) for 请示" in r.err
    assert not (desk / "refused").exists()
    assert b("register", "incoming", "-o", "in.csv").code == 0
    assert len(list(csv.reader((desk / "in.csv").read_text(encoding="utf-8-sig").splitlines()))) == 1
    a("draft", "附件1.txt", "--to", "财政局", "--type", "请示", "-o", "d.smd")
    a("approve", "d.smd", "--yes")
    assert a("send", "d.smd").code == 0
    (pkg2,) = [p for p in (shared / "财政局" / "packages").glob("*.smx") if p != pkg]
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    r = b("open", str(pkg2), "-o", "ok", "--no-receipt")
    assert r.code == 0, r.err
    assert "签发人：张三（签名已验证）" in r.out


def test_groups_cases_and_registers(units):
    a, b, desk, shared = units
    assert a("directory", "group", "add", "各局", "财政局").code == 0
    r = a("send", "附件1.txt", "--to", "财政局", "--cc-group", "各局", "--title", "关于加快老旧小区改造的建议",
          "--reply-by", "2027-08-20", "--json")
    assert r.code == 0, r.err
    sent = json.loads(r.out)
    assert sent["recipients"] == [{"unit": "财政局", "role": "to"}]         # the group kept one 主送
    r = a("case", "new", "--template", "建议提案", "--unit", "财政局", "--package", sent["package_id"],
          "--year", "2027", "--json")
    assert r.code == 0, r.err
    case = json.loads(r.out)
    assert [s["deadline"] for s in case["stages"]] == ["2027-05-10", "2027-07-01", "2027-08-20", "2027-09-01"]
    assert a("case", "record", str(case["id"]), "--stage", "见面", "--date", "2027-06-30").code == 0
    st = json.loads(a("status", "--json", "--now", "2027-08-21T09:00").out)
    (c,) = st["cases"]
    assert c["overdue"] and [s["overdue"] for s in c["stages"]] == [False, False, True, False]
    assert st["rates"]["by_template"]["建议提案"]["meeting_rate"]["percent"] == 100.0
    assert st["rates"]["by_template"]["建议提案"]["reply_rate"]["done"] == 0
    assert "OVERDUE" in a("case", "list", "--now", "2027-08-21T09:00").out
    assert a("register", "outgoing", "-o", "发文登记.xlsx").code == 0
    ws = load_workbook(desk / "发文登记.xlsx").active
    assert ws.cell(1, 1).value == "发文日期" and ws.cell(2, 3).value == "财政局"
    assert ws.cell(2, 2).value == "000001" and ws.cell(2, 4).value == "主送"
    assert ws.cell(2, 6).value == "关于加快老旧小区改造的建议"
    assert a("register", "outgoing", "-o", "x.txt").code == 2
