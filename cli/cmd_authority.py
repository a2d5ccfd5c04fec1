"""``smseal authority``: the confidentiality bureau's commands — init, issue, revoke, publish, list.

The authority lives in SMSEAL_HOME/authority (key file 0600 or a token key,
root.pem, state).  Its key's passphrase comes from SMSEAL_PASSPHRASE or a prompt.
"""

from __future__ import annotations

from pathlib import Path

from smseal.office import bureau

from .context import App, passphrase_callback
from smseal.office.errors import UsageError
from smseal.office.fsutil import read_input, refuse_existing, write_atomic
from smseal.office.i18n import _


def register(sub) -> None:
    p = sub.add_parser("authority", help=_("for the confidentiality bureau: certificates and the directory"))
    s = p.add_subparsers(dest="authority_command", metavar="ACTION")
    i = s.add_parser("init", help=_("create the authority's key and root certificate"))
    i.add_argument("--name", help=_("e.g. 某市保密局 (with --import-key: taken from the certificate)"))
    i.add_argument("--import-key", metavar="KEY.pem",
                   help=_("adopt an existing CA: its private key (PEM, PKCS#8 or SEC1, encrypted or not)"))
    i.add_argument("--root", metavar="CA.pem",
                   help=_("with --import-key: the CA's certificate and, for a sub-CA, its chain up to the root"))
    i.add_argument("--token", metavar="PKCS11_URI", help=_("keep the authority key on a token (needs SM2 signing)"))
    i.add_argument("--profile", help=_("vendor profile of the token"))
    i.add_argument("--validity-days", type=int, default=7300, metavar="DAYS",
                   help=_("how long the authority certificate is valid (default: 7300 days)"))
    i.set_defaults(func=run_init)
    iss = s.add_parser("issue", help=_("certify a unit's request file"))
    iss.add_argument("request", help=_("the unit's .csr file"))
    iss.add_argument("-o", "--output", required=True, help=_("the certificates file to give back (.certs)"))
    iss.add_argument("--unit", required=True, help=_("the unit the request is for (refused unless the request names it)"))
    iss.add_argument("--rotate", action="store_true",
                     help=_("give a unit that already holds valid certificates new keys (shows old and new fingerprints)"))
    iss.add_argument("--validity-days", type=int, default=730, metavar="DAYS",
                     help=_("how long the unit certificates are valid (default: 730 days)"))
    iss.add_argument("--force", action="store_true", help=_("overwrite an existing output file"))
    iss.add_argument("--escrow", action="store_true",
                     help=_("make the unit's encryption key here, keep it escrowed and deliver it in the file"))
    iss.set_defaults(func=run_issue)
    il = s.add_parser("issue-leader", help=_("certify a leader's (签发人) request file"))
    il.add_argument("request", help=_("the leader's .csr file (smseal keys leader request)"))
    il.add_argument("-o", "--output", required=True, help=_("the leader certificate file to give back (.pem)"))
    il.add_argument("--unit", required=True, help=_("refuse unless the request is for a leader of this unit"))
    il.add_argument("--validity-days", type=int, default=730, metavar="DAYS",
                    help=_("how long the certificate is valid"))
    il.add_argument("--force", action="store_true", help=_("overwrite an existing output file"))
    il.set_defaults(func=run_issue_leader)
    from .cmd_groups import group_parsers

    group_parsers(s, what=_("groups of units (各乡镇 …) the directory bundle publishes, for --cc-group"),
                  add=(_("publish a group (replacing one of the same name)"),
                       _("units holding certificates of this authority"), run_group_add),
                  list_=(_("the groups the next bundle publishes"), run_group_list),
                  remove=(_("stop publishing a group"), run_group_remove))
    rc = s.add_parser("recover", help=_("re-deliver every escrowed encryption key of a unit that lost its keys"))
    rc.add_argument("--unit", required=True, help=_("the unit whose keys are recovered"))
    rc.add_argument("--to", required=True, metavar="NEW.csr", help=_("the unit's new request (made after 'smseal init')"))
    rc.add_argument("-o", "--output", required=True, help=_("the recovery file to give to the unit"))
    rc.add_argument("--reason", default="superseded", choices=["superseded", "keyCompromise"],
                    help=_("how the unit's earlier certificates are revoked (default: superseded; keyCompromise "
                           "if the lost token may be in other hands)"))
    rc.add_argument("--force", action="store_true", help=_("overwrite an existing output file"))
    rc.set_defaults(func=run_recover)
    ek = s.add_parser("escrow-key", help=_("make the escrow key (a key file, or on a token with --token)"))
    ek.add_argument("--token", metavar="PKCS11_URI", help=_("make it on this token (it must be able to decrypt)"))
    ek.add_argument("--profile", help=_("vendor profile of the token"))
    ek.set_defaults(func=run_escrow_key)
    au = s.add_parser("audit", help=_("check the escrow and recovery log (exit 1 if altered)"))
    au.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    au.set_defaults(func=run_audit)
    r = s.add_parser("revoke", help=_("revoke a unit's certificates, or one by serial number"))
    r.add_argument("target", metavar="UNIT|SERIAL", help=_("the unit (all its certificates) or one serial number"))
    r.add_argument("--reason", default="unspecified", help=_("the reason recorded in the CRL (default: unspecified)"),
                   choices=["unspecified", "keyCompromise", "affiliationChanged", "superseded",
                            "cessationOfOperation", "privilegeWithdrawn"])
    r.set_defaults(func=run_revoke)
    pub = s.add_parser("publish", help=_("write the signed directory bundle (all current certificates + CRL)"))
    pub.add_argument("-o", "--output", required=True, help=_("the directory bundle file to write"))
    pub.add_argument("--force", action="store_true", help=_("overwrite an existing output file"))
    pub.set_defaults(func=run_publish)
    li = s.add_parser("list", help=_("certificates issued"))
    li.add_argument("--json", action="store_true", help=_("print the certificates as JSON"))
    li.set_defaults(func=run_list)
    p.set_defaults(func=lambda a, c: (p.print_help(), 2)[1])


