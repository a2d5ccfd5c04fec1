"""Generate the conformance vectors: ``python -m tests.conformance.generate [out_dir]``.

Deterministic: fixed keys, fixed file key, salt and package id, and SM2
nonces derived from each vector's name (``craft.FixedK``).  Running it
twice gives the same bytes; tests/test_conformance.py checks that the
committed vectors are exactly what this writes.

Every vector breaks exactly one rule of docs/FORMAT.md (or follows all of
them), so its expected outcome does not depend on the order in which a
reader checks things.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Callable

from shangmi import sm2, sm3
from smseal.envelope import armor
from smseal.envelope import primitives as p
from smseal.envelope.encoding import pack
from smseal.envelope.format import CHUNK_SIZE, MAX_TIME, TAG_SIZE
from smseal.envelope.receipt import RECEIPT_MAGIC

from .craft import (BASE_TIME, CC, CC2, CC3, INSIDER, MAIN_TEXT, N, OUTSIDER, PACKAGE_ID, SENDER,
                    TEXT_FIELDS, TO, TO_SIGNER, Built, Spec, metadata_obj, receipt, sign_raw)
from .vectorfile import TrustedKey, TrustedLeader, Vector

OUT = Path(__file__).resolve().parent / "vectors"
FOREVER = (0, MAX_TIME)


def trusted(unit: str, k: sm2.PrivateKey, start: int = 0, end: int = MAX_TIME) -> TrustedKey:
    return TrustedKey(unit, start, end, k.public_key().to_pem())


SENDER_TRUST = [trusted("sender", SENDER)]


class Kit:
    def __init__(self) -> None:
        self.vectors: list[Vector] = []

    def add(self, v: Vector) -> None:
        assert v.name not in {x.name for x in self.vectors}, v.name
        self.vectors.append(v)

    def package(self, name: str, comment: str, expect: str, spec: Spec | bytes, *,
                keys: tuple[sm2.PrivateKey, ...] = (TO,), trust: list[TrustedKey] | None = None,
                transform: Callable[[bytes], bytes] | None = None, approval: str | None = None,
                leaders: list[TrustedLeader] = (), stanzas: list[tuple[str, str, str]] = ()) -> Built | None:
        built = None
        if isinstance(spec, Spec):
            built = spec.build()
            data = built.data
        else:
            data = spec
        if transform:
            data = transform(data)
        files = []
        if expect == "open: ok":
            assert isinstance(spec, Spec)
            files = [(len(c), sm3.digest(c).hex(), n) for n, c in spec.files]
        names = {id(v): n for n, v in (("to", TO), ("cc", CC), ("cc2", CC2), ("cc3", CC3),
                                       ("outsider", OUTSIDER))}
        self.add(Vector(name=name, comment=comment, input="package", expect=expect, data=data, files=files,
                        trusted=SENDER_TRUST if trust is None else trust,
                        decryption_keys=[(names[id(k)], k.to_pem()) for k in keys],
                        approval=approval, leaders=list(leaders), stanzas=list(stanzas)))
        return built


def ok(kit: Kit, name: str, comment: str, spec: Spec, **kw) -> Built:
    built = kit.package(name, comment, "open: ok", spec, **kw)
    assert built is not None
    return built


def refuse(kit: Kit, cls: str, name: str, comment: str, spec: Spec | bytes, **kw) -> None:
    kit.package(name, comment, f"refuse: {cls}", spec, **kw)


def S(name: str, **kw) -> Spec:   # noqa: N802  (a short constructor reads better in the tables below)
    return Spec(name, **kw)


# --- successes and boundaries ------------------------------------------------------------------

def successes(kit: Kit) -> None:
    ok(kit, "ok_basic", "a well-formed package (1 to + 1 cc), opened by the main recipient", S("ok_basic"))
    ok(kit, "ok_cc", "the copy recipient opens its own package", S("ok_cc"), keys=(CC,))
    ok(kit, "ok_three_cc", "1 to + 3 cc, opened by the third copy recipient",
       S("ok_three_cc", recipients=[("to", TO), ("cc", CC), ("cc", CC2), ("cc", CC3)]), keys=(CC3,))
    ok(kit, "ok_two_keys_held", "the reader holds an unaddressed key and the addressed one",
       S("ok_two_keys_held"), keys=(OUTSIDER, TO))
    ok(kit, "ok_only_main", "a single recipient (to only)", S("ok_only_main", recipients=[("to", TO)]))
    many = [("to", TO)] + [("cc", _k(f"cc{i}")) for i in range(254)] + [("cc", CC)]
    ok(kit, "ok_256_recipients", "256 recipients (the limit); the last stanza is ours",
       S("ok_256_recipients", recipients=many), keys=(CC,))
    for urg in ("normal", "extra-urgent"):
        ok(kit, f"ok_urgency_{urg.replace('-', '_')}", f"urgency {urg}",
           S(f"ok_urgency_{urg}", header={"urgency": urg}))
    ok(kit, "ok_time_zero", "sealing time 0 (1970-01-01T00:00:00Z)", S("ok_time_zero", header={"time": 0}))
    ok(kit, "ok_time_max", "sealing time 253402300799 (9999-12-31T23:59:59Z), the bound",
       S("ok_time_max", header={"time": MAX_TIME}))

    # empty files anywhere (§6.1)
    for label, files in (("first", [("a.txt", b""), ("b.txt", b"B" * 100), ("c.txt", b"C")]),
                         ("middle", [("a.txt", b"A" * 100), ("b.txt", b""), ("c.txt", b"C")]),
                         ("last", [("a.txt", b"A" * 100), ("b.txt", b"B"), ("c.txt", b"")]),
                         ("all", [("a.txt", b""), ("b.txt", b"")]),
                         ("only", [("a.txt", b"")]),
                         ("many", [("a.txt", b""), ("b.txt", b""), ("c.txt", b"C"), ("d.txt", b""),
                                   ("e.txt", b"")])):
        ok(kit, f"ok_empty_file_{label}", f"empty files: {label}", S(f"ok_empty_file_{label}", files=files))

    # chunking (§6): exact multiples carry the last flag on the last full chunk
    for label, size, n in (("exact_one_chunk", CHUNK_SIZE, 1), ("exact_two_chunks", 2 * CHUNK_SIZE, 2),
                           ("one_chunk_plus_one", CHUNK_SIZE + 1, 2),
                           ("one_chunk_minus_one", CHUNK_SIZE - 1, 1),
                           ("257_chunks", 256 * CHUNK_SIZE + 1, 257)):
        spec = S(f"ok_{label}", files=[("a.bin", sized_content(size))])
        assert len(spec.plaintext()) == size
        ok(kit, f"ok_{label}", f"payload plaintext of {size} bytes: {n} chunk(s), the last flagged", spec)

    # names and limits (§6.3)
    ok(kit, "ok_name_255_bytes", "a file name of exactly 255 UTF-8 bytes",
       S("ok_name_255_bytes", files=[("文" * 84 + "a.txt"[:3], b"x")]))
    ok(kit, "ok_names_device_lookalikes", "COM0, x.CON, full-width ＣＯＮ, CONX are not device names",
       S("ok_names_device_lookalikes", files=[("COM0.txt", b"1"), ("x.CON", b"2"), ("ＣＯＮ.txt", b"3"),
                                              ("CONX", b"4"), ("coNıN$.txt", b"5")]))
    ok(kit, "ok_names_unicode", "names in CJK, with emoji, a dot inside, spaces inside",
       S("ok_names_unicode", files=[("关于 2027 年.工作.docx", b"1"), ("附件①📎.pdf", b"2"), (".hidden", b"3")]))
    ok(kit, "ok_1000_files", "1000 files (the limit)",
       S("ok_1000_files", files=[(f"{i:04d}.txt", bytes([i % 256])) for i in range(1000)]))
    ok(kit, "ok_text_65536_bytes", "a title of exactly 65 536 UTF-8 bytes",
       S("ok_text_65536_bytes", meta={"title": "文" * 21845 + "a"}))
    big_meta = {f: "字" * 21845 + "a" for f in TEXT_FIELDS} | {"remarks": "注" * 21845 + "a",
                                                            "date_written": "2027-01-01", "due": "2027-02-28"}
    ok(kit, "ok_largest_metadata", "every text at 65 536 bytes and 1000 names of 255 bytes",
       S("ok_largest_metadata", meta=big_meta,
         files=[(f"{i:04d}" + "文" * 82 + "a.t.t", b"") for i in range(1000)]))
    ok(kit, "ok_all_metadata", "every metadata field filled",
       S("ok_all_metadata", meta={"issuing_unit": "赤峰市人民政府办公室",
                                  "signer_name": "王五", "attachments_note": "1. 名单　2. 排班表",
                                  "date_written": "2027-01-10", "due": "2028-02-29",
                                  "remarks": "联系人：张三，电话 0476-1234567 ★"}))
    ok(kit, "ok_text_allowed_characters", "private use, unassigned code points, ideographic variation "
       "sequences and supplementary ideographs are allowed in texts",
       S("ok_text_allowed_characters", meta={"signer_name": "王\U00020000\U000E0100",
                                             "remarks": "\ue000\U0002EBF0\u3000①"}))
    ok(kit, "ok_label_work_secret", "工作秘密 is not a state secret",
       S("ok_label_work_secret", meta={"label": "工作秘密"}))
    ok(kit, "ok_label_commercial_secret", "商业秘密 is not a state secret",
       S("ok_label_commercial_secret", meta={"label": "商业秘密"}))
    ok(kit, "ok_label_nil", "no label", S("ok_label_nil", meta={"label": None, "title": None,
                                                                  "doc_number": None}))
    ok(kit, "ok_date_extremes", "dates 0001-01-01 and 9999-12-31",
       S("ok_date_extremes", meta={"date_written": "0001-01-01", "due": "9999-12-31"}))
    ok(kit, "ok_recipients_unnamed", "a recipient list without unit names or copy numbers (§6.5)",
       S("ok_recipients_unnamed", meta={"recipients": [["to", TO.public_key().key_id(), None, None, False],
                                                         ["cc", CC.public_key().key_id(), None, None, False]]}))


def sized_content(plaintext_size: int) -> bytes:
    """File content that makes the basic one-file plaintext exactly ``plaintext_size`` bytes."""
    n = plaintext_size
    while True:
        content = (bytes(range(256)) * (n // 256 + 1))[:max(n, 0)]
        got = len(S("x", files=[("a.bin", content)]).plaintext())
        if got == plaintext_size:
            return content
        n -= got - plaintext_size


def _k(label: str) -> sm2.PrivateKey:
    from .craft import key
    return key(f"conformance filler recipient {label}")


# --- the clear header (§2, §3, §4) ------------------------------------------------------------

def header_obj(name: str, **edits) -> dict:
    obj = S(name).header_obj()
    obj.update(edits)
    return obj


def signed_header(name: str, body: bytes | dict, **kw) -> Spec:
    """A package whose header body is ``body``, signed by the trusted sender."""
    return S(name, header_bytes=pack(body) if isinstance(body, dict) else body, **kw)


def headers(kit: Kit) -> None:
    good = S("ok_basic").build().data
    pre_len = len(S("ok_basic").build().prelude)
    body = S("hdr").build().prelude[12:]
    h = header_obj("hdr")

    def hv(name: str, comment: str, spec: Spec | bytes) -> None:
        refuse(kit, "header", name, comment, spec)

    hv("header_bad_magic", "magic is not SMSEAL 00", b"SMSEAK\x00\x01" + good[8:])
    hv("header_version_0", "format version 0", good[:7] + b"\x00" + good[8:])
    hv("header_version_2", "format version 2 (a reader names the version it found)", good[:7] + b"\x02" + good[8:])
    hv("header_empty_input", "zero bytes", b"")
    hv("header_truncated_magic", "the input ends inside the magic", good[:5])
    hv("header_truncated_length", "the input ends inside the header length", good[:10])
    hv("header_truncated", "the input ends inside the header", good[:pre_len - 10])
    hv("header_length_65537", "header length 65 537, over the limit",
       good[:8] + struct.pack(">I", 65537) + good[12:])
    hv("header_length_short", "header length one byte short: msgpack truncated",
       good[:8] + struct.pack(">I", len(body) - 1) + good[12:])
    hv("header_not_msgpack", "header body is not msgpack", signed_header("header_not_msgpack", b"\xc1" * 40))
    hv("header_not_map", "header is an array", signed_header("header_not_map", pack(list(h.values()))))
    hv("header_noncanonical_int", "time as uint64 where uint32 suffices",
       signed_header("header_noncanonical_int", body.replace(b"\xa4time\xce", b"\xa4time\xcf\x00\x00\x00\x00", 1)))
    hv("header_noncanonical_str", "urgency as str8 where fixstr suffices",
       signed_header("header_noncanonical_str", body.replace(b"\xa6urgent", b"\xd9\x06urgent", 1)))
    hv("header_noncanonical_map", "the header map as map16 where fixmap suffices",
       signed_header("header_noncanonical_map", b"\xde\x00\x07" + body[1:]))
    hv("header_key_order", "header fields out of order",
       signed_header("header_key_order", dict(reversed(list(h.items())))))
    hv("header_extra_field", "an unknown eighth field", signed_header("header_extra_field", {**h, "note": "x"}))
    hv("header_missing_field", "no salt", signed_header("header_missing_field",
                                                          {k: v for k, v in h.items() if k != "salt"}))
    hv("header_duplicate_key", "'urgency' twice",
       signed_header("header_duplicate_key", b"\x88" + body[1:] + pack("urgency") + pack("normal")))
    hv("header_trailing_msgpack", "a nil after the header map", signed_header("header_trailing_msgpack", body + b"\xc0"))
    hv("header_id_as_str", "package id as str", signed_header("header_id_as_str", {**h, "id": "3" * 16}))
    hv("header_id_15_bytes", "package id of 15 bytes", signed_header("header_id_15_bytes", {**h, "id": b"3" * 15}))
    hv("header_bad_urgency", "urgency 'flash'", signed_header("header_bad_urgency", {**h, "urgency": "flash"}))
    hv("header_urgency_case", "urgency 'Urgent'", signed_header("header_urgency_case", {**h, "urgency": "Urgent"}))
    hv("header_negative_time", "time -1", signed_header("header_negative_time", {**h, "time": -1}))
    hv("header_bool_time", "time true", signed_header("header_bool_time", {**h, "time": True}))
    hv("header_time_after_9999", "time 253402300800, one second after 9999-12-31T23:59:59Z",
       signed_header("header_time_after_9999", {**h, "time": MAX_TIME + 1}))
    hv("header_time_2_40", "time 2^40 - 1", signed_header("header_time_2_40", {**h, "time": (1 << 40) - 1}))
    hv("header_float_time", "time as a float64",
       signed_header("header_float_time", body.replace(b"\xa4time\xce" + struct.pack(">I", BASE_TIME),
                                                       b"\xa4time\xcb" + struct.pack(">d", BASE_TIME), 1)))
    hv("header_ext_type", "time as a msgpack timestamp extension",
       signed_header("header_ext_type", body.replace(b"\xa4time\xce" + struct.pack(">I", BASE_TIME),
                                                     b"\xa4time\xd6\xff" + struct.pack(">I", BASE_TIME), 1)))
    hv("header_sender_off_curve", "sender key not on the curve",
       signed_header("header_sender_off_curve", {**h, "sender": b"\x04" + b"\x01" * 64}))
    hv("header_sender_compressed", "sender key in compressed form (33 bytes)",
       signed_header("header_sender_compressed", {**h, "sender": SENDER.public_key().to_bytes(compressed=True)}))
    hv("header_salt_31_bytes", "31-byte salt", signed_header("header_salt_31_bytes", {**h, "salt": b"\x22" * 31}))
    hv("header_commit_as_str", "commitment as str",
       signed_header("header_commit_as_str", {**h, "commit": "c" * 32}))
    for label, raw in (("overlong", b"\xc0\xae"), ("surrogate", b"\xed\xa0\x80"), ("truncated", b"\xe6\x96"),
                       ("byte_ff", b"\xff"), ("above_10ffff", b"\xf4\x90\x80\x80")):
        bad = b"\xa6urgent"
        repl = bytes([0xa0 | (6 + len(raw))]) + b"urgent" + raw
        hv(f"header_utf8_{label}", f"ill-formed UTF-8 ({label}) in a header str",
           signed_header(f"header_utf8_{label}", body.replace(bad, repl, 1)))

    st = h["recipients"]
    hv("stanza_none", "no recipients", signed_header("stanza_none", {**h, "recipients": []}))
    hv("stanza_no_main", "two cc and no to",
       signed_header("stanza_no_main", {**h, "recipients": [["cc", *st[0][1:]], st[1]]}))
    hv("stanza_two_main", "two to", signed_header("stanza_two_main", {**h, "recipients": [st[0], ["to", *st[1][1:]]]}))
    hv("stanza_main_not_first", "to after cc",
       signed_header("stanza_main_not_first", {**h, "recipients": [["cc", *st[1][1:]], ["to", *st[0][1:]]]}))
    hv("stanza_duplicate_key_id", "two stanzas name the same key",
       signed_header("stanza_duplicate_key_id", {**h, "recipients": [st[0], ["cc", *st[0][1:]]]}))
    hv("stanza_unknown_role", "role 'bcc'", signed_header("stanza_unknown_role", {**h, "recipients": [st[0], ["bcc", *st[1][1:]]]}))
    hv("stanza_key_id_15", "15-byte key id",
       signed_header("stanza_key_id_15", {**h, "recipients": [[st[0][0], st[0][1][:15], st[0][2]], st[1]]}))
    hv("stanza_four_items", "a stanza with four items",
       signed_header("stanza_four_items", {**h, "recipients": [[*st[0], b""], st[1]]}))
    hv("stanza_as_map", "a stanza as a map",
       signed_header("stanza_as_map", {**h, "recipients": [{"role": "to"}, st[1]]}))
    hv("stanza_wrapped_161", "wrapped key of 161 bytes",
       signed_header("stanza_wrapped_161", {**h, "recipients": [st[0], [st[1][0], st[1][1], b"\x30" * 161]]}))
    hv("stanza_wrapped_empty", "wrapped key of 0 bytes",
       signed_header("stanza_wrapped_empty", {**h, "recipients": [st[0], [st[1][0], st[1][1], b""]]}))
    hv("stanza_257", "257 recipients",
       signed_header("stanza_257", {**h, "recipients": [st[0]] + [["cc", bytes([i, j]) * 8, b"\x30"]
                                                                 for i in range(2) for j in range(128)]}))


# --- recipient stanzas that do not yield the file key (§4) -------------------------------------

def stanzas(kit: Kit) -> None:
    def nm(name: str, comment: str, spec: Spec, **kw) -> None:
        refuse(kit, "no-match", name, comment, spec, **kw)

    nm("nomatch_not_addressed", "addressed to the outsider (to) and cc only",
       S("nomatch_not_addressed", recipients=[("to", OUTSIDER), ("cc", CC)]))
    base = S("nomatch_garbled").header_obj()["recipients"][0][2]
    garbled = base[:-1] + bytes([base[-1] ^ 1])
    nm("nomatch_wrapped_garbled", "our wrapped key altered (the SM2 C3 check fails)",
       S("nomatch_wrapped_garbled", wrapped_override={0: garbled}))
    nm("nomatch_wrapped_not_der", "our wrapped key is not GM/T 0009 DER",
       S("nomatch_wrapped_not_der", wrapped_override={0: b"\x04" + b"\x01" * 100}))
    from .craft import FixedK, wrap
    nm("nomatch_wrong_file_key", "our stanza wraps another file key: the commitment does not match",
       S("nomatch_wrong_file_key", wrapped_override={0: wrap(TO.public_key(), b"\x44" * 16, FixedK("wk").next())}))
    nm("nomatch_file_key_32_bytes", "our stanza wraps a 32-byte file key",
       S("nomatch_file_key_32_bytes", wrapped_override={0: wrap(TO.public_key(), b"\x11" * 32, FixedK("wk").next())}))
    nm("nomatch_file_key_15_bytes", "our stanza wraps a 15-byte file key",
       S("nomatch_file_key_15_bytes", wrapped_override={0: wrap(TO.public_key(), b"\x11" * 15, FixedK("wk").next())}))
    nm("nomatch_wrapped_for_other_key", "the stanza names our key but wraps for the outsider's",
       S("nomatch_wrapped_for_other_key",
         wrapped_override={0: wrap(OUTSIDER.public_key(), b"\x11" * 16, FixedK("wk").next())}))


# --- the sender's signature and trust (§7) -----------------------------------------------------

def signatures(kit: Kit) -> None:
    good = S("ok_basic").build()

    def sv(name: str, comment: str, spec: Spec | bytes, **kw) -> None:
        refuse(kit, "signature", name, comment, spec, **kw)

    def trailer(r: int, s: int) -> bytes:
        return good.prelude + good.payload + r.to_bytes(32, "big") + s.to_bytes(32, "big")

    r0 = int.from_bytes(good.signature[:32], "big")
    s0 = int.from_bytes(good.signature[32:], "big")
    sv("sig_zero", "r = s = 0", trailer(0, 0))
    sv("sig_r_zero", "r = 0", trailer(0, s0))
    sv("sig_s_zero", "s = 0", trailer(r0, 0))
    sv("sig_r_is_n", "r = n", trailer(N, s0))
    sv("sig_s_is_n", "s = n", trailer(r0, N))
    sv("sig_r_n_plus_1", "r = n + 1 (out of range, though 1 mod n)", trailer(N + 1, s0))
    sv("sig_s_max", "s = 2^256 - 1", trailer(r0, (1 << 256) - 1))
    sv("sig_s_negated", "s replaced by n - s", trailer(r0, N - s0))
    sv("sig_bit_flipped", "one bit of s flipped", good.data[:-1] + bytes([good.data[-1] ^ 1]))
    sv("sig_by_outsider", "signed by the outsider; sender field unchanged", S("sig_by_outsider", signer=OUTSIDER))
    sv("sig_other_uid", "signed with signer ID 'smseal' instead of 1234567812345678",
       good.prelude + good.payload + _sign_uid(good.signed_message))
    sv("sig_untrusted_sender", "the outsider names itself as sender and signs: not trusted",
       S("sig_untrusted_sender", header={"sender": OUTSIDER.public_key().to_bytes()}, signer=OUTSIDER))
    sv("sig_insider_resigns", "the cc unit re-signs a changed package as itself: not a trusted sender",
       S("sig_insider_resigns", header={"sender": INSIDER.public_key().to_bytes()}, signer=INSIDER))
    readdr = S("sig_readdressed", recipients=[("to", TO), ("cc", OUTSIDER)], signature=good.signature)
    sv("sig_readdressed", "a cc insider re-wraps the file key for an outsider, keeping the signature", readdr)
    flipped = bytearray(good.data)
    flipped[len(good.prelude) - 1] ^= 1
    sv("sig_header_byte_flipped", "the last header byte (inside a wrapped key) flipped", bytes(flipped))
    sv("sig_urgency_changed", "urgency downgraded after signing",
       S("sig_urgency_changed", header={"urgency": "normal"}, signature=good.signature))
    sv("sig_time_changed", "sealing time moved after signing",
       S("sig_time_changed", header={"time": BASE_TIME + 86400}, signature=good.signature))
    forged = S("sig_insider_new_payload", files=[("通知.txt", MAIN_TEXT.replace("值班".encode(), "放假".encode()))],
               signature=good.signature)
    sv("sig_insider_new_payload", "a recipient who knows the file key replaces the payload (tags valid)", forged)
    sv("sig_package_before_key", "sealed before the sender's key became valid (a package older than the key)",
       S("sig_package_before_key"), trust=[trusted("sender", SENDER, BASE_TIME + 1, MAX_TIME)])
    sv("sig_package_after_key", "sealed after the sender's key expired",
       S("sig_package_after_key"), trust=[trusted("sender", SENDER, 0, BASE_TIME - 1)])
    sv("sig_no_trusted_keys", "the reader trusts no one", S("sig_no_trusted_keys"), trust=[])


def _sign_uid(message: bytes) -> bytes:
    from .craft import FixedK
    r, s = sm2._pure().sign_digest(SENDER._d, SENDER.public_key().message_digest(message, b"smseal"),
                                   k=FixedK("sig_other_uid").next())
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


# --- STREAM (§6) -------------------------------------------------------------------------------

def streams(kit: Kit) -> None:
    two = [("长文.txt", b"\xe6\x96\x87" * (CHUNK_SIZE // 3 + 1000))]
    exact = [("a.bin", sized_content(CHUNK_SIZE))]
    good = S("s", files=two).build()

    def pv(name: str, comment: str, spec: Spec | bytes, **kw) -> None:
        refuse(kit, "payload", name, comment, spec, **kw)

    pv("stream_truncated_at_boundary", "the last chunk removed, re-signed",
       S("stream_truncated_at_boundary", files=two, edit_chunks=lambda c: c[:1]))
    pv("stream_truncated_unsigned", "the package cut 100 bytes before the signature",
       good.data[:-164] + good.data[-64:])
    pv("stream_reordered", "chunks swapped, re-signed", S("stream_reordered", files=two, edit_chunks=lambda c: c[::-1]))
    pv("stream_duplicated", "the first chunk duplicated, re-signed",
       S("stream_duplicated", files=two, edit_chunks=lambda c: [c[0], c[0], c[1]]))
    pv("stream_appended_chunk", "a flagged chunk appended after the last one, re-signed",
       S("stream_appended_chunk", files=two, extra_plaintext=b"", edit_chunks=lambda c: c + [c[-1]]))
    pv("stream_empty_final_chunk", "an exact-multiple payload followed by an empty flagged chunk, re-signed",
       S("stream_empty_final_chunk", files=exact, flags=[False], edit_chunks=_append_empty_final))
    pv("stream_exact_multiple_unflagged", "an exact-multiple payload whose only chunk lacks the last flag",
       S("stream_exact_multiple_unflagged", files=exact, flags=[False]))
    pv("stream_no_last_flag", "no chunk flagged last, re-signed", S("stream_no_last_flag", files=two, flags=[False, False]))
    pv("stream_last_flag_early", "the first chunk flagged last too, re-signed",
       S("stream_last_flag_early", files=two, flags=[True, True]))
    pv("stream_trailing_byte", "a byte appended after the signature", good.data + b"\x00")
    pv("stream_trailing_resigned", "five bytes appended to the last chunk, re-signed",
       S("stream_trailing_resigned", files=two, edit_chunks=lambda c: [c[0], c[1] + b"\x00" * 5]))
    pv("stream_tag_flipped", "a bit of the first chunk's tag flipped, re-signed",
       S("stream_tag_flipped", files=two, edit_chunks=lambda c: [_flip(c[0], CHUNK_SIZE + 15), c[1]]))
    pv("stream_ciphertext_flipped", "a bit of the first ciphertext byte flipped, re-signed",
       S("stream_ciphertext_flipped", edit_chunks=lambda c: [_flip(c[0], 0)]))
    pv("stream_final_shorter_than_tag", "the payload is 8 bytes, shorter than a tag, re-signed",
       S("stream_final_shorter_than_tag", edit_chunks=lambda c: [b"\x00" * 8]))
    pv("stream_no_payload", "prelude and signature only, re-signed",
       S("stream_no_payload", edit_chunks=lambda c: []))
    pv("stream_signature_missing", "the signature removed: its 64 bytes are taken from the payload",
       good.data[:-64])
    pv("stream_only_prelude_and_10_bytes", "the input ends 10 bytes after the prelude",
       good.prelude + good.payload[:10])
    pv("stream_other_payload_key", "chunks encrypted under another key, re-signed",
       S("stream_other_payload_key", edit_chunks=lambda c: [_reencrypt(c, b"\x55" * 16)]))


def _append_empty_final(chunks: list[bytes]) -> list[bytes]:
    from smseal.envelope.stream import _encrypt_batch
    key = p.payload_key(b"\x11" * 16, b"\x22" * 32)
    return chunks + [_encrypt_batch(key, [(len(chunks), True, b"")])]


def _reencrypt(chunks: list[bytes], key: bytes) -> bytes:
    from smseal.envelope.stream import _encrypt_batch
    pt = S("x").plaintext()
    return _encrypt_batch(key, [(0, True, pt)])


def _flip(data: bytes, i: int) -> bytes:
    b = bytearray(data)
    b[i] ^= 1
    return bytes(b)


# --- inside the payload: metadata, texts, names (§6.1-§6.3), policy (§6.4) ------------------------

def _meta_bytes(obj: dict) -> bytes:
    body = pack(obj)
    return struct.pack(">I", len(body)) + body


LEADER = _k("leader 张三")
LEADER_TRUST = [TrustedLeader("sender", 0, MAX_TIME, "张三", LEADER.public_key().to_pem())]
WORKFLOW = {"doc_type": "请示", "reply_by": "2027-08-20",
            "reply_to": {"package_id": b"\x33" * 16, "package_digest": b"\x44" * 32}}


def approve(name: str, meta: dict, files, *, urgency: str = "urgent", time: int = BASE_TIME,
            leader: sm2.PrivateKey = LEADER) -> dict:
    """The §6.5 approval map of ``meta`` (approval nil) and ``files``, signed with a fixed k."""
    from .craft import FixedK
    from smseal.envelope.workflow import approval_message

    a = {"leader": "张三", "key": leader.public_key().to_bytes(), "time": time, "urgency": urgency,
         "files": [sm3.digest(c) for _n, c in files]}
    a["signature"] = sign_raw(leader, approval_message(sm3.digest(pack({**meta, "approval": None})), a),
                              FixedK(name + " approval").next())
    return a


def approved(name: str, **kw) -> Spec:
    """A spec whose metadata carries the workflow fields and an approval of exactly it."""
    spec = S(name, **kw)
    spec.meta = dict(WORKFLOW)
    spec.meta["approval"] = approve(name, spec.metadata(), spec.files, urgency=spec.header.get("urgency", "urgent"))
    return spec


def _workflow_meta(name: str) -> dict:
    """§6.5 fields with an approval that verifies for the basic spec's recipients."""
    return approved(name).metadata()


