"""份号 (copy numbers) and the recipient list a package names (FORMAT.md §6.5).

Every recipient's copy of a document gets its own 份号 (GB/T 9704-2012: six
digits, 000001 for the first copy): the main recipient's copy is the first,
then each copy recipient's in order.  ``addressees`` resolves the units to
their current encryption keys and numbers the copies; the list travels in
the encrypted metadata, is covered by a 签发 approval, and each copy's number
is recorded in the 发文登记.
"""

from __future__ import annotations

from typing import Any, Sequence

from smseal.envelope import Addressee
from smseal.envelope.workflow import number_copies

from .errors import UsageError
from .i18n import _
from .context import Office

def copy_numbers(first: str | None, count: int) -> list[str]:
    """``count`` consecutive 份号 from ``first`` (default ``000001``), zero-padded to six digits."""
    try:
        return number_copies(first or "1", count)
    except ValueError:
        raise UsageError(_("A copy number (份号) is a positive whole number, like 000001.")) from None


def addressees(office: Office, to: str, cc: Sequence[str], first_copy: str | None = None, *,
               reply_by: object = None, reply_from: Sequence[str] = ()) -> tuple[Addressee, ...]:
    """主送 then 抄送, each with its unit's current encryption key id and its own 份号.

    ``to`` and ``cc`` are names as the directory spells them (``groups.expand_recipients``);
    a revoked or expired unit raises as ``Directory.encryption_key`` does.  With a
    ``reply_by`` date the matter is assigned (交办) to the main recipient and to the copy
    recipients named in ``reply_from``: a written reply is expected from each of them."""
    units = [to, *cc]
    numbers = copy_numbers(first_copy, len(units))
    assigned = {office.directory.get(u).name for u in reply_from}
    stray = assigned - set(units)
    if stray:
        raise UsageError(_("A reply can only be asked of a recipient: {units} is not one.")
                         .format(units="、".join(sorted(stray))))
    if assigned and reply_by is None:
        raise UsageError(_("Asking for replies needs a deadline: add --reply-by."))
    return tuple(Addressee("to" if i == 0 else "cc", office.directory.encryption_key(u).key_id(), u, n,
                           reply_by is not None and (i == 0 or u in assigned))
                 for i, (u, n) in enumerate(zip(units, numbers)))


def check_keys_unchanged(office: Office, listed: Sequence[Addressee]) -> None:
    """Before sealing a prepared list: every unit still has the encryption key it had then.

    A unit that changed its key since the draft was prepared (and approved) means the
    draft must be prepared and approved again: the approval names the old key."""
    for a in listed:
        if a.unit is None or office.directory.encryption_key(a.unit).key_id() != a.key_id:
            raise UsageError(_("The encryption key of {unit} changed after this draft was prepared: prepare "
                               "the draft again (smseal draft) and have it approved again.")
                             .format(unit=a.unit or a.key_id.hex()))


def own_copy_number(meta: object, key_id: bytes) -> str | None:
    """The 份号 of the copy addressed to ``key_id`` (the stanza a recipient opened)."""
    entry = meta.addressee(key_id)  # type: ignore[attr-defined]
    return entry.copy_number if entry is not None else None


def copy_range(numbers: Sequence[str | None]) -> str | None:
    """The 份号 of a package's copies in one text: ``000001`` or ``000001–000004``."""
    given = [n for n in numbers if n]
    if not given:
        return None
    return given[0] if len(given) == 1 else f"{given[0]}–{given[-1]}"


def copies_of(office: Office) -> dict[tuple[str, str], dict[str, Any]]:
    """Every copy sent from here, by (package id, unit): role, 份号 and whether a reply is assigned."""
    return {(r["package_id"], r["unit"]): r
            for r in office.store.query("SELECT package_id, unit, role, copy_number, reply, pos FROM wf_copies")}
