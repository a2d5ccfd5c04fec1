"""The MIME structure of a message as the IMAP server reports it (``BODYSTRUCTURE``, RFC 3501
§7.4.2), and transfer decoders that work piece by piece.

``fetch`` uses them to read a large mail without holding it: it asks for the structure first,
then streams only the parts that can carry smseal items (``BODY.PEEK[<section>]<offset.length>``),
decoding base64 or quoted-printable into a private spool file as the pieces arrive.  Nothing
here trusts the server's answer: sizes, names and the nesting are bounded and only say where
to look; what is found is verified by its own signature later.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from urllib.parse import unquote_to_bytes

from shangmi.errors import MalformedInput

from .i18n import _

MAX_DEPTH = 8           # nesting levels (as mailparse.MAX_DEPTH)
MAX_LEAVES = 100        # parts (as mailparse.MAX_MIME_PARTS)
MAX_TOKENS = 20_000     # atoms in one BODYSTRUCTURE answer



@dataclass(frozen=True)
class Leaf:
    """One non-multipart part: its IMAP ``section`` (``"2"``, ``"2.1"`` ...), media type,
    transfer encoding, size in the mail (octets, encoded) and the file name it gives, if any."""

    section: str
    maintype: str
    subtype: str
    encoding: str
    octets: int
    name: str


_ATOM = re.compile(rb"[^\s()\"{}\[\]]+")


def parse(raw: bytes) -> list[object]:
    """The parenthesised list in ``raw`` (one IMAP response, literals inlined as ``{n}\\r\\n`` +
    n bytes) as nested lists of bytes / int / None."""
    pos = 0
    count = 0
    stack: list[list[object]] = [[]]
    n = len(raw)
    while pos < n:
        c = raw[pos:pos + 1]
        count += 1
        if count > MAX_TOKENS:
            raise MalformedInput(_("the mail server described a message too complex to read"))
        if c in (b" ", b"\r", b"\n", b"\t"):
            pos += 1
        elif c == b"(":
            if len(stack) > 4 * MAX_DEPTH + 8:
                raise MalformedInput(_("this e-mail is nested more than {limit} levels deep").format(limit=MAX_DEPTH))
            stack.append([])
            pos += 1
        elif c == b")":
            if len(stack) == 1:
                raise MalformedInput(_("the mail server's answer is not well formed"))
            done = stack.pop()
            stack[-1].append(done)
            pos += 1
        elif c == b'"':
            out = bytearray()
            pos += 1
            while pos < n and raw[pos:pos + 1] != b'"':
                if raw[pos:pos + 1] == b"\\":
                    pos += 1
                out += raw[pos:pos + 1]
                pos += 1
            pos += 1
            stack[-1].append(bytes(out))
        elif c == b"{":
            m = re.compile(rb"\{(\d{1,9})\}\r\n").match(raw, pos)
            if m is None:
                raise MalformedInput(_("the mail server's answer is not well formed"))
            size = int(m.group(1))
            stack[-1].append(raw[m.end():m.end() + size])
            pos = m.end() + size
        else:
            m = _ATOM.match(raw, pos)
            if m is None:
                pos += 1
                continue
            tok = m.group()
            pos = m.end()
            if tok.upper() == b"NIL":
                stack[-1].append(None)
            elif tok.isdigit():
                stack[-1].append(int(tok))
            else:
                stack[-1].append(tok)
    if len(stack) != 1:
        raise MalformedInput(_("the mail server's answer is not well formed"))
    return stack[0]


def find(items: list[object], key: bytes) -> object:
    """The value after the atom ``key`` (e.g. ``BODYSTRUCTURE``) in a parsed FETCH answer."""
    todo = [items]
    while todo:
        lst = todo.pop()
        for i, x in enumerate(lst):
            if isinstance(x, bytes) and x.upper() == key and i + 1 < len(lst):
                return lst[i + 1]
            if isinstance(x, list):
                todo.append(x)
    return None


def leaves(body: object) -> list[Leaf]:
    """The non-multipart parts of a ``BODYSTRUCTURE`` value, in order, with their sections;
    ``MalformedInput`` beyond ``MAX_DEPTH`` levels or ``MAX_LEAVES`` parts."""
    out: list[Leaf] = []
    stack: list[tuple[object, str, int]] = [(body, "", 0)]
    while stack:
        node, section, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise MalformedInput(_("this e-mail is nested more than {limit} levels deep").format(limit=MAX_DEPTH))
        if not isinstance(node, list) or not node:
            continue
        if isinstance(node[0], list):                          # multipart: children, then the subtype
            children = [c for c in node if isinstance(c, list)]
            for i, child in reversed(list(enumerate(children, 1))):
                stack.append((child, f"{section}.{i}" if section else str(i), depth + 1))
            continue
        maintype, subtype = _text(node, 0).lower(), _text(node, 1).lower()
        if maintype == "message" and subtype in ("rfc822", "global") and len(node) > 8 \
                and isinstance(node[8], list):
            inner = node[8]
            base = section or "1"
            if inner and isinstance(inner[0], list):             # its body is multipart: base.1, base.2 ...
                stack.append((inner, base, depth + 1))
            else:
                stack.append((inner, f"{base}.1", depth + 1))
            continue
        params = _params(node[2] if len(node) > 2 else None)
        dsp_at = 9 if maintype == "text" else 8
        dsp = node[dsp_at] if len(node) > dsp_at else None
        dparams = _params(dsp[1]) if isinstance(dsp, list) and len(dsp) > 1 else {}
        name = _filename(dparams, "filename") or _filename(params, "name")
        octets = node[6] if len(node) > 6 and isinstance(node[6], int) else 0
        out.append(Leaf(section or "1", maintype, subtype, _text(node, 5).lower() or "7bit", octets, name))
        if len(out) > MAX_LEAVES:
            raise MalformedInput(_("this e-mail has more than {limit} parts").format(limit=MAX_LEAVES))
    return out


def _text(node: list[object], i: int) -> str:
    v = node[i] if len(node) > i else None
    return v.decode("ascii", "replace") if isinstance(v, bytes) else ""


def _params(v: object) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(v, list):
        for k, val in zip(v[0::2], v[1::2]):
            if isinstance(k, bytes) and isinstance(val, bytes):
                out[k.decode("ascii", "replace").lower()] = val.decode("utf-8", "replace")
    return out


def _filename(params: dict[str, str], key: str) -> str:
    """A file name from MIME parameters: plain, RFC 2231 (``name*``, ``name*0*`` ...) or RFC 2047."""
    if key in params:
        value = params[key]
        if "=?" in value:
            try:
                return str(make_header(decode_header(value)))
            except (ValueError, LookupError, UnicodeError):
                return value
        return value
    pieces = sorted(((k, v) for k, v in params.items() if k.startswith(key + "*")),
                    key=lambda kv: int(re.sub(r"\D", "", kv[0].split("*")[1] or "0") or 0))
    if not pieces:
        return ""
    if len(pieces) == 1 and pieces[0][0] == key + "*":
        raw = pieces[0][1]
    else:
        raw = "".join(v for _k, v in pieces)
    if pieces[0][0].endswith("*") and raw.count("'") >= 2:
        charset, _lang, value = raw.split("'", 2)
        try:
            return unquote_to_bytes(value).decode(charset or "utf-8", "replace")
        except LookupError:
            return value
    return raw


class Decoder:
    """A transfer decoding (base64, quoted-printable, or none) fed piece by piece."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding.lower()
        self._rest = b""

    def feed(self, piece: bytes) -> bytes:
        if self.encoding == "base64":
            data = self._rest + piece.translate(None, b" \t\r\n")
            cut = len(data) - len(data) % 4
            self._rest = data[cut:]
            return _b64(data[:cut])
        if self.encoding == "quoted-printable":
            data = self._rest + piece
            cut = data.rfind(b"\n") + 1
            self._rest = data[cut:]
            return binascii.a2b_qp(data[:cut])
        return piece

    def end(self) -> bytes:
        rest, self._rest = self._rest, b""
        if self.encoding == "base64":
            rest = rest.rstrip(b"=")
            return _b64(rest + b"=" * (-len(rest) % 4)) if rest else b""
        if self.encoding == "quoted-printable":
            return binascii.a2b_qp(rest)
        return rest


def _b64(data: bytes) -> bytes:
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        raise MalformedInput(_("an attachment of this e-mail is not valid base64")) from None
