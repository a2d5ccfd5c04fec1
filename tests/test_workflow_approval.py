"""签发 through the library: approval good / missing / by a non-leader / by a revoked leader /
over altered files, the receiving unit's policy (refusal leaves nothing written), and the
approval's bytes (FORMAT.md §6.5)."""

from __future__ import annotations

import zipfile
from datetime import date

import pytest

from smseal.envelope import ApprovalError, Metadata
from smseal.envelope.workflow import DOC_TYPES, check_approval_signature
from smseal.office import approval, drafts, registers, sending, unit_card
from smseal.office.errors import ApprovalRequired
from tests.workflow_helpers import open_in, pair  # noqa: F401  (fixture)


def _draft(pair, name="d.smd", doc_type="请示", to="财政局", **kw):
    main = pair.file("关于拨付2027年专项资金的请示.txt", "请拨付专项资金。")
    att = pair.file("附件1 资金明细.txt", "明细")
    return drafts.create_draft(pair.a, main, [att], to=to, out=pair.tmp / name, title="关于拨付专项资金的请示",
                               doc_number="赤政办〔2027〕9号", doc_type=doc_type, **kw)


def _seal_unchecked(pair, draft):
    """Seal a draft as a careless or hostile sender would: without the sender-side approval check."""
    with draft.package() as pkg:
        out = sending.Outgoing(pkg, draft.to, list(draft.cc))
        return sending.send(pair.a, out)


def test_approval_good(pair):
    d = _draft(pair)
    summary = approval.approval_summary(d)
    assert [f["name"] for f in summary["files"]] == ["关于拨付2027年专项资金的请示.txt", "附件1 资金明细.txt"]
    assert all(len(f["sm3"]) == 64 for f in summary["files"]) and summary["doc_type"] == "请示"
    d = approval.approve_draft(pair.a, d)          # the only leader
    assert d.approval.leader == "张三" and d.metadata.signer_name == "张三"
    sent = sending.send_draft(pair.a, d)
    res, status = pair.open_as_b(sent.path)
    assert status.state == "verified" and status.leader == "张三"
    assert res.metadata.doc_type == "请示" and len(res.file_digests) == 2
    row = pair.b.store.query("SELECT signer, signer_state FROM wf_in")[0]
    assert row == {"signer": "张三", "signer_state": "verified"}


def test_approval_missing_is_reported_and_refused_by_policy(pair):
    d = _draft(pair)
    sent = sending.send_draft(pair.a, d)           # no approval at all
    res, status = open_in(pair.b, sent.path, pair.tmp / "ok")
    assert status.state == "missing"
    pair.b.config.set("policy", "require_approval", "请示, 报告")
    out = pair.tmp / "refused"
    with pytest.raises(ApprovalRequired):
        open_in(pair.b, sent.path, out)
    assert not out.exists()                        # nothing written, not even the folder
    assert len(pair.b.store.query("SELECT * FROM wf_in")) == 1        # only the first, accepted open
    assert len(registers.incoming(pair.b).rows) == 1


def test_policy_by_type_and_all(pair):
    pair.b.config.set("policy", "require_approval", "请示")
    notice = sending.send_draft(pair.a, _draft(pair, "n.smd", doc_type="通知"))
    assert open_in(pair.b, notice.path, pair.tmp / "n")[1].state == "missing"     # 通知 not required
    pair.b.config.set("policy", "require_approval", "all")
    untyped = sending.send_draft(pair.a, _draft(pair, "u.smd", doc_type=None))
    with pytest.raises(ApprovalRequired):
        open_in(pair.b, untyped.path, pair.tmp / "u")
    assert not (pair.tmp / "u").exists()
    pair.b.config.set("policy", "require_approval", "便条")
    from smseal.office.errors import ConfigError
    with pytest.raises(ConfigError):
        approval.required_types(pair.b)


def test_approval_by_a_non_leader(pair):
    pair.a.leaders.add("李四")                     # added here, but not on the card B has
    d = approval.approve_draft(pair.a, _draft(pair), leader="李四")
    sent = sending.send_draft(pair.a, d)
    _res, status = open_in(pair.b, sent.path, pair.tmp / "o")
    assert status.state == "invalid" and "not a leader of 市政府办公室" in status.reason
    pair.b.config.set("policy", "require_approval", "请示")
    with pytest.raises(ApprovalRequired):
        open_in(pair.b, sent.path, pair.tmp / "refused")
    assert not (pair.tmp / "refused").exists()


