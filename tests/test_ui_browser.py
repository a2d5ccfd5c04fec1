"""The page in a real browser: Debian's chromium driven by Playwright (nothing downloaded), two
office homes and two ``smseal ui`` servers.  A composes and sends to B through the shared outbox
folder; B opens with the passphrase and downloads the files (byte-identical); the receipt goes
back; A's status page shows 已签收.  A tampered package and a wrong passphrase are refused with
the command's sentence and leave nothing.  Screenshots of each page at 1366×768 are saved to
the test's output folder (or to $SMSEAL_SCREENSHOTS)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from tests.ui_server import ENV, PASSPHRASE, UNIT_A, UNIT_B, make_homes, smseal, start

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("SMSEAL_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Office:
    """One home, its server and a logged-in browser page."""

    def __init__(self, browser, home: Path, shots: Path, name: str) -> None:
        self.home, self.shots, self.name = home, shots, name
        self.server = start(home)
        self.context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True,
                                           locale="zh-CN")
        self.page = self.context.new_page()
        self.page.goto(self.server.login_url)
        assert self.page.url.endswith("/inbox")

    def go(self, path: str):
        self.page.goto(self.server.base + path)
        return self.page

    def shot(self, name: str, at: str | None = None) -> None:
        if at:
            self.page.locator(at).first.scroll_into_view_if_needed()
        else:
            self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(self.shots / f"{self.name}-{name}.png"), full_page=False)

    def close(self) -> None:
        self.context.close()
        code, err = self.server.stop()
        assert code == 0 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def offices(browser, tmp_path_factory, shots):
    root = tmp_path_factory.mktemp("ui-browser")
    a, b, shared = make_homes(root)
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:  # A's home also holds the bureau's authority, so its page shows the bureau section
        smseal(a, "authority", "init", "--name", "某市保密局", cwd=root / "desk")
        from smseal.office.context import Office as Workspace

        from smseal.office import unit_card

        with Workspace(a, passphrase=lambda _p: PASSPHRASE.encode()) as office:
            office.leaders.add("李四")            # A's leader, who approves (签发) drafts
            card = unit_card.export_card(office)
        with Workspace(b, passphrase=lambda _p: PASSPHRASE.encode()) as office:
            unit_card.import_card(office, card)  # B learns A's leader from A's newer card
        with open(a / "config.ini", "a", encoding="utf-8") as f:
            f.write("[reminders]\nurgent = 1s\nextra-urgent = 1s\n")   # 催领 due at once
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    oa, ob = Office(browser, a, shots, "a"), Office(browser, b, shots, "b")
    yield oa, ob, shared, root / "desk"
    oa.close()
    ob.close()


def _fill_compose(office: Office, *, urgency: str, title: str, files: list[Path]):
    page = office.go("/compose")
    page.set_input_files("input[name=main]", str(files[0]))
    if files[1:]:
        page.set_input_files("input[name=attachments]", [str(f) for f in files[1:]])
    page.select_option("select[name=to]", UNIT_B)
    page.check(f"input[name=urgency][value={urgency}]")
    page.fill("input[name=title]", title)
    page.fill("input[name=doc_number]", "赤政办发〔2027〕5号")
    page.select_option("select[name=doc_type]", "通知")
    page.fill("input[name=due]", "2027-05-10")
    page.fill("input[name=reply_by]", "2027-08-20")
    return page


def _sent_id(page) -> str:
    page.wait_for_selector("#sent, #error")
    assert page.query_selector("#sent"), page.inner_text("main")
    m = re.search(r"\b[0-9a-f]{32}\b", page.inner_text("#sent"))
    assert m, page.inner_text("#sent")
    return m.group(0)


def _compose(office: Office, desk: Path, *, urgency: str, title: str, files: list[Path],
             shot: str | None = None) -> str:
    """A composes and sends through the page (发文)."""
    page = _fill_compose(office, urgency=urgency, title=title, files=files)
    page.fill("input[name=signer_name]", "张三")
    page.fill("form.compose input[name=passphrase]", PASSPHRASE)
    if shot:
        office.shot(shot)
    page.click("form.compose button[type=submit]:not([name])")
    return _sent_id(page)


def _fetch(office: Office):
    page = office.go("/inbox")
    page.click("#fetch")
    page.wait_for_selector("#fetched")
    return page


def _open_file(office: Office, package: Path, passphrase: str = PASSPHRASE):
    page = office.go("/inbox")
    page.set_input_files("#open-file input[name=package]", str(package))
    page.fill("#open-file input[name=passphrase]", passphrase)
    page.click("#open-file button[type=submit]")
    page.wait_for_load_state()
    return page


def _open_waiting(page, package_id: str, passphrase: str = PASSPHRASE):
    form = page.locator(f"form[action^='/inbox/{package_id}/open']")
    form.locator("input[name=passphrase]").fill(passphrase)
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#files, #error")
    return page


def test_send_fetch_open_download_receipt_status(offices, shots):
    a, b, shared, desk = offices
    notice = desk / "通报.txt"
    notice.write_text("通报内容\n" * 1000, encoding="utf-8")
    normal = _compose(a, desk, urgency="normal", title="通报", files=[notice])
    main = desk / "关于报送2027年工作安排的通知.pdf"
    main.write_bytes(b"%PDF-1.4 " + os.urandom(300_000))
    att = desk / "附件1 名单.txt"
    att.write_text("附件一：名单\n", encoding="utf-8")
    urgent = _compose(a, desk, urgency="extra-urgent", title="关于报送2027年工作安排的通知", files=[main, att],
                      shot="compose")
    a.shot("sent")

    page = _fetch(b)
    rows = page.query_selector_all("#waiting tr.entry")
    assert [r.get_attribute("data-package") for r in rows] == [urgent, normal]   # 特急 first
    assert "特急" in rows[0].inner_text() and UNIT_A in rows[0].inner_text()
    b.shot("inbox")

    _open_waiting(page, urgent)
    assert UNIT_A in page.inner_text("#sender") and "签名已验证" in page.inner_text("#sender")
    assert "特急" in page.inner_text("main") and "张三" in page.inner_text("main")
    assert "签收回执" in page.inner_text("#receipt")
    b.shot("opened")
    for link, original in zip(page.query_selector_all("#files a"), (main, att)):
        with page.expect_download() as dl:
            link.click()
        assert dl.value.suggested_filename == original.name
        assert Path(dl.value.path()).read_bytes() == original.read_bytes()

    # a wrong passphrase opens nothing; then B refuses the other package with a reason
    page = b.go("/inbox")
    _open_waiting(page, normal, passphrase="not the passphrase")
    assert "口令或 PIN 码错误" in page.inner_text("#error")
    assert not (b.home / "received" / normal).exists()
    page = b.go("/inbox")
    page.click(f"#waiting tr.actions:has(form[action^='/inbox/{normal}/open']) summary")
    form = page.locator(f"form[action^='/inbox/{normal}/reject']")
    form.locator("input[name=reason]").fill("非本单位职责范围")
    form.locator("input[name=passphrase]").fill(PASSPHRASE)
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#done")

    _fetch(a)                                   # the receipt and the 拒收 come back to A
    page = a.go("/status")
    row = page.inner_text(f"#pkg-{urgent} tbody")
    assert UNIT_B in row and "已签收" in row
    assert page.inner_text(f"#pkg-{urgent} tbody td.copy-number") == "000001"     # 份号 of B's copy
    assert "非本单位职责范围" in page.inner_text(f"#pkg-{normal} tbody")
    assert page.query_selector("svg.chart") is not None
    a.shot("status")
    page = a.go("/status?all=1")                # every package, not only what needs attention
    assert page.query_selector(f"#pkg-{urgent}") and page.query_selector(f"#pkg-{normal}")


def test_tampered_package_is_refused_and_leaves_nothing(offices):
    a, b, shared, desk = offices
    doc = desk / "函.txt"
    doc.write_text("函的内容\n" * 1000, encoding="utf-8")
    pid = _compose(a, desk, urgency="urgent", title="函", files=[doc])
    good = shared / UNIT_B / "packages" / f"{pid}.smx"
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad = desk / "bad.smx"
    bad.write_bytes(bytes(data))
    good.unlink()

    page = _open_file(b, bad)                    # opened directly: the command's sentence, nothing written
    page.wait_for_selector("#error")
    assert "Traceback" not in page.content()
    b.shot("refused")
    assert not (b.home / "received" / pid).exists()

    (shared / UNIT_B / "packages" / f"{pid}.smx").write_bytes(bytes(data))
    page = _fetch(b)                             # fetched: refused on arrival, never listed as waiting
    assert page.query_selector(f"#waiting tr[data-package='{pid}']") is None
    assert page.query_selector("#refused") is not None
    assert not (b.home / "received" / pid).exists()


def test_directory_and_bureau_pages(offices):
    a, b, _shared, desk = offices
    page = a.go("/directory")
    assert UNIT_B in page.inner_text("#units")
    a.shot("directory")
    # importing a card shows the fingerprint and asks first
    from shangmi import sm2
    from smseal.keystore import make_card

    card = desk / "town.card"
    card.write_bytes(make_card("红山镇", sm2.PrivateKey.generate(), sm2.PrivateKey.generate()))
    page.set_input_files("input[name=card]", str(card))
    page.click("form[action^='/directory/card'] button")
    page.wait_for_selector("p.question")
    assert "红山镇" in page.inner_text("h1") and page.query_selector(".fp.big")
    a.shot("card-confirm")
    page.click("button[name=confirm]")
    page.wait_for_selector("#done")
    assert "红山镇" in a.go("/directory").inner_text("#units")
    # the same card again: refused with the command's sentence, nothing changed
    page.set_input_files("input[name=card]", str(card))
    page.click("form[action^='/directory/card'] button")
    page.wait_for_selector("#error")

    page = a.go("/bureau")
    page.fill("form[action^='/bureau/list'] input[name=passphrase]", PASSPHRASE)
    page.click("form[action^='/bureau/list'] button")
    page.wait_for_selector("#issued")
    a.shot("bureau")
    assert b.go("/bureau").inner_text("#error")  # no authority in B's home
    assert "保密局" not in b.page.inner_text("nav")


def test_draft_approve_send(offices):
    """发文 with 签发: saved as a draft, approved by the leader with their passphrase, then sent."""
    a, b, shared, desk = offices
    doc = desk / "请示.txt"
    doc.write_text("请示内容\n", encoding="utf-8")
    page = _fill_compose(a, urgency="urgent", title="关于经费的请示", files=[doc])
    page.click("form.compose button[name=as_draft]")
    page.wait_for_selector("#done")
    page = a.go("/compose")
    draft = page.locator("#drafts .draft").first
    assert "关于经费的请示" in draft.inner_text() and "请示.txt" in draft.inner_text()
    draft.locator(".approve-form input[name=passphrase]").fill("wrong")
    draft.locator(".approve-form button").click()
    page.wait_for_selector("#error")            # a wrong passphrase approves nothing
    page = a.go("/compose")
    draft = page.locator("#drafts .draft").first
    draft.locator(".approve-form input[name=passphrase]").fill(PASSPHRASE)
    draft.locator(".approve-form button").click()
    page.wait_for_selector("#done")
    page = a.go("/compose")
    draft = page.locator("#drafts .draft").first
    assert "李四" in draft.inner_text()
    a.shot("draft-approved", at="#drafts")
    draft.locator(".send-form input[name=passphrase]").fill(PASSPHRASE)
    draft.locator(".send-form button").click()
    pid = _sent_id(page)
    assert (shared / UNIT_B / "packages" / f"{pid}.smx").is_file()
    assert a.go("/compose").query_selector("#drafts") is None   # sent drafts are gone

    page = _fetch(b)
    _open_waiting(page, pid)
    assert "李四" in page.inner_text("main")     # 签发人 travels in the encrypted metadata
    assert "签发人：李四（签名已验证）" in page.inner_text("#approval")   # checked against A's card


def test_registers(offices):
    a, _b, _shared, _desk = offices
    page = a.go("/registers")
    page.select_option("#export select[name=kind]", "outgoing")
    with page.expect_download() as dl:
        page.click("#export button")
    assert dl.value.suggested_filename.endswith(".xlsx")
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes())).active
    headers = [c.value for c in ws[1]]
    assert "标题" in headers and "文种" in headers
    titles = {row[headers.index("标题")] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert "关于报送2027年工作安排的通知" in titles
    a.shot("registers")

    page = _b.go("/registers")                  # B's 收文登记 and the 文件处理笺 of what it opened
    assert "关于报送2027年工作安排的通知" in page.inner_text("#slips")
    _b.shot("registers")
    href = page.get_attribute("#slips tr:has-text('关于报送2027年工作安排的通知') a", "href")
    page.goto(_b.server.base + href)
    assert "文件处理笺" in page.content() and "关于报送2027年工作安排的通知" in page.content()


def test_reminder_and_resend(offices):
    """催领: a 加急 package without a receipt gets a signed reminder, which B's inbox shows; 重新发送
    sends the same package again."""
    import time

    a, b, shared, desk = offices
    doc = desk / "督办通知.txt"
    doc.write_text("督办\n", encoding="utf-8")
    pid = _compose(a, desk, urgency="urgent", title="督办通知", files=[doc])
    _fetch(b)
    time.sleep(1.2)                             # the configured interval is one second
    page = a.go("/status")
    form = page.locator("form[action^='/status/remind']")
    form.locator("input[name=passphrase]").fill(PASSPHRASE)
    form.locator("button").click()
    page.wait_for_selector("#done")
    assert UNIT_B in page.inner_text("#done") and "催领" in page.inner_text("#done")
    page = _fetch(b)
    assert "已催领 1 次" in page.inner_text(f"#waiting tr[data-package='{pid}']")

    page = a.go("/status")
    page.locator(f"#pkg-{pid} form[action*='/resend'] button").click()
    page.wait_for_selector("#done")
    assert f"已投递给 {UNIT_B}" in page.inner_text("#done")


def test_saved_email_opens_like_the_command(offices):
    """A package saved from a mail (.eml) opens from 'Open a package file', as ``smseal open x.eml``."""
    from smseal.office.mailcompose import compose

    a, b, shared, desk = offices
    doc = desk / "抄告单.txt"
    doc.write_text("抄告\n", encoding="utf-8")
    pid = _compose(a, desk, urgency="normal", title="抄告单", files=[doc])
    package = shared / UNIT_B / "packages" / f"{pid}.smx"
    msg = compose(sender_unit=UNIT_A, sender_address="a@example.gov.cn", to_unit=UNIT_B,
                  to_address="b@example.gov.cn", subject="smseal", text="package", package_id=pid,
                  attachments=[(package.name, package.read_bytes())])
    eml = desk / "saved.eml"
    eml.write_bytes(bytes(msg))
    package.unlink()
    page = _open_file(b, eml)
    page.wait_for_selector("#files, #error")
    assert package.name in page.inner_text("#note")
    assert (b.home / "received" / pid / doc.name).read_bytes() == doc.read_bytes()


def test_bureau_issue_publish_and_bundle_install(offices):
    """The bureau (A's home holds the authority) issues B's certificates and publishes the
    directory bundle through its pages; B pins the root after checking its fingerprint and
    installs the bundle through 通讯录.  (Last: it changes B's directory.)"""
    a, b, _shared, desk = offices
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:
        smseal(b.home, "keys", "request", "-o", "b.csr", cwd=desk)
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    page = a.go("/bureau")
    form = page.locator("form[action^='/bureau/issue']")
    form.locator("input[name=request]").set_input_files(str(desk / "b.csr"))
    form.locator("input[name=unit]").fill(UNIT_B)
    form.locator("input[name=passphrase]").fill(PASSPHRASE)
    with page.expect_download() as dl:
        form.locator("button").click()
    assert dl.value.suggested_filename == "b.certs" and Path(dl.value.path()).stat().st_size > 0
    page = a.go("/bureau")
    form = page.locator("form[action^='/bureau/revoke']")
    form.locator("input[name=target]").fill("没有这个单位")
    form.locator("input[name=passphrase]").fill(PASSPHRASE)
    form.locator("button").click()
    page.wait_for_selector("#error")            # the command's sentence, nothing revoked
    page = a.go("/bureau")
    form = page.locator("form[action^='/bureau/publish']")
    form.locator("input[name=passphrase]").fill(PASSPHRASE)
    with page.expect_download() as dl:
        form.locator("button").click()
    bundle = desk / "directory.bundle"
    dl.value.save_as(str(bundle))

    page = b.go("/directory")
    page.set_input_files("form[action^='/directory/root'] input[name=root]", str(a.home / "authority" / "root.pem"))
    page.click("form[action^='/directory/root'] button")
    page.wait_for_selector("p.question")
    assert "某市保密局" in page.inner_text("h1")
    page.click("button[name=confirm]")
    page.wait_for_selector("#done")
    page = b.go("/directory")
    page.set_input_files("form[action^='/directory/bundle'] input[name=bundle]", str(bundle))
    page.click("form[action^='/directory/bundle'] button")
    page.wait_for_selector("#done, #error")
    assert page.query_selector("#done"), page.inner_text("main")
    assert "某市保密局" in page.inner_text("#done")
    page = b.go("/directory")
    page.set_input_files("form[action^='/directory/bundle'] input[name=bundle]", str(bundle))
    page.click("form[action^='/directory/bundle'] button")
    page.wait_for_selector("#error")            # the same version again: refused (no rollback)
