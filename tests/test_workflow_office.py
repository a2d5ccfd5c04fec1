"""Groups, replies and 办复率, the 建议提案 timetable, and the registers — through the library,
with the clock set by the tests (``Office(now=...)``), never waited for."""

from __future__ import annotations

import csv
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from shangmi.errors import KeyNotFound
from smseal.office import cases, groups, registers, replies, sending, status
from smseal.office.errors import UsageError
from tests.workflow_helpers import TOWNS, open_in, pair  # noqa: F401  (fixture)


def _send(pair, title="关于报送2027年工作安排的通知", **kw):
    main = pair.file("通知.txt", "请于五月十日前报送。")
    kw.setdefault("to", "财政局")
    with sending.compose(pair.a, main, title=title, **kw) as out:
        return sending.send(pair.a, out)


# -- groups -----------------------------------------------------------------------------------

def test_group_expansion_keeps_one_main_recipient(pair):
    groups.add_group(pair.a, "各乡镇", list(TOWNS))
    groups.add_group(pair.a, "各乡镇", ["财政局"])          # the main recipient is a member too
    assert groups.get_group(pair.a, "各乡镇").units == (*TOWNS, "财政局")
    to, cc = groups.expand_recipients(pair.a, "财政局", ["松山镇"], ["各乡镇"])
    assert to == "财政局" and cc == ["松山镇", "红山镇", "元宝山镇"]         # no unit twice, 主送 only once
    sent = _send(pair, cc_groups=["各乡镇"], doc_type="通知")
    assert sent.to == "财政局" and sent.cc == TOWNS
    roles = [r.role for r in status.status(pair.a).packages[0].recipients]
    assert roles.count("to") == 1 and roles.count("cc") == 3
    res, _st = pair.open_as_b(sent.path)
    assert res.role == "to" and sum(r.role == "to" for r in res.recipients) == 1


def test_group_management(pair):
    with pytest.raises(KeyNotFound):
        groups.add_group(pair.a, "各乡镇", ["不存在的单位"])
    groups.add_group(pair.a, "各乡镇", list(TOWNS))
    assert [g.name for g in groups.list_groups(pair.a)] == ["各乡镇"]
    assert groups.remove_group(pair.a, "各乡镇", ["松山镇"]).units == ("红山镇", "元宝山镇")
    assert groups.remove_group(pair.a, "各乡镇") is None
    with pytest.raises(KeyNotFound):
        groups.expand_recipients(pair.a, "财政局", [], ["各乡镇"])
    with pytest.raises(UsageError):
        groups.expand_recipients(pair.a, "财政局", ["财政局"])


# -- replies and 办复率 ------------------------------------------------------------------------

def test_reply_links_to_its_original_and_changes_the_reply_rate(pair):
    sent = _send(pair, doc_type="通知", reply_by=date(2027, 5, 10))
    before = status.status(pair.a)
    assert before.by_unit["财政局"].reply.text() == "0/1 (0%)"
    res, _st = pair.open_as_b(sent.path)
    assert res.metadata.reply_by == date(2027, 5, 10)
    answer = pair.file("关于2027年工作安排的报告.txt", "已按要求报送。")
    with replies.compose_reply(pair.b, sent.package_id[:12], answer, title="关于2027年工作安排的报告",
                               doc_type="报告") as out:
        reply = sending.send(pair.b, out)
    replies.mark_replied(pair.b, sent.package_id, reply)
    assert reply.to == "市政府办公室"
    r2, _ = pair.open_as_a(reply.path)
    assert r2.metadata.reply_to.package_id.hex() == sent.package_id
    assert r2.metadata.reply_to.package_digest == sent.package_digest
    from smseal.office.received import ReplyLink  # noqa: F401
    after = status.status(pair.a)
    assert after.by_unit["财政局"].reply.text() == "1/1 (100%)"
    assert after.by_template["限期答复"].reply.percent == 100.0
    rec = after.packages[0].recipients[0]
    assert rec.replied and not rec.reply_overdue
    assert pair.b.store.query("SELECT replied_at IS NOT NULL AS r FROM wf_in")[0]["r"] == 1