def test_approval_by_a_revoked_leader(pair):
    d = approval.approve_draft(pair.a, _draft(pair))
    pair.a.leaders.remove("张三")
    with pytest.raises(ApprovalError):             # the sender's own check refuses first
        sending.send_draft(pair.a, d)
    card = unit_card.export_card(pair.a)
    changes = unit_card.preview_card(pair.b, card)
    assert changes.leaders_removed == ("张三",) and not changes.new_unit
    unit_card.import_card(pair.b, card)
    sent = _seal_unchecked(pair, d)                # sealed after the leader was revoked
    _res, status = open_in(pair.b, sent.path, pair.tmp / "o")
    assert status.state == "invalid" and "revoked" in status.reason
    pair.b.config.set("policy", "require_approval", "all")
    with pytest.raises(ApprovalRequired):
        open_in(pair.b, sent.path, pair.tmp / "refused")
    assert not (pair.tmp / "refused").exists()


def _alter_draft(path, index=0, data=b"\xe8\xaf\xb7\xe6\x8b\xa8\xe4\xbb\x98\xe4\xb8\x89\xe5\x80\x8d\xe3\x80\x82"):
    """Replace one file of a draft (same size), keeping everything else, as a tamperer would."""
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    old = members[f"files/{index}"]
    members[f"files/{index}"] = data[:len(old)].ljust(len(old), b" ")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)


def test_approval_over_altered_files(pair):
    d = approval.approve_draft(pair.a, _draft(pair))
    _alter_draft(d.path)
    altered = drafts.load_draft(d.path)
    with pytest.raises(ApprovalError, match="file 1 of 2 differs"):
        sending.send_draft(pair.a, altered)         # the sender refuses to seal it
    sent = _seal_unchecked(pair, altered)           # a sender that skips the check
    _res, status = open_in(pair.b, sent.path, pair.tmp / "o")
    assert status.state == "invalid" and "differs" in status.reason
    pair.b.config.set("policy", "require_approval", "请示")
    with pytest.raises(ApprovalRequired):
        open_in(pair.b, sent.path, pair.tmp / "refused")
    assert not (pair.tmp / "refused").exists()


def test_approval_over_altered_metadata(pair):
    d = approval.approve_draft(pair.a, _draft(pair))
    from dataclasses import replace

    changed = replace(d.metadata, title="关于拨付三倍专项资金的请示")
    with pytest.raises(ApprovalError):
        check_approval_signature(d.approval, changed.approved_digest())
    check_approval_signature(d.approval, d.metadata.approved_digest())


def test_approval_bytes_round_trip(pair):
    d = approval.approve_draft(pair.a, _draft(pair, reply_by=date(2027, 8, 20)))
    body = d.metadata.serialize()[4:]
    again = Metadata.parse(body)
    assert again == d.metadata and again.serialize()[4:] == body
    assert again.approval.files == tuple(f.digest for f in d.files)
    assert again.reply_by == date(2027, 8, 20)


def test_approve_refuses_twice_and_unknown_type(pair):
    d = approval.approve_draft(pair.a, _draft(pair))
    from smseal.office.errors import UsageError
    with pytest.raises(UsageError):
        approval.approve_draft(pair.a, d)
    with pytest.raises(ValueError):
        _draft(pair, "x.smd", doc_type="便条")
    assert "请示" in DOC_TYPES and len(DOC_TYPES) == 15


def test_draft_is_private_and_strict(pair):
    d = _draft(pair)
    assert d.path.stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(d.path, "a") as zf:
        zf.writestr("files/9", b"extra")
    with pytest.raises(drafts.MalformedDraft):
        drafts.load_draft(d.path)


