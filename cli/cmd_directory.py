"""``smseal directory trust root.pem`` and ``smseal directory update directory.bundle``."""

from __future__ import annotations


from .context import App, UsageError, confirm
from smseal.office.fsutil import LARGE_FILE, read_input
from smseal.office.i18n import _
from smseal.office.trust import Trust, apply_bundle


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
    trust = Trust(app.home)
    if trust.root_path.exists() and not args.replace:
        raise UsageError(_("An authority is already pinned; add --replace to replace it."))
    trust.pin(root.to_pem(), replace=args.replace)
    console.print(_("Pinned {name}. Next: smseal directory update directory.bundle").format(name=root.unit_name))
    return 0


def run_update(args, console) -> int:
    from smseal.keystore.bundle import verify_bundle

    with App(args, console) as app:
        trust = Trust(app.home)
        verified = verify_bundle(read_input(args.bundle, LARGE_FILE), trust.pinned_root(), installed_version=trust.installed_version())
        counts = apply_bundle(app.directory, verified, trust.known_serials())
        trust.save_serials(counts.pop("serials"))
        trust.record(verified.version, verified.issued)
        for conflict in counts["conflicts"]:
            console.note(_("Warning: not added from the bundle ({conflict}). A card imported earlier claims the "
                           "same name or key; check it with the bureau.").format(conflict=conflict))
        if args.json:
            console.json({"version": verified.version, "issued": verified.issued.isoformat(),
                          "units": [u.name for u in verified.units], **counts})
        else:
            console.print(_("Installed directory version {v} of {when} from {auth}: {n} units; "
                            "{u} new units, {k} new keys, {r} revocations applied.").format(
                v=verified.version, when=verified.issued.date(), auth=verified.authority.unit_name,
                n=len(verified.units), u=counts["units"], k=counts["keys"], r=counts["revoked"]))
        return 0


def run_list(args, console) -> int:
    from .cmd_keys import list_

    args.json = getattr(args, "json", False)
    return list_(args, console)
