"""The public API end to end: recipients, trust, confidentiality, safe extraction, policy."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest

from smseal.envelope import Package, inspect, open_package, seal
from smseal.envelope.open import _open
from smseal.envelope.seal import _seal
from shangmi import sm2
from shangmi.errors import (DecryptionError, InvalidSignature, NoMatchingKey, OutputExists,
                            PolicyError, RevokedKey, UntrustedSender)
from tests.testkit.kit import CC, OUTSIDER, SENDER, TO, TRUSTED

TITLE = "关于做好2027年春节期间值班工作的通知"
DOCNO = "赤政办发〔2007〕43号"


def make(tmp_path, **kw) -> Package:
    (tmp_path / "src").mkdir(exist_ok=True)
    main = tmp_path / "src" / "通知.pdf"
    main.write_bytes(b"%PDF-1.7 " + b"\x00\xff" * 5000)
    return Package(main, [("附件1.xlsx", b"xlsx" * 100),
                        ("名单.txt", io.BytesIO("张三\n李四\n".encode()))],
                   title=TITLE, doc_number=DOCNO, label="内部", urgency="extra-urgent",
                   due=date(2027, 5, 10), remarks="请于5月10日前反馈", sender_unit="赤峰市人民政府办公室",
                   copy_number="000123", signer_name="王五", attachments_note="1. 名单",
                   date_written=date(2027, 5, 1), **kw)


@pytest.fixture
def sealed(tmp_path) -> bytes:
    buf = io.BytesIO()
    seal(make(tmp_path), sender=SENDER, to=TO.public_key(), cc=[CC.public_key()], out=buf)
    return buf.getvalue()


def test_round_trip_every_recipient(sealed, tmp_path):
    for k in (TO, CC):
        res = open_package(sealed, key=k, trusted=TRUSTED, out_dir=tmp_path / k.public_key().key_id().hex())
        assert [f.name for f in res.files] == ["通知.pdf", "附件1.xlsx", "名单.txt"]
        assert res.files[2].read_bytes() == "张三\n李四\n".encode()
        m = res.metadata
        assert (m.title, m.doc_number, m.label, m.due, m.issuing_unit) == (
            TITLE, DOCNO, "内部", date(2027, 5, 10), "赤峰市人民政府办公室")
        assert res.urgency == "extra-urgent" and res.sender_key == SENDER.public_key()
        assert res.role == ("to" if k is TO else "cc")


def test_confidential_fields_not_in_clear(sealed):
    for secret in (TITLE, DOCNO, "通知.pdf", "名单", "请于", "赤峰市", "王五"):
        assert secret.encode() not in sealed
    info = inspect(sealed)
    assert info.urgency == "extra-urgent"
    assert [r.role for r in info.recipients] == ["to", "cc"]
    assert info.recipients[1].key_id == CC.public_key().key_id()
    assert info.sender_key_id == SENDER.public_key().key_id()
    assert info.payload_size > 10000


def test_list_of_keys_and_outsider(sealed, tmp_path):
    res = open_package(sealed, key=[OUTSIDER, CC], trusted=TRUSTED, out_dir=tmp_path / "a")
    assert res.role == "cc"
    with pytest.raises(NoMatchingKey):
        open_package(sealed, key=OUTSIDER, trusted=TRUSTED, out_dir=tmp_path / "b")


def test_untrusted_and_store(sealed, tmp_path):
    with pytest.raises(UntrustedSender):
        open_package(sealed, key=TO, trusted=[OUTSIDER.public_key()], out_dir=tmp_path / "a")

    class Directory:
        def __init__(self, revoked=False):
            self.revoked, self.seen = revoked, []

        def check_sender(self, key, sealed_at):
            self.seen.append((key, sealed_at))
            if self.revoked:
                raise RevokedKey("revoked")
            return "赤峰市人民政府办公室"

    d = Directory()
    res = open_package(sealed, key=TO, trusted=d, out_dir=tmp_path / "b")
    assert res.sender == "赤峰市人民政府办公室"
    assert d.seen[0][0] == SENDER.public_key() and isinstance(d.seen[0][1], datetime)
    with pytest.raises(RevokedKey):
        open_package(sealed, key=TO, trusted=Directory(True), out_dir=tmp_path / "c")


def test_overwrite_and_no_clobber(sealed, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "名单.txt").write_text("mine")
    with pytest.raises(OutputExists):
        open_package(sealed, key=TO, trusted=TRUSTED, out_dir=out)
    assert sorted(p.name for p in out.iterdir()) == ["名单.txt"]
    assert (out / "名单.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]   # no temp folder left
    open_package(sealed, key=TO, trusted=TRUSTED, out_dir=out, overwrite=True)
    assert (out / "名单.txt").read_text() == "张三\n李四\n"


def test_failure_leaves_nothing(sealed, tmp_path):
    bad = bytearray(sealed)
    bad[-10] ^= 1           # inside the signature
    out = tmp_path / "out"
    with pytest.raises(InvalidSignature):
        open_package(bytes(bad), key=TO, trusted=TRUSTED, out_dir=out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]     # not even out_dir


def test_no_release_before_signature(tmp_path, monkeypatch):
    """Plaintext exists only in the private temp folder until the signature verifies."""
    buf = io.BytesIO()
    _seal(Package(("a.txt", b"secret" * 1000)), sender=SENDER, to=TO.public_key(), cc=[], out=buf,
          armor=False, overwrite=False, chunk_size=256)
    import smseal.envelope.open as op
    seen = {}

    def spy(*a, **kw):
        seen["out"] = list((tmp_path / "out").iterdir())
        raise InvalidSignature()
    monkeypatch.setattr(op, "verify_signature", spy)
    with pytest.raises(InvalidSignature):
        _open(buf.getvalue(), key=TO, trusted=TRUSTED, out_dir=tmp_path / "out", overwrite=False,
              chunk_size=256)
    assert seen["out"] == [] and not (tmp_path / "out").exists()


@pytest.mark.parametrize("label", ["绝密", "机密★10年", "秘密", " 秘密★1年"])
def test_classified_refused(label, tmp_path):
    with pytest.raises(PolicyError, match="classified channel"):
        Package(("a.txt", b"x"), label=label)


@pytest.mark.parametrize("label", ["公开", "内部", "工作秘密", "商业秘密"])
def test_ordinary_labels_allowed(label):
    Package(("a.txt", b"x"), label=label)


@pytest.mark.parametrize("name", ["../a", "/etc/x", "C:x", "CON", "nul.txt", "a\x00b", "a\nb", "", "..",
                                  "dir/file", "a\\b", "x\u202eexe.txt", "trailing."])
def test_unsafe_names_refused_at_seal(name):
    with pytest.raises(ValueError):
        Package((name, b"x"))


def test_seal_argument_checks(tmp_path):
    pkg = Package(("a.txt", b"x"))
    with pytest.raises(ValueError):
        seal(pkg, sender=SENDER, to=TO.public_key(), cc=[TO.public_key()], out=io.BytesIO())
    with pytest.raises(ValueError):
        Package(("a.txt", b"x"), [("A.TXT", b"y")])
    with pytest.raises(ValueError):
        Package(("a.txt", b"x"), urgency="asap")

    class WrongSigner:               # signs with another key than it claims
        def sign(self, data):
            return OUTSIDER.sign(data)

        def public_key(self):
            return SENDER.public_key()
    with pytest.raises(InvalidSignature):
        seal(pkg, sender=WrongSigner(), to=TO.public_key(), out=io.BytesIO())


def test_seal_to_path_and_armor(tmp_path):
    out = tmp_path / "pkg.sm"
    seal(make(tmp_path), sender=SENDER, to=TO.public_key(), out=out, armor=True)
    assert out.read_bytes().startswith(b"-----BEGIN SMSEAL PACKAGE-----\n")
    with pytest.raises(OutputExists):
        seal(make(tmp_path), sender=SENDER, to=TO.public_key(), out=out)
    assert inspect(out).armored
    res = open_package(out, key=TO, trusted=TRUSTED, out_dir=tmp_path / "o")
    assert res.main.name == "通知.pdf"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o", "pkg.sm", "src"]


def test_commitment_binds_all_recipients(tmp_path):
    """A wrong file key for us (even with a matching stanza) is a DecryptionError, never garbage."""
    from tests.testkit import kit
    from smseal.envelope.format import ROLE_TO, Stanza
    d = kit.draft()
    bad = kit.edit_header(d, recipients=(Stanza(ROLE_TO, TO.public_key().key_id(),
                                                 TO.public_key().encrypt(b"\x55" * 16)),))
    with pytest.raises(DecryptionError):
        open_package(kit.build(bad), key=TO, trusted=TRUSTED, out_dir=tmp_path / "o")


def test_private_key_objects_are_signer_and_decrypter():
    from smseal.envelope import Decrypter, Signer
    k = sm2.PrivateKey.generate()
    assert isinstance(k, Signer) and isinstance(k, Decrypter)


def test_reprs_do_not_leak(sealed, tmp_path, tmp_path_factory):
    res = open_package(sealed, key=TO, trusted=TRUSTED, out_dir=tmp_path / "o")
    text = repr(res) + repr(make(tmp_path_factory.mktemp("m"))) + repr(TO)
    for secret in (TITLE, DOCNO, "请于"):
        assert secret not in text


def test_verify_package_without_key(sealed):
    from smseal.envelope import verify_package
    res = verify_package(sealed, trusted=TRUSTED)
    assert res.package_id == inspect(sealed).package_id and res.urgency == "extra-urgent"
    bad = bytearray(sealed)
    bad[len(bad) // 2] ^= 4
    with pytest.raises(InvalidSignature):
        verify_package(bytes(bad), trusted=TRUSTED)
    with pytest.raises(UntrustedSender):
        verify_package(sealed, trusted=[OUTSIDER.public_key()])
