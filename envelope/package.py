"""``Package``: what is to be sealed — one main document, attachments, and the metadata."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any, BinaryIO, Callable, Sequence, Union, cast

from shangmi.errors import InvalidArgument, WrongArgumentType

from .format import URGENCIES
from .metadata import MAX_FILES, MAX_FIELD_BYTES, FileEntry, Metadata, check_label, check_text
from .paths import check_names
from shangmi.errors import MalformedPackage

from .workflow import Addressee, Approval, ReplyTo, check_doc_type, number_copies, parse_addressees

#: A file to seal: a path (``str`` or ``os.PathLike``), ``(name, bytes | binary stream)``, or
#: ``(name, binary stream, size)`` for a stream that cannot seek (a pipe, an upload) whose
#: length the caller knows: it is then read once, while sealing, instead of being spooled.
FileSpec = Union[str, "os.PathLike[str]", tuple[str, Union[bytes, bytearray, memoryview, BinaryIO]],
                 tuple[str, BinaryIO, int]]


@dataclass
class _Input:
    name: str
    size: int
    open: Callable[[], BinaryIO]


def _input(spec: FileSpec, spool: list[IO[bytes]]) -> _Input:
    if isinstance(spec, tuple):
        if len(spec) not in (2, 3) or not isinstance(spec[0], str):
            raise WrongArgumentType("a file is a path, a (name, bytes | binary stream) pair or a "
                                    "(name, binary stream, size) triple", code="bad-file-spec")
        name = unicodedata.normalize("NFC", spec[0])
        content = spec[1]
        if len(spec) == 3:
            return _sized_stream_input(name, cast(BinaryIO, content), spec[2])
        if isinstance(content, (bytes, bytearray, memoryview)):
            data = bytes(content)
            return _Input(name, len(data), lambda: io.BytesIO(data))
        return _stream_input(name, content, spool)
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"not a regular file: {path}")
    name = unicodedata.normalize("NFC", path.name)
    return _Input(name, path.stat().st_size, lambda: open(path, "rb"))


def _stream_input(name: str, stream: BinaryIO, spool: list[IO[bytes]]) -> _Input:
    """A binary stream: read from where it stands; a stream of unknown length is spooled to disk."""
    try:
        start = stream.tell()
        size = stream.seek(0, os.SEEK_END) - start
        stream.seek(start)

        def reopen() -> BinaryIO:
            stream.seek(start)
            return cast(BinaryIO, _Borrowed(stream))
        return _Input(name, size, reopen)
    except (AttributeError, OSError, io.UnsupportedOperation):
        tmp = tempfile.TemporaryFile()
        spool.append(tmp)
        shutil.copyfileobj(stream, tmp, 1 << 20)
        size = tmp.tell()

        def reopen_tmp() -> BinaryIO:
            tmp.seek(0)
            return cast(BinaryIO, _Borrowed(tmp))
        return _Input(name, size, reopen_tmp)


def _sized_stream_input(name: str, stream: BinaryIO, size: object) -> _Input:
    """A stream whose length the caller states: read once while sealing, never spooled."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidArgument("the size of a (name, stream, size) file is a whole number of bytes",
                              code="bad-file-spec")
    if not hasattr(stream, "read"):
        raise WrongArgumentType("a (name, stream, size) file needs a binary stream", code="bad-file-spec")
    used = [False]

    def once() -> BinaryIO:
        if used[0]:
            raise InvalidArgument("a stream given with its size is read once: this package was already "
                                  "sealed", code="stream-consumed")
        used[0] = True
        return cast(BinaryIO, _Borrowed(stream))
    return _Input(name, size, once)


