"""Format rules a second implementation found unclear or the code got wrong (issue 10),
and the text rules against faked display (issue 9, items 2 and 14).

Each test names the docs/FORMAT.md section whose MUST it checks.
"""

from __future__ import annotations

import io
import struct
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from shangmi.errors import MalformedPackage
from smseal.envelope import Package, inspect, open_package, seal, verify_package
from smseal.envelope.encoding import pack
from smseal.envelope.format import MAX_TIME
from smseal.envelope.receipt import Receipt, make_receipt
from smseal.envelope.text import HANGUL_FILLERS, is_format
from smseal.envelope.unicode14 import FORMAT, UNICODE_VERSION
from tests.testkit.kit import CC, SENDER, TO, TRUSTED, assemble, build, chunks, draft, prelude_of

TEXT_FIELDS = ("title", "doc_number", "label", "sender_unit", "signer_name",
               "attachments_note", "remarks")


# --- bug 1: empty files anywhere (§6.1: size 0 is allowed for any file) ---------------------------

@pytest.mark.parametrize("layout", [
    ["", "a", "b"], ["a", "", "b"], ["a", "b", ""], ["", "", "a", "", ""], ["", ""], [""],
    ["a", "", "", "b"]], ids=lambda x: "-".join(c or "0" for c in x))
def test_empty_file_anywhere_seals_and_opens_byte_identical(tmp_path, layout):
    contents = {f"f{i}.txt": (c * 700).encode() for i, c in enumerate(layout)}
    src = tmp_path / "src"
    src.mkdir()
    for name, data in contents.items():
        (src / name).write_bytes(data)
    names = list(contents)
    pkg = Package(src / names[0], [src / n for n in names[1:]])
    buf = io.BytesIO()
    seal(pkg, sender=SENDER, to=TO.public_key(), out=buf)
    res = open_package(buf.getvalue(), key=TO, trusted=TRUSTED, out_dir=tmp_path / "out")
    assert [f.name for f in res.files] == names
    assert [f.read_bytes() for f in res.files] == list(contents.values())


def test_an_empty_file_that_grows_while_sealing_is_refused(tmp_path):
    a, e = tmp_path / "a.txt", tmp_path / "e.txt"
    a.write_bytes(b"abc")
    e.write_bytes(b"")
    pkg = Package(a, [e])
    e.write_bytes(b"late")
    with pytest.raises(OSError, match="grew"):
        seal(pkg, sender=SENDER, to=TO.public_key(), out=io.BytesIO())


# --- bug 2: times up to 9999-12-31T23:59:59Z, beyond refused as malformed (§4, §9) ------------

def test_time_bound_is_year_9999():
    assert MAX_TIME == 253402300799


@pytest.mark.parametrize("t, ok", [(MAX_TIME, True), (MAX_TIME + 1, False), ((1 << 40) - 1, False)])
def test_package_time_after_9999_is_malformed_not_a_crash(tmp_path, t, ok):
    d = draft()
    h = d.header
    body = pack({"id": h.package_id, "time": t, "urgency": h.urgency, "sender": h.sender,
                 "salt": h.salt, "commit": h.commitment,
                 "recipients": [[s.role, s.key_id, s.wrapped] for s in h.recipients]})
    pkg = assemble(prelude_of(body), chunks(d))      # correctly signed by the trusted sender
    calls = [lambda: inspect(pkg), lambda: verify_package(pkg, trusted=TRUSTED),
             lambda: open_package(pkg, key=TO, trusted=TRUSTED, out_dir=tmp_path / "o")]
    for call in calls:
        if ok:
            call()
        else:
            with pytest.raises(MalformedPackage, match="9999"):
                call()


@pytest.mark.parametrize("t, ok", [(MAX_TIME, True), (MAX_TIME + 1, False)])
def test_receipt_time_after_9999_is_malformed_not_a_crash(t, ok):
    body = pack({"package_id": b"\x33" * 16, "package_digest": b"\x44" * 32,
                 "recipient_key_id": TO.public_key().key_id(),
                 "signer": SENDER.public_key().to_bytes(), "time": t, "status": "received"})
    data = b"SMSRCPT\x01" + struct.pack(">H", len(body)) + body + b"\x01" * 64
    if ok:
        assert Receipt.from_bytes(data).time == t
    else:
        with pytest.raises(MalformedPackage, match="9999"):
            Receipt.from_bytes(data)


