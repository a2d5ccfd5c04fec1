"""Streamed form uploads: files go straight to disk, never whole in memory.

A multipart body is parsed as it arrives (python-multipart's push parser); each file part is
written to a fresh 0600 file in a 0700 folder under SMSEAL_HOME (documents about to be sealed
are plaintext: they never go to the shared /tmp), and the folder is removed when the request
is done.  Text fields are small and capped.
"""

from __future__ import annotations

import os
import secrets
import shutil
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from smseal.office.errors import UsageError
from smseal.office.i18n import _

MAX_FIELD = 64 * 1024     # a text field (title, remarks, reason …)
MAX_PARTS = 1000


@dataclass
class Upload:
    """The fields and files of one form; files as paths in a private folder."""

    folder: Path
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[Path]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0].strip() if values else default

    def getlist(self, name: str) -> list[str]:
        return [v.strip() for v in self.fields.get(name, []) if v.strip()]

    def file(self, name: str) -> Path | None:
        files = self.files.get(name)
        return files[0] if files else None


def clean_name(raw: str) -> str:
    """The last component of a browser-given file name, without control characters."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if ord(c) >= 32 and c != "\x7f").strip()
    if name in ("", ".", ".."):
        return ""
    return name


def uploads_root(home: Path) -> Path:
    root = home / "ui" / "uploads"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root.parent, 0o700)
    os.chmod(root, 0o700)
    return root


@asynccontextmanager
async def receive_form(request: Request, home: Path) -> AsyncIterator[Upload]:
    """Parse a multipart/form-data request into an ``Upload``; its folder is removed at exit."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise UsageError(_("The form was not sent as a file upload; reload the page and try again."))
    folder = uploads_root(home) / secrets.token_hex(16)
    folder.mkdir(mode=0o700)
    up = Upload(folder)
    state: dict[str, Any] = {"headers": {}, "hname": b"", "hvalue": b"", "out": None, "text": None, "name": "", "count": 0}

    def on_part_begin() -> None:
        state["headers"] = {}
        state["count"] += 1
        if state["count"] > MAX_PARTS:
            raise UsageError(_("The form has too many parts."))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["hname"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["hvalue"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["hname"].lower()] = state["hvalue"]
        state["hname"] = state["hvalue"] = b""

    def on_headers_finished() -> None:
        _disp, opts = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        state["name"] = name
        state["out"] = state["text"] = None
        if b"filename" in opts:
            filename = clean_name(opts[b"filename"].decode("utf-8", "replace"))
            if not filename:
                return  # an empty file input: nothing chosen
            sub = folder / str(state["count"])
            sub.mkdir(mode=0o700)
            path = sub / filename
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            state["out"] = os.fdopen(fd, "wb")
            up.files.setdefault(name, []).append(path)
        else:
            state["text"] = bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["out"] is not None:
            state["out"].write(data[start:end])
        elif state["text"] is not None:
            state["text"] += data[start:end]
            if len(state["text"]) > MAX_FIELD:
                raise UsageError(_("A text field of the form is far too long."))

    def on_part_end() -> None:
        if state["out"] is not None:
            state["out"].close()
            state["out"] = None
        elif state["text"] is not None:
            up.fields.setdefault(state["name"], []).append(bytes(state["text"]).decode("utf-8", "replace"))
            state["text"] = None

    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data, "on_part_end": on_part_end})
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        yield up
    finally:
        if state["out"] is not None:
            state["out"].close()
        shutil.rmtree(folder, ignore_errors=True)
