"""Run every conformance vector in tests/conformance/vectors through the public API,
and check that the generator reproduces the committed vectors byte for byte.

A refusal must have the vector's class, leave nothing behind (no output
folder, no temporary folder: ``released: none``) and raise an ``SmsealError``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from shangmi import sm2, sm3
from shangmi.errors import (DecryptionError, ExpiredCertificate, InvalidSignature, InvalidTag,
                            MalformedPackage, NoMatchingKey, PolicyError, RevokedKey, SmsealError,
                            UntrustedSender, VerificationError)
from smseal.envelope import (ApprovalError, RecipientInfo, SealResult, inspect, open_package, verify_approval,
                             verify_receipt)
from tests.conformance.generate import all_vectors
from tests.conformance.vectorfile import CLASSES, TrustedKey, Vector

DIR = Path(__file__).parent / "conformance" / "vectors"
PATHS = sorted(DIR.iterdir())


class VectorTrust:
    """The trust store a vector describes: signing keys with a unit and a validity window,
    and (for receipts) the unit each stanza's encryption key belongs to."""

    def __init__(self, trusted: list[TrustedKey], stanzas: list[tuple[str, str, str]] = ()) -> None:
        self._keys = {sm2.PublicKey.from_pem(t.pem): t for t in trusted}
        self._owners = {bytes.fromhex(kid): unit for _role, kid, unit in stanzas}

    def check_sender(self, key: sm2.PublicKey, sealed_at: datetime) -> str:
        t = self._keys.get(key)
        if t is None:
            raise UntrustedSender("the signing key is not trusted")
        if not t.valid_from <= sealed_at.timestamp() <= t.valid_until:
            raise ExpiredCertificate(f"{t.unit}'s key is not valid at {sealed_at.isoformat()}")
        return t.unit

    def unit_of(self, key_id: bytes) -> str | None:
        return self._owners.get(key_id)

    def find(self, key_id: bytes):
        class Found:
            unit = self._owners[key_id]
        if key_id not in self._owners:
            raise VerificationError("unknown key")
        return Found()


class VectorLeaders:
    """The leaders a vector's reader trusts: key, unit, validity window, the name recorded."""

    def __init__(self, leaders: list) -> None:
        self._leaders = [(sm2.PublicKey.from_pem(t.pem), t) for t in leaders]

    def __call__(self, unit: str, key: sm2.PublicKey, at: datetime) -> str:
        for k, t in self._leaders:
            if k == key and t.unit == unit:
                if not t.valid_from <= at.timestamp() <= t.valid_until:
                    raise RevokedKey("the leader's key is not valid then", reason="not valid then")
                return t.name
        raise UntrustedSender("not a leader of that unit")


def check_approval_verdict(v: Vector, res) -> None:
    """A vector's ``approval:`` line: verify_approval accepts it (verified) or refuses it (invalid)."""
    if v.approval is None:
        assert res.metadata.approval is None
        return
    trust = VectorTrust(v.trusted, v.stanzas)
    if v.approval == "verified":
        assert verify_approval(res, leader_of=VectorLeaders(v.leaders), unit_of=trust.unit_of) == v.leaders[0].name
    else:
        assert v.approval == "invalid"
        with pytest.raises(ApprovalError):
            verify_approval(res, leader_of=VectorLeaders(v.leaders), unit_of=trust.unit_of)


def refusal_class(exc: BaseException, data: bytes, receipt: bool) -> str:
    """Map our exception onto the vectors' small fixed set of classes (README.md)."""
    if isinstance(exc, MalformedPackage):
        if str(exc).startswith("bad armor"):
            return "armor"
        if receipt:
            return "header"
        try:
            inspect(data)
        except MalformedPackage:
            return "header"
        return "payload"
    if isinstance(exc, InvalidTag):
        return "payload"
    if isinstance(exc, (InvalidSignature, UntrustedSender, RevokedKey, ExpiredCertificate)):
        return "signature"
    if isinstance(exc, (NoMatchingKey, DecryptionError)):
        return "no-match"
    if isinstance(exc, PolicyError):
        return "policy"
    if isinstance(exc, VerificationError):
        text = str(exc)
        return "no-match" if ("another package" in text or "not addressed" in text) else "policy"
    return f"unexpected {type(exc).__name__}"


def load(path: Path) -> Vector:
    v = Vector.parse(path.read_bytes())
    assert v.name == path.name
    return v


