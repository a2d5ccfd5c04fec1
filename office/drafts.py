"""Drafts (``draft.smd``): a document prepared for 签发, before it is sealed.

A draft is a ZIP archive (stored, not compressed) kept inside the unit::

    draft.json          {"format": "smseal-draft/2", "unit", "urgency", "created"}
    metadata.msgpack    the canonical metadata (FORMAT.md §6.1/§6.5) with approval = nil; its
                        ``recipients`` are 主送 and 抄送 (unit, encryption key id, 份号),
                        resolved when the draft is made, so the leader approves exactly them
    files/0 … files/N   the main document, then the attachments, byte for byte
    approval.msgpack    the leader's approval (FORMAT.md §6.5), once approved

It holds plaintext, so it is written 0600 and atomically; it never leaves the
unit (what leaves is the sealed package).  Reading is strict: exactly these
members, stored uncompressed, sizes as the metadata says, names as §6.1.
"""

from __future__ import annotations

import json
import os
import zipfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Sequence, cast

from shangmi import sm3
from shangmi.errors import MalformedInput

from smseal.envelope import Approval, Metadata, Package, ReplyTo
from smseal.envelope.package import FileSpec
from smseal.envelope.encoding import pack, unpack

from .clock import parse_stored
from .errors import UsageError
from .fsutil import atomic_output
from .copies import addressees
from .groups import expand_recipients
from .i18n import _
from .context import Office

FORMAT = "smseal-draft/2"
SUFFIX = ".smd"
_MAX_SMALL = 2 << 20


class MalformedDraft(MalformedInput):
    """The draft file is damaged or not a draft."""


@dataclass(frozen=True)
class DraftFile:
    """One file of a draft, with the SM3 of its content (what a leader approves)."""

    name: str
    size: int
    digest: bytes


@dataclass(frozen=True)
class Draft:
    """A loaded draft: who it goes to, its metadata (``approval`` set once approved), its files."""

    path: Path
    unit: str
    urgency: str
    created: datetime
    metadata: Metadata
    files: tuple[DraftFile, ...]

    @property
    def approval(self) -> Approval | None:
        return self.metadata.approval

    @property
    def to(self) -> str:
        """The main recipient (主送)."""
        return self.metadata.recipients[0].unit or ""

    @property
    def cc(self) -> tuple[str, ...]:
        """The copy recipients (抄送), in order."""
        return tuple(a.unit or "" for a in self.metadata.recipients[1:])

    @contextmanager
    def package(self) -> Iterator[Package]:
        """A ``Package`` reading the draft's files (approval included), for ``seal``."""
        m = self.metadata
        with zipfile.ZipFile(self.path) as zf, ExitStack() as stack:
            streams = [stack.enter_context(zf.open(f"files/{i}")) for i in range(len(self.files))]
            specs: list[FileSpec] = [(f.name, cast(BinaryIO, s)) for f, s in zip(self.files, streams)]
            yield Package(specs[0], specs[1:], title=m.title, doc_number=m.doc_number, label=m.label,
                          urgency=self.urgency, due=m.due, remarks=m.remarks, sender_unit=m.issuing_unit,
                          signer_name=m.signer_name, attachments_note=m.attachments_note,
                          date_written=m.date_written, doc_type=m.doc_type, reply_by=m.reply_by,
                          reply_to=m.reply_to, approval=m.approval, addressees=m.recipients)

    def __repr__(self) -> str:   # titles and names are confidential
        return f"<Draft {len(self.files)} file(s), approved={self.approval is not None}>"


def create_draft(office: Office, main: str | os.PathLike[str], attachments: Sequence[str | os.PathLike[str]] = (), *,
                 to: str, cc: Sequence[str] = (), cc_groups: Sequence[str] = (), out: str | os.PathLike[str],
                 title: str | None = None, doc_number: str | None = None, doc_type: str | None = None,
                 label: str | None = None, urgency: str = "normal", due: date | None = None,
                 reply_by: date | None = None, remarks: str | None = None, copy_number: str | None = None,
                 signer_name: str | None = None, attachments_note: str | None = None,
                 date_written: date | None = None, reply_to: ReplyTo | None = None,
                 reply_from: Sequence[str] = (), overwrite: bool = False) -> Draft:
    """Write a draft of a document for this unit to ``out`` (``OutputExists`` unless ``overwrite``).

    Recipients are resolved now (groups expanded, the directory's spelling, each unit's
    current encryption key, one 份号 per copy from ``copy_number``, default 000001), so the
    leader approves exactly who gets which copy; the metadata rules of the format apply
    (a state-secret label is refused)."""
    main_unit, cc_units = expand_recipients(office, to, cc, cc_groups)
    listed = addressees(office, main_unit, cc_units, copy_number, reply_by=reply_by, reply_from=reply_from)
    paths = [Path(main), *map(Path, attachments)]
    for p in paths:
        if not p.is_file():
            raise UsageError(_("File not found: {path}").format(path=p))
    pkg = Package(str(paths[0]), [str(p) for p in paths[1:]], title=title, doc_number=doc_number, label=label,
                  urgency=urgency, due=due, remarks=remarks, sender_unit=office.unit,
                  signer_name=signer_name, attachments_note=attachments_note, date_written=date_written,
                  doc_type=doc_type, reply_by=reply_by, reply_to=reply_to, addressees=listed)
    meta = pkg.metadata()
    head = {"format": FORMAT, "unit": office.unit, "urgency": urgency, "created": office.now().isoformat()}
    _write(Path(out), head, meta, [lambda p=p: open(p, "rb") for p in paths], overwrite=overwrite)
    return load_draft(out)


