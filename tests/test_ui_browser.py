"""The page in a real browser: Debian's chromium driven by Playwright (nothing downloaded), two
office homes and two ``smseal ui`` servers.  A composes and sends to B through the shared outbox
folder; B opens with the passphrase and downloads the files (byte-identical); the receipt goes
back; A's status page shows 已签收.  A tampered package and a wrong passphrase are refused with
the command's sentence and leave nothing.  Screenshots of each page at 1366×768 are saved to
the test's output folder (or to $SMSEAL_SCREENSHOTS)."""

from __future__ import annotations

import os
import shutil
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

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{self.name}-{name}.png"), full_page=False)

    def close(self) -> None:
        self.context.close()
        self.server.stop()


@pytest.fixture(scope="module")
def offices(browser, tmp_path_factory, shots):
    root = tmp_path_factory.mktemp("ui-browser")
    a, b, shared = make_homes(root)
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:  # A's home also holds the bureau's authority, so its page shows the bureau section
        smseal(a, "authority", "init", "--name", "某市保密局", cwd=root / "desk")
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    oa, ob = Office(browser, a, shots, "a"), Office(browser, b, shots, "b")
    yield oa, ob, shared, root / "desk"
    oa.close()
    ob.close()


def _compose(office: Office, desk: Path, *, urgency: str, title: str, files: list[Path],
             shot: str | None = None) -> str:
    """Seal and send from A (through the command until the page's 发文 lands)."""
    import contextlib
    import io

    out = io.StringIO()
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:
        with contextlib.redirect_stdout(out):
            smseal(office.home, "send", *map(str, files), "--to", UNIT_B, "--urgency", urgency, "--title", title,
                   "--doc-number", "赤政办发〔2027〕5号", "--due", "2027-05-10", "--signer-name", "张三", "--json",
                   cwd=desk)
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    import json

    return json.loads(out.getvalue())["package_id"]


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
    assert "非本单位职责范围" in page.inner_text(f"#pkg-{normal} tbody")
    assert page.query_selector("svg.chart") is not None
    a.shot("status")


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
    card = desk / "b-again.card"
    shutil.copy(desk / "b.card", card)
    page.set_input_files("input[name=card]", str(card))
    page.click("form[action^='/directory/card'] button")
    page.wait_for_selector("p.question")
    assert UNIT_B in page.inner_text("h1") and page.query_selector(".fp.big")
    a.shot("card-confirm")
    page.click("button[name=confirm]")
    page.wait_for_selector("#error, #done")

    page = a.go("/bureau")
    page.fill("form[action^='/bureau/list'] input[name=passphrase]", PASSPHRASE)
    page.click("form[action^='/bureau/list'] button")
    page.wait_for_selector("#issued")
    a.shot("bureau")
    assert b.go("/bureau").inner_text("#error")  # no authority in B's home
    assert "保密局" not in b.page.inner_text("nav")
