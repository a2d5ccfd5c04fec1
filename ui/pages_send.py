"""发文: compose a package (files streamed to disk, one 主送, 抄送 units and groups, the GB/T 9704
fields, 文种, due and reply-by dates) and send it (``smseal send``), or save it as a draft that
a leader approves (签发, ``smseal approve``) before it is sent (``smseal send draft.smd``)."""

from __future__ import annotations

from typing import Any

import secrets
from datetime import date
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smseal.office.errors import UsageError
from smseal.office.i18n import _

from .uploads import Upload, receive_form
from .web import home_of, render, with_office

URGENCIES = ("normal", "urgent", "extra-urgent")


def drafts_dir(home: Path) -> Path:
    """Drafts saved from the page: SMSEAL_HOME/drafts/<random>.smd (0700 folder, 0600 files)."""
    folder = home / "drafts"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def draft_path(home: Path, name: str) -> Path:
    """The draft ``name`` (as listed by the page; nothing outside the drafts folder)."""
    path = drafts_dir(home) / name
    if not name.endswith(".smd") or "/" in name or name.startswith(".") or not path.is_file():
        raise UsageError(_("No such draft: {name}.").format(name=name))
    return path


def compose_view(office: Any) -> dict[str, Any]:
    from smseal.envelope import DOC_TYPES
    from smseal.office.approval import approval_summary
    from smseal.office.drafts import load_draft
    from smseal.office.groups import list_groups

    drafts = []
    for path in sorted(drafts_dir(office.home).glob("*.smd")):
        drafts.append({"name": path.name, **approval_summary(load_draft(path))})
    return {"units": [u.name for u in office.directory.list() if u.revoked_at is None],
            # the unit's own groups first, then the bureau's (from its signed directory bundle)
            "groups": sorted(list_groups(office), key=lambda g: g.source == "bureau"), "doc_types": DOC_TYPES,
            "leaders": [x.name for x in office.leaders.list()], "drafts": drafts}


async def compose(request: Request) -> Response:
    view = await with_office(request, compose_view)
    return render(request, "compose.html", section="compose", urgencies=URGENCIES, **view)


def _date(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(_("not a date in the form YYYY-MM-DD: {text}").format(text=text)) from None


def package_fields(form: Upload) -> tuple[Path, list[Path], dict[str, Any]]:
    """The files and the keyword arguments of ``sending.compose`` / ``drafts.create_draft``."""
    main = form.file("main")
    if main is None:
        raise UsageError(_("Choose the main document (正文)."))
    urgency = form.get("urgency", "normal")
    if urgency not in URGENCIES:
        raise UsageError(_("Choose normal, 加急 or 特急."))
    attachments = form.files.get("attachments", [])
    names = [main.name, *(p.name for p in attachments)]
    if len(set(names)) != len(names):
        raise UsageError(_("Two files have the same name; rename one and try again."))
    if not form.get("to"):
        raise UsageError(_("Choose the main recipient (主送)."))
    fields = {"to": form.get("to"), "cc": form.getlist("cc"), "cc_groups": form.getlist("cc_group"),
              "reply_from": form.getlist("reply_from"),
              "title": form.get("title") or None, "doc_number": form.get("doc_number") or None,
              "doc_type": form.get("doc_type") or None, "urgency": urgency, "due": _date(form.get("due")),
              "reply_by": _date(form.get("reply_by")), "label": form.get("label") or None,
              "remarks": form.get("remarks") or None, "signer_name": form.get("signer_name") or None,
              "copy_number": form.get("copy_number") or None}
    if fields["reply_from"] and fields["reply_by"] is None:    # the library says so too, naming --reply-by
        raise UsageError(_("Copy recipients that owe a reply need a reply deadline (答复期限) too."))
    return main, attachments, fields


async def send(request: Request) -> Response:
    """Seal and send now, or save as a draft for 签发."""
    from smseal.office import sending
    from smseal.office.drafts import create_draft

    home = home_of(request)
    async with receive_form(request, home) as form:
        main, attachments, fields = package_fields(form)
        if form.get("as_draft") == "yes":
            out = drafts_dir(home) / f"{secrets.token_hex(8)}.smd"
            await with_office(request, lambda office: create_draft(office, main, attachments, out=out, **fields))
            return render(request, "done.html", section="compose", back="/compose",
                          message=_("Saved the draft; a leader approves it (签发) below, then it can be sent."))

        def work(office: Any) -> Any:
            with sending.compose(office, main, attachments, **fields) as outgoing:
                return sending.send(office, outgoing)

        sent = await with_office(request, work, passphrase=form.get("passphrase"), pin=form.get("pin"))
    return render(request, "sent.html", section="compose", sent=sent)


async def approve(request: Request) -> Response:
    """签发: the leader signs the draft (as ``smseal approve draft.smd --leader NAME``)."""
    from smseal.office.approval import approve_draft

    form = await request.form()
    path = draft_path(home_of(request), request.path_params["name"])
    leader = str(form.get("leader", "")) or None
    await with_office(request, lambda office: approve_draft(office, str(path), leader=leader),
                        passphrase=str(form.get("passphrase", "")), pin=str(form.get("pin", "")))
    return render(request, "done.html", section="compose", back="/compose",
                  message=_("Approved (签发). The draft can now be sent."))


async def send_draft(request: Request) -> Response:
    """Send an approved draft (as ``smseal send draft.smd``); the draft is removed once sent."""
    from smseal.office.sending import send_draft as send_approved

    form = await request.form()
    path = draft_path(home_of(request), request.path_params["name"])
    sent = await with_office(request, lambda office: send_approved(office, path),
                               passphrase=str(form.get("passphrase", "")), pin=str(form.get("pin", "")))
    path.unlink(missing_ok=True)
    return render(request, "sent.html", section="compose", sent=sent)


routes = [
    Route("/compose", compose),
    Route("/compose/send", send, methods=["POST"]),
    Route("/drafts/{name:str}/approve", approve, methods=["POST"]),
    Route("/drafts/{name:str}/send", send_draft, methods=["POST"]),
]