def test_vectors_cover_every_class_and_are_many():
    counts = Counter(load(p).expect for p in PATHS)
    assert sum(counts.values()) >= 120
    for cls in CLASSES:
        assert counts[f"refuse: {cls}"] >= 3, cls
    assert counts["open: ok"] >= 20 and counts["verify: ok"] >= 3
    verdicts = Counter(load(p).approval for p in PATHS)
    assert verdicts["verified"] >= 3 and verdicts["invalid"] >= 10


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_vector(path: Path, tmp_path: Path):
    v = load(path)
    assert v.expect in ("open: ok", "verify: ok") or v.expect.removeprefix("refuse: ") in CLASSES
    if v.input == "receipt":
        return _run_receipt(v)
    out = tmp_path / "out"
    keys = [sm2.PrivateKey.from_pem(pem) for _name, pem in v.decryption_keys]
    trust = VectorTrust(v.trusted)
    if v.expect == "open: ok":
        res = open_package(v.data, key=keys, trusted=trust, out_dir=out)
        got = [(f.stat().st_size, sm3.digest(f.read_bytes()).hex(), f.name) for f in res.files]
        assert got == v.files
        assert sorted(p.name for p in out.iterdir()) == sorted(n for _s, _d, n in v.files)
        check_approval_verdict(v, res)
    else:
        with pytest.raises(SmsealError) as err:
            open_package(v.data, key=keys, trusted=trust, out_dir=out)
        assert refusal_class(err.value, v.data, False) == v.expect.removeprefix("refuse: "), err.value
        assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] in ([], ["out"])      # released: none


def _run_receipt(v: Vector) -> None:
    pid, digest, t = v.package
    sealed = SealResult(bytes.fromhex(pid), bytes.fromhex(digest), datetime.fromtimestamp(t, timezone.utc),
                        tuple(RecipientInfo(role, bytes.fromhex(kid)) for role, kid, _u in v.stanzas), 0)
    trust = VectorTrust(v.trusted, v.stanzas)
    if v.expect == "verify: ok":
        info = verify_receipt(v.data, package=sealed, trusted=trust)
        assert info.package_id.hex() == pid
        return
    with pytest.raises(SmsealError) as err:
        verify_receipt(v.data, package=sealed, trusted=trust)
    assert refusal_class(err.value, v.data, True) == v.expect.removeprefix("refuse: "), err.value


def test_generator_reproduces_every_vector_byte_for_byte():
    committed = {p.name: p.read_bytes() for p in PATHS}
    regenerated = {v.name: v.to_bytes() for v in all_vectors()}
    assert sorted(regenerated) == sorted(committed)
    for name, data in regenerated.items():
        assert data == committed[name], name


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_inspect_reads_only_the_header(path: Path):
    """inspect succeeds exactly when the class is not header (or armor), and never raises anything else."""
    v = load(path)
    if v.input != "package":
        return
    try:
        info = inspect(v.data)
    except MalformedPackage:
        assert v.expect in ("refuse: header", "refuse: armor")
        return
    assert v.expect != "refuse: header"
    assert info.recipients[0].role == "to"


def test_format_md_worked_example_is_reproduced_byte_for_byte(tmp_path):
    """FORMAT.md §13 is exactly what its published inputs give, and the package it shows opens."""
    from tests.conformance import worked_example
    from tests.conformance.craft import SENDER, TO

    doc = (Path(__file__).resolve().parents[1] / "docs" / "FORMAT.md").read_text(encoding="utf-8")
    assert "```\n" + worked_example.section() + "\n```" in doc
    package, lines = worked_example.build()
    assert f"total {len(package)} bytes" in lines
    res = open_package(package, key=TO, trusted=[SENDER.public_key()], out_dir=tmp_path / "o")
    assert res.main.read_bytes() == "值班安排见附件。\n".encode()
    assert f"    {res.package_digest.hex()}" in lines
    wrapped_hex = "".join(lines[lines.index(next(x for x in lines if x.startswith("wrapped file key"))) + 1:
                                lines.index(next(x for x in lines if x.startswith("plaintext: u32be")))]
                          ).replace(" ", "")
    assert TO.decrypt(bytes.fromhex(wrapped_hex)) == b"\x11" * 16


@pytest.mark.parametrize("path", [p for p in PATHS if b"\ninput: package\n" in p.read_bytes()[:400]],
                         ids=lambda p: p.name)
def test_open_stream_agrees_with_every_package_vector(path: Path, tmp_path: Path):
    """open_stream (readers instead of an output folder) gives the same outcome as open_package."""
    from smseal.envelope import open_stream
    v = load(path)
    keys = [sm2.PrivateKey.from_pem(pem) for _name, pem in v.decryption_keys]
    spool = tmp_path / "spool"
    spool.mkdir()
    if v.expect == "open: ok":
        with open_stream(v.data, key=keys, trusted=VectorTrust(v.trusted), spool_dir=spool) as res:
            got = [(f.size, sm3.digest(f.read()).hex(), f.name) for f in res.files]
            check_approval_verdict(v, res)
        assert got == v.files
    else:
        with pytest.raises(SmsealError) as err:
            with open_stream(v.data, key=keys, trusted=VectorTrust(v.trusted), spool_dir=spool):
                pass
        assert refusal_class(err.value, v.data, False) == v.expect.removeprefix("refuse: "), err.value
    assert list(spool.iterdir()) == []