def directory_of(spec: Spec) -> list[tuple[str, str, str]]:
    """``stanza`` lines: the unit the reader's directory knows for each recipient key."""
    from .craft import unit_name
    return [(role, k.public_key().key_id().hex(), unit_name(k)) for role, k in spec.recipients]


def approvals(kit: Kit) -> None:
    """签发 (§6.5): the approval covers the files, the metadata with the recipient list and the urgency."""
    def av(name: str, comment: str, verdict: str, spec: Spec, *, leaders=LEADER_TRUST, stanzas=None, **kw) -> None:
        ok(kit, name, comment, spec, approval=verdict, leaders=leaders,
           stanzas=directory_of(spec) if stanzas is None else stanzas, **kw)

    av("ok_workflow_fields", "文种, reply deadline, reply link and a leader's approval that verifies (§6.5)",
       "verified", approved("ok_workflow_fields"))
    three = [("to", TO), ("cc", CC), ("cc", CC2)]
    av("approval_ok_three_recipients", "an approval of 1 to + 2 cc, opened by the last copy recipient",
       "verified", approved("approval_ok_three_recipients", recipients=three), keys=(CC2,))
    av("approval_ok_dated_skew_boundary", "approved 600 s after the sealing time (the allowed skew)", "verified",
       _reapproved("approval_ok_dated_skew_boundary", time=BASE_TIME + 600))

    # the recipient list changed after 签发 (the sender re-sealed; its own signature is good)
    spec = approved("approval_cc_added")
    spec.recipients = three
    spec.meta = {**spec.meta}
    av("approval_cc_added", "a copy recipient added after the leader approved 1 to + 1 cc", "invalid", spec)
    spec = approved("approval_cc_removed", recipients=three)
    spec.recipients = three[:2]
    av("approval_cc_removed", "a copy recipient dropped after the leader approved 1 to + 2 cc", "invalid", spec)
    spec = approved("approval_main_swapped")
    spec.recipients = [("to", CC), ("cc", TO)]
    av("approval_main_swapped", "主送 and 抄送 swapped after the leader approved them", "invalid", spec)
    spec = approved("approval_cc_replaced")
    spec.recipients = [("to", TO), ("cc", CC2)]
    av("approval_cc_replaced", "the copy recipient replaced by another unit after 签发", "invalid", spec)
    av("approval_recipient_renamed", "the copy recipient's name changed in the metadata after 签发", "invalid",
       _edited_after("approval_recipient_renamed", 1, 2, "cc2-unit"))
    av("approval_reply_assigned_after", "a reply demanded of the copy recipient after 签发", "invalid",
       _edited_after("approval_reply_assigned_after", 1, 4, True))
    av("approval_ok_reply_from_cc", "the leader assigned the matter to the copy recipient too (交办)", "verified",
       _assigned_both("approval_ok_reply_from_cc"), keys=(CC,))
    av("approval_copy_number_changed", "a 份号 changed after 签发", "invalid",
       _edited_after("approval_copy_number_changed", 0, 3, "000009"))
    spec = approved("approval_names_not_key_owners")
    lying = spec.addressees()
    lying[1][2] = "cc2-unit"                        # the leader approved cc2-unit, the key is cc-unit's
    spec.meta = {**WORKFLOW, "recipients": lying}
    spec.meta["approval"] = approve(spec.name, spec.metadata(), spec.files)
    av("approval_names_not_key_owners", "the approved list names cc2-unit for cc-unit's key", "invalid", spec)
    spec = approved("approval_urgency_changed")
    spec.header = {"urgency": "extra-urgent"}
    av("approval_urgency_changed", "approved as 加急, sealed as 特急", "invalid", spec)
    spec = approved("approval_file_altered")
    spec.files = [("通知.txt", MAIN_TEXT[:-1] + b"!")]
    av("approval_file_altered", "the file changed after 签发 (same size)", "invalid", spec)
    av("approval_untrusted_leader", "the approving key is no leader the reader knows", "invalid",
       approved("approval_untrusted_leader"), leaders=[])
    av("approval_leader_of_other_unit", "the approving key is a leader of another unit", "invalid",
       approved("approval_leader_of_other_unit"),
       leaders=[TrustedLeader("cc-unit", 0, MAX_TIME, "张三", LEADER.public_key().to_pem())])
    av("approval_leader_no_longer_valid", "the leader's key ended before the sealing time", "invalid",
       approved("approval_leader_no_longer_valid"),
       leaders=[TrustedLeader("sender", 0, BASE_TIME - 1, "张三", LEADER.public_key().to_pem())])
    av("approval_dated_after_sealing", "approved 601 s after the sealing time", "invalid",
       _reapproved("approval_dated_after_sealing", time=BASE_TIME + 601))

    def pv(name: str, comment: str, spec: Spec) -> None:
        refuse(kit, "payload", name, comment, spec)

    key_id = lambda k: k.public_key().key_id()   # noqa: E731
    pv("meta_recipients_fewer", "the metadata lists one recipient, the header two",
       S("meta_recipients_fewer", meta={"recipients": [["to", key_id(TO), "to-unit", "000001", False]]}))
    pv("meta_recipients_other_key", "the metadata's cc key id is not the header's",
       S("meta_recipients_other_key", meta={"recipients": [["to", key_id(TO), "to-unit", None, False],
                                                             ["cc", key_id(CC2), "cc-unit", None, False]]}))
    pv("meta_recipients_order", "the metadata lists the stanzas in another order",
       S("meta_recipients_order", meta={"recipients": [["to", key_id(CC), "cc-unit", None, False],
                                                         ["cc", key_id(TO), "to-unit", None, False]]}))
    pv("meta_recipients_empty", "an empty recipient list", S("meta_recipients_empty", meta={"recipients": []}))
    pv("meta_recipients_four_items", "a recipient entry without the reply flag",
       S("meta_recipients_four_items", meta={"recipients": [["to", key_id(TO), "to-unit", None],
                                                              ["cc", key_id(CC), "cc-unit", None]]}))
    pv("meta_recipients_reply_without_date", "a reply expected from the cc unit, but no reply_by date",
       S("meta_recipients_reply_without_date", meta={"recipients": [["to", key_id(TO), "to-unit", None, False],
                                                                      ["cc", key_id(CC), "cc-unit", None, True]]}))
    pv("meta_recipients_reply_as_int", "the reply flag as 1 instead of true",
       S("meta_recipients_reply_as_int", meta={"recipients": [["to", key_id(TO), "to-unit", None, 1],
                                                                ["cc", key_id(CC), "cc-unit", None, False]]}))
    pv("meta_recipients_unit_control", "a recipient name with an ESC (§6.2)",
       S("meta_recipients_unit_control", meta={"recipients": [["to", key_id(TO), "to\x1b-unit", None, False],
                                                                ["cc", key_id(CC), "cc-unit", None, False]]}))
    pv("meta_recipients_copy_65_bytes", "a 份号 of 65 bytes",
       S("meta_recipients_copy_65_bytes", meta={"recipients": [["to", key_id(TO), "to-unit", "0" * 65, False],
                                                                 ["cc", key_id(CC), "cc-unit", None, False]]}))
    spec = approved("meta_approval_unnamed_recipient")
    unnamed = spec.addressees()
    unnamed[1][2] = None
    spec.meta = {**WORKFLOW, "recipients": unnamed}
    spec.meta["approval"] = approve(spec.name, spec.metadata(), spec.files)
    pv("meta_approval_unnamed_recipient", "an approval over a recipient list with a nameless recipient", spec)
    wf = _workflow_meta("meta_workflow")
    pv("meta_approval_urgency_unknown", "an approval whose urgency is 'high'",
       S("meta_approval_urgency_unknown", meta={**wf, "approval": {**wf["approval"], "urgency": "high"}}))


