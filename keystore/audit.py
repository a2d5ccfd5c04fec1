"""The authority's audit log (``authority/audit.log``): append-only, hash-chained, signed.

Every escrow and every recovery of an encryption key is written here, in the
same locked transaction that records it.  One JSON object per line::

    {"seq": 3, "time": "2026-12-01T15:30:00+00:00", "action": "recover",
     "details": {...}, "prev": "<hash of entry 2>", "hash": "<hex>", "sig": "<base64>"}

``hash`` = SM3("smseal-audit-v1" ‖ prev ‖ canonical JSON of seq, time, action,
details), with ``prev`` = 32 zero bytes for the first entry; ``sig`` is the
authority key's SM2 signature (ID 1234567812345678) over ``hash``.  The
newest entry's seq and hash are also kept in the authority's ``state.json``.

What ``verify`` detects (``authority audit`` exits 1):
- an altered entry (its hash or signature fails),
- a removed or reordered entry (seq not consecutive, ``prev`` not the hash
  of the entry before),
- entries removed from the end (the last entry is not the head recorded in
  ``state.json``).
What it cannot detect: someone holding the authority key, or someone who
rewrites both the log and state.json consistently *and* signs with the
authority key.  Without the key, entries cannot be forged.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from shangmi.errors import InvalidSignature
from shangmi.sm2 import PublicKey
from shangmi.sm3 import digest as sm3

DOMAIN = b"smseal-audit-v1"
GENESIS = bytes(32)
MAX_LOG = 64 * 1024 * 1024


class _Signer(Protocol):
    def sign(self, data: bytes) -> bytes: ...


def _canonical(seq: int, time: str, action: str, details: dict[str, Any]) -> bytes:
    return json.dumps({"seq": seq, "time": time, "action": action, "details": details},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def entry_hash(prev: bytes, seq: int, time: str, action: str, details: dict[str, Any]) -> bytes:
    """The chained hash of one entry (see the module docstring)."""
    return sm3(DOMAIN + prev + _canonical(seq, time, action, details))


def append(path: Path, signer: _Signer, head: dict[str, Any] | None, action: str, details: dict[str, Any],
           now: datetime) -> dict[str, Any]:
    """Append one signed entry after ``head`` ({"seq", "hash"} or None); returns the new head.

    The caller holds the authority's lock and stores the returned head in its state.
    """
    seq = 1 if head is None else int(head["seq"]) + 1
    prev = GENESIS if head is None else bytes.fromhex(head["hash"])
    time = now.isoformat()
    h = entry_hash(prev, seq, time, action, details)
    line = {"seq": seq, "time": time, "action": action, "details": details, "prev": prev.hex(),
            "hash": h.hex(), "sig": base64.b64encode(signer.sign(h)).decode()}
    data = (json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return {"seq": seq, "hash": h.hex()}


class Problem(str):
    """One problem found in the log: the English sentence, plus its ``template`` and
    ``context`` so that the command can show it translated (``_(template).format(**context)``)."""

    template: str
    context: dict[str, Any]

    def __new__(cls, template: str, **context: Any) -> "Problem":
        obj = super().__new__(cls, template.format(**context))
        obj.template, obj.context = template, context
        return obj


@dataclass(frozen=True)
class AuditReport:
    """The result of ``verify``: entries read and every problem found (empty when intact)."""

    entries: int
    problems: tuple[Problem, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(path: Path, public_key: PublicKey, head: dict[str, Any] | None) -> AuditReport:
    """Check the whole log against the authority's key and the head its state recorded."""
    problems: list[Problem] = []
    if not path.exists():
        if head is not None:
            problems.append(Problem("the audit log is missing; the authority recorded {n} entries", n=head["seq"]))
        return AuditReport(0, tuple(problems))
    with open(path, "rb") as f:
        raw = f.read(MAX_LOG + 1)
    if len(raw) > MAX_LOG:
        return AuditReport(0, (Problem("the audit log is larger than {limit} bytes, too large to be checked",
                                       limit=MAX_LOG),))
    prev, expected_seq, count = GENESIS, 1, 0
    last_hash = None
    for lineno, line in enumerate(raw.splitlines(), 1):
        count += 1
        try:
            e = json.loads(line)
            seq, time, action, details = int(e["seq"]), str(e["time"]), str(e["action"]), e["details"]
            claimed_prev, claimed = bytes.fromhex(e["prev"]), bytes.fromhex(e["hash"])
            sig = base64.b64decode(e["sig"], validate=True)
            if not isinstance(details, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            problems.append(Problem("line {line}: not an audit entry (altered)", line=lineno))
            prev, expected_seq = GENESIS, expected_seq + 1
            continue
        if seq != expected_seq:
            problems.append(Problem("line {line}: entry {seq} where entry {expected} was expected "
                                    "(an entry was removed or the entries were reordered)",
                                    line=lineno, seq=seq, expected=expected_seq))
        if not hmac.compare_digest(claimed_prev, prev):
            problems.append(Problem("line {line}: entry {seq} does not follow the entry before it "
                                    "(removed or reordered entries)", line=lineno, seq=seq))
        h = entry_hash(claimed_prev, seq, time, action, details)
        if not hmac.compare_digest(h, claimed):
            problems.append(Problem("line {line}: entry {seq} was altered (its hash does not match)",
                                    line=lineno, seq=seq))
        else:
            try:
                public_key.verify(sig, h)
            except InvalidSignature:
                problems.append(Problem("line {line}: entry {seq} is not signed by the authority",
                                        line=lineno, seq=seq))
        prev, expected_seq, last_hash = claimed, seq + 1, claimed
    if head is not None:
        if last_hash is None or expected_seq - 1 != int(head["seq"]) or \
                not hmac.compare_digest(last_hash, bytes.fromhex(head["hash"])):
            problems.append(Problem("the log ends at entry {last}, but the authority recorded entry {head} "
                                    "as the last one (entries were removed at the end or the log was "
                                    "replaced)", last=expected_seq - 1, head=head["seq"]))
    elif count:
        problems.append(Problem("the authority recorded no audit entries, but the log has {n}", n=count))
    return AuditReport(count, tuple(problems))
