"""Deterministic package and receipt crafting for the conformance vectors and FORMAT.md §13.

Everything is fixed: the keys (published in FORMAT.md §13 and in every
vector as PEM), the file key, salt and package id, and the SM2 nonces k,
which are derived from the vector's name.  The fixed-k SM2 operations are
``shangmi.sm2._sign_with_k`` / ``_encrypt_with_k``, the known-answer hooks:
``seal`` never calls them, it draws every secret from ``secrets``.

A ``Spec`` describes a package as raw msgpack objects, so a vector can
break any layer (a header field, the metadata, a chunk, the signature) and
still be signed by the trusted sender where it must get past the signature
to reach the layer it tests (a sender gone rogue, or another implementation).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Callable

from shangmi import _curve, sm2, sm3
from smseal.envelope import primitives as p
from smseal.envelope.encoding import pack
from smseal.envelope.format import CHUNK_SIZE, MAGIC
from smseal.envelope.receipt import RECEIPT_MAGIC
from smseal.envelope.stream import _encrypt_batch

N = _curve.N


def key(label: str) -> sm2.PrivateKey:
    """A fixed test key: d = SM3(label) mod (n − 2) + 1 (never use such keys for real)."""
    return sm2.PrivateKey.from_int(int.from_bytes(sm3.digest(label.encode()), "big") % (N - 2) + 1)


# The same labels as tests/testkit/kit.py, so the worked example and the kit share keys.
SENDER = key("testkit sender (signing)")
TO = key("testkit main recipient (encryption)")
CC = key("testkit copy recipient (encryption)")
INSIDER = key("testkit copy recipient (signing)")      # the cc unit's signing key, turned hostile
OUTSIDER = key("testkit outsider")
TO_SIGNER = key("conformance main recipient (signing)")
CC2 = key("conformance second copy recipient (encryption)")
CC3 = key("conformance third copy recipient (encryption)")
KEYS = {"sender": SENDER, "to": TO, "cc": CC, "insider": INSIDER, "outsider": OUTSIDER,
        "to-signer": TO_SIGNER, "cc2": CC2, "cc3": CC3}
NAME_OF = {id(v): k for k, v in KEYS.items()}

BASE_TIME = 1_780_000_000            # 2026-05-28T20:26:40Z
FILE_KEY = b"\x11" * 16
SALT = b"\x22" * 32
PACKAGE_ID = b"\x33" * 16
MAIN_TEXT = "关于做好2027年春节期间值班工作的通知\n".encode() * 40

TEXT_FIELDS = ("title", "doc_number", "label", "issuing_unit", "signer_name", "attachments_note")
# The unit names the metadata's recipient list gives the recipients' encryption keys (§6.5).
UNIT_OF = {"to": "to-unit", "cc": "cc-unit", "cc2": "cc2-unit", "cc3": "cc3-unit", "outsider": "outsider-unit"}


class FixedK:
    """The SM2 nonces of one vector: k_i = SM3("smseal conformance k" 00 ‖ name 00 ‖ u32be i) mod (n−1) + 1."""

    def __init__(self, name: str) -> None:
        self.name, self.i = name, 0
        self.used: list[int] = []

    def next(self) -> int:
        seed = b"smseal conformance k\x00" + self.name.encode() + b"\x00" + struct.pack(">I", self.i)
        self.i += 1
        k = int.from_bytes(sm3.digest(seed), "big") % (N - 1) + 1
        self.used.append(k)
        return k


def wrap(pub: sm2.PublicKey, file_key: bytes, k: int) -> bytes:
    """GM/T 0009 DER SM2 encryption of ``file_key`` with the fixed nonce ``k``."""
    x, y, c3, c2 = sm2._encrypt_with_k(pub, file_key, k)
    return sm2.encode_ciphertext(x, y, c3, c2)


def sign_raw(priv: sm2.PrivateKey, message: bytes, k: int) -> bytes:
    """r ‖ s (u256be each) of ``message`` with the default signer ID and the fixed nonce ``k``."""
    r, s = sm2._sign_with_k(priv, message, k)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def unit_name(priv: sm2.PrivateKey) -> str:
    """The unit a recipient key belongs to in the vectors (filler keys: a name from the key id)."""
    name = NAME_OF.get(id(priv))
    return UNIT_OF[name] if name in UNIT_OF else f"unit-{priv.public_key().key_id()[:4].hex()}"


def metadata_obj(file_list: list[tuple[str, bytes]], **overrides: Any) -> dict:
    obj: dict[str, Any] = {"title": "关于做好值班工作的通知", "doc_number": "赤政办发〔2007〕43号",
                           "label": "内部", "issuing_unit": None,
                           "signer_name": None, "attachments_note": None, "date_written": None,
                           "due": None, "remarks": None,
                           "files": [[n, len(c)] for n, c in file_list], "recipients": [],
                           "doc_type": None, "reply_by": None, "reply_to": None, "approval": None}
    obj.update(overrides)
    return obj


def prelude_of(body: bytes, magic: bytes = MAGIC) -> bytes:
    return magic + struct.pack(">I", len(body)) + body


@dataclass
class Spec:
    """A package as raw parts; every field can be overridden to break one layer."""

    name: str
    files: list[tuple[str, bytes]] = field(default_factory=lambda: [("通知.txt", MAIN_TEXT)])
    meta: dict = field(default_factory=dict)              # overrides of metadata fields
    meta_bytes: bytes | None = None                       # the whole u32 ‖ msgpack, verbatim
    header: dict = field(default_factory=dict)            # overrides of header fields
    header_bytes: bytes | None = None                     # the msgpack header body, verbatim
    recipients: list[tuple[str, sm2.PrivateKey]] = field(
        default_factory=lambda: [("to", TO), ("cc", CC)])
    wrapped_override: dict[int, bytes] = field(default_factory=dict)   # stanza index -> wrapped bytes
    file_key: bytes = FILE_KEY
    signer: sm2.PrivateKey = SENDER
    chunk_size: int = CHUNK_SIZE
    flags: list[bool] | None = None                       # last-chunk flags, overriding the rule
    edit_chunks: Callable[[list[bytes]], list[bytes]] | None = None
    signature: bytes | None = None                        # a verbatim trailer
    extra_plaintext: bytes = b""

    def __post_init__(self) -> None:
        self.k = FixedK(self.name)

    # -- parts ----------------------------------------------------------------------
    def header_obj(self) -> dict:
        stanzas = []
        for i, (role, priv) in enumerate(self.recipients):
            pub = priv.public_key()
            wrapped = (self.wrapped_override[i] if i in self.wrapped_override
                       else wrap(pub, self.file_key, self.k.next()))
            stanzas.append([role, pub.key_id(), wrapped])
        obj = {"id": PACKAGE_ID, "time": BASE_TIME, "urgency": "urgent",
               "sender": SENDER.public_key().to_bytes(), "salt": SALT,
               "commit": p.commitment(FILE_KEY, SALT), "recipients": stanzas}
        obj.update(self.header)
        return obj

    def addressees(self) -> list[list]:
        """The metadata's recipient list for this spec's stanzas: [role, key id, unit, 份号, reply].

        A reply is expected from the main recipient when the metadata sets ``reply_by``."""
        reply = self.meta.get("reply_by") is not None
        return [[role, priv.public_key().key_id(), unit_name(priv), f"{i + 1:06d}", reply and role == "to"]
                for i, (role, priv) in enumerate(self.recipients)]

    def metadata(self) -> dict:
        return metadata_obj(self.files, **{"recipients": self.addressees(), **self.meta})

    def plaintext(self) -> bytes:
        if self.meta_bytes is not None:
            meta = self.meta_bytes
        else:
            body = pack(self.metadata())
            meta = struct.pack(">I", len(body)) + body
        return meta + b"".join(c for _, c in self.files) + self.extra_plaintext

    def chunks(self, payload_key: bytes, plaintext: bytes) -> list[bytes]:
        c = self.chunk_size
        pts = [plaintext[i:i + c] for i in range(0, len(plaintext), c)] or [b""]
        flags = self.flags or [i == len(pts) - 1 for i in range(len(pts))]
        out = [_encrypt_batch(payload_key, [(i, f, pt)]) for i, (pt, f) in enumerate(zip(pts, flags))]
        return self.edit_chunks(out) if self.edit_chunks else out

    # -- the whole package ------------------------------------------------------------
    def build(self) -> "Built":
        self.k = FixedK(self.name)          # the same nonces however often it is built
        body = self.header_bytes if self.header_bytes is not None else pack(self.header_obj())
        prelude = prelude_of(body)
        payload_key = p.payload_key(self.file_key, SALT)
        plaintext = self.plaintext()
        payload = b"".join(self.chunks(payload_key, plaintext))
        digest = sm3.digest(payload)
        message = p.signed_message(prelude, digest)
        signature = self.signature if self.signature is not None else sign_raw(self.signer, message,
                                                                              self.k.next())
        return Built(prelude, payload, signature, plaintext, payload_key, message, self.k.used)


@dataclass
class Built:
    prelude: bytes
    payload: bytes
    signature: bytes
    plaintext: bytes
    payload_key: bytes
    signed_message: bytes
    k_used: list[int]

    @property
    def data(self) -> bytes:
        return self.prelude + self.payload + self.signature

    @property
    def package_digest(self) -> bytes:
        return p.package_digest(self.prelude, sm3.digest(self.payload), self.signature)


def receipt(name: str, *, signer: sm2.PrivateKey, fields: dict, signed_by: sm2.PrivateKey | None = None,
            body: bytes | None = None, magic: bytes = RECEIPT_MAGIC, length: int | None = None,
            signature: bytes | None = None) -> bytes:
    """A receipt: magic ‖ u16be len ‖ body ‖ r ‖ s, signed with a fixed k unless ``signature`` is given."""
    body = pack(fields) if body is None else body
    signed = magic + struct.pack(">H", len(body) if length is None else length) + body
    if signature is None:
        signature = sign_raw(signed_by or signer, p.LABEL_RECEIPT + signed, FixedK(name).next())
    return signed + signature


__all__ = ["SENDER", "TO", "CC", "INSIDER", "OUTSIDER", "TO_SIGNER", "CC2", "CC3", "KEYS", "NAME_OF",
           "BASE_TIME", "UNIT_OF", "unit_name", "FILE_KEY", "SALT", "PACKAGE_ID", "MAIN_TEXT", "TEXT_FIELDS", "FixedK", "wrap",
           "sign_raw", "metadata_obj", "prelude_of", "Spec", "Built", "receipt", "key"]