def _edited_after(name: str, entry: int, item: int, value) -> Spec:
    """An approved spec whose recipient list was edited (one item of one entry) after 签发."""
    spec = approved(name)
    edited = spec.addressees()
    edited[entry][item] = value
    spec.meta = {**spec.meta, "recipients": edited}
    return spec


def _assigned_both(name: str) -> Spec:
    spec = S(name)
    both = spec.addressees()
    for entry in both:
        entry[4] = True
    spec.meta = {**WORKFLOW, "recipients": both}
    spec.meta["approval"] = approve(name, spec.metadata(), spec.files)
    return spec


def _reapproved(name: str, *, time: int) -> Spec:
    spec = approved(name)
    spec.meta["approval"] = approve(name, spec.metadata() | {"approval": None}, spec.files, time=time)
    return spec


def inner(kit: Kit) -> None:
    def pv(name: str, comment: str, spec: Spec) -> None:
        refuse(kit, "payload", name, comment, spec)

    wf = _workflow_meta("meta_workflow")
    pv("meta_doc_type_unknown", "a 文种 outside the fifteen of the 条例 (§6.5)",
       S("meta_doc_type_unknown", meta={**wf, "doc_type": "便条"}))
    pv("meta_approval_file_count", "an approval listing no digest for the one file (§6.5)",
       S("meta_approval_file_count", meta={**wf, "approval": {**wf["approval"], "files": []}}))
    pv("meta_approval_key_short", "an approval key of 64 bytes (§6.5)",
       S("meta_approval_key_short", meta={**wf, "approval": {**wf["approval"], "key": wf["approval"]["key"][1:]}}))
    pv("meta_approval_leader_control", "a leader name with a control character (§6.5, §6.2)",
       S("meta_approval_leader_control", meta={**wf, "approval": {**wf["approval"], "leader": "张\x1b三"}}))
    pv("meta_reply_to_short_id", "a reply link with a 15-byte package id (§6.5)",
       S("meta_reply_to_short_id", meta={**wf, "reply_to": {"package_id": b"\x00" * 15,
                                                            "package_digest": b"\x00" * 32}}))
    pv("meta_reply_by_not_a_date", "reply_by 2027-02-30 (§6.5)",
       S("meta_reply_by_not_a_date", meta={**wf, "reply_by": "2027-02-30"}))

    meta = S("meta").metadata()
    good = _meta_bytes(meta)
    pv("meta_length_zero", "metadata length 0", S("meta_length_zero", meta_bytes=b"\x00" * 4))
    pv("meta_length_over_1mib", "metadata length 1 048 577",
       S("meta_length_over_1mib", meta_bytes=struct.pack(">I", (1 << 20) + 1) + good[4:]))
    pv("meta_truncated", "the payload ends inside the metadata",
       S("meta_truncated", files=[], meta_bytes=good[:-3]))
    pv("meta_noncanonical", "a str8 key where fixstr suffices",
       S("meta_noncanonical", meta_bytes=struct.pack(">I", len(good) - 3) + good[4:].replace(b"\xa5title", b"\xd9\x05title", 1)))
    pv("meta_not_map", "metadata is an array", S("meta_not_map", meta_bytes=_meta_bytes(list(meta.values()))))
    pv("meta_extra_field", "an unknown field", S("meta_extra_field", meta_bytes=_meta_bytes({**meta, "x": None})))
    pv("meta_missing_field", "no remarks",
       S("meta_missing_field", meta_bytes=_meta_bytes({k: v for k, v in meta.items() if k != "remarks"})))
    for label, raw in (("surrogate", b"\xed\xa0\x80"), ("overlong", b"\xe0\x80\xaf")):
        pv(f"meta_utf8_{label}", f"ill-formed UTF-8 ({label}) in the title",
           S(f"meta_utf8_{label}", meta_bytes=_meta_bytes({**meta, "title": "XYZ"}).replace(b"\xa3XYZ", b"\xa3" + raw, 1)))
    pv("meta_size_too_big", "the file list promises one byte more than the payload holds",
       S("meta_size_too_big", meta={"files": [["通知.txt", len(MAIN_TEXT) + 1]]}))
    pv("meta_size_too_small", "the payload holds one byte more than the file list says",
       S("meta_size_too_small", meta={"files": [["通知.txt", len(MAIN_TEXT) - 1]]}))
    pv("meta_no_files", "an empty file list", S("meta_no_files", files=[], meta={"files": []}))
    pv("meta_1001_files", "1001 files",
       S("meta_1001_files", files=[(f"{i:04d}", b"") for i in range(1001)]))
    pv("meta_file_size_2_48", "a size of 2^48", S("meta_file_size_2_48", meta={"files": [["a", 1 << 48]]}))
    pv("meta_file_size_negative", "a size of -1", S("meta_file_size_negative", meta={"files": [["a", -1]]}))
    pv("meta_file_entry_three_items", "a file entry with three items",
       S("meta_file_entry_three_items", meta={"files": [["通知.txt", len(MAIN_TEXT), 0]]}))
    pv("meta_text_empty", "an empty title (nil is the absent value)", S("meta_text_empty", meta={"title": ""}))
    pv("meta_text_65537_bytes", "a remark of 65 537 bytes", S("meta_text_65537_bytes", meta={"remarks": "文" * 21845 + "ab"}))
    pv("meta_text_as_bin", "a title as bin", S("meta_text_as_bin", meta={"title": b"x"}))
    pv("meta_date_feb_30", "due 2027-02-30", S("meta_date_feb_30", meta={"due": "2027-02-30"}))
    pv("meta_date_feb_29_common_year", "due 2027-02-29", S("meta_date_feb_29_common_year", meta={"due": "2027-02-29"}))
    pv("meta_date_year_0", "date 0000-01-01", S("meta_date_year_0", meta={"date_written": "0000-01-01"}))
    pv("meta_date_short_month", "date 2027-2-03", S("meta_date_short_month", meta={"due": "2027-2-03"}))
    pv("meta_date_with_time", "date 2027-01-01T00:00:00", S("meta_date_with_time", meta={"due": "2027-01-01T00:00:00"}))
    pv("meta_date_fullwidth", "date in full-width digits",
       S("meta_date_fullwidth", meta={"due": "２０２７-01-01"}))
    for label, field, text in (
            ("esc", "issuing_unit", "市政府\x1b[2K办公室"), ("cr", "signer_name", "王五\r来自：市政府办公室"),
            ("lf", "title", "通知\n发件单位：市政府办公室"), ("tab", "remarks", "a\tb"), ("nul", "doc_number", "a\x00"),
            ("del", "label", "内部\x7f"), ("c1_csi", "attachments_note", "附件\x9b2J"),
            ("nel", "remarks", "a\x85b"), ("rlo", "title", "通知\u202etxt.exe"), ("lri", "label", "内部\u2066"),
            ("zwsp", "issuing_unit", "市政\u200b府"), ("zwj", "signer_name", "王\u200d五"),
            ("soft_hyphen", "title", "通\u00ad知"), ("bom", "remarks", "\ufeff注"),
            ("word_joiner", "doc_number", "赤\u2060政"), ("arabic_letter_mark", "title", "a\u061c"),
            ("mongolian_vowel_separator", "title", "a\u180e"), ("tag", "remarks", "a\U000e0041"),
            ("line_separator", "remarks", "a\u2028b"), ("paragraph_separator", "remarks", "a\u2029b"),
            ("hangul_filler", "issuing_unit", "\u3164市政府办公室"),
            ("halfwidth_hangul_filler", "signer_name", "\uffa0"), ("interlinear", "title", "a\ufff9b")):
        pv(f"meta_text_{label}", f"{field} contains {label.replace('_', ' ')}",
           S(f"meta_text_{label}", meta={field: text}))

    names = [("dotdot", "..", "parent directory"), ("dot", ".", "a lone dot"),
             ("slash", "a/b.txt", "a slash"), ("absolute", "/etc/cron.d/x", "absolute path"),
             ("backslash", "..\\x.txt", "backslash"), ("colon_drive", "C:x.txt", "drive colon"),
             ("star", "a*.txt", "star"), ("question", "a?.txt", "question mark"), ("quote", 'a".txt', "quote"),
             ("less", "a<.txt", "less-than"), ("greater", "a>.txt", "greater-than"), ("pipe", "a|b.txt", "pipe"),
             ("empty", "", "empty"), ("trailing_dot", "a.txt.", "trailing dot"),
             ("leading_space", " a.txt", "leading space"), ("trailing_space", "a.txt ", "trailing space"),
             ("device_con", "CON", "device name"), ("device_nul_ext", "nul.txt", "device with extension"),
             ("device_com1_space", "CoM1 .pdf", "device name with trailing space"),
             ("device_com_superscript", "com¹.txt", "COM with a superscript digit"),
             ("device_lpt3_superscript", "LPT³", "LPT with a superscript digit"),
             ("device_conin", "conin$.log", "CONIN$"),
             ("newline", "a\nb.txt", "newline"), ("esc", "a\x1b.txt", "ESC"), ("c1", "a\x9b.txt", "C1 control"),
             ("rlo", "report\u202etxt.exe", "right-to-left override"), ("soft_hyphen", "a\u00ad.txt", "soft hyphen"),
             ("word_joiner", "a\u2060.txt", "word joiner"), ("arabic_letter_mark", "a\u061c.txt", "ALM"),
             ("mongolian_vowel_separator", "a\u180e.txt", "U+180E"), ("hangul_filler", "\u3164.txt", "U+3164"),
             ("hangul_choseong_filler", "a\u115f.txt", "U+115F"), ("hangul_jungseong_filler", "a\u1160.txt", "U+1160"),
             ("halfwidth_hangul_filler", "a\uffa0.txt", "U+FFA0"), ("tag", "a\U000e0041.txt", "a tag character"),
             ("variation_selector", "a\ufe0f.txt", "a variation selector"),
             ("combining_grapheme_joiner", "a\u034f.txt", "U+034F"), ("khmer_inherent", "a\u17b4.txt", "U+17B4"),
             ("private_use", "a\ue000.txt", "private use"), ("unassigned", "a\u0378.txt", "unassigned U+0378"),
             ("unassigned_in_14", "\U0002ebf0.txt", "U+2EBF0, assigned only in Unicode 15.1"),
             ("noncharacter", "a\ufffe.txt", "noncharacter U+FFFE"), ("not_nfc", "e\u0301.txt", "not NFC"),
             ("256_bytes", "文" * 85 + "a", "256 UTF-8 bytes")]
    for label, name, what in names:
        pv(f"name_{label}", f"file name: {what}",
           S(f"name_{label}", files=[("通知.txt", b"x"), (name, b"y")]))
    pv("name_case_collision", "Report.txt and report.TXT collide",
       S("name_case_collision", files=[("Report.txt", b"1"), ("report.TXT", b"2")]))
    pv("name_full_casefold_collision", "Straße.txt and STRASSE.TXT collide under full case folding",
       S("name_full_casefold_collision", files=[("Straße.txt", b"1"), ("STRASSE.TXT", b"2")]))
    pv("name_as_bin", "a file name as bin", S("name_as_bin", meta={"files": [[b"a.txt", len(MAIN_TEXT)]]}))

    for label, text in (("secret", "秘密"), ("confidential", "机密★10年"), ("top_secret", "绝密"),
                        ("traditional", "機密"), ("traditional_top", "絕密"),
                        ("ideographic_space", "\u3000机密"), ("nbsp", "\u00a0秘密"), ("em_space", "\u2003绝密"),
                        ("ogham_space", "\u1680机密")):
        refuse(kit, "policy", f"policy_label_{label}", f"label {text!r} marks a state secret",
               S(f"policy_label_{label}", meta={"label": text}))


