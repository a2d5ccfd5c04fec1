"""The conformance vector file format (see tests/conformance/README.md): write and parse.

    smseal conformance vector: 1
    name: <name>
    comment: <one line>
    input: package | receipt
    expect: open: ok | verify: ok | refuse: <class>
    released: none
    file: <index> <size> <sm3 hex> <name as a JSON string>        (open: ok only, in order)
    package: <id hex> <digest hex> <sealing time>                  (receipts only)
    approval: verified | invalid                                   (packages with a 签发 check)
    stanza: <role> <key id hex> <unit>                             (in order; the reader's directory)
    trusted signing key: <unit> <valid from> <valid until>
    <PEM public key>
    trusted leader key: <unit> <valid from> <valid until> <leader name>
    <PEM public key>
    decryption key: <name>
    <PEM private key>
    <empty line>
    <the input bytes, binary or armored, to the end of the file>
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

MAGIC_LINE = "smseal conformance vector: 1"
CLASSES = ("header", "signature", "payload", "armor", "no-match", "policy")


@dataclass
class TrustedKey:
    unit: str
    valid_from: int
    valid_until: int
    pem: bytes


@dataclass
class TrustedLeader:
    unit: str
    valid_from: int
    valid_until: int
    name: str
    pem: bytes


@dataclass
class Vector:
    name: str
    comment: str
    input: str                       # "package" or "receipt"
    expect: str                      # "open: ok", "verify: ok" or "refuse: <class>"
    data: bytes
    files: list[tuple[int, str, str]] = field(default_factory=list)    # (size, sm3 hex, name)
    trusted: list[TrustedKey] = field(default_factory=list)
    decryption_keys: list[tuple[str, bytes]] = field(default_factory=list)
    package: tuple[str, str, int] | None = None                        # receipts: id, digest, time
    stanzas: list[tuple[str, str, str]] = field(default_factory=list)  # role, key id, unit
    approval: str | None = None                                        # "verified" or "invalid"
    leaders: list[TrustedLeader] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        lines = [MAGIC_LINE, f"name: {self.name}", f"comment: {self.comment}", f"input: {self.input}",
                 f"expect: {self.expect}", "released: none"]
        for i, (size, digest, name) in enumerate(self.files):
            lines.append(f"file: {i} {size} {digest} {json.dumps(name)}")
        if self.package:
            pid, digest, t = self.package
            lines.append(f"package: {pid} {digest} {t}")
        if self.approval:
            lines.append(f"approval: {self.approval}")
        for role, kid, unit in self.stanzas:
            lines.append(f"stanza: {role} {kid} {unit}")
        for tk in self.trusted:
            lines.append(f"trusted signing key: {tk.unit} {tk.valid_from} {tk.valid_until}")
            lines.append(tk.pem.decode().rstrip("\n"))
        for tl in self.leaders:
            lines.append(f"trusted leader key: {tl.unit} {tl.valid_from} {tl.valid_until} {tl.name}")
            lines.append(tl.pem.decode().rstrip("\n"))
        for name, pem in self.decryption_keys:
            lines.append(f"decryption key: {name}")
            lines.append(pem.decode().rstrip("\n"))
        return ("\n".join(lines) + "\n\n").encode() + self.data

    @classmethod
    def parse(cls, raw: bytes) -> "Vector":
        head, sep, data = raw.partition(b"\n\n")
        if not sep:
            raise ValueError("no empty line after the header")
        lines = head.decode("utf-8").split("\n")
        if lines[0] != MAGIC_LINE:
            raise ValueError("not a conformance vector")
        v = cls(name="", comment="", input="", expect="", data=data)
        i = 1
        while i < len(lines):
            k, _, val = lines[i].partition(": ")
            i += 1
            if k in ("trusted signing key", "decryption key", "trusted leader key"):
                pem = []
                while True:
                    pem.append(lines[i])
                    i += 1
                    if pem[-1].startswith("-----END "):
                        break
                block = ("\n".join(pem) + "\n").encode()
                if k == "decryption key":
                    v.decryption_keys.append((val, block))
                elif k == "trusted leader key":
                    unit, start, end, name = val.split(" ", 3)
                    v.leaders.append(TrustedLeader(unit, int(start), int(end), name, block))
                else:
                    unit, start, end = val.split(" ")
                    v.trusted.append(TrustedKey(unit, int(start), int(end), block))
            elif k == "file":
                _idx, size, digest, name = val.split(" ", 3)
                v.files.append((int(size), digest, json.loads(name)))
            elif k == "package":
                pid, digest, t = val.split(" ")
                v.package = (pid, digest, int(t))
            elif k == "stanza":
                role, kid, unit = val.split(" ")
                v.stanzas.append((role, kid, unit))
            elif k in ("name", "comment", "input", "expect", "approval"):
                setattr(v, k, val)
            elif k == "released":
                if val != "none":
                    raise ValueError("released must be none")
            else:
                raise ValueError(f"unknown field {k!r}")
        return v
