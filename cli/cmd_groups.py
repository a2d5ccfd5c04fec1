"""``smseal directory group add/list/remove``: named groups of units, for ``--cc-group``."""

from __future__ import annotations

from smseal.office.i18n import _

from .context import App
from .workflow_args import office_of


def group_parsers(parent, *, what: str, add: tuple[str, str, object], list_: tuple[str, object],
                  remove: tuple[str, object]):
    """``group add NAME UNIT… / list / remove NAME`` under ``parent`` (the unit's own groups here,
    the bureau's in ``authority group``); returns the list and remove parsers to extend."""
    p = parent.add_parser("group", help=what)
    gs = p.add_subparsers(dest="group_command", metavar="ACTION")
    a = gs.add_parser("add", help=add[0])
    a.add_argument("name", help=_("the group's name, e.g. 各乡镇"))
    a.add_argument("units", nargs="+", metavar="UNIT", help=add[1])
    a.set_defaults(func=add[2])
    li = gs.add_parser("list", help=list_[0])
    li.set_defaults(func=list_[1])
    r = gs.add_parser("remove", help=remove[0])
    r.add_argument("name", help=_("the group's name, e.g. 各乡镇"))
    r.set_defaults(func=remove[1])
    p.set_defaults(func=lambda a, c: (p.print_help(), 2)[1])
    return li, r


def register_directory(ds) -> None:
    li, r = group_parsers(ds, what=_("groups of units (各乡镇 …) for --cc-group"),
                          add=(_("create a group or add units to it"), _("units in the directory"), run_add),
                          list_=(_("list the groups"), run_list),
                          remove=(_("remove units from a group, or the whole group"), run_remove))
    li.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    r.add_argument("units", nargs="*", metavar="UNIT", help=_("units to take out (none: the whole group)"))


def run_add(args, console) -> int:
    from smseal.office.groups import add_group

    with App(args, console) as app:
        g = add_group(office_of(app), args.name, args.units)
        console.print(_("Group {name}: {units}").format(name=g.name, units="、".join(g.units)))
        return 0


def run_list(args, console) -> int:
    from smseal.office.groups import list_groups

    with App(args, console) as app:
        gs = list_groups(office_of(app))
        if args.json:
            console.json([{"name": g.name, "units": list(g.units), "source": g.source} for g in gs])
            return 0
        if not gs:
            console.print(_("No groups yet: smseal directory group add NAME UNIT…"))
        for g in gs:
            line = _("Group {name}: {units}").format(name=g.name, units="、".join(g.units))
            console.print(line + (_(" (published by the bureau)") if g.source == "bureau" else ""))
        return 0


def run_remove(args, console) -> int:
    from smseal.office.groups import remove_group

    with App(args, console) as app:
        g = remove_group(office_of(app), args.name, args.units)
        if g is None:
            console.print(_("Removed group {name}.").format(name=args.name))
        else:
            console.print(_("Group {name}: {units}").format(name=g.name, units="、".join(g.units)))
        return 0
