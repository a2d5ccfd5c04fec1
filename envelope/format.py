"""The clear header of a sealed package: its one canonical encoding and its strict parser.

    prelude = MAGIC (8 bytes) ‖ u32be header length ‖ header (canonical msgpack map)

Everything here is readable by anyone who holds the package (the mail
room, the mail server): so it carries only what routing needs.  Titles,
document numbers and file names are inside the encryption (see
``metadata``).  ``Header.parse(Header.serialize(h)) == h`` and
``serialize(parse(x)) == x`` for every accepted ``x``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, BinaryIO

from shangmi import sm2
from shangmi.errors import InvalidKey, MalformedPackage

from . import primitives as p
from .encoding import check_bin, fields, pack, unpack

MAGIC_PREFIX = b"SMSEAL\x00"
VERSION = 1
MAGIC = MAGIC_PREFIX + bytes([VERSION])
CHUNK_SIZE = 64 * 1024          # plaintext bytes per STREAM chunk, fixed by format v1
TAG_SIZE = 16
SIGNATURE_SIZE = 64             # trailer: raw r ‖ s
MAX_HEADER_SIZE = 64 * 1024
MAX_RECIPIENTS = 256
MAX_WRAPPED_SIZE = 160          # GM/T 0009 DER of a 16-byte key is at most 125 bytes
MAX_TIME = 253_402_300_799      # 9999-12-31T23:59:59Z: every reader's date type can show it
KEY_ID_SIZE = 16
PUBLIC_KEY_SIZE = 65

URGENCIES = ("normal", "urgent", "extra-urgent")   # 普通 / 加急 / 特急
ROLE_TO, ROLE_CC = "to", "cc"                      # 主送 / 抄送


@dataclass(frozen=True)
class Stanza:
    """One recipient: role, the SM2 key id it is addressed to, and the wrapped file key."""

    role: str
    key_id: bytes
    wrapped: bytes

    def __repr__(self) -> str:
        return f"Stanza({self.role}, {self.key_id.hex()})"


@dataclass(frozen=True)
class Header:
    """The clear header.  ``sender`` is the 65-byte SM2 signing public key of the sender."""

    package_id: bytes
    sealed_at: int
    urgency: str
    sender: bytes
    salt: bytes
    commitment: bytes
    recipients: tuple[Stanza, ...]

    _SCHEMA = (("id", bytes), ("time", int), ("urgency", str), ("sender", bytes),
               ("salt", bytes), ("commit", bytes), ("recipients", list))

    # --- encoding -------------------------------------------------------------------

    def serialize(self) -> bytes:
        """The canonical msgpack of the header (without magic and length)."""
        body = pack({"id": self.package_id, "time": self.sealed_at, "urgency": self.urgency,
                     "sender": self.sender, "salt": self.salt, "commit": self.commitment,
                     "recipients": [[s.role, s.key_id, s.wrapped] for s in self.recipients]})
        Header.parse(body)   # never write what we would refuse to read
        return body

    def prelude(self) -> bytes:
        body = self.serialize()
        return MAGIC + struct.pack(">I", len(body)) + body

    @classmethod
    def parse(cls, body: bytes) -> "Header":
        """Parse the msgpack header; raise ``MalformedPackage`` saying what is wrong."""
        obj = unpack(body, "the header", max_len=MAX_HEADER_SIZE)
        pid, t, urgency, sender, salt, commit, recips = fields(obj, cls._SCHEMA, "the header")
        check_bin(pid, p.PACKAGE_ID_SIZE, "the package id")
        if not 0 <= t <= MAX_TIME:
            raise MalformedPackage("the sealing time is after 9999-12-31T23:59:59Z or negative")
        if urgency not in URGENCIES:
            raise MalformedPackage("unknown urgency {urgency}", urgency=repr(urgency[:32]))
        check_bin(sender, PUBLIC_KEY_SIZE, "the sender key")
        try:
            sm2.PublicKey.from_bytes(sender)
        except InvalidKey:
            raise MalformedPackage("the sender key is not a point on the SM2 curve") from None
        check_bin(salt, p.SALT_SIZE, "the salt")
        check_bin(commit, p.COMMITMENT_SIZE, "the file key commitment")
        return cls(pid, t, urgency, sender, salt, commit, _parse_stanzas(recips))

    # --- views ----------------------------------------------------------------------

    @property
    def sender_key(self) -> sm2.PublicKey:
        return sm2.PublicKey.from_bytes(self.sender)

    @property
    def sealed_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.sealed_at, timezone.utc)

    def stanzas_for(self, key_id: bytes) -> list[Stanza]:
        return [s for s in self.recipients if s.key_id == key_id]


def _parse_stanzas(recips: list[Any]) -> tuple[Stanza, ...]:
    if not 1 <= len(recips) <= MAX_RECIPIENTS:
        raise MalformedPackage("a package has 1 to {max_recipients} recipients", max_recipients=str(MAX_RECIPIENTS))
    out, seen = [], set()
    for i, st in enumerate(recips):
        if type(st) is not list or len(st) != 3:
            raise MalformedPackage("recipient stanza {i} must be [role, key id, wrapped key]", i=str(i))
        role, kid, wrapped = st
        if role not in (ROLE_TO, ROLE_CC):
            raise MalformedPackage("recipient stanza {i} has an unknown role", i=str(i))
        if (role == ROLE_TO) != (i == 0):
            raise MalformedPackage("exactly one main recipient ('to'), in the first stanza")
        check_bin(kid, KEY_ID_SIZE, f"the key id of recipient stanza {i}")
        if type(wrapped) is not bytes or not 1 <= len(wrapped) <= MAX_WRAPPED_SIZE:
            raise MalformedPackage("the wrapped key of recipient stanza {i} has a bad size", i=str(i))
        if kid in seen:
            raise MalformedPackage("two recipient stanzas name the same key")
        seen.add(kid)
        out.append(Stanza(role, kid, wrapped))
    return tuple(out)


def read_exact(src: BinaryIO, n: int, what: str) -> bytes:
    """Read exactly ``n`` bytes or raise ``MalformedPackage`` (truncated)."""
    buf = bytearray()
    while len(buf) < n:
        piece = src.read(n - len(buf))
        if not piece:
            raise MalformedPackage("the package ends inside {what}", what=str(what))
        buf += piece
    return bytes(buf)


def read_prelude(src: BinaryIO) -> tuple[bytes, Header]:
    """Read magic, length and header from ``src``; return (exact prelude bytes, header)."""
    magic = read_exact(src, len(MAGIC), "the magic")
    if magic[:len(MAGIC_PREFIX)] != MAGIC_PREFIX:
        raise MalformedPackage("this is not an smseal package (bad magic)")
    if magic[-1] != VERSION:
        raise MalformedPackage("package format version {magic} is not supported; this smseal reads version {version}",
                               magic=str(magic[-1]), version=str(VERSION),
                               hint='a newer smseal may be needed to open it')
    (length,) = struct.unpack(">I", read_exact(src, 4, "the header length"))
    if length > MAX_HEADER_SIZE:
        raise MalformedPackage("the header is larger than the {max_header_size}-byte limit",
                               max_header_size=str(MAX_HEADER_SIZE))
    body = read_exact(src, length, "the header")
    return magic + struct.pack(">I", length) + body, Header.parse(body)
