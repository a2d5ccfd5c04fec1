"""收文登记 / 发文登记: the registers a 督办室 keeps, as xlsx (openpyxl) or csv.

Rows come from the workflow tables: only packages that were opened (so
authenticated and accepted — a refused package is never registered) or
sealed here.  Dates are the office's calendar dates; times are shown in the
office's zone.  xlsx: Chinese headers, dates as date cells and times as
date-time cells, a frozen header row, column widths that fit the text.
csv: UTF-8 with a BOM (so Excel opens it as UTF-8), the same columns, dates
as ``YYYY-MM-DD`` and times as ``YYYY-MM-DD HH:MM``.
"""

from __future__ import annotations

import csv
import io
import os
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Sequence

from . import clock
from .errors import UsageError
from .fsutil import atomic_output
from .copies import copies_of
from .i18n import _
from .context import Office

URGENCY = {"normal": "", "urgent": "加急", "extra-urgent": "特急"}
INCOMING_COLUMNS = ("收文日期", "来文单位", "文号", "标题", "文种", "紧急程度", "标签", "份号", "签发人",
                    "签收时间", "办理期限", "办理状态", "答复日期")
# 发文登记: one row per copy (each recipient's copy has its own 份号)
OUTGOING_COLUMNS = ("发文日期", "份号", "收文单位", "主送/抄送", "文号", "标题", "文种", "紧急程度", "标签",
                    "签发人", "签收时间", "办理期限", "答复期限", "办理状态", "答复日期")
KINDS = ("incoming", "outgoing")