# --- armor (§10) -----------------------------------------------------------------------------

def _tuned(name: str, mod48: set[int]) -> Spec:
    """The basic package with a remark padded so that its length mod 48 is in ``mod48``."""
    for j in range(1, 200):
        spec = S(name, meta={"remarks": "x" * j})
        if len(spec.build().data) % 48 in mod48:
            return spec
    raise AssertionError("no padding found")


def armors(kit: Kit) -> None:
    basic = S("ok_basic")
    good = basic.build().data
    arm = armor.encode(good, armor.PACKAGE)
    lines = arm.split(b"\n")

    def aok(name: str, comment: str, data: Callable[[bytes], bytes], spec: Spec = basic) -> None:
        ok(kit, name, comment, spec, transform=data)

    def av(name: str, comment: str, data: bytes) -> None:
        refuse(kit, "armor", name, comment, data)

    enc = lambda d: armor.encode(d, armor.PACKAGE)   # noqa: E731
    aok("armor_ok", "armored, LF line endings", enc)
    aok("armor_ok_crlf", "armored, CRLF line endings", lambda d: enc(d).replace(b"\n", b"\r\n"))
    aok("armor_ok_whitespace_4096", "exactly 4096 bytes of whitespace before BEGIN and after END",
        lambda d: b" \t\r\n" * 1023 + b"    " + enc(d) + b"\r\n \t" * 1024)
    aok("armor_ok_indented_begin", "spaces and tabs before BEGIN on its line",
        lambda d: b"\n\t  " + enc(d))
    aok("armor_ok_4096_spaces_before_begin", "4096 spaces on the BEGIN line before -----BEGIN",
        lambda d: b" " * 4096 + enc(d))
    for target, label in (({0}, "last_line_64"), ({1, 2, 3}, "last_line_4")):
        name = f"armor_ok_{label}"
        aok(name, f"the last data line has {label.split('_')[-1]} columns", enc, _tuned(name, target))

    av("armor_bad_char", "a '*' inside the base64", arm.replace(lines[3], b"*" + lines[3][1:], 1))
    padded = _tuned("armor_padding", {1, 2, 4, 5, 7, 8}).build().data
    plines = armor.encode(padded, armor.PACKAGE).split(b"\n")
    av("armor_noncanonical_padding", "nonzero padding bits on the last line",
       b"\n".join(plines[:-3] + [_noncanonical(plines[-3])] + plines[-2:]))
    av("armor_padding_in_middle", "a line ending in '=' before the last line",
       b"\n".join(plines[:2] + [plines[2][:-4] + b"AA=="] + plines[3:]))
    av("armor_short_middle_line", "a 60-column line in the middle",
       arm.replace(lines[2] + b"\n" + lines[3], lines[2][:60] + b"\n" + lines[2][60:] + lines[3], 1))
    av("armor_long_line", "two lines joined into one of 128 columns", arm.replace(lines[2] + b"\n", lines[2], 1))
    av("armor_no_end", "END line missing", b"\n".join(lines[:-2]) + b"\n")
    av("armor_end_without_newline", "the END line does not end with a line ending", arm[:-1])
    av("armor_end_trailing_space", "a space after -----END ...----- on its line", arm[:-1] + b" \n")
    av("armor_wrong_label", "BEGIN SMSEAL RECEIPT around a package", arm.replace(b"PACKAGE", b"RECEIPT"))
    av("armor_begin_end_mismatch", "END SMSEAL RECEIPT after BEGIN SMSEAL PACKAGE",
       arm.replace(b"END SMSEAL PACKAGE", b"END SMSEAL RECEIPT"))
    av("armor_lowercase_label", "begin line in lower case", arm.replace(b"BEGIN SMSEAL PACKAGE", b"BEGIN smseal package"))
    av("armor_garbage_after_end", "text after the END line", arm + b"PS: see attached\n")
    av("armor_mixed_newlines", "one CRLF among LF lines", arm.replace(lines[2] + b"\n", lines[2] + b"\r\n", 1))
    av("armor_empty", "BEGIN then END with nothing between",
       armor.begin(armor.PACKAGE) + b"\n" + armor.end(armor.PACKAGE) + b"\n")
    av("armor_blank_line", "a blank line after BEGIN", arm.replace(b"-----\n", b"-----\n\n", 1))
    av("armor_header_line", "a 'Version: 1' header line after BEGIN", arm.replace(b"-----\n", b"-----\nVersion: 1\n", 1))
    av("armor_space_in_line", "a space inside a data line", arm.replace(lines[2], lines[2][:10] + b" " + lines[2][11:], 1))
    av("armor_trailing_space_data_line", "a data line with a trailing space", arm.replace(lines[2] + b"\n", lines[2] + b" \n", 1))
    av("armor_whitespace_4097_before", "4097 bytes of whitespace before BEGIN", b"\n" * 4097 + arm)
    av("armor_spaces_4097_before_begin", "4097 spaces on the BEGIN line before -----BEGIN", b" " * 4097 + arm)
    av("armor_whitespace_4097_after", "4097 bytes of whitespace after END", arm + b"\n" * 4097)
    av("armor_urlsafe_alphabet", "base64url characters ('-' and '_')",
       arm.replace(lines[2], lines[2][:5] + b"-_" + lines[2][7:], 1))
    av("armor_cr_only", "lines ended by CR alone", arm.replace(b"\n", b"\r"))


