"""The confidential metadata: GB/T 9704 document elements and the file list.

It travels as the first bytes of the encrypted payload:

    u32be length ‖ canonical msgpack map

so titles, document numbers, remarks and file names are never in the clear.
The file contents follow it, in the order of ``files``.
"""

from __future__ import annotations

import re
import struct
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from datetime import date

from shangmi.errors import MalformedPackage, PolicyError, SmsealError

from .encoding import check_str, fields, pack, unpack
from .paths import check_names
from .text import text_problem
from .workflow import Addressee, Approval, ReplyTo, check_doc_type, parse_addressees

MAX_METADATA_SIZE = 1 << 20
MAX_FILES = 1000
MAX_FIELD_BYTES = 64 * 1024
MAX_FILE_SIZE = (1 << 48) - 1

# 密级: documents carrying these labels are state secrets and may not be
# protected with commercial cryptography (密码法 arts. 7-8).  A label is
# classified when it *begins* with one of these (e.g. "机密★10年"), which
# leaves 工作秘密 and 商业秘密 (not state secrets) allowed.
CLASSIFIED_PREFIXES = ("绝密", "机密", "秘密", "絕密", "機密")
# What NFKC leaves of General_Category Zs (U+00A0, U+2000..U+200A, U+202F,
# U+205F and U+3000 all become U+0020): stripped before the prefix test.
_SPACES = " \u1680"


def check_text(value: str, name: str, error: type[SmsealError] = MalformedPackage) -> str:
    """Raise ``error`` unless ``value`` is an allowed metadata text (FORMAT.md §6.2)."""
    problem = text_problem(value)
    if problem:
        raise error("{name} {problem}", name=name, problem=problem)
    return value


def check_label(label: str | None) -> None:
    """Raise ``PolicyError`` if ``label`` marks a state secret."""
    if label is None:
        return
    norm = unicodedata.normalize("NFKC", label).lstrip(_SPACES)
    if norm.startswith(CLASSIFIED_PREFIXES):
        raise PolicyError("documents labelled {norm} are state secrets: they must go through the classified channel,"
                          " not smseal (commercial cryptography, 密码法 arts. 7-8)",
                          norm=str(norm[:2]), hint='labels such as 公开, 内部 or 工作秘密 may be sealed')


@dataclass(frozen=True)
class FileEntry:
    name: str
    size: int