def test_reply_rates_count_packages_the_attention_view_leaves_out(pair):
    """status(scope="attention") lists only what still waits (fast with 100,000 packages), but
    the rates still count every package that asked for a reply."""
    sent = _send(pair, doc_type="通知", reply_by=date(2027, 5, 10))
    for i in range(3):                                   # newer packages push it out of recent=2
        _send(pair, title=f"通知{i}")
    res, _st = pair.open_as_b(sent.path)                 # signed: nothing waits for it any more
    from smseal.envelope import make_receipt
    from smseal.office.receipts import import_receipt

    import_receipt(pair.a, make_receipt(res, signer=pair.b.keystore.signer(pair.b.unit)).to_bytes())
    full, short = status.status(pair.a), status.status(pair.a, scope="attention", recent=2)
    assert sent.package_id in {p.package_id for p in full.packages}
    assert sent.package_id not in {p.package_id for p in short.packages}
    assert short.by_unit["财政局"].reply.text() == full.by_unit["财政局"].reply.text() == "0/1 (0%)"


def test_reply_to_a_package_never_sent_or_altered_is_not_linked(pair):
    sent = _send(pair, reply_by=date(2027, 5, 10))
    res, _ = pair.open_as_b(sent.path)
    # the receiving side forges the digest: the link must not be made
    pair.b.store.insert("wf_in", {**pair.b.store.query("SELECT * FROM wf_in")[0],
                                  "package_digest": b"\x00" * 32}, replace=True)
    with pair.b.store.tx() as db:
        db.execute("DELETE FROM wf_in WHERE package_digest != ?", (b"\x00" * 32,))
    answer = pair.file("答复.txt", "答复")
    with replies.compose_reply(pair.b, sent.package_id, answer) as out:
        reply = sending.send(pair.b, out)
    from smseal.office.received import record_opened
    from smseal.office.approval import check_approval
    from smseal.envelope import open_package
    r2 = open_package(reply.path, key=pair.a.keystore.decrypter(pair.a.unit), trusted=pair.a.directory,
                      out_dir=pair.tmp / "o")
    link = record_opened(pair.a, r2, pair.tmp / "o", check_approval(pair.a.directory, r2))
    assert not link.linked and "different package" in link.reason
    assert status.status(pair.a).by_unit["财政局"].reply.text() == "0/1 (0%)"


def test_reply_overdue_and_unknown_package(pair):
    _send(pair, reply_by=date(2027, 5, 10))
    pair.clock.set("2027-05-10T23:59+08:00")
    assert not status.status(pair.a).packages[0].recipients[0].reply_overdue
    pair.clock.set("2027-05-11T00:00+08:00")          # Beijing midnight = 16:00 UTC the day before
    st = status.status(pair.a)
    assert st.packages[0].recipients[0].reply_overdue and st.by_unit["财政局"].overdue == 1
    with pytest.raises(KeyNotFound):
        replies.original_of(pair.b, "0123456789abcdef")


# -- cases: the 建议提案 timetable --------------------------------------------------------------

def test_seed_timetable_overdue_on_8_21_without_written_reply(pair):
    pair.clock.set("2027-05-08T09:00+08:00")
    sent = _send(pair, title="关于加快老旧小区改造的建议（第12号）")
    case = cases.new_case(pair.a, "建议提案", unit="财政局", package_id=sent.package_id)
    assert [(s.name, s.deadline) for s in case.stages] == [
        ("交办", date(2027, 5, 10)), ("见面", date(2027, 7, 1)), ("书面答复", date(2027, 8, 20)),
        ("总结", date(2027, 9, 1))]
    assert case.stage("交办").done_on is not None and case.stage("交办").source == "package"
    pair.clock.set("2027-06-20T10:00+08:00")
    cases.record_stage(pair.a, case.id, "见面", date(2027, 6, 18))
    pair.clock.set("2027-08-20T18:00+08:00")
    c = cases.get_case(pair.a, case.id)
    assert not c.overdue
    pair.clock.set("2027-08-21T08:00+08:00")
    c = cases.get_case(pair.a, case.id)
    assert c.overdue and c.stage("书面答复").overdue and not c.stage("总结").overdue
    st = status.status(pair.a)
    assert st.by_template["建议提案"].reply.text() == "0/1 (0%)"
    assert st.by_template["建议提案"].meeting.text() == "1/1 (100%)"
    assert st.by_unit["财政局"].overdue == 1


