"""``smseal directory trust root.pem`` and ``smseal directory update directory.bundle``."""

from __future__ import annotations


from .context import App, UsageError, confirm
from smseal.office.fsutil import LARGE_FILE, read_input
from smseal.office.i18n import _
from smseal.office.bureau import install_bundle, pin_root, untrusted_key_warning
from smseal.office.ca_import import import_certificates, import_crls, installed_crls
from smseal.office.trust import Trust


def register(sub) -> None:
    p = sub.add_parser("directory", help=_("the bureau's directory of units"))
    ds = p.add_subparsers(dest="directory_command", metavar="ACTION")
    t = ds.add_parser("trust", help=_("pin the confidentiality bureau's root certificate"))
    t.add_argument("root", help=_("root.pem from the bureau"))
    t.add_argument("--yes", action="store_true", help=_("do not ask; the fingerprint was checked already"))
    t.add_argument("--replace", action="store_true", help=_("replace a root pinned earlier"))
    t.set_defaults(func=run_trust)
    u = ds.add_parser("update", help=_("install a signed directory bundle from the bureau, or certificates "
                                       "and CRLs (PEM) from the pinned CA"))
    u.add_argument("bundle", metavar="FILE", help=_("the directory bundle from the bureau, or a PEM file "
                                                    "of certificates and CRLs from the CA"))
    u.add_argument("--json", action="store_true", help=_("print what changed as JSON"))
    u.set_defaults(func=run_update)
    c = ds.add_parser("crl", help=_("revocation lists (CRLs) of the pinned CA and its sub-CAs"))
    cs = c.add_subparsers(dest="crl_command", metavar="ACTION")
    ci = cs.add_parser("import", help=_("verify and apply CRL files (DER or PEM)"))
    ci.add_argument("files", nargs="+", metavar="FILE", help=_("CRL files as the CA wrote them"))
    ci.add_argument("--json", action="store_true", help=_("print what changed as JSON"))
    ci.set_defaults(func=run_crl_import)
    cl = cs.add_parser("list", help=_("the installed CRL of each authority and whether it is current"))
    cl.add_argument("--json", action="store_true", help=_("print the list as JSON"))
    cl.set_defaults(func=run_crl_list)
    c.set_defaults(func=lambda a, con: (c.print_help(), 2)[1])
    li = ds.add_parser("list", help=_("list the units in the directory"))
    li.add_argument("--json", action="store_true", help=_("print the directory as JSON"))
    li.set_defaults(func=run_list)
    from .cmd_groups import register_directory

    register_directory(ds)
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
        data = read_input(args.bundle, LARGE_FILE)
        if data[:1] != b"\x30":  # PEM text: certificates and CRLs straight from a CA
            return _update_from_pem(app, Trust(app.home), data, args, console)
        counts = install_bundle(app, data)
        _untrusted_notes(console, counts["untrusted"], counts["untrusted_leaders"])
        for conflict in counts["conflicts"]:
            console.note(_("Warning: not added from the bundle ({conflict}). A card imported earlier claims the "
                           "same name or key; check it with the bureau.").format(conflict=conflict))
        if args.json:
            console.json({"version": counts["version"], "issued": counts["issued"].isoformat(),
                          "units": counts["unit_names"], "keys": counts["keys"], "revoked": counts["revoked"],
                          "conflicts": counts["conflicts"], "untrusted": _untrusted_json(counts["untrusted"]),
                          "untrusted_leaders": counts["untrusted_leaders"]})
        else:
            console.print(_("Installed directory version {v} of {when} from {auth}: {n} units; "
                            "{u} new units, {k} new keys, {r} revocations applied.").format(
                v=counts["version"], when=counts["issued"].date(), auth=counts["authority"],
                n=len(counts["unit_names"]), u=counts["units"], k=counts["keys"], r=counts["revoked"]))
        return 0


def _untrusted_notes(console, untrusted, leaders) -> None:
    """Say which card keys the bureau's certificates made untrusted (see keystore.bundle_apply)."""
    for k in untrusted:
        console.note(untrusted_key_warning(k))
    for leader in leaders:
        console.note(_("Warning: the leader {leader} was named by a card the bureau does not certify; "
                       "no longer trusted.").format(leader=leader))


