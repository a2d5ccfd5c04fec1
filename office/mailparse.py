"""Reading smseal items out of an e-mail message: packages, numbered parts of a package,
receipts and notices, whether attached or armored in the text body.

Nothing here trusts the message: file names and headers only say where to look,
and everything found is verified by its own signature later.
"""

from __future__ import annotations

import mmap
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from typing import Iterator, Literal

from shangmi.errors import MalformedInput

from .i18n import _

ItemKind = Literal["package", "part", "receipt", "notice"]

PACKAGE_MAGIC = b"SMSEAL\x00"
RECEIPT_MAGIC = b"SMSRCPT"
NOTICE_MAGIC = b"SMSNOTC"
# <id>.<package digest>.smx.partN-of-M (docs/FORMAT.md §15); the form without the digest is older.
_PART_NAME = re.compile(r"^([0-9a-f]{32})(?:\.([0-9a-f]{64}))?\.smx\.part([1-9][0-9]{0,3})-of-([1-9][0-9]{0,3})$")
_ARMOR_BEGIN = re.compile(rb"-----BEGIN (SMSEAL (?:PACKAGE|RECEIPT|NOTICE))-----\r?\n")
MAX_ARMOR_BLOCKS = 8                # armored items read from one text part
MAX_ARMOR_TEXT = 256 * 1024 * 1024  # bytes of one text part searched for armor (a saved e-mail's limit)
_ARMOR_KIND: dict[bytes, ItemKind] = {b"SMSEAL PACKAGE": "package", b"SMSEAL RECEIPT": "receipt",
                                      b"SMSEAL NOTICE": "notice"}
_HEADER_LINE = re.compile(rb"^[A-Za-z0-9-]{1,76}:[ \t]")
_MAIL_HEADERS = (b"from:", b"to:", b"subject:", b"date:", b"message-id:", b"mime-version:",
                 b"received:", b"return-path:", b"delivered-to:", b"content-type:", b"x-smseal:")
MAX_PARTS = 9999
MAX_DEPTH = 8           # multipart / message/rfc822 levels in one mail; smseal sends 2
MAX_MIME_PARTS = 100    # MIME parts in one mail; smseal sends 2 or 3
# A line that opens a nested container (folded headers included).  Counted on the raw bytes
# before parsing, because the standard parser recurses once per level.
_CONTAINER = re.compile(rb"^content-type[ \t]*:[ \t]*(?:\r?\n[ \t]+)*(?:multipart|message)/", re.I | re.M)


@dataclass(frozen=True)
class MailItem:
    """One smseal item found in a message.

    ``package_id`` and ``part`` (N, M) come from a part's file name and are not
    authenticated: the reassembled package is verified as a whole.
    """

    kind: ItemKind
    name: str
    data: bytes
    package_id: str | None = None
    part: tuple[int, int] | None = None

    @property
    def part_digest(self) -> str | None:
        """The package digest (hex) a numbered part's name announces (None: an older name)."""
        return part_digest(self.name)

    def __repr__(self) -> str:
        return f"MailItem({self.kind}, {self.name!r}, {len(self.data)} bytes)"


def part_digest(name: str) -> str | None:
    """The package digest (64 hex digits) in the name of a numbered part, or None."""
    m = _PART_NAME.match(name)
    return m.group(2) if m else None


def looks_like_email(head: bytes) -> bool:
    """True when ``head`` (the first kilobytes of a file) is an RFC 5322 message, e.g. a saved .eml."""
    if head.startswith(PACKAGE_MAGIC) or head.startswith(RECEIPT_MAGIC) or head.startswith(NOTICE_MAGIC):
        return False
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[0].startswith(b"From "):        # mbox separator line
        lines = lines[1:]
    known = 0
    for line in lines[:60]:
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            continue
        if not _HEADER_LINE.match(line):
            return False
        known += line.lower().startswith(_MAIL_HEADERS)
    return known >= 2


def parse_message(raw: bytes) -> Message:
    """Parse a message for reading smseal items (the compat32 policy: several times faster than
    the modern one, and nothing here needs its header objects)."""
    return message_from_bytes(raw, policy=policy.compat32)


def read_items(raw: bytes) -> list[MailItem]:
    """Every smseal item in the raw message ``raw``; ``MalformedInput`` (a one-line reason) when
    the message is nested deeper than ``MAX_DEPTH`` levels or has more than ``MAX_MIME_PARTS``
    parts, checked before and while parsing so that no message can exhaust the stack."""
    containers = sum(1 for _ in _CONTAINER.finditer(raw))
    if containers > 2 * MAX_DEPTH + MAX_MIME_PARTS:
        raise MalformedInput(_("this e-mail has {count} nested MIME containers, more than smseal "
                               "reads").format(count=containers))
    try:
        return items_from_message(parse_message(raw))
    except RecursionError:
        raise MalformedInput(_("this e-mail is nested too deeply to read")) from None


