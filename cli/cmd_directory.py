"""``smseal directory trust root.pem`` and ``smseal directory update directory.bundle``."""

from __future__ import annotations


from .context import App, confirm
from smseal.office.fsutil import LARGE_FILE, read_input
from smseal.office.i18n import _
from smseal.office.bureau import install_bundle, pin_root


def register(sub) -> None:
    p = sub.add_parser("directory", help=_("the bureau's directory of units"))
    ds = p.add_subparsers(dest="directory_command", metavar="ACTION")
    t = ds.add_parser("trust", help=_("pin the confidentiality bureau's root certificate"))
    t.add_argument("root", help=_("root.pem from the bureau"))
    t.add_argument("--yes", action="store_true", help=_("do not ask; the fingerprint was checked already"))
    t.add_argument("--replace", action="store_true", help=_("replace a root pinned earlier"))
    t.set_defaults(func=run_trust)
    u = ds.add_parser("update", help=_("install a signed directory bundle from the bureau"))
    u.add_argument("bundle", help=_("the directory bundle file from the bureau"))
    u.add_argument("--json", action="store_true", help=_("print what changed as JSON"))
    u.set_defaults(func=run_update)
    li = ds.add_parser("list", help=_("list the units in the directory"))
    li.add_argument("--json", action="store_true", help=_("print the directory as JSON"))
    li.set_defaults(func=run_list)
    p.set_defaults(func=lambda a, c: (p.print_help(), 2)[1])


def run_trust(args, console) -> int:
    from smseal.keystore import fingerprint_words
    from smseal.keystore.bundle import load_root

    app = App(args, console)
    data = read_input(args.root)
    root = load_root(data)
    console.print(_("Authority: {name}").format(name=root.unit_name))
    console.print(_("  root key fingerprint: {fp}").format(fp=fingerprint_words(root.public_key)))
    if not confirm(_("Does this match the fingerprint the bureau published?"), args.yes):
        console.print(_("Not pinned."))
        return 1
    pin_root(app, data, replace=args.replace)
    console.print(_("Pinned {name}. Next: smseal directory update directory.bundle").format(name=root.unit_name))
    return 0


def run_update(args, console) -> int:
    with App(args, console) as app:
        counts = install_bundle(app, read_input(args.bundle, LARGE_FILE))
        for conflict in counts["conflicts"]:
            console.note(_("Warning: not added from the bundle ({conflict}). A card imported earlier claims the "
                           "same name or key; check it with the bureau.").format(conflict=conflict))
        if args.json:
            console.json({"version": counts["version"], "issued": counts["issued"].isoformat(),
                          "units": counts["unit_names"], "keys": counts["keys"], "revoked": counts["revoked"],
                          "conflicts": counts["conflicts"]})
        else:
            console.print(_("Installed directory version {v} of {when} from {auth}: {n} units; "
                            "{u} new units, {k} new keys, {r} revocations applied.").format(
                v=counts["version"], when=counts["issued"].date(), auth=counts["authority"],
                n=len(counts["unit_names"]), u=counts["units"], k=counts["keys"], r=counts["revoked"]))
        return 0


def run_list(args, console) -> int:
    from .cmd_keys import list_

    args.json = getattr(args, "json", False)
    return list_(args, console)