def test_written_reply_by_package_completes_the_case(pair):
    pair.clock.set("2027-05-08T09:00+08:00")
    sent = _send(pair, title="关于加快老旧小区改造的建议")
    case = cases.new_case(pair.a, "建议提案", unit="财政局", package_id=sent.package_id)
    pair.open_as_b(sent.path)
    with replies.compose_reply(pair.b, sent.package_id, pair.file("答复.txt", "答复意见")) as out:
        reply = sending.send(pair.b, out)
    pair.open_as_a(reply.path)
    pair.clock.set("2027-08-21T08:00+08:00")
    c = cases.get_case(pair.a, case.id)
    assert c.replied and c.stage("书面答复").source == "reply" and not c.stage("书面答复").overdue
    assert c.stage("见面").overdue                          # 7-1 passed with no meeting recorded
    st = status.status(pair.a)
    assert st.by_template["建议提案"].reply.text() == "1/1 (100%)"
    assert st.by_template["建议提案"].meeting.text() == "0/1 (0%)"


def test_templates_from_config(pair):
    with open(pair.a.config.path, "a", encoding="utf-8") as f:
        f.write("[template 督办件]\nstages = 交办 +0, 书面答复 +15\n")
    from smseal.office.config import Config
    pair.a.config = Config(pair.a.home)
    pair.clock.set("2027-03-01T10:00+08:00")
    c = cases.new_case(pair.a, "督办件", unit="财政局", title="关于…的督办")
    assert c.stage("书面答复").deadline == date(2027, 3, 16) and c.meeting_stage is None
    with pytest.raises(UsageError):
        cases.new_case(pair.a, "不存在", unit="财政局")
    with pytest.raises(UsageError):
        cases.record_stage(pair.a, c.id, "见面", date(2027, 3, 2))


# -- registers ----------------------------------------------------------------------------------

def test_registers_xlsx_and_csv_cell_by_cell(pair):
    pair.clock.set("2027-05-08T09:30+08:00")
    sent = _send(pair, doc_type="通知", doc_number="赤政办发〔2027〕5号", urgency="urgent", label="内部",
                 copy_number="000123", reply_by=date(2027, 5, 20), due=date(2027, 5, 10))
    pair.open_as_b(sent.path)
    from smseal.office.received import mark_receipt
    res_row = pair.b.store.query("SELECT package_digest FROM wf_in")[0]

    class R:
        package_digest = res_row["package_digest"]
    pair.clock.set("2027-05-08T10:05+08:00")
    mark_receipt(pair.b, R)
    pair.clock.set("2027-05-09T10:00+08:00")
    expected_in = [date(2027, 5, 8), "市政府办公室", "赤政办发〔2027〕5号", "关于报送2027年工作安排的通知", "通知", "加急",
                   "内部", "000123", "", datetime(2027, 5, 8, 10, 5), date(2027, 5, 20), "待答复", None]
    for suffix in ("xlsx", "csv"):
        out = pair.tmp / f"收文登记.{suffix}"
        registers.write_register(pair.b, "incoming", out, start=date(2027, 5, 1), end=date(2027, 5, 31))
        if suffix == "xlsx":
            wb = load_workbook(out)
            ws = wb.active
            assert ws.title == "收文登记" and ws.freeze_panes == "A2"
            rows = [[c.value for c in r] for r in ws.iter_rows()]
            assert rows[0] == list(registers.INCOMING_COLUMNS)
            got = rows[1]
            got[0] = got[0].date()                     # openpyxl reads date cells back as datetimes
            got[10] = got[10].date()
            assert got == [None if v == "" else v for v in expected_in]     # empty cells stay empty
            assert ws.cell(2, 1).number_format == "yyyy-mm-dd" and ws.cell(2, 1).is_date
            assert ws.column_dimensions["D"].width >= 2 * len("关于报送2027年工作安排的通知") - 8
        else:
            raw = out.read_bytes()
            assert raw.startswith(b"\xef\xbb\xbf")
            rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
            assert rows[0] == list(registers.INCOMING_COLUMNS)
            assert rows[1] == ["2027-05-08", "市政府办公室", "赤政办发〔2027〕5号", "关于报送2027年工作安排的通知", "通知",
                               "加急", "内部", "000123", "", "2027-05-08 10:05", "2027-05-20", "待答复", ""]
    assert registers.incoming(pair.b, start=date(2027, 5, 9)).rows == []       # outside the dates
    out = pair.tmp / "发文登记.csv"
    registers.write_register(pair.a, "outgoing", out)
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == list(registers.OUTGOING_COLUMNS)
    sealed_on = sent.sealed_at.astimezone(pair.a.tz).date().isoformat()       # the real sealing time
    assert rows[1] == [sealed_on, "000123", "财政局", "主送", "赤政办发〔2027〕5号", "关于报送2027年工作安排的通知", "通知",
                       "加急", "内部", "", "", "2027-05-10", "2027-05-20", "待答复", ""]
    wb = load_workbook(pair.tmp / "收文登记.xlsx")
    assert wb.active.max_row == 2
    with pytest.raises(UsageError):
        registers.write_register(pair.a, "outgoing", pair.tmp / "x.txt")


