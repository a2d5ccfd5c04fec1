"""``smseal init --unit NAME [--token pkcs11:...]``: create this unit's signing and encryption keys."""

from __future__ import annotations

from .context import App, UsageError
from smseal.office.i18n import _


def register(sub) -> None:
    p = sub.add_parser("init", help=_("first run: create this unit's keys"))
    p.add_argument("--unit", required=True, help=_("the unit's full name, e.g. 市政府办公室"))
    p.add_argument("--token", metavar="PKCS11_URI",
                   help=_("keep the encryption key on a security token (pkcs11: URI)"))
    p.add_argument("--sign-on-token", action="store_true",
                   help=_("also keep the signing key on the token (needs a vendor profile that signs SM2)"))
    p.add_argument("--profile", help=_("vendor profile of the token"))
    p.set_defaults(func=run)


def run(args, console) -> int:
    from smseal.keystore import fingerprint_words

    with App(args, console) as app:
        existing = app.config.get("unit", "name")
        if existing:
            raise UsageError(_("This computer is already set up for {unit}.").format(unit=existing))
        if args.sign_on_token and not args.token:
            raise UsageError(_("--sign-on-token needs --token."))
        # Everything that could fail after the keys exist is checked first (no orphaned identity).
        from smseal.keystore.names import normalize_name

        try:
            unit = normalize_name(args.unit)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        app.config.check_value(unit)
        enc = args.token or "software"
        sign = args.token if args.sign_on_token else "software"
        ident = app.keystore.generate(unit, signing=sign, encryption=enc, profile=args.profile)
        app.config.set("unit", "name", ident.name)
        console.print(_("Created the keys of {unit} in {home}.").format(unit=ident.name, home=app.home))
        console.print(_("Signing key fingerprint (read it out over the phone when other units import your card):"))
        console.print("  " + fingerprint_words(ident.current("sign").public_key))
        console.print(_("Encryption key fingerprint:"))
        console.print("  " + fingerprint_words(ident.current("enc").public_key))
        console.print(_("Next: smseal keys export --public -o {unit}.card, and send the card to the other units.")
                      .format(unit=ident.name))
        return 0
