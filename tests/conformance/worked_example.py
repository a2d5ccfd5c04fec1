"""docs/FORMAT.md §13, the worked example, computed from its published inputs.

``python -m tests.conformance.worked_example`` prints the section;
tests/test_conformance.py checks that FORMAT.md holds exactly this text and
that the package it describes opens with the published keys.
"""

from __future__ import annotations

import struct

from shangmi import sm3
from smseal.envelope import primitives as p
from smseal.envelope.encoding import pack

from .craft import SENDER, TO, FixedK, Spec, metadata_obj, prelude_of, sign_raw, wrap

TIME = 1_800_000_000          # 2027-01-15T08:00:00Z
FILES = [("通知.txt", "值班安排见附件。\n".encode())]
K = FixedK("FORMAT.md worked example")
K_WRAP = K.next()
K_SIGN = K.next()


def _hex_lines(data: bytes, indent: str = "    ") -> list[str]:
    h = data.hex()
    return [indent + h[i:i + 64] for i in range(0, len(h), 64)] or [indent]


def build() -> tuple[bytes, list[str]]:
    """The package bytes and the lines of the §13 listing."""
    file_key, salt, pid = b"\x11" * 16, b"\x22" * 32, b"\x33" * 16
    to = TO.public_key()
    wrapped = wrap(to, file_key, K_WRAP)
    header = {"id": pid, "time": TIME, "urgency": "urgent", "sender": SENDER.public_key().to_bytes(),
              "salt": salt, "commit": p.commitment(file_key, salt),
              "recipients": [["to", to.key_id(), wrapped]]}
    body = pack(header)
    prelude = prelude_of(body)
    meta = pack(metadata_obj(FILES, recipients=[["to", to.key_id(), "to-unit", "000001", False]]))
    plaintext = struct.pack(">I", len(meta)) + meta + FILES[0][1]
    payload_key = p.payload_key(file_key, salt)
    spec = Spec("worked example", files=FILES)
    chunk = spec.chunks(payload_key, plaintext)[0]
    digest = sm3.digest(chunk)
    message = p.signed_message(prelude, digest)
    signature = sign_raw(SENDER, message, K_SIGN)
    package = prelude + chunk + signature

    out = [
        f"sender signing private key d {SENDER.private_bytes().hex()}",
        f"sender signing public key    {SENDER.public_key().to_bytes().hex()}",
        f"to encryption private key d  {TO.private_bytes().hex()}",
        f"to encryption public key     {to.to_bytes().hex()}",
        f"to key id                    {to.key_id().hex()}",
        f"file key                     {file_key.hex()}",
        f"salt                         {salt.hex()}",
        f"package id                   {pid.hex()}",
        f"time                         {TIME} (2027-01-15T08:00:00Z)",
        f"SM2 k for wrapping           {K_WRAP:064x}",
        f"SM2 k for signing            {K_SIGN:064x}",
        f"payload key                  {payload_key.hex()}",
        f"commitment                   {header['commit'].hex()}",
        "",
        "magic 'SMSEAL' 00 01:",
        *_hex_lines(prelude[:8]),
        f"u32be header length ({len(body)}):",
        *_hex_lines(prelude[8:12]),
        f"header (msgpack map, {len(header)} entries), field by field:",
        f"  {body[0]:02x} = fixmap({len(header)}):",
        *_hex_lines(body[:1]),
    ]
    for k, v in header.items():
        out += [f"  key '{k}':", *_hex_lines(pack(k)), "  value:", *_hex_lines(pack(v))]
    out += [
        f"wrapped file key (GM/T 0009 DER, {len(wrapped)} bytes, inside the stanza above):",
        *_hex_lines(wrapped),
        f"plaintext: u32be metadata length ({len(meta)}):",
        *_hex_lines(plaintext[:4]),
        "plaintext: metadata msgpack:",
        *_hex_lines(meta),
        f"plaintext: file {FILES[0][0]}:",
        *_hex_lines(FILES[0][1]),
        "chunk 0 nonce (counter 0, last):",
        *_hex_lines(p.chunk_nonce(0, True)),
        f"chunk 0: SM4-GCM ciphertext ‖ tag ({len(chunk)} bytes):",
        *_hex_lines(chunk),
        "SM3(payload):",
        *_hex_lines(digest),
        f"signed message M ({len(message)} bytes) = label 00 ‖ u32be len(prelude) ‖ prelude ‖ SM3(payload):",
        *_hex_lines(message[:len(p.LABEL_SIGNATURE) + 4]),
        "    … prelude … SM3(payload)",
        "signature r ‖ s:",
        *_hex_lines(signature),
        "package digest:",
        *_hex_lines(p.package_digest(prelude, digest, signature)),
        f"total {len(package)} bytes",
    ]
    return package, out


def section() -> str:
    """The listing of FORMAT.md §13, between its ``` fences."""
    return "\n".join(build()[1])


if __name__ == "__main__":
    print(section())
