"""The smseal items of one IMAP mail, read without holding the mail in memory (review F6).

``IMAPMailbox.fetch`` gives each mail's MIME structure; here every part that can carry an
item is streamed from the server piece by piece (``IMAPMailbox.read``), transfer-decoded as
it arrives into a private spool file in the inbox (0600, ``Inbox.spool``), and only then
looked at: a package or a numbered part stays a file (``SpooledItem``) that is verified and
renamed into place; receipts and notices (at most ``MAX_SMALL`` bytes) are read back as bytes;
armored items in text are found in the spooled text through ``mmap`` and copied out block by
block.  Peak memory is a few pieces (``imap.CHUNK``) whatever the size of the mail.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from shangmi.errors import MalformedInput

from .i18n import _
from .mailparse import NOTICE_MAGIC, PACKAGE_MAGIC, RECEIPT_MAGIC, ItemKind, MailItem, armor_spans, kind_of

if TYPE_CHECKING:
    from .imap import IMAPMailbox, Mail
    from .inbox import Inbox

MAX_SMALL = 1 << 20         # a receipt or notice (they are far smaller); armored: 4/3 of that
_COPY = 1 << 20


@dataclass(frozen=True)
class SpooledItem:
    """A package or numbered part streamed into ``path`` (a spool file the caller now owns)."""

    kind: ItemKind
    name: str
    path: Path
    package_id: str | None = None
    part: tuple[int, int] | None = None


def read_mail(mailbox: "IMAPMailbox", inbox: "Inbox", mail: "Mail") -> list[MailItem | SpooledItem]:
    """Every smseal item in ``mail``.  ``MalformedInput`` for a mail smseal will not read (nested
    too deeply, a part larger than the mail, bad base64); a ``MailError`` from the server
    propagates.  On any error the spool files made so far are removed."""
    found: list[MailItem | SpooledItem] = []
    try:
        for leaf in mail.leaves():
            path = inbox.spool_write(lambda f: mailbox.read(mail, leaf, f.write, limit=max(mail.size, 1)))
            keep = False
            try:
                if leaf.name or leaf.maintype != "text":
                    item = _attachment(leaf.name, path)
                    if isinstance(item, SpooledItem):
                        found.append(item)
                        keep = True              # the caller moves or removes it
                    elif item is not None:
                        found.extend(item)
                else:
                    found.extend(_armored(path))
            finally:
                if not keep:
                    path.unlink(missing_ok=True)
    except BaseException:
        for spooled in found:
            if isinstance(spooled, SpooledItem):
                spooled.path.unlink(missing_ok=True)
        raise
    return found


def _attachment(name: str, path: Path) -> "SpooledItem | list[MailItem | SpooledItem] | None":
    """What the attachment spooled at ``path`` is: recognised by its name (numbered parts) or
    its first bytes; None when it is nothing of smseal's."""
    with open(path, "rb") as f:
        head = f.read(4096)
        size = os.fstat(f.fileno()).st_size
    found = kind_of(name, head)
    if found is None:
        return None
    kind, pid, numbered = found
    label = name or "(attachment)"
    if kind == "part" or head.startswith(PACKAGE_MAGIC):
        return SpooledItem(kind, label, path, pid, numbered)
    if head.startswith(RECEIPT_MAGIC) or head.startswith(NOTICE_MAGIC):
        return [MailItem(kind, label, _small(path, size, MAX_SMALL))]
    return _armored(path, label=label)          # armored, in an attachment (.asc, .txt ...)


def _armored(path: Path, *, label: str = "(text body)") -> list[MailItem | SpooledItem]:
    """The armored items in the spooled text at ``path``: packages copied out to their own
    spool files block by block, receipts and notices read as bytes."""
    out: list[MailItem | SpooledItem] = []
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return out
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
            for kind, at, stop in armor_spans(view):
                if kind == "package":
                    out.append(SpooledItem("package", label, _copy_out(view, at, stop, path.parent)))
                elif stop - at <= MAX_SMALL * 4 // 3 + 4096:
                    out.append(MailItem(kind, label, bytes(view[at:stop])))
                else:
                    raise MalformedInput(_("an armored receipt or notice in this e-mail is far too large"))
    return out


def _copy_out(view: mmap.mmap, at: int, stop: int, folder: Path) -> Path:
    """Bytes ``at:stop`` of ``view`` in a new private file in ``folder`` (a spool file)."""
    from .inbox import write_spool

    def copy(out: BinaryIO) -> None:
        for i in range(at, stop, _COPY):
            out.write(view[i:min(stop, i + _COPY)])
    return write_spool(folder, copy)


def _small(path: Path, size: int, limit: int) -> bytes:
    if size > limit:
        raise MalformedInput(_("a receipt or notice in this e-mail is far too large"))
    with open(path, "rb") as f:
        data: bytes = f.read(limit + 1)
    return data


__all__ = ["SpooledItem", "read_mail"]