def _ask_passphrase(app: App, purpose_name: str) -> bytes:
    from smseal.keystore import Prompt, Purpose

    return passphrase_callback(app.console)(Prompt(_("authority key"), getattr(Purpose, purpose_name),
                                                   _("authority key")))


def _authority_home(app: App) -> Path:
    return bureau.authority_home(app)


def _open(app: App):
    return bureau.open_authority(app, lambda: _ask_passphrase(app, "UNLOCK"))


def run_init(args, console) -> int:
    from smseal.keystore import fingerprint_words
    from smseal.keystore.authority import Authority

    with App(args, console) as app:
        home = _authority_home(app)
        if args.import_key or args.root:
            auth = _adopt(app, args, home)
        elif not args.name:
            raise UsageError(_("Give --name for a new authority, or --import-key and --root to adopt a CA."))
        elif args.token:
            ident = f"{args.name} (authority)"
            app.keystore.generate(ident, signing=args.token, encryption="software", profile=args.profile)
            auth = Authority.init(home, args.name, signer=app.keystore.signer(ident),
                                  validity_days=args.validity_days)
            app.config.set("authority", "token_identity", ident)
        else:
            auth = Authority.init(home, args.name, password=_ask_passphrase(app, "NEW"),
                                  validity_days=args.validity_days)
        console.print(_("Created the authority {name} in {home}.").format(name=auth.name, home=home))
        console.print(_("Root certificate: {path}").format(path=home / "root.pem"))
        console.print(_("Root key fingerprint (publish it so offices can check it):"))
        console.print("  " + fingerprint_words(auth.root.public_key))
        return 0


def _adopt(app: App, args, home: Path):
    from shangmi import WrongPassphrase

    from smseal.keystore.authority import Authority
    from smseal.keystore.identities import read_private_key

    if not (args.import_key and args.root):
        raise UsageError(_("--import-key and --root go together."))
    if args.token or args.name:
        raise UsageError(_("An adopted CA keeps its own name and its key file; leave out --name and --token."))
    data = read_input(args.import_key)
    try:
        key = read_private_key(data)
    except WrongPassphrase:  # encrypted PKCS#8: ask for the passphrase it was written with
        key = read_private_key(data, _ask_passphrase(app, "UNLOCK"))
    auth = Authority.adopt(home, key, read_input(args.root), password=_ask_passphrase(app, "NEW"))
    app.console.print(_("Adopted the CA {name}: smseal now issues, revokes and publishes with its key.")
                  .format(name=auth.name))
    if auth.chain:
        app.console.print(_("It is a sub-CA of {root}; offices may pin either.").format(root=auth.chain[-1].unit_name))
    return auth