def _leaves(msg: Message) -> list[Message]:
    """The non-multipart parts of ``msg``, walked without recursion, with depth and count bounds."""
    leaves: list[Message] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    count = 0
    while stack:
        part, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise MalformedInput(_("this e-mail is nested more than {limit} levels deep").format(limit=MAX_DEPTH))
        if count > MAX_MIME_PARTS:
            raise MalformedInput(_("this e-mail has more than {limit} parts").format(limit=MAX_MIME_PARTS))
        if part.is_multipart():
            payload = part.get_payload()
            children = payload if isinstance(payload, list) else []
            stack.extend((c, depth + 1) for c in reversed(children) if isinstance(c, Message))
        else:
            leaves.append(part)
    return leaves


def is_from_smseal(msg: Message) -> bool:
    """The message says it was sent by smseal (``X-Smseal`` header)."""
    return msg.get("X-Smseal") is not None


def kind_of(name: str, data: bytes) -> tuple[ItemKind, str | None, tuple[int, int] | None] | None:
    """What an attachment named ``name`` whose content starts with ``data`` is: (kind, package id
    and (N, M) of a numbered part), or None when it is nothing of smseal's."""
    m = _PART_NAME.match(name)
    if m:
        n, total = int(m.group(3)), int(m.group(4))
        if 1 <= n <= total <= MAX_PARTS:
            return "part", m.group(1), (n, total)
        return None
    if data.startswith(PACKAGE_MAGIC):
        return "package", None, None
    if data.startswith(RECEIPT_MAGIC):
        return "receipt", None, None
    if data.startswith(NOTICE_MAGIC):
        return "notice", None, None
    if name.endswith((".smx", ".receipt", ".notice", ".asc", ".txt")):
        found = next(armor_blocks(data, start_within=4096, limit=1), None)
        if found is not None:
            return found[0], None, None
    return None


def armor_blocks(text: bytes, *, start_within: int | None = None,
                 limit: int = MAX_ARMOR_BLOCKS) -> Iterator[tuple[ItemKind, bytes]]:
    """The armored smseal items in ``text`` as (kind, armored bytes), at most ``limit`` of them
    (``armor_spans`` finds them)."""
    for kind, at, stop in armor_spans(text, start_within=start_within, limit=limit):
        yield kind, bytes(text[at:stop])


def armor_spans(text: "bytes | mmap.mmap", *, start_within: int | None = None,
                limit: int = MAX_ARMOR_BLOCKS) -> Iterator[tuple[ItemKind, int, int]]:
    """Where the armored smseal items in ``text`` are, as (kind, start, end) offsets, at most
    ``limit`` of them; ``text`` may be an ``mmap`` of a spooled text part (nothing is copied).

    One pass (linear in ``len(text)``): each BEGIN line's own END line is searched once from
    there on; the search stops at the first BEGIN without its END.  Only the first
    ``MAX_ARMOR_TEXT`` bytes are searched; with ``start_within`` the first block must begin
    within that many bytes.
    """
    end = min(len(text), MAX_ARMOR_TEXT)
    pos, found = 0, 0
    while found < limit:
        at = text.find(b"-----BEGIN SMSEAL ", pos, end)
        if at < 0 or (start_within is not None and found == 0 and at >= start_within):
            return
        m = _ARMOR_BEGIN.match(text, at, end)
        if m is None:
            pos = at + 1
            continue
        marker = b"-----END " + m.group(1) + b"-----"
        stop = text.find(marker, m.end(), end)
        if stop < 0:
            return
        stop += len(marker)
        if text[stop:stop + 2] == b"\r\n":
            stop += 2
        elif text[stop:stop + 1] == b"\n":
            stop += 1
        yield _ARMOR_KIND[m.group(1)], at, stop
        found += 1
        pos = stop


def items_from_message(msg: Message) -> list[MailItem]:
    """Every smseal item in ``msg``: attachments recognised by name or content, and armored text.
    ``MalformedInput`` when ``msg`` is nested too deeply or has too many parts (see ``read_items``)."""
    items: list[MailItem] = []
    for part in _leaves(msg):
        try:
            payload = part.get_payload(decode=True)
        except (ValueError, TypeError, LookupError):
            continue
        if not isinstance(payload, bytes) or not payload:
            continue
        name = part.get_filename() or ""
        name = name if isinstance(name, str) else ""
        if name or part.get_content_maintype() != "text":
            found = kind_of(name, payload)
            if found is not None:
                kind, pid, numbered = found
                items.append(MailItem(kind, name or "(attachment)", payload, pid, numbered))
            continue
        for kind, block in armor_blocks(payload):
            items.append(MailItem(kind, "(text body)", block))
    return items
