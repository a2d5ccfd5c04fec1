"""Replies (答复): a package sealed back to the sender of one we received, linked to it.

The reply carries the original's package id and package digest inside the
encrypted, sender-signed metadata (FORMAT.md §6.5), so the original sender's
ledger links it exactly (``received.record_opened``) and counts it for 办复率.

    with compose_reply(office, "a1b2…", "答复.pdf", title="关于…的答复") as outgoing:
        sent = send(office, outgoing)          # or seal_to(office, outgoing, "reply.smx")
    mark_replied(office, "a1b2…", sent)
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from shangmi.errors import KeyNotFound

from smseal.envelope import ReplyTo

from .errors import UsageError
from .i18n import _
from .sending import Outgoing, Sent, Wrap, compose
from .context import Office


def original_of(office: Office, package_id: str) -> dict[str, Any]:
    """The received package ``package_id`` (a prefix of at least 8 hex digits will do)."""
    pid = package_id.strip().lower()
    if len(pid) < 8 or any(c not in "0123456789abcdef" for c in pid):
        raise UsageError(_("A package id is hexadecimal, at least 8 digits (see 'smseal status')."))
    rows = office.store.query("SELECT package_id, package_digest, sender_unit, title, doc_number, reply_by "
                              "FROM wf_in WHERE package_id LIKE ? ORDER BY opened_at", (pid + "%",))
    if not rows:
        raise KeyNotFound("no received package {pid}", pid=str(pid))
    if len({(r["package_id"], bytes(r["package_digest"])) for r in rows}) > 1:
        raise UsageError(_("Several received packages match {pid}; give more digits.").format(pid=pid))
    if not rows[0]["sender_unit"]:
        raise UsageError(_("The sender of package {pid} has no name in the directory; a reply needs one.")
                         .format(pid=pid))
    return rows[0]


@contextmanager
def compose_reply(office: Office, package_id: str, main: str | os.PathLike[str],
                  attachments: Sequence[str | os.PathLike[str]] = (), *, wrap: Wrap | None = None,
                  **fields: Any) -> Iterator[Outgoing]:
    """An ``Outgoing`` addressed to the original's sender, carrying the reply link.

    ``fields`` are the metadata of ``sending.compose`` (title, doc_number, doc_type, …)."""
    orig = original_of(office, package_id)
    link = ReplyTo(bytes.fromhex(orig["package_id"]), bytes(orig["package_digest"]))
    with compose(office, main, attachments, to=orig["sender_unit"], wrap=wrap, reply_to=link,
                 **fields) as outgoing:
        yield outgoing


def mark_replied(office: Office, package_id: str, sent: Sent) -> None:
    """Record in the 收文登记 that we answered ``package_id`` with ``sent``."""
    orig = original_of(office, package_id)
    with office.store.tx() as db:
        db.execute("UPDATE wf_in SET replied_at = ?, reply_package_id = ? WHERE package_id = ? "
                   "AND package_digest = ? AND replied_at IS NULL",
                   (str(getattr(sent.sealed_at, "isoformat", lambda: sent.sealed_at)()), sent.package_id,
                    orig["package_id"], orig["package_digest"]))
