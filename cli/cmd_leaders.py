"""``smseal keys leader add/list/remove``: the unit's leaders (签发人) and their personal keys."""

from __future__ import annotations

from smseal.office.i18n import _

from .context import App


def register_keys(ks) -> None:
    p = ks.add_parser("leader", help=_("the unit's leaders (签发人) who approve documents"))
    ls = p.add_subparsers(dest="leader_command", metavar="ACTION")
    a = ls.add_parser("add", help=_("make a leader's personal signing key"))
    a.add_argument("name", help=_("the leader's name, e.g. 张三"))
    a.add_argument("--token", metavar="PKCS11_URI", help=_("make the key on the leader's token"))
    a.add_argument("--profile", help=_("vendor profile of the token"))
    a.set_defaults(func=run_add)
    li = ls.add_parser("list", help=_("list the leaders"))
    li.add_argument("--all", action="store_true", help=_("include removed leaders"))
    li.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    li.set_defaults(func=run_list)
    q = ls.add_parser("request", help=_("write a leader's certificate request for the bureau (role 签发人)"))
    q.add_argument("name", help=_("the leader's name"))
    q.add_argument("-o", "--output", required=True, help=_("the request file to give to the bureau (.csr)"))
    q.add_argument("--force", action="store_true", help=_("overwrite an existing output file"))
    q.set_defaults(func=run_request)
    r = ls.add_parser("remove", help=_("remove a leader (the next card revokes the key)"))
    r.add_argument("name", help=_("the leader's name"))
    r.set_defaults(func=run_remove)
    p.set_defaults(func=lambda a, c: (p.print_help(), 2)[1])


def _next_step(console) -> None:
    console.print(_("Next: export the card again (smseal keys export --public -o CARD) and send it to the "
                    "other units, so they know the unit's leaders."))


def run_add(args, console) -> int:
    from smseal.keystore import fingerprint_words

    from .workflow_args import office_of

    with App(args, console) as app:
        office = office_of(app)
        app.unit  # noqa: B018  (a unit must exist first)
        info = office.leaders.add(args.name, token=args.token, profile=args.profile, unit=app.unit)
        console.print(_("Made the signing key of leader {name} of {unit}.").format(name=info.name, unit=app.unit))
        console.print(_("  fingerprint: {fp}").format(fp=fingerprint_words(info.public_key)))
        _next_step(console)
        return 0


def run_list(args, console) -> int:
    from smseal.keystore import fingerprint_words

    from .workflow_args import office_of

    with App(args, console) as app:
        rows = office_of(app).leaders.list(include_removed=args.all)
        if args.json:
            console.json([{"name": x.name, "fingerprint": fingerprint_words(x.public_key),
                           "on_token": x.on_token, "added": x.added.isoformat(),
                           "removed": x.removed.isoformat() if x.removed else None} for x in rows])
            return 0
        if not rows:
            console.print(_("No leaders yet: smseal keys leader add NAME"))
        for x in rows:
            state = _(" (removed)") if x.removed else ""
            where = _("token") if x.on_token else _("file")
            console.print(f"  {x.name}{state}  [{where}]  {fingerprint_words(x.public_key)}")
        return 0


def run_remove(args, console) -> int:
    from .workflow_args import office_of

    with App(args, console) as app:
        gone = office_of(app).leaders.remove(args.name)
        console.print(_("Removed leader {name}; the key file is deleted.").format(name=gone.name))
        _next_step(console)
        return 0


def run_request(args, console) -> int:
    from smseal.office.fsutil import write_atomic
    from smseal.office.unit_card import leader_request

    from .workflow_args import office_of

    with App(args, console) as app:
        data = leader_request(office_of(app), args.name)
        write_atomic(args.output, data, overwrite=args.force)
        console.print(_("Wrote the certificate request of leader {name}: {path}; the bureau certifies it with "
                        "'smseal authority issue-leader'.").format(name=args.name, path=args.output))
        return 0