def run_issue(args, console) -> int:
    with App(args, console) as app:
        request = read_input(args.request)
        refuse_existing(args.output, args.force)  # before the authority records the certificates
        auth = _open(app)
        before = auth.current_certificates(args.unit)
        if args.escrow:
            _issue_escrowed(app, auth, args, request, console)
        else:
            out = auth.issue_file(request, unit_name=args.unit, rotate=args.rotate, validity_days=args.validity_days)
            write_atomic(args.output, out, overwrite=args.force)
        if args.rotate:
            _show_rotation(console, args.unit, before, auth.current_certificates(args.unit))
        console.print(_("Issued the certificates; give {path} back to the unit.").format(path=args.output))
        return 0


def _show_rotation(console, unit: str, before, after) -> None:
    """The old and the new keys' fingerprints of a rotation, to read out to the unit."""
    from smseal.keystore import fingerprint_words

    if not before:
        console.print(_("{unit} held no valid certificates: this was a first issue, not a rotation.").format(unit=unit))
        return
    console.print(_("Rotation of {unit}: the old certificates stay valid until they expire or are revoked "
                    "(revoke them as superseded when the unit has switched).").format(unit=unit))
    for usage, label in (("sign", _("signing key")), ("enc", _("encryption key"))):
        for cert in before:
            if cert.usage == usage:
                console.print(_("  old {what}: {fp}").format(what=label, fp=fingerprint_words(cert.public_key)))
        for cert in after:
            if cert.usage == usage and cert not in before:
                console.print(_("  new {what}: {fp}").format(what=label, fp=fingerprint_words(cert.public_key)))


def run_group_add(args, console) -> int:
    with App(args, console) as app:
        name, units = _open(app).set_group(args.name, args.units)
        console.print(_("The next directory bundle publishes group {name}: {units}").format(
            name=name, units="、".join(units)))
        return 0


def run_group_list(args, console) -> int:
    with App(args, console) as app:
        groups = _open(app).groups()
        if not groups:
            console.print(_("No groups published: smseal authority group add NAME UNIT…"))
        for name, units in groups.items():
            console.print(_("Group {name}: {units}").format(name=name, units="、".join(units)))
        return 0


def run_group_remove(args, console) -> int:
    with App(args, console) as app:
        _open(app).remove_group(args.name)
        console.print(_("Removed group {name}.").format(name=args.name))
        return 0


def run_issue_leader(args, console) -> int:
    from smseal.keystore.x509 import Certificate

    with App(args, console) as app:
        request = read_input(args.request)
        refuse_existing(args.output, args.force)
        auth = _open(app)
        cert = Certificate.from_der(auth.issue_leader(request, unit_name=args.unit,
                                                      validity_days=args.validity_days))
        chain = b"".join(c.to_pem() for c in (*auth.chain, auth.root))
        write_atomic(args.output, cert.to_pem() + chain, overwrite=args.force)
        console.print(_("Certified {person} as a leader (签发人) of {unit}; give {path} to the unit, and publish "
                        "the directory so that others learn it.").format(person=cert.person, unit=cert.unit_name,
                                                                           path=args.output))
        return 0


def _ask_escrow_passphrase(app: App, purpose_name: str) -> bytes:
    from smseal.keystore import Prompt, Purpose

    return passphrase_callback(app.console)(Prompt(_("escrow key"), getattr(Purpose, purpose_name), _("escrow key")))


def _issue_escrowed(app: App, auth, args, request: bytes, console) -> None:
    from smseal.keystore import escrow, kmc

    key = escrow.escrow_public_key(auth.home)
    if key is None:
        key = escrow.create_escrow_key(auth.home, _ask_escrow_passphrase(app, "NEW"))
        console.print(_("Made the escrow key (authority/escrow.key); keep its passphrase apart from the "
                        "authority key's."))
    result = kmc.issue_escrowed(auth, request, escrow_key=key, unit_name=args.unit, rotate=args.rotate,
                                validity_days=args.validity_days)
    write_atomic(args.output, result.file, overwrite=args.force)
    console.print(_("The request's own encryption key was ignored: the authority made the encryption key of "
                    "{unit}, keeps it escrowed and delivers it in the file, encrypted to the unit's signing key.")
                  .format(unit=result.signing.unit_name))