class _Borrowed:
    """A stream the caller owns: sealing reads it but does not close it."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f

    def read(self, n: int = -1) -> bytes:
        return self._f.read(n)

    def close(self) -> None:
        pass


class Package:
    """A document package to seal.

    ``main`` and each attachment (any sequence of them) are a ``FileSpec``: a path (a ``str``
    is always a path), ``(name, bytes | binary stream)`` or ``(name, binary stream, size)``.
    A seekable stream is read from where it stands when sealing (so it can be sealed again);
    a stream that cannot seek is copied at once into an anonymous 0600 temporary file (the
    spool lives as long as the ``Package``), unless its ``size`` is given, in which case it
    is read once, while sealing, and must hold exactly ``size`` bytes.
    Names are the final path component, normalized to NFC; unsafe names and
    collisions raise ``InvalidArgument`` (a ``ValueError``), and so do texts with control,
    invisible or bidi characters (an empty text is left out).  A label marking a state secret (绝密,
    机密, 秘密) raises ``shangmi.PolicyError``: such documents must go
    through the classified channel.  ``sender_unit`` is 发文机关.

    Workflow fields (FORMAT.md §6.5): ``doc_type`` is the 文种 (one of
    ``envelope.workflow.DOC_TYPES``), ``reply_by`` the date a written reply
    is expected by, ``reply_to`` the original package a reply answers, and
    ``approval`` a leader's 签发 over this very metadata and these files.
    ``addressees`` names the recipients (``workflow.Addressee``: role, encryption key id,
    unit name, 份号 of that copy) in the order ``seal`` gets their keys (main first); it is
    required with an approval (the leader approves the recipient list) and ``seal`` refuses
    keys that differ from it.  Without it ``seal`` lists the keys with no names, and numbers
    the copies from ``copy_number`` (the 份号 of the main recipient's copy, e.g. ``000123``;
    each copy recipient's copy gets the next number) when it is given.
    """

    def __init__(self, main: FileSpec, attachments: Sequence[FileSpec] = (), *,
                 title: str | None = None, doc_number: str | None = None,
                 label: str | None = None, urgency: str = "normal", due: date | None = None,
                 remarks: str | None = None, sender_unit: str | None = None,
                 copy_number: str | None = None, signer_name: str | None = None,
                 attachments_note: str | None = None, date_written: date | None = None,
                 doc_type: str | None = None, reply_by: date | None = None,
                 reply_to: ReplyTo | None = None, approval: Approval | None = None,
                 addressees: Sequence[Addressee] = ()) -> None:
        if isinstance(attachments, (str, bytes, os.PathLike)) or not isinstance(attachments, Sequence):
            raise WrongArgumentType("attachments is a sequence of files (a list or tuple)",
                                    code="bad-file-spec")
        check_label(label)
        check_doc_type(doc_type, InvalidArgument)
        if reply_to is not None and not isinstance(reply_to, ReplyTo):
            raise TypeError("reply_to must be an envelope.workflow.ReplyTo")
        if approval is not None and not isinstance(approval, Approval):
            raise TypeError("approval must be an envelope.workflow.Approval")
        if urgency not in URGENCIES:
            raise InvalidArgument("urgency must be one of {urgencies}", urgencies=', '.join(URGENCIES),
                                  code='bad-urgency')
        if isinstance(addressees, (str, bytes)) or not all(isinstance(a, Addressee) for a in addressees):
            raise WrongArgumentType("addressees is a sequence of envelope.workflow.Addressee",
                                    code="bad-addressee")
        if copy_number is not None:
            if addressees:
                raise InvalidArgument("give copy numbers either in addressees or as copy_number",
                                      code="bad-addressee")
            try:
                number_copies(copy_number, 1)
            except ValueError as exc:
                raise InvalidArgument(str(exc), code="bad-copy-number") from None
        self.copy_number = copy_number
        if addressees:
            try:
                parse_addressees([a.to_obj() for a in addressees])
            except MalformedPackage as exc:
                raise InvalidArgument(str(exc), code="bad-addressee") from None
            if reply_by is None and any(a.reply for a in addressees):
                raise InvalidArgument("a reply is expected from a recipient: give reply_by", code="bad-addressee")
        texts: dict[str, Any] = dict(title=title, doc_number=doc_number, label=label,
                     issuing_unit=sender_unit, signer_name=signer_name,
                     attachments_note=attachments_note, remarks=remarks)
        for k, v in texts.items():
            if v is not None and (not isinstance(v, str)
                                  or len(v.encode("utf-8", "surrogatepass")) > MAX_FIELD_BYTES):
                raise InvalidArgument("{field} must be a string of at most {max_field_bytes} bytes",
                                      max_field_bytes=str(MAX_FIELD_BYTES),
                                      code='bad-text-field', field=k)
            if v == "":
                texts[k] = None       # an empty text is written as an absent one (nil)
            elif v is not None:
                check_text(v, k, InvalidArgument)     # surrogates included: never a traceback
        for k, v in (("due", due), ("date_written", date_written), ("reply_by", reply_by)):
            if v is not None and not isinstance(v, date):
                raise WrongArgumentType("{field} must be a datetime.date", code='not-a-date', field=k)
        if len(attachments) + 1 > MAX_FILES:
            raise InvalidArgument("a package holds at most {limit} files", code='too-many-files',
                                  limit=str(MAX_FILES))
        self.urgency = urgency
        self._spool: list[IO[bytes]] = []
        self._inputs = [_input(s, self._spool) for s in (main, *attachments)]
        check_names([i.name for i in self._inputs], InvalidArgument)
        self._texts = texts
        self._dates: dict[str, Any] = dict(due=due, date_written=date_written)
        self._workflow: dict[str, Any] = dict(doc_type=doc_type, reply_by=reply_by, reply_to=reply_to, approval=approval,
                                              recipients=tuple(addressees))

    def metadata(self) -> Metadata:
        """The metadata this package will carry (file names and sizes included)."""
        return Metadata(**self._texts, **self._dates, **self._workflow,
                        files=tuple(FileEntry(i.name, i.size) for i in self._inputs))

    def inputs(self) -> list[_Input]:
        """The files to seal, main document first (name, size, opener); used by ``seal``."""
        return list(self._inputs)

    def file_digests(self) -> tuple[bytes, ...]:
        """SM3 of each file's content, in order (what a 签发 approval signs); reads every file."""
        from shangmi import sm3

        out = []
        for i in self._inputs:
            h, f = sm3.SM3(), i.open()
            try:
                left = i.size
                while left:
                    piece = f.read(min(left, 1 << 20))
                    if not piece:
                        raise OSError(f"{i.name} became shorter while it was being read")
                    h.update(piece)
                    left -= len(piece)
            finally:
                f.close()
            out.append(h.digest())
        return tuple(out)

    def __repr__(self) -> str:   # titles are confidential: keep them out of logs
        return f"<Package {len(self._inputs)} file(s), urgency={self.urgency}>"
