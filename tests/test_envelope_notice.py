"""Notices (docs/FORMAT.md §14): 催领 reminders and 拒收 reasons — every MUST of the section."""

from __future__ import annotations

import struct

import msgpack
import pytest

from shangmi import InvalidSignature, MalformedPackage, UntrustedSender, VerificationError, sm2
from smseal.envelope.notice import (ARMOR_LABEL, LABEL_NOTICE, NOTICE_MAGIC, Notice, check_notice_package,
                                    make_notice, verify_notice)

PID, DIGEST, KID = bytes(range(16)), bytes(range(32)), bytes(range(100, 116))


@pytest.fixture(scope="module")
def key():
    return sm2.PrivateKey.generate()


def _reminder(key, **kw):
    args = dict(package_id=PID, package_digest=DIGEST, recipient_key_id=KID, urgency="extra-urgent",
                signer=key, sequence=1)
    args.update(kw)
    return make_notice("reminder", **args)


def _resign(key, body: dict) -> bytes:
    """A notice with an arbitrary body, correctly signed (to test the parser, not the signature)."""
    raw = msgpack.packb(body, use_bin_type=True)
    signed = NOTICE_MAGIC + struct.pack(">H", len(raw)) + raw
    from smseal.envelope.encoding import der_to_raw

    return signed + der_to_raw(key.sign(LABEL_NOTICE + signed))


def _body(key, **kw):
    body = {"kind": "reminder", "package_id": PID, "package_digest": DIGEST, "recipient_key_id": KID,
            "signer": key.public_key().to_bytes(), "time": 1_800_000_000, "urgency": "urgent",
            "sequence": 1, "text": ""}
    body.update(kw)
    return body


def test_round_trip_and_verify(key):
    n = _reminder(key)
    data = n.to_bytes()
    assert Notice.from_bytes(data).to_bytes() == data                 # serialize(parse(x)) == x
    assert Notice.from_bytes(n.armor()) == n
    assert n.armor().startswith(f"-----BEGIN {ARMOR_LABEL}-----".encode())
    info = verify_notice(data, trusted=[key.public_key()])
    assert (info.kind, info.sequence, info.urgency, info.package_id) == ("reminder", 1, "extra-urgent", PID)
    check_notice_package(info, PID, DIGEST)
    with pytest.raises(VerificationError):
        check_notice_package(info, PID, bytes(32))


def test_rejection_carries_its_reason(key):
    n = make_notice("rejection", package_id=PID, package_digest=DIGEST, recipient_key_id=KID, urgency="normal",
                    signer=key, text="不属于本单位职责")
    info = verify_notice(n.to_bytes(), trusted=[key.public_key()])
    assert info.text == "不属于本单位职责" and info.sequence == 0


def test_signature_and_trust(key):
    data = bytearray(_reminder(key).to_bytes())
    data[-1] ^= 1
    with pytest.raises(InvalidSignature):
        verify_notice(bytes(data), trusted=[key.public_key()])
    with pytest.raises(UntrustedSender):
        verify_notice(_reminder(key).to_bytes(), trusted=[sm2.PrivateKey.generate().public_key()])
    # the body is covered: another sequence under the old signature fails
    n = _reminder(key)
    other = Notice(**{**n.__dict__, "sequence": 2})
    with pytest.raises(InvalidSignature):
        verify_notice(other.to_bytes(), trusted=[key.public_key()])


@pytest.mark.parametrize("change", [
    {"kind": "spam"}, {"urgency": "very"}, {"sequence": 0}, {"sequence": 1001}, {"text": "extra"},
    {"kind": "rejection", "sequence": 0, "text": ""}, {"kind": "rejection", "sequence": 0, "text": "   "},
    {"kind": "rejection", "sequence": 1, "text": "why"},
    {"kind": "rejection", "sequence": 0, "text": "a\x1b[31mred"}, {"kind": "rejection", "sequence": 0, "text": "a\u2028b"},
    {"kind": "rejection", "sequence": 0, "text": "a\x85b"}, {"kind": "rejection", "sequence": 0, "text": "a\u202eb"},
    {"kind": "rejection", "sequence": 0, "text": "a\u200bb"}, {"kind": "rejection", "sequence": 0, "text": "长" * 171},
    {"time": 253_402_300_800}, {"package_id": bytes(15)}, {"package_digest": bytes(31)},
    {"recipient_key_id": bytes(17)}, {"signer": bytes(65)}, {"sequence": True},
])
def test_reader_rejects_fields_out_of_range(key, change):
    with pytest.raises(MalformedPackage):
        Notice.from_bytes(_resign(key, _body(key, **change)))


def test_reader_rejects_layout_errors(key):
    good = _resign(key, _body(key))
    Notice.from_bytes(good)
    with pytest.raises(MalformedPackage):
        Notice.from_bytes(good + b"\x00")                                 # bytes after the signature
    with pytest.raises(MalformedPackage):
        Notice.from_bytes(good[:-1])
    with pytest.raises(MalformedPackage):
        Notice.from_bytes(NOTICE_MAGIC[:7] + b"\x02" + good[8:])          # unknown version
    with pytest.raises(MalformedPackage):
        Notice.from_bytes(b"SMSRCPT\x01" + good[8:])                       # a receipt's magic
    body = _body(key)
    reordered = {"urgency": body.pop("urgency"), **body}
    with pytest.raises(MalformedPackage):
        Notice.from_bytes(_resign(key, reordered))                          # keys out of order
    with pytest.raises(MalformedPackage):
        Notice.from_bytes(_resign(key, {**_body(key), "extra": 1}))        # unknown key
    raw = msgpack.packb(_body(key), use_bin_type=True)
    noncanon = raw.replace(b"\xa6urgent", b"\xd9\x06urgent")               # str8 where fixstr fits
    signed = NOTICE_MAGIC + struct.pack(">H", len(noncanon)) + noncanon
    with pytest.raises(MalformedPackage):
        Notice.from_bytes(signed + bytes(64))


def test_writer_refuses_what_the_reader_would(key):
    with pytest.raises(ValueError):
        make_notice("rejection", package_id=PID, package_digest=DIGEST, recipient_key_id=KID, urgency="normal",
                    signer=key, text="")
    with pytest.raises(ValueError):
        _reminder(key, sequence=0)
    with pytest.raises(ValueError):
        _reminder(key, urgency="high")