def _noncanonical(line: bytes) -> bytes:
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stripped = line.rstrip(b"=")
    pos = len(stripped) - 1
    ch = alphabet[alphabet.index(stripped[pos]) | 1]
    return stripped[:pos] + bytes([ch]) + line[len(stripped):]


# --- receipts (§9) ------------------------------------------------------------------------------

RECEIPT_TRUST = [trusted("sender", SENDER), trusted("to-unit", TO_SIGNER), trusted("cc-unit", INSIDER)]


def receipts(kit: Kit, with_policy: bool) -> None:
    pkg = S("ok_basic").build()
    facts = (PACKAGE_ID.hex(), pkg.package_digest.hex(), BASE_TIME)
    stz = [("to", TO.public_key().key_id().hex(), "to-unit"), ("cc", CC.public_key().key_id().hex(), "cc-unit")]
    fields = {"package_id": PACKAGE_ID, "package_digest": pkg.package_digest,
              "recipient_key_id": TO.public_key().key_id(), "signer": TO_SIGNER.public_key().to_bytes(),
              "time": BASE_TIME + 3600, "status": "received"}

    def rv(name: str, comment: str, expect: str, data: bytes, trust: list[TrustedKey] | None = None) -> None:
        kit.add(Vector(name=name, comment=comment, input="receipt", expect=expect, data=data,
                       package=facts, stanzas=stz, trusted=RECEIPT_TRUST if trust is None else trust))

    def R(name: str, **kw) -> bytes:   # noqa: N802
        f = {**fields, **kw.pop("fields", {})}
        return receipt(name, signer=TO_SIGNER, fields=f, **kw)

    good = R("receipt_ok")
    rv("receipt_ok", "the main recipient signs for the package", "verify: ok", good)
    rv("receipt_ok_rejected", "拒收: a signed refusal", "verify: ok", R("receipt_ok_rejected", fields={"status": "rejected"}))
    rv("receipt_ok_cc", "the copy recipient signs for its stanza", "verify: ok",
       R("receipt_ok_cc", fields={"recipient_key_id": CC.public_key().key_id(),
                                  "signer": INSIDER.public_key().to_bytes()}, signed_by=INSIDER))
    rv("receipt_ok_armored", "an armored receipt", "verify: ok", armor.encode(good, armor.RECEIPT))
    rv("receipt_ok_armored_crlf", "an armored receipt, CRLF", "verify: ok",
       armor.encode(good, armor.RECEIPT).replace(b"\n", b"\r\n"))
    rv("receipt_ok_time_max", "receipt time 9999-12-31T23:59:59Z", "verify: ok",
       R("receipt_ok_time_max", fields={"time": MAX_TIME}))
    rv("receipt_ok_skew_boundary", "dated exactly 10 minutes before the package (clock skew allowed)",
       "verify: ok", R("receipt_ok_skew_boundary", fields={"time": BASE_TIME - 600}))

    def hv(name: str, comment: str, data: bytes) -> None:
        rv(name, comment, "refuse: header", data)

    hv("receipt_bad_magic", "magic SMSRCPX", b"SMSRCPX" + good[7:])
    hv("receipt_version_2", "receipt version 2", good[:7] + b"\x02" + good[8:])
    hv("receipt_truncated", "the receipt ends inside the signature", good[:-1])
    hv("receipt_trailing_byte", "a byte after the signature", good + b"\x00")
    hv("receipt_length_mismatch", "the body length says one byte more",
       good[:8] + struct.pack(">H", struct.unpack(">H", good[8:10])[0] + 1) + good[10:])
    hv("receipt_time_after_9999", "time 253402300800", R("receipt_time_after_9999", fields={"time": MAX_TIME + 1}))
    hv("receipt_bad_status", "status 'accepted'", R("receipt_bad_status", fields={"status": "accepted"}))
    hv("receipt_extra_field", "an extra body field", R("receipt_extra_field", fields={"note": "x"}))
    hv("receipt_key_order", "body fields out of order",
       R("receipt_key_order", body=pack(dict(reversed(list(fields.items()))))))
    hv("receipt_noncanonical", "time as uint64",
       R("receipt_noncanonical", body=pack(fields).replace(b"\xa4time\xce", b"\xa4time\xcf\x00\x00\x00\x00", 1)))
    hv("receipt_signer_off_curve", "signer key not on the curve",
       R("receipt_signer_off_curve", fields={"signer": b"\x04" + b"\x01" * 64}, signature=b"\x01" * 64))
    hv("receipt_body_1025", "a body over 1024 bytes",
       R("receipt_body_1025", body=pack({**fields, "status": "r" * 1000})))

    def sv(name: str, comment: str, data: bytes, **kw) -> None:
        rv(name, comment, "refuse: signature", data, **kw)

    sv("receipt_sig_flipped", "one bit of s flipped", good[:-1] + bytes([good[-1] ^ 1]))
    sv("receipt_sig_zero", "r = s = 0", good[:-64] + b"\x00" * 64)
    sv("receipt_sig_r_is_n", "r = n", good[:-64] + N.to_bytes(32, "big") + good[-32:])
    sv("receipt_signed_by_other", "the signer field names the main recipient, the outsider signed",
       R("receipt_signed_by_other", signed_by=OUTSIDER))
    sv("receipt_untrusted_signer", "signed by the outsider, who is not trusted",
       R("receipt_untrusted_signer", fields={"signer": OUTSIDER.public_key().to_bytes()}, signed_by=OUTSIDER))
    sv("receipt_status_changed", "status changed to rejected after signing",
       R("receipt_status_changed", fields={"status": "rejected"}, signature=good[-64:]))

    def nv(name: str, comment: str, data: bytes) -> None:
        rv(name, comment, "refuse: no-match", data)

    nv("receipt_other_package_id", "for another package id", R("receipt_other_package_id", fields={"package_id": b"\x34" * 16}))
    nv("receipt_other_digest", "the right id, another digest (a different package with the same id)",
       R("receipt_other_digest", fields={"package_digest": b"\x00" * 32}))
    nv("receipt_key_not_addressed", "names a key the package was not addressed to",
       R("receipt_key_not_addressed", fields={"recipient_key_id": OUTSIDER.public_key().key_id()}))

    av = lambda name, comment, data: rv(name, comment, "refuse: armor", data)   # noqa: E731
    arm = armor.encode(good, armor.RECEIPT)
    av("receipt_armor_package_label", "a receipt armored as SMSEAL PACKAGE", armor.encode(good, armor.PACKAGE))
    rl = arm.split(b"\n")
    av("receipt_armor_bad_char", "a '*' in the base64", b"\n".join([rl[0], b"*" + rl[1][1:], *rl[2:]]))
    av("receipt_armor_no_end", "END line missing", b"\n".join(arm.split(b"\n")[:-2]) + b"\n")

    if with_policy:
        rv("receipt_dated_before_sealing", "dated 601 seconds before the package was sealed",
           "refuse: policy", R("receipt_dated_before_sealing", fields={"time": BASE_TIME - 601}))
        rv("receipt_wrong_unit", "the cc unit signs for the main recipient's stanza",
           "refuse: policy", R("receipt_wrong_unit", fields={"signer": INSIDER.public_key().to_bytes()},
                               signed_by=INSIDER))


def all_vectors(with_receipt_policy: bool = True) -> list[Vector]:
    kit = Kit()
    successes(kit)
    headers(kit)
    stanzas(kit)
    signatures(kit)
    streams(kit)
    inner(kit)
    approvals(kit)
    armors(kit)
    receipts(kit, with_receipt_policy)
    return kit.vectors


def write_all(out: Path = OUT) -> int:
    vectors = all_vectors()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    for v in vectors:
        (out / v.name).write_bytes(v.to_bytes())
    return len(vectors)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    print(f"wrote {write_all(target)} vectors to {target}")
