"""``smseal directory group add/list/remove``: named groups of units, for ``--cc-group``."""

from __future__ import annotations

from smseal.office.i18n import _

from .context import App
from .workflow_args import office_of


def register_directory(ds) -> None:
    p = ds.add_parser("group", help=_("groups of units (各乡镇 …) for --cc-group"))
    gs = p.add_subparsers(dest="group_command", metavar="ACTION")
    a = gs.add_parser("add", help=_("create a group or add units to it"))
    a.add_argument("name", help=_("the group's name, e.g. 各乡镇"))
    a.add_argument("units", nargs="+", metavar="UNIT", help=_("units in the directory"))
    a.set_defaults(func=run_add)
    li = gs.add_parser("list", help=_("list the groups"))
    li.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    li.set_defaults(func=run_list)
    r = gs.add_parser("remove", help=_("remove units from a group, or the whole group"))
    r.add_argument("name", help=_("the group's name, e.g. 各乡镇"))
    r.add_argument("units", nargs="*", metavar="UNIT", help=_("units to take out (none: the whole group)"))
    r.set_defaults(func=run_remove)
    p.set_defaults(func=lambda a, c: (p.print_help(), 2)[1])


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
            console.json([{"name": g.name, "units": list(g.units)} for g in gs])
            return 0
        if not gs:
            console.print(_("No groups yet: smseal directory group add NAME UNIT…"))
        for g in gs:
            console.print(_("Group {name}: {units}").format(name=g.name, units="、".join(g.units)))
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
