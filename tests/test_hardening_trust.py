"""Issue 9, the trust items (4, 5, 7, 8, 14's skeleton half) and the notices' valid-today rule:
one regression test per attack, named after it, each failing on the code before its fix.
docs/THREATS.md says which adversary each one stops."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest

from shangmi import ExpiredCertificate, PolicyError, RevokedKey, sm2
from smseal import envelope
from smseal.keystore import Directory, make_card
from smseal.keystore import authority as authority_mod
from smseal.keystore.authority import Authority
from smseal.keystore.bundle import make_request, verify_bundle
from smseal.keystore.x509 import Name, utcnow
from tests.cli_helpers import Runner, cli_env, units  # noqa: F401 - fixture

BUREAU, OFFICE, FINANCE = "某市保密局", "市政府办公室", "财政局"


@pytest.fixture
def desk(tmp_path, monkeypatch, capsys):
    """An office (市政府办公室) that pins the bureau's root, and the bureau's authority."""
    cli_env(monkeypatch)
    d = tmp_path / "desk"
    d.mkdir()
    office = Runner(tmp_path / "A", capsys, d)
    ca = Authority.init(tmp_path / "ca", BUREAU, signer=sm2.PrivateKey.generate())
    (d / "root.pem").write_bytes(ca.root.to_pem())
    assert office("init", "--unit", OFFICE).code == 0
    assert office("directory", "trust", "root.pem", "--yes").code == 0
    return office, ca, d


def _install(office: Runner, ca: Authority, d: Path, name: str = "d.bundle", **publish) -> str:
    (d / name).write_bytes(ca.publish(**publish))
    res = office("directory", "update", name)
    assert res.code == 0, res.err
    return res.err


class Unit:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sign, self.enc = sm2.PrivateKey.generate(), sm2.PrivateKey.generate()

    def request(self) -> bytes:
        return make_request(Name.build(self.name), self.sign, self.enc)


# --- 4 ----------------------------------------------------------------------------------------
def test_fake_card_under_a_units_name_stops_being_trusted_once_the_bureau_certifies_the_unit(desk):
    office, ca, d = desk
    forger, real = Unit(FINANCE), Unit(FINANCE)
    # the forger's card reaches the office first, under the real unit's name
    (d / "fake.card").write_bytes(make_card(FINANCE, forger.sign, forger.enc))
    assert office("keys", "import", "fake.card", "--yes").code == 0
    ca.issue(real.request(), unit_name=FINANCE)
    err = _install(office, ca, d)
    with Directory(office.home) as directory:
        # the forger can no longer send as 财政局, however it dates its package ...
        for when in (utcnow() - timedelta(days=365), utcnow()):
            with pytest.raises(RevokedKey):
                directory.check_sender(forger.sign.public_key(), when)
        # ... nor be sealed to: new packages go to the certified key
        assert directory.encryption_key(FINANCE) == real.enc.public_key()
        assert directory.check_sender(real.sign.public_key(), utcnow()) == FINANCE
    forged = envelope.seal(envelope.Package(("x.txt", b"forged")), sender=forger.sign,
                           to=office_enc_key(office), out=d / "forged.smx")
    assert forged.package_id
    res = office("open", "forged.smx", "-o", "out", "--no-receipt")
    assert res.code != 0 and not (d / "out").exists()
    fp = forger.sign.public_key().fingerprint().hex().upper()
    assert fp[:4] + " " + fp[4:8] in err and "no longer trusted" in err       # shown, with the fingerprint


def office_enc_key(office: Runner) -> sm2.PublicKey:
    res = office("keys", "export", "--public", "-o", "own.card")
    assert res.code == 0
    from smseal.keystore import parse_card
    return parse_card((office.cwd / "own.card").read_bytes()).encryption_key


def test_card_cannot_give_a_bureau_certified_unit_an_uncertified_encryption_key(desk):
    office, ca, d = desk
    real = Unit(FINANCE)
    ca.issue(real.request(), unit_name=FINANCE)
    _install(office, ca, d)
    # a newer card signed by the unit's certified signing key, carrying another encryption key
    other = sm2.PrivateKey.generate()
    (d / "new.card").write_bytes(make_card(FINANCE, real.sign, other))
    res = office("keys", "import", "new.card", "--yes")
    assert res.code != 0
    with Directory(office.home) as directory:
        assert directory.encryption_key(FINANCE) == real.enc.public_key()


# --- 5 ----------------------------------------------------------------------------------------
def test_old_bundle_key_is_not_accepted_until_the_newest_certificate_expires(desk):
    office, ca, d = desk
    unit = Unit(FINANCE)
    long_ago = utcnow() - timedelta(days=700)                 # valid until 30 days from now
    ca.issue(unit.request(), unit_name=FINANCE, now=long_ago)
    newer = Unit(FINANCE)
    ca.issue(newer.request(), unit_name=FINANCE, rotate=True)  # valid for two more years
    _install(office, ca, d)
    with Directory(office.home) as directory:
        old = directory.find(unit.sign.public_key().key_id())
        assert old.not_after is not None and old.not_after < utcnow() + timedelta(days=31)
        with pytest.raises(ExpiredCertificate):
            directory.check_sender(unit.sign.public_key(), utcnow() + timedelta(days=60))
        assert directory.check_sender(newer.sign.public_key(), utcnow() + timedelta(days=60)) == FINANCE
        with pytest.raises(ExpiredCertificate):
            directory.check_sender(newer.sign.public_key(), long_ago + timedelta(days=1))


def test_old_key_cannot_become_current_with_an_equal_notbefore(desk, monkeypatch):
    office, ca, d = desk
    serials = iter(range(1000, 2000, 10))
    monkeypatch.setattr(authority_mod, "_new_serial", lambda taken: next(serials))
    at = utcnow() - timedelta(minutes=1)
    units = [Unit(FINANCE) for _ in range(3)]
    ca.issue(units[0].request(), unit_name=FINANCE, now=at)
    _install(office, ca, d, "d1.bundle")
    for u in units[1:]:                                        # two rotations in the same second
        ca.issue(u.request(), unit_name=FINANCE, now=at, rotate=True)
    _install(office, ca, d, "d2.bundle")
    with Directory(office.home) as directory:
        assert directory.encryption_key(FINANCE) == units[2].enc.public_key()
        assert [k.public_key for k in directory.get(FINANCE).of_role("enc")] == [u.enc.public_key() for u in units]


def test_apply_bundle_is_a_directory_method_with_the_key_compromise_rule(tmp_path):
    ca = Authority.init(tmp_path / "ca", BUREAU, signer=sm2.PrivateKey.generate())
    unit = Unit(FINANCE)
    sign_der, _enc_der = ca.issue(unit.request(), unit_name=FINANCE)
    with Directory(path=tmp_path / "d.sqlite") as directory:
        applied = directory.apply_bundle(verify_bundle(ca.publish(), ca.root))
        assert (applied.units, applied.keys, applied.revoked, applied.conflicts) == (1, 0, 0, ())
        ca.revoke(FINANCE, "keyCompromise")
        applied = directory.apply_bundle(verify_bundle(ca.publish(), ca.root, installed_version=1))
        assert applied.revoked == 2
        key = directory.find(unit.sign.public_key().key_id())
        from smseal.keystore.x509 import Certificate
        assert key.revoked_at == Certificate.from_der(sign_der).not_before     # from the start
        with pytest.raises(RevokedKey):
            directory.check_sender(unit.sign.public_key(), key.revoked_at + timedelta(seconds=1))


# --- 7 ----------------------------------------------------------------------------------------
def test_bureau_cannot_silently_recertify_a_unit_for_whoever_brings_a_request(tmp_path, desk):
    office, ca, d = desk
    real, impostor = Unit(FINANCE), Unit(FINANCE)
    ca.issue(real.request(), unit_name=FINANCE)
    with pytest.raises(PolicyError, match="rotation") as exc:
        ca.issue(impostor.request(), unit_name=FINANCE)
    assert real.sign.public_key().fingerprint().hex()[:16] in str(exc.value)   # names the current keys
    assert len(ca.certificates()) == 2                                          # nothing issued
    # the command: the unit must be named, and a rotation must be asked for
    bur = Runner(tmp_path / "BUR", office.capsys, d)
    assert bur("authority", "init", "--name", BUREAU).code == 0
    (d / "real.csr").write_bytes(real.request())
    (d / "impostor.csr").write_bytes(impostor.request())
    res = bur("authority", "issue", "real.csr", "-o", "real.certs")
    assert res.code == 2 and "--unit" in res.err and not (d / "real.certs").exists()
    assert bur("authority", "issue", "real.csr", "--unit", FINANCE, "-o", "real.certs").code == 0
    res = bur("authority", "issue", "impostor.csr", "--unit", FINANCE, "-o", "impostor.certs")
    assert res.code != 0 and not (d / "impostor.certs").exists()


def test_explicit_rotation_shows_old_and_new_fingerprints(tmp_path, desk):
    from smseal.keystore import fingerprint_words

    office, _ca, d = desk
    old, new = Unit(FINANCE), Unit(FINANCE)
    bur = Runner(tmp_path / "BUR", office.capsys, d)
    assert bur("authority", "init", "--name", BUREAU).code == 0
    (d / "old.csr").write_bytes(old.request())
    (d / "new.csr").write_bytes(new.request())
    assert bur("authority", "issue", "old.csr", "--unit", FINANCE, "-o", "old.certs").code == 0
    res = bur("authority", "issue", "new.csr", "--unit", FINANCE, "--rotate", "-o", "new.certs")
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    for label, key in (("old signing key", old.sign), ("old encryption key", old.enc),
                       ("new signing key", new.sign), ("new encryption key", new.enc)):
        assert any(label in ln and fingerprint_words(key.public_key()) in ln for ln in lines), (label, res.out)


def _json(res) -> dict:
    return json.loads(res.out)


# --- notices: the signer must still be valid today ------------------------------------------
def _backdated_notice(home: Path, unit: str, kind: str, pid: str, digest: bytes, kid: bytes, when):
    from smseal.envelope.notice import make_notice
    from smseal.keystore import env_passphrase
    from smseal.office.context import Office

    with Office(home, passphrase=env_passphrase()) as office:
        signer = office.keystore.signer(unit)
        return make_notice(kind, package_id=bytes.fromhex(pid), package_digest=digest, recipient_key_id=kid,
                           urgency="extra-urgent", signer=signer, sequence=1 if kind == "reminder" else 0,
                           text="不属于本单位" if kind == "rejection" else "", when=when)


def _sent(units_) -> tuple[str, bytes, bytes]:
    """A sends an extra-urgent package to B, B fetches it: (package id, digest, B's key id)."""
    from smseal.office.context import Office

    a, b, _desk, _shared = units_
    res = a("send", "附件1.txt", "--to", "财政局", "--urgency", "extra-urgent", "--json")
    assert res.code == 0, res.err
    pid = json.loads(res.out)["package_id"]
    assert b("fetch").code == 0
    with Office(a.home) as office:
        digest = office.ledger.sent_record(pid)[0]
    with Office(b.home) as office:
        kid = next(iter(office.own_encryption_key_ids()))
    return pid, bytes(digest), kid


def test_revoked_unit_cannot_raise_a_backdated_reminder(units):
    a, b, _desk, shared = units
    pid, digest, kid = _sent(units)
    with Directory(b.home) as d:                                  # B learns that A was revoked
        d.revoke("市政府办公室", utcnow() - timedelta(minutes=1), "cessationOfOperation")
    notice = _backdated_notice(a.home, "市政府办公室", "reminder", pid, digest, kid,
                               utcnow() - timedelta(hours=1))
    notices = shared / "财政局" / "notices"
    notices.mkdir(parents=True, exist_ok=True)
    (notices / f"{pid}-reminder-1.notice").write_bytes(notice.to_bytes())
    report = json.loads(b("fetch", "--json").out)
    assert report["reminders"] == [] and len(report["refused"]) == 1
    (w,) = json.loads(b("inbox", "--json").out)["waiting"]
    assert w["reminders"] == []


def test_revoked_unit_cannot_attach_a_backdated_rejection_reason(units):
    from shangmi import SenderNoLongerValid
    from smseal.office.context import Office
    from smseal.office.receipts import import_rejection

    a, b, _desk, _shared = units
    pid, digest, kid = _sent(units)
    with Directory(a.home) as d:                                  # A learns that B was revoked
        d.revoke("财政局", utcnow() - timedelta(minutes=1), "cessationOfOperation")
    notice = _backdated_notice(b.home, "财政局", "rejection", pid, digest, kid, utcnow() - timedelta(hours=1))
    with Office(a.home) as office, pytest.raises(SenderNoLongerValid):
        import_rejection(office, notice.to_bytes())
    with Office(a.home) as office:
        assert office.ledger.sent_record(pid) is not None


# --- 8 ----------------------------------------------------------------------------------------
def _resigned(card: bytes, unit: str, key: sm2.PrivateKey, fmt: str | None = None) -> bytes:
    """``card`` re-issued by ``key`` under ``unit``: the signing key and the unit replaced, the
    rest (encryption key, its fingerprint and whatever proves it) kept, the body signed again —
    all a unit can do with another unit's public card."""
    doc = json.loads(card)
    doc.update(unit=unit, signing_key=base64.b64encode(key.public_key().to_der()).decode(),
               signing_fingerprint=key.public_key().fingerprint().hex())
    if fmt is not None:
        doc["format"] = fmt
        doc.pop("encryption_signature", None)
    body = {k: v for k, v in doc.items() if k not in ("signature", "encryption_signature")}
    doc["signature"] = base64.b64encode(key.sign(_canonical(body))).decode()
    return _canonical(doc) + b"\n"


def _canonical(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def test_card_with_another_units_encryption_key_cannot_block_the_real_card(tmp_path, desk):
    office, _ca, d = desk
    victim = Runner(tmp_path / "V", office.capsys, d)
    assert victim("init", "--unit", "审计局").code == 0
    assert victim("keys", "export", "--public", "-o", "victim.card").code == 0
    mallory = sm2.PrivateKey.generate()
    (d / "mallory.card").write_bytes(_resigned((d / "victim.card").read_bytes(), "审计局办公室", mallory))
    office("keys", "import", "mallory.card", "--yes")               # refused: no proof of possession
    res = office("keys", "import", "victim.card", "--yes")           # so the real card still gets in
    assert res.code == 0, res.err
    with Directory(office.home) as directory:
        assert directory.get("审计局").keys
        with pytest.raises(Exception):
            directory.get("审计局办公室")


def test_old_format_card_without_proof_of_possession_is_refused(desk):
    from smseal.keystore import parse_card
    from smseal.keystore.errors import MalformedCard

    office, _ca, d = desk
    assert office("keys", "export", "--public", "-o", "own.card").code == 0
    key = sm2.PrivateKey.generate()
    old = _resigned((d / "own.card").read_bytes(), "某县档案局", key, fmt="smseal-card/1")
    with pytest.raises(MalformedCard, match="older smseal") as exc:
        parse_card(old)
    assert exc.value.code == "old-card-format"


# --- 14, the skeleton half --------------------------------------------------------------------
def test_confusable_unit_name_cannot_pose_as_a_second_unit(tmp_path, desk):
    office, ca, d = desk
    real, poser = Unit("工商局"), Unit("エ商局")              # KATAKANA LETTER E for the ideograph 工
    (d / "real.card").write_bytes(make_card(real.name, real.sign, real.enc))
    (d / "poser.card").write_bytes(make_card(poser.name, poser.sign, poser.enc))
    assert office("keys", "import", "real.card", "--yes").code == 0
    res = office("keys", "import", "poser.card", "--yes")
    assert res.code != 0 and "工商局" in res.err
    with Directory(office.home) as directory:
        assert [u.name for u in directory.list()] == ["工商局"]
        directory.add_unit("Café局", sm2.PrivateKey.generate().public_key(), sm2.PrivateKey.generate().public_key())
        with pytest.raises(PolicyError, match="looks like") as exc:   # Cyrillic а for Latin a
            directory.add_unit("Cаfé局", sm2.PrivateKey.generate().public_key(),
                               sm2.PrivateKey.generate().public_key())
        assert exc.value.code == "confusable-unit-name"
    # nor can the bureau certify one
    ca.issue(real.request(), unit_name=real.name)
    with pytest.raises(PolicyError, match="looks like"):
        ca.issue(poser.request(), unit_name=poser.name)


def test_confusables_data_is_unicodes_pinned_file():
    import hashlib

    from smseal.keystore import skeleton

    data = skeleton.data_bytes()
    assert hashlib.sha256(data).hexdigest() == skeleton.CONFUSABLES_SHA256
    assert b"Version: 13.0.0" in data[:400] and b"Unicode Security Mechanisms for UTS #39" in data[:400]
    # UTS #39's own kind of example, and ones that matter for unit names
    assert skeleton.skeleton("paypal") == skeleton.skeleton("pаypаl")         # Cyrillic а
    assert skeleton.skeleton("工商局") == skeleton.skeleton("エ商局")
    assert skeleton.skeleton("口岸办") == skeleton.skeleton("ロ岸办")          # KATAKANA RO for 口
    assert skeleton.skeleton("财政局") != skeleton.skeleton("财政厅")