@dataclass(frozen=True)
class Register:
    """A register ready to write: its sheet title, column names and rows of cell values."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def _in_range(d: date | None, start: date | None, end: date | None) -> bool:
    return d is not None and (start is None or d >= start) and (end is None or d <= end)


def _naive_local(value: str | None, office: Office) -> datetime | None:
    lt = clock.local(value, office.tz)
    return None if lt is None else lt.replace(tzinfo=None)


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def incoming(office: Office, start: date | None = None, end: date | None = None) -> Register:
    """收文登记 for packages opened between ``start`` and ``end`` (inclusive, office dates)."""
    now = office.now()
    rows = []
    for r in office.store.query("SELECT * FROM wf_in ORDER BY opened_at"):
        opened = clock.local_date(r["opened_at"], office.tz)
        if not _in_range(opened, start, end):
            continue
        reply_by = _d(r["reply_by"])
        if r["replied_at"]:
            state = "已答复"
        elif reply_by and clock.overdue(reply_by, now, office.tz):
            state = "逾期未答复"
        elif reply_by:
            state = "待答复"
        else:
            state = "已签收" if r["receipt_at"] else "已收"
        signer = r["signer"] or ""
        if r["signer_state"] == "invalid":
            signer = f"{signer}（签发无效）" if signer else "（签发无效）"
        rows.append((opened, r["sender_unit"] or "", r["doc_number"] or "", r["title"] or "",
                     r["doc_type"] or "", URGENCY.get(r["urgency"] or "", r["urgency"] or ""), r["label"] or "",
                     r["copy_number"] or "", signer, _naive_local(r["receipt_at"], office),
                     reply_by or _d(r["due"]), state, clock.local_date(r["replied_at"], office.tz)))
    return Register("收文登记", INCOMING_COLUMNS, rows)


def outgoing(office: Office, start: date | None = None, end: date | None = None) -> Register:
    """发文登记 for packages sealed between ``start`` and ``end`` (inclusive, office dates)."""
    now = office.now()
    sent = {s.package_id: s for s in office.ledger.sent_status(today=clock.local_date(now, office.tz))}
    replies: dict[tuple[str, str], str] = {}
    for row in office.store.query("SELECT original_id, unit, min(replied_at) AS at FROM wf_replies "
                                  "GROUP BY original_id, unit"):
        replies[(row["original_id"], row["unit"])] = row["at"]
    copies = copies_of(office)
    rows = []
    for w in office.store.query("SELECT * FROM wf_out ORDER BY sealed_at"):
        sealed = clock.local_date(w["sealed_at"], office.tz)
        if not _in_range(sealed, start, end):
            continue
        s = sent.get(w["package_id"])
        reply_by = _d(w["reply_by"])
        listed = sorted(s.recipients if s else [], key=lambda r: (
            int(copies.get((w["package_id"], r.unit), {}).get("pos", 0) or 0), r.role != "to"))   # copy order
        for r in listed:
            copy = copies.get((w["package_id"], r.unit), {})
            # a reply is owed by the copies the matter was assigned to (the main one, before 份号 per copy)
            owes = bool(copy.get("reply")) if copy else r.role == "to"
            replied_at = replies.get((w["package_id"], r.unit))
            if replied_at:
                state = "已答复"
            elif reply_by and owes and clock.overdue(reply_by, now, office.tz):
                state = "逾期未答复"
            elif reply_by and owes:
                state = "待答复"
            elif r.rejected:
                state = "拒收"
            else:
                state = "已签收" if r.signed else "待签收"
            rows.append((sealed, copy.get("copy_number") or "", r.unit, "主送" if r.role == "to" else "抄送",
                         w["doc_number"] or "", w["title"] or "", w["doc_type"] or "",
                         URGENCY.get(w["urgency"] or "", w["urgency"] or ""), w["label"] or "", w["signer"] or "",
                         _naive_local(r.receipt_at, office), _d(w["due"]), reply_by if owes else None, state,
                         clock.local_date(replied_at, office.tz)))
    return Register("发文登记", OUTGOING_COLUMNS, rows)


def build(office: Office, kind: str, start: date | None = None, end: date | None = None) -> Register:
    """The register ``kind`` (``incoming`` 收文 or ``outgoing`` 发文)."""
    if kind not in KINDS:
        raise UsageError(_("A register is incoming (收文) or outgoing (发文)."))
    if start and end and end < start:
        raise UsageError(_("--to is before --from."))
    return incoming(office, start, end) if kind == "incoming" else outgoing(office, start, end)


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def csv_bytes(reg: Register) -> bytes:
    """The register as CSV, UTF-8 with a BOM, CRLF line ends (what Excel expects)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(reg.columns)
    for row in reg.rows:
        w.writerow([_safe_csv(_cell_text(v)) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _safe_csv(text: str) -> str:
    """A cell a spreadsheet would run as a formula (=, +, -, @ first) is quoted with a leading '."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def xlsx_bytes(reg: Register) -> bytes:
    """The register as an xlsx workbook (openpyxl)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = reg.title
    ws.append(list(reg.columns))
    for c in ws[1]:
        c.font = Font(bold=True)
        c.alignment = Alignment(horizontal="center")
    for row in reg.rows:
        ws.append([_xlsx_value(v) for v in row])
        r = ws.max_row
        for i, v in enumerate(row, start=1):
            if isinstance(v, datetime):
                ws.cell(r, i).number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(v, date):
                ws.cell(r, i).number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"
    for i, name in enumerate(reg.columns, start=1):
        widest = max([_display_width(name)] + [_display_width(_cell_text(row[i - 1])) for row in reg.rows])
        ws.column_dimensions[get_column_letter(i)].width = min(60, widest + 2)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xlsx_value(v: Any) -> Any:
    if v == "":
        return None
    if isinstance(v, str):       # never a formula from a package's text, never a control character
        return _safe_csv("".join(c for c in v if unicodedata.category(c) != "Cc"))
    return v


def write_register(office: Office, kind: str, out: str | os.PathLike[str], *, start: date | None = None,
                   end: date | None = None, overwrite: bool = False) -> Register:
    """Write the register to ``out`` (.xlsx or .csv, by suffix), atomically."""
    suffix = Path(out).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise UsageError(_("The register file must end in .xlsx or .csv."))
    reg = build(office, kind, start, end)
    data = xlsx_bytes(reg) if suffix == ".xlsx" else csv_bytes(reg)
    with atomic_output(out, overwrite=overwrite, mode=0o600) as f:
        f.write(data)
    return reg


def columns(kind: str) -> Sequence[str]:
    return INCOMING_COLUMNS if kind == "incoming" else OUTGOING_COLUMNS
