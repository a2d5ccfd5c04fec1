"""Building blocks for hostile packages: fixed keys and a crafter that can break any layer.

The crafter reuses envelope's own encoders for the parts a vector does not
attack, and re-signs with the real sender key where a vector must get past
the signature to reach the layer it tests (a sender gone rogue, or a bug).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from shangmi import errors, sm2, sm3

from smseal.envelope import primitives as p
from smseal.envelope.format import CHUNK_SIZE, MAGIC, ROLE_CC, ROLE_TO, TAG_SIZE, Header, Stanza
from smseal.envelope.metadata import FileEntry, Metadata
from smseal.envelope.workflow import Addressee
from smseal.envelope.stream import _encrypt_batch

_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123


def key(label: str) -> sm2.PrivateKey:
    """A fixed test key derived from ``label`` (never use such keys for real)."""
    return sm2.PrivateKey.from_int(int.from_bytes(sm3.digest(label.encode()), "big") % (_N - 2) + 1)


SENDER = key("testkit sender (signing)")
TO = key("testkit main recipient (encryption)")
CC = key("testkit copy recipient (encryption)")
INSIDER_SIGNER = key("testkit copy recipient (signing)")   # a cc unit turned hostile
OUTSIDER = key("testkit outsider")
TRUSTED = [SENDER.public_key()]
KEYS = {"to": TO, "cc": CC}

EXPECT = {
    "success": None,
    "malformed": errors.MalformedPackage,
    "no match": errors.NoMatchingKey,
    "decryption": errors.DecryptionError,
    "signature": errors.InvalidSignature,
    "payload": errors.InvalidTag,
    "untrusted": errors.UntrustedSender,
    "policy": errors.PolicyError,
}

MAIN_TEXT = "关于做好2027年春节期间值班工作的通知\n".encode() * 40


@dataclass
class Draft:
    header: Header
    file_key: bytes
    plaintext: bytes

    @property
    def payload_key(self) -> bytes:
        return p.payload_key(self.file_key, self.header.salt)


def metadata(files=(("通知.txt", MAIN_TEXT),), **kw) -> tuple[Metadata, bytes]:
    meta = Metadata(title="关于做好值班工作的通知", doc_number="赤政办发〔2007〕43号", label="内部",
                    files=tuple(FileEntry(n, len(c)) for n, c in files), **kw)
    return meta, b"".join(c for _, c in files)


def draft(files=(("通知.txt", MAIN_TEXT),), *, meta_bytes: bytes | None = None,
          recipients=None, file_key: bytes = b"\x11" * 16, **header_kw) -> Draft:
    """A well-formed package in parts; override any piece to break it."""
    meta, content = metadata(files)
    salt = b"\x22" * 32
    recips = recipients if recipients is not None else [
        Stanza(ROLE_TO, TO.public_key().key_id(), TO.public_key().encrypt(file_key)),
        Stanza(ROLE_CC, CC.public_key().key_id(), CC.public_key().encrypt(file_key))]
    fields = dict(package_id=b"\x33" * 16, sealed_at=1_800_000_000, urgency="urgent",
                  sender=SENDER.public_key().to_bytes(), salt=salt,
                  commitment=p.commitment(file_key, salt), recipients=tuple(recips))
    fields.update(header_kw)
    if meta_bytes is None:       # the metadata lists the header's stanzas (FORMAT.md §6.5)
        meta = replace(meta, recipients=tuple(Addressee(s.role, s.key_id)
                                                          for s in fields["recipients"]))
    plain = (meta_bytes if meta_bytes is not None else meta.serialize()) + content
    return Draft(Header(**fields), file_key, plain)


def chunks(d: Draft, *, chunk_size: int = CHUNK_SIZE, flags: list[bool] | None = None) -> list[bytes]:
    """The payload as a list of ciphertext chunks; ``flags`` overrides the last-chunk flags."""
    pts = [d.plaintext[i:i + chunk_size] for i in range(0, len(d.plaintext), chunk_size)] or [b""]
    flags = flags if flags is not None else [i == len(pts) - 1 for i in range(len(pts))]
    return [_encrypt_batch(d.payload_key, [(i, f, pt)]) for i, (pt, f) in enumerate(zip(pts, flags))]


def encrypt_chunk(d: Draft, counter: int, last: bool, pt: bytes) -> bytes:
    return _encrypt_batch(d.payload_key, [(counter, last, pt)])


def prelude_of(body: bytes, magic: bytes = MAGIC) -> bytes:
    return magic + struct.pack(">I", len(body)) + body


def assemble(prelude: bytes, payload: list[bytes] | bytes, signer: sm2.PrivateKey | None = SENDER,
             signature: bytes | None = None) -> bytes:
    """prelude ‖ payload ‖ signature; the signature is computed by ``signer`` unless given."""
    body = payload if isinstance(payload, bytes) else b"".join(payload)
    if signature is None:
        msg = p.signed_message(prelude, sm3.digest(body))
        signature = signer.sign(msg, format="raw")
    return prelude + body + signature


def build(d: Draft, **kw) -> bytes:
    """The whole package for a draft, properly chunked and signed."""
    return assemble(d.header.prelude(), chunks(d), **kw)


def edit_header(d: Draft, **kw) -> Draft:
    return replace(d, header=replace(d.header, **kw))


__all__ = ["key", "SENDER", "TO", "CC", "INSIDER_SIGNER", "OUTSIDER", "TRUSTED", "KEYS", "EXPECT",
           "Draft", "draft", "chunks", "encrypt_chunk", "prelude_of", "assemble", "build",
           "edit_header", "metadata", "TAG_SIZE", "MAIN_TEXT"]
