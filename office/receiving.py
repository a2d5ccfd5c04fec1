"""Opening a package addressed to this unit (``smseal open`` and the page's 打开): verify,
decrypt, write the files, record the package (ledger and inbox), and sign the receipt
(签收回执) — sent back through the transport, written to a file, or not made now.

The receiving unit's 签发 policy (``approval``) is applied before any file is placed, and the
package is registered (收文登记) and linked to the package it answers, if it is a reply
(``received``).

Everything that could stop the receipt (the way back to the sender, an existing receipt file) is
checked before anything is decrypted; nothing is written unless the whole package verifies.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Union

from .errors import UsageError
from .fsutil import refuse_existing, write_atomic
from .i18n import _
from .transport import Transport
from .transport import make as make_transport

if TYPE_CHECKING:
    from smseal.envelope import OpenResult, PackageInfo, Readable

    from .context import Office

SEND = "send"          # the receipt goes back through the configured transport (the default)
NO_RECEIPT = "none"    # no receipt now

Source = Union[Path, BinaryIO]


@dataclass
class Opened:
    """An opened package: the envelope's ``OpenResult``, where its receipt went (a file, an
    address or folder, or ``None``), when it had been received before (a repeat) or ``None``,
    and what the ledger knew (``replay.conflict``: a *different* package with this id was
    received before — one of them squats the other's id)."""

    result: OpenResult[Path]
    receipt_where: str | None
    earlier: str | None
    approval: Any = None          # approval.ApprovalStatus: the 签发 verdict (verified / missing / invalid)
    reply_link: Any = None        # received.ReplyLink when the package is a reply to one we sent
    replay: Any = None            # ledger.Replay: new, repeat, or conflict (same id, different package)

    @property
    def package_id(self) -> str:
        return self.result.package_id.hex()


class ReadOnce:
    """A binary stream read exactly once, front to back: the header bytes looked at before
    opening (to pick the key and check the way back) are kept and handed out again, so
    what is checked is what is opened, whatever happens to the file meanwhile."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._kept = bytearray()
        self._replay: memoryview | None = None
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        if self._replay is not None and self._pos < len(self._replay):
            end = len(self._replay) if n is None or n < 0 else min(len(self._replay), self._pos + n)
            out = bytes(self._replay[self._pos:end])
            self._pos = end
            if n is None or n < 0:
                out += self._raw.read()
            return out
        data = self._raw.read(n)
        if self._replay is None:
            self._kept += data
        return data

    def readline(self, limit: int = -1) -> bytes:
        if self._replay is not None and self._pos < len(self._replay):
            rest = self._replay[self._pos:]
            nl = bytes(rest).find(b"\n")
            take = len(rest) if nl < 0 else nl + 1
            if limit is not None and limit >= 0:
                take = min(take, limit)
            out = bytes(rest[:take])
            self._pos += take
            if not out.endswith(b"\n") and self._pos >= len(self._replay) and (limit is None or limit < 0
                                                                                or len(out) < limit):
                out += self._raw.readline(-1 if limit is None or limit < 0 else limit - len(out))
            return out
        data = self._raw.readline(limit)
        if self._replay is None:
            self._kept += data
        return data

    def rewind(self) -> None:
        """Serve what was read so far once more, then continue with the rest of the stream."""
        self._replay = memoryview(bytes(self._kept))
        self._kept = bytearray()
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> "ReadOnce":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_file(office: Any, src: Source, out_dir: Path | Callable[[str], Path] | None = None, *,
              receipt: str | Path = SEND, via: str | None = None, overwrite: bool = False,
              accept_before_revocation: bool = False, reader: Callable[[Readable], Readable] | None = None,
              warn: Callable[[str], None] | None = None) -> Opened:
    """Open the package ``src`` (a path, or a binary stream) into ``out_dir`` (a folder,
    a function of the package id giving one, or ``None``: a new folder here, named after the
    package once it is authenticated).  ``receipt`` is ``SEND``, ``NO_RECEIPT`` or a path to
    write it to; ``reader`` wraps the input (a progress bar); ``warn`` gets warnings (a sender
    no longer valid today, accepted with ``accept_before_revocation``; a package id seen
    before on a different package).

    The package is read once through one descriptor; every trust rule (trusted when sealed
    and still valid today) is the library's, applied to the header that is verified."""
    from smseal.envelope import inspect, make_receipt, open_package

    from .approval import policy_hook
    from .delivery import send_answer
    from .fsutil import new_private_folder, settle_folder
    from .inbox import Inbox
    from .received import mark_receipt, record_opened

    with ReadOnce(open(src, "rb") if isinstance(src, Path) else src) as once:
        info = inspect(once)         # to pick our key and check the way back; verified below
        once.rewind()
        _kid, decrypter = office.keystore.find_decrypter([r.key_id for r in info.recipients])
        # Where the receipt goes, decided (and checked) before anything is opened: a file, the
        # configured transport back to the sender, or nowhere now.
        back: Path | Transport | None = None
        if receipt == SEND:
            back = make_transport(office.config, via)
            back.check([sender_unit(office, info)])
        elif receipt != NO_RECEIPT:
            back = Path(receipt)
            refuse_existing(back)
        staged = out_dir is None
        accept, verdicts = policy_hook(office)    # 签发 policy: a refused package leaves nothing written
        if callable(out_dir):
            out = Path(out_dir(info.package_id.hex()))
        else:
            out = Path(out_dir) if out_dir is not None else new_private_folder(Path.cwd())
        try:
            res = open_package(reader(once) if reader else once, key=decrypter, trusted=office.directory,
                               out_dir=out, overwrite=overwrite, accept=accept,
                               accept_before_revocation=accept_before_revocation)
        except BaseException:
            if staged:
                try:
                    out.rmdir()
                except OSError:
                    pass
            raise
    if staged:      # named only now: the id is authenticated, and a planted name is never reused
        out = settle_folder(out, res.package_id.hex()[:16], res.package_digest.hex()[:8])
        res = dataclasses.replace(res, files=tuple(out / f.name for f in res.files))
    if res.sender_no_longer_valid and warn is not None:
        warn(_("Warning: the sender's key is no longer valid today ({detail}); the package says it "
               "was sealed before that. If in doubt, confirm with the sender by phone.")
             .format(detail=res.sender_no_longer_valid))
    meta = res.metadata
    pid = res.package_id.hex()  # what was authenticated
    replay = office.ledger.record_received(
        package_id=pid, package_digest=res.package_digest, sender_unit=res.sender,
        sender_key_id=res.sender_key.key_id(), title=meta.title, doc_number=meta.doc_number,
        urgency=res.urgency, due=meta.due, out_dir=str(out.resolve()))
    if replay.conflict and warn is not None:
        warn(_("WARNING: a DIFFERENT package with the same id {pid} was received before ({earlier}). "
               "One of them reuses the other's id: check with {sender} by phone before acting on "
               "either.").format(pid=pid, sender=res.sender or "?",
                                earlier="; ".join(f"{u or '?'}, {t}" for t, u in replay.earlier)))
    Inbox(office).mark_opened(pid, title=meta.title, doc_number=meta.doc_number, out_dir=str(out.resolve()))
    link = record_opened(office, res, out, verdicts[0])      # 收文登记, and the reply link if it is one
    where = None
    if back is not None:
        data = make_receipt(res, signer=office.keystore.signer(office.unit)).to_bytes()
        if isinstance(back, Path):
            write_atomic(back, data)
            where = str(back)
        else:
            where = send_answer(office, back, data, res.sender or "", pid)
        office.ledger.mark_receipt_sent(pid, res.package_digest)
        mark_receipt(office, res)
    return Opened(res, where, replay.first_opened_at if replay.repeat else None, verdicts[0], link, replay)


def package_in_email(path: Path) -> tuple[str, bytes]:
    """(name, bytes) of the one package a saved e-mail carries; a ``UsageError`` that says what
    it carries instead (a part of a split package, a receipt, several packages, nothing)."""
    from .fsutil import read_input
    from .mailparse import read_items

    items = read_items(read_input(path, 256 * 1024 * 1024))
    packages = [i for i in items if i.kind == "package"]
    if len(packages) == 1:
        return packages[0].name, packages[0].data
    parts = [i for i in items if i.kind == "part"]
    if parts:
        n, total = parts[0].part or (0, 0)
        raise UsageError(_("{path} is an e-mail carrying part {n} of {total} of a package; let 'smseal fetch' "
                           "collect all parts from the mailbox, or save them all and fetch from a folder.")
                         .format(path=path, n=n, total=total))
    if any(i.kind in ("receipt", "notice") for i in items):
        raise UsageError(_("{path} is an e-mail carrying a receipt, not a package: smseal receipts import {path}")
                         .format(path=path))
    if packages:
        raise UsageError(_("{path} is an e-mail carrying {n} packages; save each attachment and open it.")
                         .format(path=path, n=len(packages)))
    raise UsageError(_("{path} is an e-mail, but it carries no smseal package.").format(path=path))


def is_email(path: Path) -> bool:
    """True when the file at ``path`` starts like an e-mail message (a package saved from a mail)."""
    from .mailparse import looks_like_email

    with open(path, "rb") as f:
        return bool(looks_like_email(f.read(4096)))


def sender_unit(office: Office, info: PackageInfo) -> str:
    """The sender's unit name as the directory knows it ('' if unknown: open refuses it anyway)."""
    from shangmi import KeyNotFound

    try:
        return office.directory.find(info.sender_key.key_id()).unit
    except KeyNotFound:
        return ""