def _write(dest: Path, head: dict[str, Any], meta: Metadata, openers: Sequence[Any], *, overwrite: bool,
           approval: Approval | None = None) -> None:
    with atomic_output(dest, overwrite=overwrite, mode=0o600) as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("draft.json", json.dumps(head, ensure_ascii=False, sort_keys=True))
            zf.writestr("metadata.msgpack", replace(meta, approval=None).serialize()[4:])
            for i, opener in enumerate(openers):
                with opener() as src, zf.open(f"files/{i}", "w", force_zip64=True) as dst:
                    while True:
                        piece = src.read(1 << 20)
                        if not piece:
                            break
                        dst.write(piece)
            if approval is not None:
                zf.writestr("approval.msgpack", pack(approval.to_obj()))


def load_draft(path: str | os.PathLike[str]) -> Draft:
    """Read and check a draft (``MalformedDraft`` if it is not one); file digests are computed."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(_("File not found: {path}").format(path=path))
    try:
        with zipfile.ZipFile(path) as zf:
            return _read(path, zf)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError) as exc:
        raise MalformedDraft("not a draft, or damaged ({kind})", kind=str(exc.__class__.__name__)) from None


def _small(zf: zipfile.ZipFile, name: str) -> bytes:
    if zf.getinfo(name).file_size > _MAX_SMALL:
        raise MalformedDraft("{name} is too large", name=str(name))
    return zf.read(name)


def _read(path: Path, zf: zipfile.ZipFile) -> Draft:
    infos = {i.filename: i for i in zf.infolist()}
    if any(i.compress_type != zipfile.ZIP_STORED for i in infos.values()):
        raise MalformedDraft("draft members must be stored uncompressed")
    head = json.loads(_small(zf, "draft.json").decode("utf-8"))
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise MalformedDraft("not a {format} draft", format=str(FORMAT))
    meta = Metadata.parse(_small(zf, "metadata.msgpack"))
    n = len(meta.files)
    expected = {"draft.json", "metadata.msgpack", *(f"files/{i}" for i in range(n))}
    approval = None
    if "approval.msgpack" in infos:
        expected.add("approval.msgpack")
        approval = Approval.from_obj(unpack(_small(zf, "approval.msgpack"), "the approval", max_len=_MAX_SMALL,
                                            error=MalformedDraft))
    if set(infos) != expected:
        raise MalformedDraft("the draft's members do not match its file list")
    files = []
    for i, entry in enumerate(meta.files):
        if infos[f"files/{i}"].file_size != entry.size:
            raise MalformedDraft("a file's size differs from the draft's file list")
        h = sm3.SM3()
        with zf.open(f"files/{i}") as f:
            while True:
                piece = f.read(1 << 20)
                if not piece:
                    break
                h.update(piece)
        files.append(DraftFile(entry.name, entry.size, h.digest()))
    if not meta.recipients or any(a.unit is None for a in meta.recipients):
        raise MalformedDraft("a draft names every recipient unit")
    try:
        created = parse_stored(str(head["created"]))
    except ValueError:
        created = None
    if created is None:
        raise MalformedDraft("the draft has no valid creation time")
    meta = replace(meta, approval=approval)
    if approval is not None and len(approval.files) != n:
        raise MalformedDraft("the approval must list one digest per file")
    return Draft(path, str(head["unit"]), str(head["urgency"]), created, meta, tuple(files))


def write_approved(draft: Draft, metadata: Metadata, approval: Approval) -> Draft:
    """Rewrite ``draft`` in place (atomically) with ``metadata`` and its approval."""
    head = {"format": FORMAT, "unit": draft.unit, "urgency": draft.urgency, "created": draft.created.isoformat()}
    with zipfile.ZipFile(draft.path) as zf:
        openers = [lambda i=i: _opened(zf, i) for i in range(len(draft.files))]
        tmp_dest = draft.path
        _write(tmp_dest, head, metadata, openers, overwrite=True, approval=approval)
    return load_draft(draft.path)


def _opened(zf: zipfile.ZipFile, i: int) -> BinaryIO:
    return zf.open(f"files/{i}")  # type: ignore[return-value]