@pytest.mark.parametrize("created", ["", "yesterday"])
def test_draft_without_a_valid_creation_time_is_malformed(pair, created):
    """A draft.json whose creation time is empty or not a time is a damaged draft (MalformedDraft),
    never a crash and never a draft without a creation time."""
    import json

    d = _draft(pair)
    with zipfile.ZipFile(d.path) as zf:
        members = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    head = json.loads(members["draft.json"])
    head["created"] = created
    members["draft.json"] = json.dumps(head).encode()
    with zipfile.ZipFile(d.path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    with pytest.raises(drafts.MalformedDraft, match="creation time"):
        drafts.load_draft(d.path)


def test_open_stream_checks_approvals_like_open_package(pair):
    """A service opening into memory gets the same file digests and the same policy hook."""
    from smseal.envelope import open_stream

    d = approval.approve_draft(pair.a, _draft(pair))
    sent = sending.send_draft(pair.a, d)
    on_disk, _ = pair.open_as_b(sent.path)
    hook, verdicts = approval.policy_hook(pair.b)
    with open_stream(sent.path, key=pair.b.keystore.decrypter(pair.b.unit), trusted=pair.b.directory,
                     accept=hook) as res:
        assert res.file_digests == on_disk.file_digests and len(res.file_digests) == 2
        assert verdicts[0].state == "verified" and verdicts[0].leader == "张三"
        assert [f.read() for f in res.files] == [p.read_bytes() for p in on_disk.files]


def _graft(pair, approved, name, **kw):
    """A new draft of the same files with other recipients or urgency, carrying ``approved``'s
    approval: what a clerk who edits a draft after 签发 would produce."""
    other = _draft(pair, name, **kw)
    from dataclasses import replace
    return drafts.write_approved(other, replace(other.metadata, signer_name="张三"), approved.approval)


@pytest.mark.parametrize("change", [
    {"cc": ["红山镇"]},                            # a copy recipient added
    {"to": "红山镇"},                              # another main recipient
    {"copy_number": "000005"},                     # other copy numbers (份号)
    {"urgency": "extra-urgent"}], ids=["cc-added", "main-replaced", "copy-numbers", "urgency"])
def test_approval_covers_the_recipient_list(pair, change):
    """主送, 抄送, each copy's 份号 and the urgency are what the leader approved: changing any of
    them after 签发 is refused by the sender's check and by the recipient, policy or not."""
    approved = approval.approve_draft(pair.a, _draft(pair))
    summary = approval.approval_summary(approved)
    assert summary["recipients"] == [{"role": "to", "unit": "财政局", "copy_number": "000001",
                                      "key_id": pair.a.directory.encryption_key("财政局").key_id().hex()}]
    grafted = _graft(pair, approved, "grafted.smd", **change)
    with pytest.raises(ApprovalError):
        sending.send_draft(pair.a, grafted)        # the sender refuses to seal it
    if "to" in change:
        return                                     # B is not a recipient of that one
    sent = _seal_unchecked(pair, grafted)          # a sender that skips the check
    _res, status = open_in(pair.b, sent.path, pair.tmp / "o")
    assert status.state == "invalid"
    assert "recipient list" in status.reason or "urgency" in status.reason
    pair.b.config.set("policy", "require_approval", "请示")
    with pytest.raises(ApprovalRequired):
        open_in(pair.b, sent.path, pair.tmp / "refused")
    assert not (pair.tmp / "refused").exists()


def test_recipient_names_must_be_the_keys_owners(pair):
    """An approval whose list names a unit for another unit's key (the leader was shown a lie,
    or the sender's directory is wrong) is invalid at a recipient that knows the key."""
    from dataclasses import replace
    from smseal.envelope import Addressee

    d = _draft(pair)
    own = d.metadata.recipients[0]
    lying = replace(d.metadata, recipients=(Addressee("to", own.key_id, "松山镇", own.copy_number),))
    meta = replace(lying, signer_name="张三")
    from smseal.envelope.workflow import make_approval
    a = make_approval(meta.approved_digest(), [f.digest for f in d.files], leader="张三",
                      signer=pair.a.leaders.signer("张三"), time=pair.a.now(), urgency=d.urgency)
    lied = drafts.write_approved(d, meta, a)
    from smseal.envelope import seal
    with lied.package() as pkg:                    # sealed to 财政局's key, as the list says
        seal(pkg, sender=pair.a.keystore.signer(pair.a.unit), to=pair.a.directory.encryption_key("财政局"),
             out=pair.tmp / "lie.smx")
    _res, status = open_in(pair.b, pair.tmp / "lie.smx", pair.tmp / "o")
    assert status.state == "invalid" and "松山镇" in status.reason and "财政局" in status.reason


def test_a_recipient_key_changed_after_the_draft_means_a_new_draft(pair):
    d = approval.approve_draft(pair.a, _draft(pair))
    from shangmi import sm2
    new = sm2.PrivateKey.generate().public_key()
    pair.a.directory.add_key("财政局", "enc", new)
    from smseal.office.errors import UsageError
    with pytest.raises(UsageError, match="changed after this draft was prepared"):
        sending.send_draft(pair.a, d)
