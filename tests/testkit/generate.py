"""Generate the hostile-package testkit: ``python tests/testkit/generate.py``.

Each vector is a file in ``vectors/``:

    expect: <outcome>          one of kit.EXPECT
    comment: <what is wrong>
    key: to | cc               which recipient key opens it
    <empty line>
    <the package bytes, binary or armored>

The classes follow age's CCTV vectors (header, stanza, signature in place of
the header MAC, STREAM, armor) plus what a signed multi-recipient format
adds: re-addressing, signature stripping, insiders, unsafe names, policy.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from shangmi import sm2  # noqa: E402

from smseal.envelope import armor  # noqa: E402
from smseal.envelope.encoding import pack  # noqa: E402
from smseal.envelope.format import CHUNK_SIZE, ROLE_CC, ROLE_TO, Stanza  # noqa: E402
from tests.testkit.kit import (INSIDER_SIGNER, MAIN_TEXT, OUTSIDER, TO, assemble,  # noqa: E402
                         build, chunks, draft, edit_header, encrypt_chunk, metadata, prelude_of)

OUT = Path(__file__).resolve().parent / "vectors"
VECTORS: list[tuple[str, str, str, str, bytes]] = []
BIG = b"\xe6\x96\x87" * (CHUNK_SIZE // 3 + 1000)      # a little over one chunk of 文


def vector(name: str, expect: str, comment: str, data: bytes, key: str = "to") -> None:
    VECTORS.append((name, expect, comment, key, data))


def raw_header(d, **edits) -> dict:
    h = d.header
    obj = {"id": h.package_id, "time": h.sealed_at, "urgency": h.urgency, "sender": h.sender,
           "salt": h.salt, "commit": h.commitment,
           "recipients": [[s.role, s.key_id, s.wrapped] for s in h.recipients]}
    obj.update(edits)
    return obj


def signed_raw(d, obj: dict | bytes) -> bytes:
    """A package whose header body is ``obj`` (packed if a dict), signed by the sender."""
    body = pack(obj) if isinstance(obj, dict) else obj
    return assemble(prelude_of(body), chunks(d))


def stanza(k: sm2.PrivateKey, role: str, file_key: bytes = b"\x11" * 16) -> Stanza:
    return Stanza(role, k.public_key().key_id(), k.public_key().encrypt(file_key))


def main_vectors() -> None:
    d = draft()
    good = build(d)
    vector("success", "success", "a well-formed package, opened by the main recipient", good)
    vector("success_cc", "success", "the same package opened by the copy recipient", good, key="cc")
    vector("success_two_chunks", "success", "payload a little over one 64 KiB chunk",
           build(draft(files=(("长文.txt", BIG),))))
    exact = exact_chunk()
    assert len(exact.plaintext) == CHUNK_SIZE
    vector("success_exact_chunk", "success", "payload exactly one chunk: full final chunk", build(exact))
    vector("success_armor", "success", "armored package", armor.encode(good, armor.PACKAGE))
    vector("success_armor_crlf", "success", "armored with CRLF line endings (mail transport)",
           armor.encode(good, armor.PACKAGE).replace(b"\n", b"\r\n"))

    # --- header ---------------------------------------------------------------------
    pre = d.header.prelude()
    body = pre[12:]
    rest = good[len(pre):]
    vector("header_bad_magic", "malformed", "magic is not SMSEAL\\0", b"SMSEAK\x00\x01" + good[8:])
    vector("header_version_2", "malformed", "unsupported format version 2", good[:7] + b"\x02" + good[8:])
    vector("header_truncated_magic", "malformed", "file ends inside the magic", good[:5])
    vector("header_truncated", "malformed", "file ends inside the header", good[:len(pre) - 10])
    vector("header_length_too_big", "malformed", "header length field over the 64 KiB limit",
           good[:8] + struct.pack(">I", 1 << 20) + good[12:])
    vector("header_length_short", "malformed", "header length one byte short: msgpack truncated",
           good[:8] + struct.pack(">I", len(body) - 1) + good[12:])
    vector("header_not_msgpack", "malformed", "header body is not msgpack",
           signed_raw(d, b"\xc1" * 40))
    vector("header_not_map", "malformed", "header is an array, not a map",
           signed_raw(d, pack(list(raw_header(d).values()))))
    noncanon = body.replace(b"\xa4time\xce", b"\xa4time\xcf\x00\x00\x00\x00", 1)
    vector("header_noncanonical_int", "malformed", "time encoded as uint64 where uint32 suffices",
           signed_raw(d, noncanon))
    hdr = raw_header(d)
    vector("header_key_order", "malformed", "header fields out of order",
           signed_raw(d, dict(reversed(list(hdr.items())))))
    vector("header_extra_field", "malformed", "unknown extra header field",
           signed_raw(d, {**hdr, "note": "x"}))
    vector("header_missing_field", "malformed", "header without a salt",
           signed_raw(d, {k: v for k, v in hdr.items() if k != "salt"}))
    vector("header_duplicate_key", "malformed", "header map names 'urgency' twice",
           signed_raw(d, body[:1].replace(b"\x87", b"\x88") + body[1:] + pack("urgency") + pack("normal")))
    vector("header_id_as_str", "malformed", "package id is a str, not bin",
           signed_raw(d, raw_header(d, id="3" * 16)))
    vector("header_id_short", "malformed", "package id of 15 bytes", signed_raw(d, raw_header(d, id=b"3" * 15)))
    vector("header_bad_urgency", "malformed", "urgency 'flash' is not a known value",
           signed_raw(d, raw_header(d, urgency="flash")))
    vector("header_negative_time", "malformed", "negative sealing time", signed_raw(d, raw_header(d, time=-1)))
    vector("header_bool_time", "malformed", "time is true, not an integer", signed_raw(d, raw_header(d, time=True)))
    vector("header_sender_off_curve", "malformed", "sender key is not a curve point",
           signed_raw(d, raw_header(d, sender=b"\x04" + b"\x01" * 64)))
    vector("header_salt_short", "malformed", "31-byte salt", signed_raw(d, raw_header(d, salt=b"\x22" * 31)))
    vector("header_trailing_msgpack", "malformed", "extra msgpack value after the header map",
           signed_raw(d, body + b"\xc0"))

    # --- recipient stanzas -----------------------------------------------------------------
    stz = hdr["recipients"]
    vector("stanza_none", "malformed", "no recipients", signed_raw(d, raw_header(d, recipients=[])))
    vector("stanza_no_main", "malformed", "two copy recipients and no main recipient",
           signed_raw(d, raw_header(d, recipients=[["cc", *stz[0][1:]], stz[1]])))
    vector("stanza_two_main", "malformed", "two main recipients",
           signed_raw(d, raw_header(d, recipients=[stz[0], ["to", *stz[1][1:]]])))
    vector("stanza_main_not_first", "malformed", "main recipient after a copy recipient",
           signed_raw(d, raw_header(d, recipients=[["cc", *stz[1][1:]], ["to", *stz[0][1:]]])))
    vector("stanza_duplicate_key", "malformed", "two stanzas for the same key",
           signed_raw(d, raw_header(d, recipients=[stz[0], ["cc", *stz[0][1:]]])))
    vector("stanza_unknown_role", "malformed", "role 'bcc'",
           signed_raw(d, raw_header(d, recipients=[stz[0], ["bcc", *stz[1][1:]]])))
    vector("stanza_short_key_id", "malformed", "15-byte key id",
           signed_raw(d, raw_header(d, recipients=[[stz[0][0], stz[0][1][:15], stz[0][2]], stz[1]])))
    vector("stanza_four_items", "malformed", "stanza with an extra item",
           signed_raw(d, raw_header(d, recipients=[[*stz[0], b""], stz[1]])))
    vector("stanza_wrapped_too_long", "malformed", "wrapped key over the size limit",
           signed_raw(d, raw_header(d, recipients=[[stz[0][0], stz[0][1], b"\x30" * 300], stz[1]])))
    vector("stanza_too_many", "malformed", "257 recipients",
           signed_raw(d, raw_header(d, recipients=[stz[0]] + [["cc", bytes([i, j]) * 8, b"\x30"]
                                                           for i in range(2) for j in range(128)])))
    garbled = bytearray(stz[0][2])
    garbled[-1] ^= 1
    vector("stanza_wrapped_garbled", "decryption", "our wrapped key altered (SM2 C3 check), re-signed",
           signed_raw(d, raw_header(d, recipients=[[stz[0][0], stz[0][1], bytes(garbled)], stz[1]])))
    d_other = edit_header(d, recipients=(stanza(TO, ROLE_TO, b"\x44" * 16), d.header.recipients[1]))
    vector("stanza_wrong_file_key", "decryption", "our stanza wraps another file key: commitment fails",
           build(d_other))
    d_long = edit_header(d, recipients=(stanza(TO, ROLE_TO, b"\x11" * 32), d.header.recipients[1]))
    vector("stanza_file_key_32_bytes", "decryption", "wrapped file key has 32 bytes", build(d_long))
    d_misaddr = edit_header(d, recipients=(Stanza(ROLE_TO, TO.public_key().key_id(),
                                                  OUTSIDER.public_key().encrypt(b"\x11" * 16)),
                                           d.header.recipients[1]))
    vector("stanza_wrapped_for_other_key", "decryption", "stanza names our key but wraps for another",
           build(d_misaddr))
    d_notus = edit_header(d, recipients=(stanza(OUTSIDER, ROLE_TO), d.header.recipients[1]))
    vector("stanza_not_addressed", "no match", "package for the outsider and cc only", build(d_notus))

    # --- signature (the header MAC of age, but by the sender) -------------------------------
    vector("sig_zeroed", "signature", "signature bytes zero", good[:-64] + b"\x00" * 64)
    vector("sig_r_is_n", "signature", "r equal to the group order",
           good[:-64] + p_int(0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123) + good[-32:])
    vector("sig_stripped", "malformed", "signature removed, payload intact but shorter than a chunk tag+sig",
           good[:len(pre)] + rest[:10])
    vector("sig_stripped_keep_payload", "payload",
           "signature removed: the last 64 payload bytes are taken as the signature", good[:-64])
    vector("sig_by_outsider", "signature", "signed by an untrusted key, sender field unchanged",
           build(d, signer=OUTSIDER))
    vector("sig_outsider_as_sender", "untrusted", "outsider names itself as sender and signs",
           build(edit_header(d, sender=OUTSIDER.public_key().to_bytes()), signer=OUTSIDER))
    readdr = edit_header(d, recipients=(d.header.recipients[0], stanza(OUTSIDER, ROLE_CC)))
    vector("sig_readdressed_by_insider", "signature",
           "cc insider re-wraps the file key for an outsider, keeping the sender's signature",
           assemble(readdr.header.prelude(), chunks(d), signature=good[-64:]))
    vector("sig_insider_resigns", "untrusted",
           "cc insider re-signs a modified package as itself (not a trusted sender)",
           build(edit_header(d, sender=INSIDER_SIGNER.public_key().to_bytes()), signer=INSIDER_SIGNER))
    flipped = bytearray(good)
    flipped[len(pre) - 1] ^= 0x01
    vector("sig_header_byte_flipped", "signature", "last header byte (inside a wrapped key) flipped",
           bytes(flipped))
    vector("sig_urgency_changed", "signature", "urgency downgraded to normal after signing",
           assemble(edit_header(d, urgency="normal").header.prelude(), chunks(d), signature=good[-64:]))
    vector("sig_time_changed", "signature", "sealing time moved after signing",
           assemble(edit_header(d, sealed_at=1_900_000_000).header.prelude(), chunks(d),
                    signature=good[-64:]))
    forged = encrypt_chunk(d, 0, True, d.plaintext.replace("值班".encode(), "放假".encode()))
    vector("sig_insider_new_payload", "signature",
           "cc insider knows the file key and replaces the payload (valid GCM tags)",
           pre + forged + good[-64:])

    # --- STREAM ---------------------------------------------------------------------------
    dl = draft(files=(("长文.txt", BIG),))
    cl = chunks(dl)
    prel = dl.header.prelude()
    vector("stream_truncated_chunk_boundary", "payload", "last chunk removed, re-signed",
           assemble(prel, cl[:1]))
    vector("stream_truncated_unsigned", "payload", "package cut 100 bytes early",
           build(dl)[:-164] + build(dl)[-64:])
    vector("stream_reordered", "payload", "chunks swapped, re-signed", assemble(prel, [cl[1], cl[0]]))
    vector("stream_duplicated", "payload", "first chunk duplicated, re-signed",
           assemble(prel, [cl[0], cl[0], cl[1]]))
    vector("stream_appended_chunk", "payload", "a chunk appended after the final one, re-signed",
           assemble(prel, cl + [encrypt_chunk(dl, 2, True, b"extra")]))
    vector("stream_empty_final_chunk", "malformed", "full chunk then an empty final chunk, re-signed",
           assemble(exact.header.prelude(), [encrypt_chunk(exact, 0, False, exact.plaintext),
                                             encrypt_chunk(exact, 1, True, b"")]))
    vector("stream_no_last_flag", "payload", "no chunk carries the last flag, re-signed",
           assemble(prel, chunks(dl, flags=[False, False])))
    vector("stream_last_flag_early", "payload", "first chunk flagged last, re-signed",
           assemble(prel, chunks(dl, flags=[True, True])))
    vector("stream_trailing_bytes", "payload", "bytes appended after the signature", build(dl) + b"\x00")
    vector("stream_trailing_resigned", "payload", "bytes appended to the final chunk, re-signed",
           assemble(prel, [cl[0], cl[1] + b"\x00" * 5]))
    vector("stream_tag_flipped", "payload", "a bit of the first chunk's tag flipped",
           flip(build(dl), len(prel) + CHUNK_SIZE + 15))
    vector("stream_short_final", "malformed", "final chunk shorter than a tag",
           assemble(prel, cl[0][:0] + b"\x00" * 8))

    # --- inner plaintext: metadata and names (a rogue but trusted sender) -------------------
    def inner(meta_bytes: bytes, files=(("通知.txt", MAIN_TEXT),)) -> bytes:
        return build(draft(files=files, meta_bytes=meta_bytes))

    def named(*names: str) -> bytes:
        files = [(n, b"x") for n in names]
        meta = {"title": None, "doc_number": None, "label": None, "copy_number": None,
                "issuing_unit": None, "signer_name": None, "attachments_note": None,
                "date_written": None, "due": None, "remarks": None,
                "files": [[n, 1] for n in names]}
        body = pack(meta)
        return inner(struct.pack(">I", len(body)) + body, files)

    for name, label, bad in [("name_dotdot", "parent directory", "../escape.txt"),
                             ("name_absolute", "absolute path", "/etc/cron.d/x"),
                             ("name_backslash", "Windows separator", "..\\..\\x.txt"),
                             ("name_drive", "drive letter", "C:evil.txt"),
                             ("name_device_con", "reserved device name", "CON"),
                             ("name_device_ext", "reserved device name with extension", "nul.txt"),
                             ("name_device_com1", "reserved device name", "COM1.pdf"),
                             ("name_control_char", "newline in a name", "a\nb.txt"),
                             ("name_bidi", "right-to-left override", "report\u202etxt.exe"),
                             ("name_empty", "empty name", ""),
                             ("name_dot", "a lone dot", "."),
                             ("name_trailing_dot", "trailing dot", "a.txt.")]:
        vector(name, "malformed", f"file name: {label}", named("通知.txt", bad))
    vector("name_case_collision", "malformed", "two names that collide ignoring case",
           named("Report.txt", "report.TXT"))
    meta, _ = metadata()
    good_meta = meta.serialize()
    vector("meta_too_long", "malformed", "metadata length over 1 MiB", inner(struct.pack(">I", 2 << 20) + good_meta[4:]))
    vector("meta_not_canonical", "malformed", "metadata with a non-minimal str header",
           inner(struct.pack(">I", len(good_meta) - 3) + good_meta[4:].replace(b"\xa5title", b"\xd9\x05title", 1)))
    vector("meta_size_too_big", "malformed", "file list promises more bytes than the payload holds",
           build(draft(files=(("通知.txt", MAIN_TEXT[:-1]),),
                       meta_bytes=good_meta)))
    vector("meta_size_too_small", "malformed", "payload holds more bytes than the file list says",
           build(draft(files=(("通知.txt", MAIN_TEXT + b"!"),), meta_bytes=good_meta)))
    # Metadata.serialize() refuses nothing by label, so a rogue sender can write this.
    classified = replace(meta, label="机密★10年").serialize()
    vector("policy_classified_label", "policy", "a trusted sender sealed a 机密 document",
           inner(classified))

    # --- armor ---------------------------------------------------------------------------
    arm = armor.encode(good, armor.PACKAGE)
    lines = arm.split(b"\n")
    vector("armor_bad_char", "malformed", "a '*' inside the base64",
           arm.replace(lines[3], b"*" + lines[3][1:], 1))
    # Needs a package whose length is not a multiple of 3, so the last line has '=' padding.
    padded = next(b for b in (build(draft()) for _ in range(100)) if len(b) % 3)
    plines = armor.encode(padded, armor.PACKAGE).split(b"\n")
    vector("armor_noncanonical_padding", "malformed", "nonzero padding bits on the last line",
           b"\n".join(plines[:-3] + [noncanonical(plines[-3])] + plines[-2:]))
    vector("armor_short_middle_line", "malformed", "a 60-column line in the middle",
           arm.replace(lines[2] + b"\n" + lines[3], lines[2][:60] + b"\n" + lines[2][60:] + lines[3], 1))
    vector("armor_long_line", "malformed", "lines joined into one of 128 columns",
           arm.replace(lines[2] + b"\n", lines[2], 1))
    vector("armor_no_end", "malformed", "END line missing", b"\n".join(lines[:-2]) + b"\n")
    vector("armor_wrong_label", "malformed", "BEGIN SMSEAL RECEIPT on a package",
           arm.replace(b"PACKAGE", b"RECEIPT"))
    vector("armor_garbage_after_end", "malformed", "text after the END line", arm + b"PS: see attached\n")
    vector("armor_mixed_newlines", "malformed", "one CRLF among LF lines",
           arm.replace(lines[2] + b"\n", lines[2] + b"\r\n", 1))
    vector("armor_empty", "malformed", "BEGIN then END with nothing between",
           armor.begin(armor.PACKAGE) + b"\n" + armor.end(armor.PACKAGE) + b"\n")
    vector("armor_blank_line", "malformed", "a blank line after BEGIN", arm.replace(b"-----\n", b"-----\n\n", 1))
    vector("armor_whitespace_around", "success", "leading and trailing blank lines are tolerated",
           b"\n  \n" + arm + b"\n\n")


def exact_chunk():
    """A draft whose plaintext (metadata + file) is exactly one chunk."""
    size = CHUNK_SIZE
    while True:
        d = draft(files=(("a.bin", b"\x00" * size),))
        if len(d.plaintext) == CHUNK_SIZE:
            return d
        size -= len(d.plaintext) - CHUNK_SIZE


def p_int(v: int) -> bytes:
    return v.to_bytes(32, "big")


def flip(data: bytes, i: int) -> bytes:
    b = bytearray(data)
    b[i] ^= 1
    return bytes(b)


def noncanonical(line: bytes) -> bytes:
    """Set a padding bit in the last base64 quantum of ``line`` (which ends with '=')."""
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stripped = line.rstrip(b"=")
    pos = len(stripped) - 1
    ch = alphabet[(alphabet.index(stripped[pos]) | 1)]
    return stripped[:pos] + bytes([ch]) + line[len(stripped):]


def write_all() -> int:
    OUT.mkdir(exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    for name, expect, comment, key, data in VECTORS:
        head = f"expect: {expect}\ncomment: {comment}\nkey: {key}\n\n".encode()
        (OUT / name).write_bytes(head + data)
    return len(VECTORS)


if __name__ == "__main__":
    main_vectors()
    names = [v[0] for v in VECTORS]
    assert len(names) == len(set(names)), "vector names must be unique"
    print(f"wrote {write_all()} vectors to {OUT}")
