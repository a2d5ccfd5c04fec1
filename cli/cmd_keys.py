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
    from . import cmd_certs

    cmd_certs.register_keys(ks)


def _usage(p) -> int:
    p.print_help()
    return 2


def export(args, console) -> int:
    from smseal.keystore import make_card

    with App(args, console) as app:
        ident = app.keystore.get(app.unit)
        card = make_card(ident.name, app.keystore.signer(ident.name), ident.current("enc").public_key)
        write_atomic(args.output, card, overwrite=args.force)
        console.print(_("Wrote the card of {unit} to {path}.").format(unit=ident.name, path=args.output))
        return 0


def import_(args, console) -> int:
    from smseal.keystore import fingerprint_words, parse_card

    with App(args, console) as app:
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
            app.directory.import_card(data)
            console.print(_("Imported {unit} into the directory.").format(unit=card.unit))
        return 0


# Where a unit in the directory came from, as `keys list` shows it.
SOURCE_LABEL = {"card": N_("card"), "bundle": N_("bureau directory"), "manual": N_("added by hand")}


def list_(args, console) -> int:
    from smseal.keystore import fingerprint_words

    with App(args, console, create=False) as app:
        own = [{"unit": i.name, "keys": [{"role": k.role, "generation": k.generation, "on_token": k.on_token,
                                          "key_id": k.key_id.hex(),
                                          "fingerprint": fingerprint_words(k.public_key)} for k in i.keys]}
               for i in app.keystore.list()]
        units = [{"unit": u.name, "source": u.source,
                  "revoked": u.revoked_at.isoformat() if u.revoked_at else None,
                  "keys": [{"role": k.role, "generation": k.generation, "key_id": k.key_id.hex(),
                            "not_after": k.not_after.isoformat() if k.not_after else None,
                            "revoked": k.revoked_at.isoformat() if k.revoked_at else None} for k in u.keys]}
                 for u in app.directory.list()]
        if args.json:
            console.json({"own": own, "directory": units})
            return 0
        console.print(_("This unit:"))
        for i in own:
            for k in i["keys"]:
                where = _("token") if k["on_token"] else _("file")
                console.print(f"  {i['unit']}  {k['role']}-{k['generation']}  [{where}]  {k['fingerprint']}")
        console.print(_("Directory of units:"))
        for u in units:
            state = _(" (revoked)") if u["revoked"] else ""
            console.print(f"  {u['unit']}{state}  ({_(SOURCE_LABEL.get(u['source'], u['source']))})")
        return 0