def run_recover(args, console) -> int:
    from smseal.keystore import escrow, kmc

    with App(args, console) as app:
        request = read_input(args.to)
        refuse_existing(args.output, args.force)
        auth = _open(app)
        if escrow.escrow_on_token(auth.home):
            escrow_key = escrow.open_token_escrow_key(auth.home, passphrase_callback(app.console))
        else:
            escrow_key = escrow.open_escrow_key(auth.home, _ask_escrow_passphrase(app, "UNLOCK"))
        data = kmc.recover(auth, escrow_key, args.unit, request, revoke_reason=args.reason)
        write_atomic(args.output, data, overwrite=args.force)
        n = len(escrow.read_envelopes(data))
        console.print(_("Recovered {n} encryption key(s) of {unit} into {path}: give it to the unit "
                        "('smseal keys install'), then publish a new bundle (its earlier certificates were "
                        "revoked as {reason}).").format(n=n, unit=args.unit, path=args.output, reason=args.reason))
        return 0


def run_escrow_key(args, console) -> int:
    from smseal.keystore import escrow, fingerprint_words

    with App(args, console) as app:
        if not bureau.has_authority(app):
            raise UsageError(_("No authority here: run 'smseal authority init --name NAME' first."))
        home = _authority_home(app)
        if args.token:
            key = escrow.create_token_escrow_key(home, args.token, profile=args.profile,
                                                 passphrase=passphrase_callback(app.console))
        else:
            key = escrow.create_escrow_key(home, _ask_escrow_passphrase(app, "NEW"))
        console.print(_("Made the escrow key; its fingerprint: {fp}").format(fp=fingerprint_words(key)))
        return 0


def run_audit(args, console) -> int:
    from smseal.keystore.authority import Authority
    from smseal.keystore.bundle import load_root

    with App(args, console) as app:
        home = _authority_home(app)
        if not bureau.has_authority(app):
            raise UsageError(_("No authority here: run 'smseal authority init --name NAME' first."))
        # checking needs only the public key: no passphrase
        report = Authority(home, load_root((home / "root.pem").read_bytes()), None).verify_audit()  # type: ignore[arg-type]
        if args.json:
            console.json({"entries": report.entries, "intact": report.intact, "problems": list(report.problems)})
        elif report.intact:
            console.print(_("The audit log is intact: {n} entries, each signed and chained.").format(n=report.entries))
        else:
            for problem in report.problems:   # the library's templates, translated (smseal.po)
                console.note(_(problem.template).format(**problem.context))
            console.note(_("The audit log was altered: {n} problem(s) found.").format(n=len(report.problems)))
        return 0 if report.intact else 1


def run_revoke(args, console) -> int:
    with App(args, console) as app:
        serials = _open(app).revoke(args.target, args.reason)
        console.print(_("Revoked {n} certificate(s): {serials}. Publish a new bundle so offices learn of it.")
                      .format(n=len(serials), serials=", ".join(f"{s:x}" for s in serials)))
        return 0


def run_publish(args, console) -> int:
    with App(args, console) as app:
        refuse_existing(args.output, args.force)  # before a bundle version is used up
        data = _open(app).publish()
        write_atomic(args.output, data, overwrite=args.force)
        console.print(_("Wrote the signed directory bundle to {path}.").format(path=args.output))
        return 0


def run_list(args, console) -> int:
    with App(args, console, create=False) as app:
        auth = _open(app)
        rows = [{"unit": c.unit, "serial": f"{c.serial:x}", "usage": sorted(c.certificate.key_usage),
                 "not_after": c.certificate.not_after.isoformat(),
                 "revoked": (f"{c.revoked.date.isoformat()} {c.revoked.reason}" if c.revoked else None)}
                for c in auth.certificates()]
        if args.json:
            console.json(rows)
        else:
            for r in rows:
                state = _("  REVOKED {what}").format(what=r["revoked"]) if r["revoked"] else ""
                console.print(f"  {r['unit']}  {r['serial']}  {','.join(r['usage'])}  → {r['not_after']}{state}")
        return 0
