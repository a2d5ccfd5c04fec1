"""收件箱: what waits to be opened (特急 first, then 加急, then by age, with the 催领 reminders
received), the 收取 button (``smseal fetch``), opening with the passphrase (the receipt goes back
in the same click, as ``smseal open`` does), 拒收 with a reason (``smseal reject``), a package
file opened directly, and the opened files as downloads."""

from __future__ import annotations

from typing import Any, Callable

import io
import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from smseal.office import receiving
from smseal.office.errors import UsageError
from smseal.office.i18n import _

from .uploads import receive_form
from .web import home_of, render, with_office


def received_dir(home: Path, package_id: str) -> Path:
    """Where the page opens a package: SMSEAL_HOME/received/<package id> (0700)."""
    root = home / "received"
    root.mkdir(mode=0o700, exist_ok=True)
    return root / package_id


def files_of(home: Path, out_dir: str | None) -> list[str]:
    """The regular files in the folder of a package the page opened (under SMSEAL_HOME/received),
    by name (no links, no subfolders).  A package the command opened elsewhere is not served:
    that folder may hold other files of the user's."""
    if not out_dir or not os.path.isdir(out_dir):
        return []
    root = (home / "received").resolve()
    if Path(out_dir).resolve().parent != root:
        return []
    return sorted(e.name for e in os.scandir(out_dir) if e.is_file(follow_symlinks=False))


def inbox_view(office: Any) -> dict[str, Any]:
    from smseal.office.inbox import Inbox

    inbox = Inbox(office)
    entries = inbox.entries(include_answered=True)
    return {"waiting": [e for e in entries if e.state == "waiting"],
            "answered": sorted((e for e in entries if e.state != "waiting"),
                               key=lambda e: e.answered_at or "", reverse=True),
            "refused": inbox.refused()[:20]}


async def inbox(request: Request) -> Response:
    view = await with_office(request, inbox_view)
    return render(request, "inbox.html", section="inbox", report=None, **view)


async def fetch(request: Request) -> Response:
    """收取: fetch from every configured source (the shared folder, the mailbox), as ``smseal fetch``."""
    from smseal.office.fetch import fetch as fetch_all

    def work(office: Any) -> Any:
        return fetch_all(office), inbox_view(office)

    report, view = await with_office(request, work)
    return render(request, "inbox.html", section="inbox", report=report, **view)


def _receipt_choice(form: Any) -> str:
    return receiving.NO_RECEIPT if form.get("receipt") == "none" else receiving.SEND


async def open_waiting(request: Request) -> Response:
    """Open a package waiting in the inbox (as ``smseal open ID``)."""
    from smseal.office.inbox import Inbox

    pid = request.path_params["package_id"]
    form = await request.form()
    home = home_of(request)
    receipt = _receipt_choice(form)

    def work(office: Any) -> Any:
        entry = Inbox(office).get(pid)
        return receiving.open_file(office, Path(entry.path), lambda p: received_dir(home, p), receipt=receipt)

    opened = await with_office(request, work, passphrase=str(form.get("passphrase", "")),
                               pin=str(form.get("pin", "")))
    return opened_page(request, opened)


async def open_upload(request: Request) -> Response:
    """Open an uploaded package file (as ``smseal open FILE``)."""
    home = home_of(request)
    async with receive_form(request, home) as form:
        src = form.file("package")
        if src is None:
            raise UsageError(_("Choose the package file (.smx) to open."))
        receipt = _receipt_choice(form)
        source: receiving.Source = src
        note = None
        if receiving.is_email(src):             # a package saved from a mail, as ``smseal open x.eml``
            name, data = receiving.package_in_email(src)
            source = io.BytesIO(data)
            note = _("{path} is an e-mail; the package inside is {name}.").format(path=src.name, name=name)
        opened = await with_office(
            request, lambda office: receiving.open_file(office, source, lambda p: received_dir(home, p),
                                                        receipt=receipt),
            passphrase=form.get("passphrase"), pin=form.get("pin"))
    return opened_page(request, opened, note)


async def reject(request: Request) -> Response:
    """拒收 a waiting package with a reason (as ``smseal reject ID --reason TEXT``)."""
    from smseal.office.reject import reject as reject_package

    pid = request.path_params["package_id"]
    form = await request.form()
    reason = str(form.get("reason", ""))
    out = await with_office(request, lambda office: reject_package(office, pid, reason),
                            passphrase=str(form.get("passphrase", "")), pin=str(form.get("pin", "")))
    return render(request, "done.html", section="inbox", back="/inbox",
                  message=_("Refused (拒收) package {pid} of {sender}; the signed receipt and reason went to {where}.")
                  .format(pid=out.package_id, sender=out.sender, where=out.sent_to))


def opened_page(request: Request, opened: receiving.Opened, note: str | None = None) -> Response:
    from smseal.office.copies import own_copy_number

    res = opened.result
    return render(request, "opened.html", section="inbox", res=res, meta=res.metadata,
                  copy_number=own_copy_number(res.metadata, res.recipient_key_id),
                  package_id=opened.package_id, receipt_where=opened.receipt_where, earlier=opened.earlier,
                  files=[Path(f).name for f in res.files], approval=getattr(opened, "approval", None),
                  reply_link=getattr(opened, "reply_link", None), note=note)


def _received_row(package_id: str) -> Callable[[Any], dict[str, Any]]:
    def find(office: Any) -> dict[str, Any]:
        for row in office.ledger.received_status():
            if row["package_id"] == package_id:
                return dict(row)
        raise UsageError(_("No package {pid} was received here.").format(pid=package_id))

    return find


async def received(request: Request) -> Response:
    pid = request.path_params["package_id"]
    row = await with_office(request, _received_row(pid))
    return render(request, "received.html", section="inbox", row=row,
                  files=files_of(home_of(request), row["out_dir"]))


async def download(request: Request) -> Response:
    pid = request.path_params["package_id"]
    name = request.query_params.get("name", "")
    row = await with_office(request, _received_row(pid))
    if name not in files_of(home_of(request), row["out_dir"]):  # only a file of this package's folder, by exact name
        raise UsageError(_("No such file in package {pid}.").format(pid=pid))
    return FileResponse(Path(row["out_dir"]) / name, filename=name, content_disposition_type="attachment",
                        media_type="application/octet-stream")


routes = [
    Route("/inbox", inbox),
    Route("/inbox/fetch", fetch, methods=["POST"]),
    Route("/inbox/open", open_upload, methods=["POST"]),
    Route("/inbox/{package_id:str}/open", open_waiting, methods=["POST"]),
    Route("/inbox/{package_id:str}/reject", reject, methods=["POST"]),
    Route("/received/{package_id:str}", received),
    Route("/received/{package_id:str}/file", download),
]
