"""文件处理笺: the processing slip for one received document, one A4 page (HTML or PDF).

The slip carries what the 收文登记 holds for the document (来文单位, 文号, 标题,
文种, 紧急程度, 份号, 签发人, dates) and empty boxes for the handwritten parts
(拟办意见, 领导批示, 办理结果).  The HTML prints on one A4 page (``@page`` A4,
fixed heights in millimetres); ``.pdf`` is printed from that HTML by the
system's Chromium in headless mode, when it is installed.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import clock
from .errors import UsageError
from .fsutil import atomic_output
from .i18n import _
from .registers import URGENCY
from .replies import original_of
from .context import Office

_CSS = """
@page { size: A4; margin: 18mm 16mm; }
* { box-sizing: border-box; }
body { font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
       margin: 0; color: #000; font-size: 12pt; }
.sheet { width: 178mm; height: 255mm; overflow: hidden; }
h1 { text-align: center; font-size: 22pt; letter-spacing: 0.3em; margin: 0 0 6mm 0; color: #b00; }
.unit { text-align: left; margin-bottom: 2mm; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; }
td, th { border: 0.4mm solid #b00; padding: 2mm 3mm; vertical-align: top; word-break: break-all; }
th { width: 26mm; font-weight: normal; text-align: center; vertical-align: middle; }
tr.line td, tr.line th { height: 12mm; }
tr.title td { height: 18mm; }
tr.box td { height: 38mm; }
.small { font-size: 9pt; color: #444; margin-top: 2mm; }
"""


def _row(label: str, value: str, cls: str = "line") -> str:
    return f'<tr class="{cls}"><th>{html.escape(label)}</th><td colspan="3">{html.escape(value)}</td></tr>'


def _pair(a: str, av: str, b: str, bv: str) -> str:
    return (f'<tr class="line"><th>{html.escape(a)}</th><td>{html.escape(av)}</td>'
            f'<th>{html.escape(b)}</th><td>{html.escape(bv)}</td></tr>')


def slip_html(office: Office, package_id: str) -> str:
    """The slip of the received package ``package_id`` (an id prefix of 8+ hex digits will do)."""
    orig = original_of(office, package_id)
    rows = office.store.query("SELECT * FROM wf_in WHERE package_id = ? AND package_digest = ?",
                              (orig["package_id"], orig["package_digest"]))
    r = rows[0]
    signer = r["signer"] or ""
    if r["signer_state"] == "verified":
        signer += "（签名已验证）"
    elif r["signer_state"] == "invalid":
        signer += "（签发无效）"
    body = "".join([
        _pair("收文日期", clock.show(r["opened_at"], office.tz), "来文单位", r["sender_unit"] or ""),
        _pair("文　　号", r["doc_number"] or "", "文　　种", r["doc_type"] or ""),
        _row("标　　题", r["title"] or "", "title"),
        _pair("紧急程度", URGENCY.get(r["urgency"] or "", "") or "平件", "份　　号", r["copy_number"] or ""),
        _pair("签 发 人", signer, "签收时间", clock.show(r["receipt_at"], office.tz)),
        _pair("办理期限", r["reply_by"] or r["due"] or "", "标　　签", r["label"] or ""),
        _row("拟办意见", "", "box"),
        _row("领导批示", "", "box"),
        _row("办理结果", "", "box"),
    ])
    return ("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>文件处理笺</title><style>{_CSS}</style></head><body><div class=\"sheet\">"
            f"<h1>{html.escape(office.unit)}文件处理笺</h1>"
            f"<div class=\"unit\">收文编号：{html.escape(r['package_id'][:16])}</div>"
            f"<table>{body}</table>"
            f"<div class=\"small\">smseal 文件包 {html.escape(r['package_id'])}，"
            f"已验证发文单位签名；时间为{html.escape(office.tz.key)}时间。</div>"
            "</div></body></html>\n")


def chromium() -> str | None:
    """The system Chromium, if installed (for PDF)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def write_slip(office: Office, package_id: str, out: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write the slip to ``out``: ``.html``, or ``.pdf`` printed by headless Chromium."""
    out = Path(out)
    page = slip_html(office, package_id)
    suffix = out.suffix.lower()
    if suffix in (".html", ".htm"):
        with atomic_output(out, overwrite=overwrite, mode=0o600) as f:
            f.write(page.encode("utf-8"))
        return out
    if suffix != ".pdf":
        raise UsageError(_("The processing slip is written as .html or .pdf."))
    browser = chromium()
    if browser is None:
        raise UsageError(_("A PDF needs Chromium installed; write .html and print it from a browser instead."))
    with tempfile.TemporaryDirectory(prefix="smseal-slip-") as tmp:
        src = Path(tmp) / "slip.html"
        src.write_text(page, encoding="utf-8")
        pdf = Path(tmp) / "slip.pdf"
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp}/profile",
               "--no-pdf-header-footer", f"--print-to-pdf={pdf}", src.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, timeout=120)
        if proc.returncode != 0 or not pdf.exists():
            raise UsageError(_("Chromium could not print the slip to PDF; write .html instead."))
        with atomic_output(out, overwrite=overwrite, mode=0o600) as f, open(pdf, "rb") as src_f:
            shutil.copyfileobj(src_f, f)
    return out