@dataclass(frozen=True)
class Metadata:
    """Document elements (GB/T 9704-2012) in clear English names.

    ``issuing_unit`` is 发文机关 as the sender wrote it; ``OpenResult.sender``
    is the name the trust store vouches for.  Dates are ISO ``YYYY-MM-DD``.
    """

    title: str | None = None              # 标题
    doc_number: str | None = None         # 发文字号, e.g. 赤政办发〔2007〕43号
    label: str | None = None              # 密级/敏感标记 (内部, 工作秘密 ...)
    issuing_unit: str | None = None       # 发文机关
    signer_name: str | None = None        # 签发人
    attachments_note: str | None = None   # 附件说明
    date_written: date | None = None      # 成文日期
    due: date | None = None               # 办理期限
    remarks: str | None = None            # 附注
    files: tuple[FileEntry, ...] = field(default_factory=tuple)
    # -- office workflow (FORMAT.md §6.5, envelope/workflow.py) --
    # 主送/抄送 in the header's stanza order: key id, unit name, 份号 of each copy
    recipients: tuple[Addressee, ...] = field(default_factory=tuple)
    doc_type: str | None = None           # 文种 (one of workflow.DOC_TYPES)
    reply_by: date | None = None          # 答复期限: a written reply is expected by this date
    reply_to: ReplyTo | None = None       # this package answers that one
    approval: Approval | None = None      # 签发 by a leader of the sending unit

    _TEXT = ("title", "doc_number", "label", "issuing_unit",
             "signer_name", "attachments_note")
    _DATES = ("date_written", "due")

    @classmethod
    def _schema(cls) -> list[tuple[str, Any]]:
        return ([(n, (str, type(None))) for n in cls._TEXT + cls._DATES]
                + [("remarks", (str, type(None))), ("files", list)]
                + _WORKFLOW_SCHEMA)

    def _obj(self, with_approval: bool = True) -> dict[str, Any]:
        obj = {n: getattr(self, n) for n in self._TEXT}
        obj.update({n: (getattr(self, n).isoformat() if getattr(self, n) else None)
                    for n in self._DATES})
        obj["remarks"] = self.remarks
        obj["files"] = [[f.name, f.size] for f in self.files]
        obj.update(_workflow_obj(self, with_approval))
        return obj

    def serialize(self) -> bytes:
        """``u32be length ‖ msgpack``, the plaintext prefix of the payload."""
        body = pack(self._obj())
        Metadata.parse(body)    # never write what we would refuse to read
        return struct.pack(">I", len(body)) + body

    def approved_digest(self) -> bytes:
        """SM3 of the canonical metadata with ``approval`` = nil: what a 签发 approval signs."""
        from shangmi import sm3

        return sm3.digest(pack(self._obj(with_approval=False)))

    @classmethod
    def parse(cls, body: bytes) -> "Metadata":
        """Parse the msgpack body; raise ``MalformedPackage`` on anything non-canonical or unsafe."""
        obj = unpack(body, "the metadata", max_len=MAX_METADATA_SIZE)
        vals = fields(obj, cls._schema(), "the metadata")
        n_text = len(cls._TEXT)
        kw: dict[str, Any] = {}
        for name, v in zip(cls._TEXT, vals[:n_text]):
            kw[name] = None if v is None else check_text(check_str(v, MAX_FIELD_BYTES, name), name)
        for name, v in zip(cls._DATES, vals[n_text:n_text + 2]):
            kw[name] = None if v is None else _parse_date(v, name)
        remarks, files = vals[n_text + 2:n_text + 4]
        kw["remarks"] = (None if remarks is None
                         else check_text(check_str(remarks, MAX_FIELD_BYTES, "remarks"), "remarks"))
        kw["files"] = _parse_files(files)
        kw.update(_parse_workflow(vals[n_text + 4:]))
        meta = cls(**kw)
        if meta.approval is not None and len(meta.approval.files) != len(meta.files):
            raise MalformedPackage("the approval must list one digest per file")
        if meta.approval is not None and any(a.unit is None for a in meta.recipients):
            raise MalformedPackage("an approved package names every recipient unit")
        if meta.reply_by is None and any(a.reply for a in meta.recipients):
            raise MalformedPackage("a reply is expected from a recipient, but there is no reply_by date")
        return meta

    def addressee(self, key_id: bytes) -> Addressee | None:
        """The recipient entry for the encryption key ``key_id`` (its unit name and 份号)."""
        return next((a for a in self.recipients if a.key_id == key_id), None)

    def __repr__(self) -> str:   # titles and names are confidential: keep them out of logs
        return f"<Metadata {len(self.files)} file(s), {self.payload_size} bytes>"

    @property
    def payload_size(self) -> int:
        """The files' total size in bytes."""
        return sum(f.size for f in self.files)


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _parse_date(v: str, name: str) -> date:
    """Exactly ``YYYY-MM-DD`` with ASCII digits, a real Gregorian date, year 0001 to 9999."""
    if not _DATE.fullmatch(v):
        raise MalformedPackage("{name} is not a YYYY-MM-DD date", name=str(name))
    try:
        d = date(int(v[:4]), int(v[5:7]), int(v[8:]))
    except ValueError:
        raise MalformedPackage("{name} is not a real calendar date", name=str(name)) from None
    return d


def _parse_files(files: list[Any]) -> tuple[FileEntry, ...]:
    if not 1 <= len(files) <= MAX_FILES:
        raise MalformedPackage("a package holds 1 to {max_files} files", max_files=str(MAX_FILES))
    out = []
    for i, f in enumerate(files):
        if (type(f) is not list or len(f) != 2 or type(f[0]) is not str
                or type(f[1]) is not int or not 0 <= f[1] <= MAX_FILE_SIZE):
            raise MalformedPackage("file entry {i} must be [name, size]", i=str(i))
        out.append(FileEntry(f[0], f[1]))
    check_names([f.name for f in out], MalformedPackage)
    return tuple(out)


# -- office workflow fields (FORMAT.md §6.5); kept apart from the GB/T 9704 elements above ---------

_OPT_MAP = (dict, type(None))
_WORKFLOW_SCHEMA: list[tuple[str, Any]] = [("recipients", list), ("doc_type", (str, type(None))),
                                           ("reply_by", (str, type(None))), ("reply_to", _OPT_MAP),
                                           ("approval", _OPT_MAP)]


def _workflow_obj(meta: Metadata, with_approval: bool) -> dict[str, Any]:
    return {"recipients": [a.to_obj() for a in meta.recipients],
            "doc_type": meta.doc_type,
            "reply_by": meta.reply_by.isoformat() if meta.reply_by else None,
            "reply_to": meta.reply_to.to_obj() if meta.reply_to else None,
            "approval": meta.approval.to_obj() if (meta.approval and with_approval) else None}


def _parse_workflow(vals: list[Any]) -> dict[str, Any]:
    recipients, doc_type, reply_by, reply_to, approval = vals
    if doc_type is not None:
        check_doc_type(check_str(doc_type, MAX_FIELD_BYTES, "doc_type"))
    return {"recipients": parse_addressees(recipients), "doc_type": doc_type,
            "reply_by": None if reply_by is None else _parse_date(reply_by, "reply_by"),
            "reply_to": None if reply_to is None else ReplyTo.from_obj(reply_to),
            "approval": None if approval is None else Approval.from_obj(approval)}