def _untrusted_json(untrusted) -> list[dict[str, str]]:
    return [{"unit": k.unit, "role": k.role, "key_id": k.key_id.hex(), "fingerprint": k.fingerprint.hex(),
             "source": k.source, "certified_as": k.certified_as, "certified_role": k.certified_role}
            for k in untrusted]


def _update_from_pem(app: App, trust: Trust, data: bytes, args, console) -> int:
    from smseal.keystore.x509 import utcnow

    result = import_certificates(app.directory, trust, data, utcnow())
    _untrusted_notes(console, result.untrusted, [])
    for note in result.skipped:
        console.note(_("Skipped: {what}").format(what=note))
    for conflict in result.conflicts:
        console.note(_("Warning: not added ({conflict}). A card imported earlier claims the "
                       "same name or key; check it with the CA.").format(conflict=conflict))
    if args.json:
        console.json({"units": result.units, "keys": result.keys, "revoked": result.revoked,
                      "skipped": result.skipped, "conflicts": result.conflicts,
                      "untrusted": _untrusted_json(result.untrusted),
                      "crls": [_crl_json(c) for c in result.crls]})
        return 0
    console.print(_("Installed certificates from the CA: {u} new units, {k} new keys.").format(
        u=result.units, k=result.keys))
    _print_crls(console, result.crls)
    return 0


def _crl_json(c) -> dict:
    return {"issuer": c.issuer, "number": c.number, "listed": c.listed, "revoked": c.revoked,
            "next_update": c.next_update.isoformat() if c.next_update else None,
            "stale": c.stale, "installed": c.installed}


def _print_crls(console, crls) -> None:
    for c in crls:
        console.print(_("CRL of {issuer} (number {n}): {listed} listed, {r} revocations applied.").format(
            issuer=c.issuer, n=c.number if c.number is not None else "-", listed=c.listed, r=c.revoked))
        if c.stale:
            console.note(_("Warning: this CRL's next update ({when}) has passed. Its revocations were applied, "
                           "but ask the CA for a current list before relying on it.").format(
                when=c.next_update.date() if c.next_update else "-"))
        if not c.installed:
            console.note(_("A newer CRL of {issuer} is already installed; this one only added its "
                           "revocations.").format(issuer=c.issuer))


def run_crl_import(args, console) -> int:
    from smseal.keystore.crl import read_crls
    from smseal.keystore.x509 import utcnow

    with App(args, console) as app:
        trust = Trust(app.home)
        crls = [crl for path in args.files for crl in read_crls(read_input(path, LARGE_FILE))]
        if not crls:
            raise UsageError(_("No CRL found in the file(s) given."))
        results = import_crls(app.directory, trust, crls, utcnow())
        if args.json:
            console.json([_crl_json(c) for c in results])
        else:
            _print_crls(console, results)
        return 0


def run_crl_list(args, console) -> int:
    from smseal.keystore.crl import is_stale
    from smseal.keystore.x509 import utcnow

    with App(args, console) as app:
        now = utcnow()
        rows = [{"issuer": s.issuer_name, "number": s.crl.number, "this_update": s.crl.this_update.isoformat(),
                 "next_update": s.crl.next_update.isoformat() if s.crl.next_update else None,
                 "listed": len(s.crl.revoked), "stale": is_stale(s.crl, now)}
                for s in installed_crls(Trust(app.home))]
        if args.json:
            console.json(rows)
            return 0
        if not rows:
            console.print(_("No CRL installed yet."))
        for r in rows:
            state = _("  STALE: ask the CA for a current one") if r["stale"] else ""
            console.print(f"  {r['issuer']}  #{r['number'] if r['number'] is not None else '-'}  "
                          f"{r['this_update']} → {r['next_update'] or '-'}  ({r['listed']}){state}")
        return 0


def run_list(args, console) -> int:
    from .cmd_keys import list_

    args.json = getattr(args, "json", False)
    return list_(args, console)