def test_register_formula_injection_is_neutralised(pair):
    sent = _send(pair, title="=HYPERLINK(\"http://x\",\"点此\")")
    pair.open_as_b(sent.path)
    out = pair.tmp / "in.xlsx"
    registers.write_register(pair.b, "incoming", out)
    assert load_workbook(out).active.cell(2, 4).value.startswith("'=")


def test_processing_slip_html_and_one_a4_page_pdf(pair):
    import re
    import shutil

    from smseal.office import slip
    sent = _send(pair, title="<script>关于报送</script>的通知", doc_type="通知", copy_number="000007")
    pair.open_as_b(sent.path)
    page = slip.slip_html(pair.b, sent.package_id[:10])
    assert "文件处理笺" in page and "&lt;script&gt;" in page and "<script>" not in page
    assert "000007" in page and "size: A4" in page
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (scripts/test installs it)")
    out = slip.write_slip(pair.b, sent.package_id, pair.tmp / "处理笺.pdf")
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1


def test_each_copy_has_its_own_copy_number_and_replies_are_owed_where_assigned(pair):
    """份号 one per copy (主送 first), in the 发文登记 one row per copy, shown to the recipient; a
    reply is owed by the main recipient and by the copy recipients the matter was assigned to."""
    pair.clock.set("2027-05-08T09:30+08:00")
    main = pair.file("关于报送材料的通知.txt", "请报送。")
    with sending.compose(pair.a, main, to="财政局", cc=["红山镇", "松山镇"], title="关于报送材料的通知",
                         copy_number="000010", reply_by=date(2027, 5, 20), reply_from=["红山镇"]) as out:
        sent = sending.send(pair.a, out)
    res, _status = pair.open_as_b(sent.path)
    assert [(a.unit, a.copy_number, a.reply) for a in res.metadata.recipients] == [
        ("财政局", "000010", True), ("红山镇", "000011", True), ("松山镇", "000012", False)]
    assert pair.b.store.query("SELECT copy_number, reply_by FROM wf_in")[0] == {
        "copy_number": "000010", "reply_by": "2027-05-20"}
    rows = registers.outgoing(pair.a).rows
    assert [(r[1], r[2], r[3], r[12], r[13]) for r in rows] == [
        ("000010", "财政局", "主送", date(2027, 5, 20), "待答复"),
        ("000011", "红山镇", "抄送", date(2027, 5, 20), "待答复"),
        ("000012", "松山镇", "抄送", None, "待签收")]
    report = status.status(pair.a)
    assert sorted((r.unit, r.copy_number, r.expects_reply) for r in report.packages[0].recipients) == [
        ("松山镇", "000012", False), ("红山镇", "000011", True), ("财政局", "000010", True)]
    assert report.by_unit["红山镇"].reply.total == 1 and "松山镇" not in report.by_unit
    pair.clock.set("2027-05-21T09:00+08:00")
    assert status.status(pair.a).by_unit["红山镇"].overdue == 1
    with pytest.raises(UsageError):
        with sending.compose(pair.a, main, to="财政局", reply_from=["红山镇"], reply_by=date(2027, 5, 20)):
            pass                                   # 红山镇 is not a recipient of this one
