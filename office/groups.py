"""Groups of units (各乡镇, 各委办局 …): a name for a list of units in the directory.

``--cc-group 各乡镇`` expands to copy recipients (抄送).  Groups are the unit's own
(``directory group add``) or published by the bureau in its signed directory bundle
(replaced by each newer bundle); a unit's own group of the same name comes first.  The main recipient
(主送) stays exactly one: a group never adds a 主送, and a member that is
already the main recipient or already named as a copy recipient is not
added again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from shangmi.errors import KeyNotFound

from smseal.keystore.names import normalize_name

from .errors import UsageError
from .i18n import _
from .context import Office


@dataclass(frozen=True)
class Group:
    name: str
    units: tuple[str, ...]
    source: str = "local"         # "local" (directory group add) or "bureau" (the directory bundle)


def add_group(office: Office, name: str, units: Sequence[str]) -> Group:
    """Create group ``name`` or add ``units`` to it; every unit must be in the directory."""
    name = normalize_name(name)
    if not units:
        raise UsageError(_("A group needs at least one unit."))
    members = []
    for u in units:
        members.append(office.directory.get(u).name)     # KeyNotFound for an unknown unit
    with office.store.tx() as db:
        (pos,) = db.execute("SELECT coalesce(max(pos), 0) FROM wf_groups WHERE name = ?", (name,)).fetchone()
        for i, u in enumerate(dict.fromkeys(members), start=pos + 1):
            db.execute("INSERT OR IGNORE INTO wf_groups(name, unit, pos) VALUES (?, ?, ?)", (name, u, i))
    return get_group(office, name)


def get_group(office: Office, name: str) -> Group:
    """The group ``name``; ``KeyNotFound`` if there is none."""
    name = normalize_name(name)
    rows = office.store.query("SELECT unit FROM wf_groups WHERE name = ? ORDER BY pos", (name,))
    if rows:
        return Group(name, tuple(r["unit"] for r in rows))
    rows = office.store.query("SELECT unit FROM wf_bureau_groups WHERE name = ? ORDER BY pos", (name,))
    if rows:
        return Group(name, tuple(r["unit"] for r in rows), "bureau")
    raise KeyNotFound("no group named {name}", name=str(name))


def list_groups(office: Office) -> list[Group]:
    """Every group, by name."""
    names = [r["name"] for r in office.store.query("SELECT name FROM wf_groups UNION SELECT name FROM "
                                                    "wf_bureau_groups ORDER BY name")]
    return [get_group(office, n) for n in names]


def replace_bureau_groups(office: Office, groups: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Install the groups of a verified directory bundle, replacing the earlier bundle's."""
    with office.store.tx() as db:
        db.execute("DELETE FROM wf_bureau_groups")
        for name, units in groups:
            for pos, unit in enumerate(units, start=1):
                db.execute("INSERT INTO wf_bureau_groups(name, unit, pos) VALUES (?, ?, ?)", (name, unit, pos))


def remove_group(office: Office, name: str, units: Sequence[str] = ()) -> Group | None:
    """Remove ``units`` from group ``name``, or the whole group when none are named."""
    group = get_group(office, name)
    if group.source == "bureau":
        raise UsageError(_("{name} is published by the bureau: it changes with the bureau's directory.")
                         .format(name=group.name))
    with office.store.tx() as db:
        if units:
            for u in units:
                n = normalize_name(u)
                if n not in group.units:
                    raise KeyNotFound("{n} is not in group {name}", n=str(n), name=str(group.name))
                db.execute("DELETE FROM wf_groups WHERE name = ? AND unit = ?", (group.name, n))
        else:
            db.execute("DELETE FROM wf_groups WHERE name = ?", (group.name,))
    try:
        return get_group(office, group.name)
    except KeyNotFound:
        return None


def expand_recipients(office: Office, to: str, cc: Sequence[str] = (),
                      cc_groups: Sequence[str] = ()) -> tuple[str, list[str]]:
    """(主送, [抄送…]): names as the directory spells them, groups expanded, no unit twice.

    The main recipient is exactly ``to``; a group member equal to it stays 主送 only.
    Naming the main recipient again explicitly with ``--cc`` is a usage error.
    """
    main = office.directory.get(to).name
    explicit = [office.directory.get(u).name for u in cc]
    if main in explicit:
        raise UsageError(_("{unit} is both the main recipient and a copy recipient.").format(unit=main))
    if len(set(explicit)) != len(explicit):
        raise UsageError(_("A copy recipient is named twice."))
    out = list(explicit)
    for g in cc_groups:
        for u in get_group(office, g).units:
            if u != main and u not in out:
                out.append(u)
    return main, out
