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

from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Union

from shangmi import SmsealError

from .errors import SenderNoLongerValid, UsageError
from .fsutil import refuse_existing, write_atomic
from .i18n import _
from .transport import make as make_transport

SEND = "send"          # the receipt goes back through the configured transport (the default)
NO_RECEIPT = "none"    # no receipt now

Source = Union[Path, BinaryIO]


@dataclass
class Opened:
    """An opened package: the envelope's ``OpenResult``, where its receipt went (a file, an
    address or folder, or ``None``), and when it had been received before (a repeat) or ``None``."""

    result: Any
    receipt_where: str | None
    earlier: str | None
    approval: Any = None          # approval.ApprovalStatus: the 签发 verdict (verified / missing / invalid)
    reply_link: Any = None        # received.ReplyLink when the package is a reply to one we sent

    @property
    def package_id(self) -> str:
        return self.result.package_id.hex()


def open_file(office: Any, src: Source, out_dir: Path | Callable[[str], Path] | None = None, *,
              receipt: str | Path = SEND, via: str | None = None, overwrite: bool = False,
              accept_before_revocation: bool = False, reader: Callable[[BinaryIO], BinaryIO] | None = None,
              warn: Callable[[str], None] | None = None) -> Opened:
    """Open the package ``src`` (a path, or a seekable binary stream) into ``out_dir`` (a folder,
    a function of the package id giving one, or ``None``: a folder named after the package id in
    the current folder).  ``receipt`` is ``SEND``, ``NO_RECEIPT`` or a path to write it to;
    ``reader`` wraps the input (a progress bar); ``warn`` gets warnings (a sender no longer valid
    today, accepted with ``accept_before_revocation``)."""
    from smseal.envelope import inspect, make_receipt, open_package

    from .approval import policy_hook
    from .delivery import send_answer
    from .inbox import Inbox
    from .received import mark_receipt, record_opened
    from .workspace import as_office

    info = inspect(src)
    if not isinstance(src, Path):
        src.seek(0)
    _kid, decrypter = office.keystore.find_decrypter([r.key_id for r in info.recipients])
    refuse_if_no_longer_valid(office, info, accept_before_revocation, warn)
    receipt_file = None if receipt in (SEND, NO_RECEIPT) else Path(receipt)
    if receipt_file is not None:
        refuse_existing(receipt_file)
    transport = make_transport(office.config, via) if receipt == SEND else None
    if transport is not None:
        transport.check([sender_unit(office, info)])
    if callable(out_dir):
        out = Path(out_dir(info.package_id.hex()))
    else:
        out = Path(out_dir) if out_dir is not None else Path(info.package_id.hex()[:16])
    wf = as_office(office)
    accept, verdicts = policy_hook(wf)    # 签发 policy: a refused package leaves nothing written
    with (open(src, "rb") if isinstance(src, Path) else src) as f:
        res = open_package(reader(f) if reader else f, key=decrypter, trusted=office.directory,
                           out_dir=out, overwrite=overwrite, accept=accept)
    meta = res.metadata
    pid = res.package_id.hex()  # what was authenticated, not what inspect() read earlier
    earlier = office.ledger.already_received(pid)
    office.ledger.record_received(package_id=pid, sender_unit=res.sender, sender_key_id=res.sender_key.key_id(),
                                  title=meta.title, doc_number=meta.doc_number, urgency=res.urgency,
                                  due=meta.due, out_dir=str(out.resolve()))
    Inbox(office).mark_opened(pid, title=meta.title, doc_number=meta.doc_number, out_dir=str(out.resolve()))
    link = record_opened(wf, res, out, verdicts[0])      # 收文登记, and the reply link if it is one
    where = None
    if receipt != NO_RECEIPT:
        data = make_receipt(res, signer=office.keystore.signer(office.unit)).to_bytes()
        if receipt_file is not None:
            write_atomic(receipt_file, data)
            where = str(receipt_file)
        else:
            where = send_answer(office, transport, data, res.sender or "", pid)
        office.ledger.mark_receipt_sent(pid)
        mark_receipt(wf, res)
    return Opened(res, where, earlier, verdicts[0], link)


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


def sender_unit(office: Any, info: Any) -> str:
    """The sender's unit name as the directory knows it ('' if unknown: open refuses it anyway)."""
    from shangmi import KeyNotFound

    try:
        return office.directory.find(info.sender_key.key_id()).unit
    except KeyNotFound:
        return ""


def refuse_if_no_longer_valid(office: Any, info: Any, accept: bool,
                              warn: Callable[[str], None] | None = None) -> None:
    """The trust store judges the sender at the time the package says it was sealed.  A revoked
    or expired unit could backdate a package, so a sender no longer valid *today* is refused
    unless the user confirmed with the sender and asked for it."""
    from shangmi import ExpiredCertificate, RevokedKey

    from .ledger import now

    try:
        office.directory.check_sender(info.sender_key, now())
    except (RevokedKey, ExpiredCertificate) as exc:
        facts = dict(exc.context)
        facts.setdefault("unit", "?")
        facts.setdefault("reason", str(exc))
        if not accept:
            raise SenderNoLongerValid(str(exc), sealed=str(info.sealed_at), **facts) from None
        if warn is not None:
            warn(_("Warning: the sender's key is no longer valid today ({detail}); the package says it "
                   "was sealed before that. If in doubt, confirm with the sender by phone.").format(detail=exc))
    except SmsealError:
        pass  # untrusted or unknown senders are refused by open_package itself, with its own message