# --- §6.2 metadata texts: no controls, no bidi, no invisible characters -------------------------

HOSTILE_TEXTS = {
    "ESC (fake colours)": "市政府\x1b[2K办公室",
    "CR (overwrite the line)": "财政局\r来自：市政府办公室",
    "LF (fake a new line)": "通知\n发件单位：市政府办公室",
    "DEL": "通知\x7f",
    "C1 CSI": "通知\x9b2J",
    "NEL (C1 newline)": "通知\x85",
    "RLO bidi override": "通知\u202e",
    "LRI bidi isolate": "通知\u2066",
    "ZWSP": "市政\u200b府",
    "word joiner": "市政\u2060府",
    "soft hyphen": "市政\u00ad府",
    "BOM": "\ufeff通知",
    "Arabic letter mark": "通知\u061c",
    "Mongolian vowel separator": "通知\u180e",
    "tag character": "通知\U000e0041",
    "line separator": "通知\u2028",
    "paragraph separator": "通知\u2029",
    "Hangul filler": "通知\u3164",
    "halfwidth Hangul filler": "通知\uffa0",
}


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("why", list(HOSTILE_TEXTS))
def test_seal_refuses_control_and_invisible_characters_in_every_text(tmp_path, field, why):
    with pytest.raises(ValueError, match="U\\+"):
        Package(("a.txt", b"x"), **{field: HOSTILE_TEXTS[why]})


# The metadata's recipient list for the testkit's stanzas (FORMAT.md §6.5).
RECIPIENTS = [["to", TO.public_key().key_id(), None, None, False], ["cc", CC.public_key().key_id(), None, None, False]]


def _meta_package(**fields) -> bytes:
    """A package signed by a trusted sender whose metadata carries ``fields`` verbatim."""
    obj = {"title": None, "doc_number": None, "label": None,
           "issuing_unit": None, "signer_name": None, "attachments_note": None,
           "date_written": None, "due": None, "remarks": None, "files": [["a.txt", 1]],
           "recipients": RECIPIENTS, "doc_type": None, "reply_by": None, "reply_to": None, "approval": None}
    obj.update(fields)
    body = pack(obj)
    return build(draft(files=(("a.txt", b"x"),), meta_bytes=struct.pack(">I", len(body)) + body))


META_FIELDS = ("title", "doc_number", "label", "issuing_unit", "signer_name",
               "attachments_note", "remarks")


@pytest.mark.parametrize("field", META_FIELDS)
@pytest.mark.parametrize("why", ["ESC (fake colours)", "CR (overwrite the line)", "RLO bidi override",
                                 "ZWSP", "Hangul filler", "tag character", "C1 CSI"])
def test_open_refuses_control_and_invisible_characters_from_another_implementation(tmp_path, field, why):
    pkg = _meta_package(**{field: HOSTILE_TEXTS[why]})
    out = tmp_path / "out"
    with pytest.raises(MalformedPackage, match=field):
        open_package(pkg, key=TO, trusted=TRUSTED, out_dir=out)
    assert not out.exists()


def test_ordinary_chinese_texts_still_pass(tmp_path):
    pkg = _meta_package(title="关于做好2027年春节期间值班工作的通知（第2号）", doc_number="赤政办发〔2007〕43号",
                        remarks="联系人：张三，电话 0476-1234567；邮箱 a@b.cn ★", signer_name="王\U00020000",
                        attachments_note="1. 名单　2. 排班表",
                        recipients=[["to", TO.public_key().key_id(), "市财政局", "000123", False],
                                    ["cc", CC.public_key().key_id(), "市教育局", "000124", False]])
    res = open_package(pkg, key=TO, trusted=TRUSTED, out_dir=tmp_path / "o")
    assert res.metadata.signer_name == "王\U00020000"
    assert res.metadata.addressee(TO.public_key().key_id()).copy_number == "000123"


