"""``smseal keys``: export this unit's card, import other units' cards, list keys."""

from __future__ import annotations


from .context import App, confirm
from smseal.office.fsutil import read_input, write_atomic
from smseal.office.i18n import N_, _


def register(sub) -> None:
    p = sub.add_parser("keys", help=_("this unit's keys and other units' cards"))
    ks = p.add_subparsers(dest="keys_command", metavar="ACTION")
    e = ks.add_parser("export", help=_("write this unit's public card"))
    e.add_argument("--public", action="store_true", required=True,
                   help=_("export the public card (private keys never leave this way)"))
    e.add_argument("-o", "--output", required=True, help=_("card file to write"))
    e.add_argument("--force", action="store_true", help=_("overwrite an existing file"))
    e.set_defaults(func=export)
    i = ks.add_parser("import", help=_("add another unit's card to the directory"))
    i.add_argument("card", nargs="+", help=_("card file(s)"))
    i.add_argument("--yes", action="store_true", help=_("do not ask; the fingerprint was checked already"))
    i.set_defaults(func=import_)
    li = ks.add_parser("list", help=_("list this unit's keys and the directory"))
    li.add_argument("--json", action="store_true", help=_("print the keys as JSON"))
    li.set_defaults(func=list_)
    p.set_defaults(func=lambda a, c: (_usage(p)))
    from . import cmd_certs, cmd_leaders

    cmd_certs.register_keys(ks)
    cmd_leaders.register_keys(ks)


def _usage(p) -> int:
    p.print_help()
    return 2


def export(args, console) -> int:
    from smseal.office.unit_card import export_card

    from .workflow_args import office_of

    with App(args, console) as app:
        office = office_of(app)
        card = export_card(office)            # the unit's keys and its active leaders (签发人)
        write_atomic(args.output, card, overwrite=args.force)
        console.print(_("Wrote the card of {unit} to {path}.").format(unit=app.unit, path=args.output))
        leaders = office.leaders.list()
        if leaders:
            console.print(_("  leaders (签发人): {names}").format(names="、".join(x.name for x in leaders)))
        return 0


def import_(args, console) -> int:
    from smseal.keystore import fingerprint_words, parse_card

    from smseal.office.unit_card import import_card, preview_card

    from .workflow_args import office_of

    with App(args, console) as app:
        office = office_of(app)
        for path in args.card:
            data = read_input(path)
            card = parse_card(data)
            console.print(_("Card of {unit}").format(unit=card.unit))
            console.print(_("  signing key:    {fp}").format(fp=fingerprint_words(card.signing_key)))
            console.print(_("  encryption key: {fp}").format(fp=fingerprint_words(card.encryption_key)))
            if not confirm(_("Does the fingerprint match what {unit} read out to you?").format(unit=card.unit),
                           args.yes):
                console.print(_("Not imported."))
                return 1
            changes = preview_card(office, data)       # a known unit: what this newer card changes
            if not changes.new_unit:
                _show_changes(console, changes)
                if not confirm(_("Apply these changes to {unit}?").format(unit=card.unit), args.yes):
                    console.print(_("Not imported."))
                    return 1
            import_card(office, data)
            if changes.new_unit:
                console.print(_("Imported {unit} into the directory.").format(unit=card.unit))
                if card.leaders:
                    console.print(_("  leaders (签发人): {names}").format(names="、".join(x.name for x in card.leaders)))
            else:
                console.print(_("Updated {unit} from its newer card.").format(unit=card.unit))
        return 0


def _show_changes(console, changes) -> None:
    """What a newer card of a known unit changes, one fact a line."""
    from smseal.keystore import fingerprint_words

    console.print(_("{unit} is already in the directory; this newer card changes:").format(unit=changes.unit))
    if changes.new_encryption_key is not None:
        console.print(_("  new encryption key: {fp}").format(fp=fingerprint_words(changes.new_encryption_key)))
    for ld in changes.leaders_added:
        console.print(_("  new leader (签发人): {name}  {fp}").format(name=ld.name, fp=fingerprint_words(ld.key)))
    for name in changes.leaders_removed:
        console.print(_("  leader removed (their approvals are refused from now on): {name}").format(name=name))
    if changes.unchanged:
        console.print(_("  nothing but the card's date"))


# Where a unit in the directory came from, as `keys list` shows it.
SOURCE_LABEL = {"card": N_("card"), "bundle": N_("bureau directory"), "manual": N_("added by hand")}


def list_(args, console) -> int:
    from smseal.keystore import fingerprint_words
    from smseal.keystore.unit_leaders import leaders_of

    from .workflow_args import office_of

    with App(args, console, create=False) as app:
        own = [{"unit": i.name, "keys": [{"role": k.role, "generation": k.generation, "on_token": k.on_token,
                                          "key_id": k.key_id.hex(),
                                          "fingerprint": fingerprint_words(k.public_key)} for k in i.keys]}
               for i in app.keystore.list()]
        units = [{"unit": u.name, "source": u.source,
                  "revoked": u.revoked_at.isoformat() if u.revoked_at else None,
                  "keys": [{"role": k.role, "generation": k.generation, "key_id": k.key_id.hex(),
                            "not_after": k.not_after.isoformat() if k.not_after else None,
                            "revoked": k.revoked_at.isoformat() if k.revoked_at else None} for k in u.keys],
                  "leaders": [{"name": x.name, "fingerprint": fingerprint_words(x.public_key), "source": x.source,
                               "revoked": x.revoked_at.isoformat() if x.revoked_at else None}
                              for x in leaders_of(app.directory, u.name)]}
                 for u in app.directory.list()]
        own_leaders = [{"name": x.name, "fingerprint": fingerprint_words(x.public_key), "on_token": x.on_token}
                       for x in office_of(app).leaders.list()] if own else []
        if args.json:
            console.json({"own": own, "leaders": own_leaders, "directory": units})
            return 0
        console.print(_("This unit:"))
        for i in own:
            for k in i["keys"]:
                where = _("token") if k["on_token"] else _("file")
                console.print(f"  {i['unit']}  {k['role']}-{k['generation']}  [{where}]  {k['fingerprint']}")
        for x in own_leaders:
            console.print(_("  leader (签发人) {name}  {fp}").format(name=x["name"], fp=x["fingerprint"]))
        console.print(_("Directory of units:"))
        for u in units:
            state = _(" (revoked)") if u["revoked"] else ""
            console.print(f"  {u['unit']}{state}  ({_(SOURCE_LABEL.get(u['source'], u['source']))})")
            for x in u["leaders"]:
                gone = _(" (removed)") if x["revoked"] else ""
                console.print(_("    leader (签发人) {name}{gone}  {fp}").format(name=x["name"], gone=gone,
                                                                              fp=x["fingerprint"]))
        return 0