def test_empty_text_is_nil_at_seal_and_refused_at_open(tmp_path):
    assert Package(("a.txt", b"x"), title="", remarks="").metadata().title is None
    with pytest.raises(MalformedPackage, match="empty"):
        open_package(_meta_package(title=""), key=TO, trusted=TRUSTED, out_dir=tmp_path / "o")


# --- §6.2 dates: a real calendar date ------------------------------------------------------------

@pytest.mark.parametrize("bad", ["2027-02-30", "2027-13-01", "2027-00-10", "0000-01-01", "2027-2-03",
                                 "２０２７-01-01", "2027-01-01T00:00", "20270101", " 2027-01-01"])
def test_dates_must_be_real_calendar_dates(tmp_path, bad):
    with pytest.raises(MalformedPackage, match="date"):
        open_package(_meta_package(due=bad), key=TO, trusted=TRUSTED, out_dir=tmp_path / "o")


def test_leap_day_and_extremes_are_dates(tmp_path):
    for ok in ("2028-02-29", "0001-01-01", "9999-12-31"):
        res = open_package(_meta_package(due=ok), key=TO, trusted=TRUSTED, out_dir=tmp_path / ok)
        assert res.metadata.due.isoformat() == ok


# --- §6.3 file names: the whole Cf category and the invisible letters --------------------------

CONFUSABLE_NAMES = ["a\u00ad.txt", "a\u2060.txt", "a\u061c.txt", "a\u180e.txt", "\u3164.txt",
                    "a\u115f.txt", "a\u1160.txt", "a\uffa0.txt", "a\U000e0041.txt", "a\U000e0001.txt",
                    "a\u200d.txt", "a\u0600.txt", "a\U00013430.txt", "a\u034f.txt", "a\ufe0f.txt",
                    "a\u17b4.txt", "a\U000e0100.txt", "a\ue000.txt", "a\u0378.txt", "a\U0002ebf0.txt",
                    "a\ufffe.txt"]


@pytest.mark.parametrize("name", CONFUSABLE_NAMES, ids=lambda n: "-".join(f"{ord(c):04X}" for c in n if ord(c) > 0x7e))
def test_invisible_and_unassigned_characters_refused_in_file_names(tmp_path, name):
    with pytest.raises(ValueError, match="file name"):
        Package((name, b"x"))
    meta = {"title": None, "doc_number": None, "label": None,
            "issuing_unit": None, "signer_name": None, "attachments_note": None,
            "date_written": None, "due": None, "remarks": None, "files": [[name, 1]],
            "recipients": RECIPIENTS, "doc_type": None, "reply_by": None, "reply_to": None, "approval": None}
    body = pack(meta)
    pkg = build(draft(files=((name, b"x"),), meta_bytes=struct.pack(">I", len(body)) + body))
    with pytest.raises(MalformedPackage, match="file name"):
        open_package(pkg, key=TO, trusted=TRUSTED, out_dir=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_every_format_character_is_refused_in_names_and_texts():
    for lo, hi in FORMAT:
        for cp in range(lo, hi + 1):
            with pytest.raises(ValueError):
                Package((f"a{chr(cp)}.txt", b"x"))
            with pytest.raises(ValueError):
                Package(("a.txt", b"x"), title=f"a{chr(cp)}")
    for cp in HANGUL_FILLERS:
        assert not is_format(cp)
        with pytest.raises(ValueError):
            Package(("a.txt", b"x"), remarks=chr(cp))


@pytest.mark.parametrize("name, bad", [("CON", True), ("con.txt", True), ("CoM1 .pdf", True),
                                        ("com¹.txt", True), ("LPT³", True), ("CONIN$.x", True),
                                        ("COM0.txt", False), ("CONX.txt", False), ("x.CON", False),
                                        ("coNıN$.txt", False), ("ＣＯＮ.txt", False)])
def test_windows_device_rule_exactly_as_specified(name, bad):
    if bad:
        with pytest.raises(ValueError, match="device"):
            Package((name, b"x"))
    else:
        Package((name, b"x"))


def test_names_collide_under_full_case_folding():
    with pytest.raises(ValueError, match="twice"):
        Package(("Straße.txt", b"x"), [("STRASSE.TXT", b"y")])
    with pytest.raises(ValueError, match="twice"):
        Package(("ǅ.txt", b"x"), [("ǆ.txt", b"y")])


def test_tables_are_pinned_to_unicode_14():
    assert UNICODE_VERSION == "14.0.0"


def test_pinned_tables_are_what_the_generator_writes():
    """On CPython 3.11 (UCD 14.0.0) the committed tables are regenerated and compared;
    on a newer Unicode the pinned tables must still be the ones in use (nothing computed)."""
    import importlib.util
    import unicodedata
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    committed = (root / "envelope" / "unicode14.py").read_text(encoding="utf-8")
    if unicodedata.unidata_version == UNICODE_VERSION:
        from importlib.machinery import SourceFileLoader
        loader = SourceFileLoader("unicode_tables", str(root / "scripts" / "unicode_tables"))
        spec = importlib.util.spec_from_loader("unicode_tables", loader)
        mod = importlib.util.module_from_spec(spec)
        loader.exec_module(mod)
        assert mod.render() == committed
    assert "unicodedata" not in (root / "envelope" / "text.py").read_text(encoding="utf-8")


def test_label_policy_strips_only_spaces():
    from shangmi.errors import PolicyError
    for label in ("机密", "\u3000机密★10年", "\u00a0秘密", "\u2003絕密"):
        with pytest.raises(PolicyError):
            Package(("a.txt", b"x"), label=label)
    Package(("a.txt", b"x"), label="工作秘密")


def test_make_receipt_refuses_a_time_beyond_the_bound(tmp_path):
    from datetime import datetime, timezone
    res = open_package(build(draft()), key=TO, trusted=TRUSTED, out_dir=tmp_path / "o")
    last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    assert Receipt.from_bytes(make_receipt(res, signer=SENDER, when=last).to_bytes()).time == MAX_TIME
    with pytest.raises(ValueError):
        make_receipt(res, signer=SENDER, when=datetime(1969, 12, 31, tzinfo=timezone.utc))


def test_cli_refuses_times_after_9999_in_one_line(tmp_path, capsys, monkeypatch):
    """`smseal inspect` and `receipts import` said "year … is out of range" (exit 2) before."""
    from smseal.cli.main import main
    from tests.conformance.vectorfile import Vector
    vectors = Path(__file__).parent / "conformance" / "vectors"
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for name, argv in (("header_time_after_9999", ["inspect"]),
                       ("receipt_time_after_9999", ["receipts", "import"])):
        src = tmp_path / name
        src.write_bytes(Vector.parse((vectors / name).read_bytes()).data)
        capsys.readouterr()
        code = main(["--home", str(tmp_path / "home"), *argv, str(src)])
        err = capsys.readouterr().err
        assert code == 1 and "9999-12-31T23:59:59Z" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


def test_lone_surrogates_are_refused_cleanly_at_seal():
    """A str that cannot be UTF-8 (e.g. an undecodable file name through surrogateescape)."""
    with pytest.raises(ValueError, match="surrogate"):
        Package(("a.txt", b"x"), title="a\udcff")
    with pytest.raises(ValueError, match="surrogate"):
        Package(("a\udcff.txt", b"x"))


def test_format_md_lists_exactly_the_pinned_format_characters():
    """The explicit Cf list in FORMAT.md §6.2 is the table the code uses, range for range."""
    import re
    doc = (Path(__file__).resolve().parents[1] / "docs" / "FORMAT.md").read_text(encoding="utf-8")
    para = doc.split("every code point of General_Category `Cf` in 14.0.0, which is exactly", 1)[1]
    para = para.split("(soft hyphen", 1)[0]
    listed = []
    for m in re.finditer(r"U\+([0-9A-F]{4,6})(?:–U\+([0-9A-F]{4,6}))?", para):
        lo = int(m.group(1), 16)
        listed.append((lo, int(m.group(2), 16) if m.group(2) else lo))
    assert tuple(listed) == FORMAT
