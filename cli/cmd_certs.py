"""``smseal keys request`` / ``keys install`` / ``keys rotate``: certificates from the bureau for this unit."""

from __future__ import annotations


from shangmi import UnsupportedMechanism

from .context import App, UsageError
from smseal.office.fsutil import read_input, write_atomic
from smseal.office.i18n import _
from smseal.office.trust import Trust


def register_keys(ks) -> None:
    r = ks.add_parser("request", help=_("write a certificate request for this unit's keys"))
    r.add_argument("-o", "--output", required=True, help=_("request file to give to the bureau (.csr)"))
    r.add_argument("--organization", help=_("O= in the certificate subject"))
    r.add_argument("--force", action="store_true", help=_("overwrite an existing output file"))
    r.add_argument("--escrow", action="store_true",
                   help=_("for 'authority issue --escrow': if the encryption key cannot sign its own request "
                          "(a token without SM2 signing), a throwaway key stands in for it"))
    r.set_defaults(func=run_request)
    i = ks.add_parser("install", help=_("install the certificates the bureau issued for this unit"))
    i.add_argument("certs", help=_("the .certs file from the bureau"))
    i.set_defaults(func=run_install)
    ro = ks.add_parser("rotate", help=_("make new keys (old ones are kept to open old packages)"))
    ro.add_argument("--role", choices=["sign", "enc", "both"], default="both",
                    help=_("which key to renew: sign, enc or both (default)"))
    ro.set_defaults(func=run_rotate)


def run_request(args, console) -> int:
    from smseal.keystore.bundle import make_request
    from smseal.keystore.x509 import Name

    with App(args, console) as app:
        unit = app.unit
        signer = app.keystore.signer(unit)
        enc = app.keystore.decrypter(unit)
        subject = Name.build(unit, organization=args.organization)
        try:
            if not hasattr(enc, "sign"):
                raise UnsupportedMechanism("the encryption key's token cannot sign, so it cannot sign its own "
                                           "certificate request")
            data = make_request(subject, signer, enc)
        except UnsupportedMechanism:
            if not args.escrow:
                raise
            from shangmi import sm2

            # the authority makes and delivers the encryption key itself and ignores this one
            data = make_request(subject, signer, sm2.PrivateKey.generate())
            console.print(_("The encryption key cannot sign, so a throwaway key stands in for it: this request "
                            "is only for 'smseal authority issue --escrow', which makes the encryption key."))
        write_atomic(args.output, data, overwrite=args.force)
        console.print(_("Wrote the certificate request of {unit} to {path}; take it to the bureau.")
                      .format(unit=unit, path=args.output))
        return 0


def run_install(args, console) -> int:
    from smseal.office.certificates import install_certificates

    with App(args, console) as app:
        done = install_certificates(app, read_input(args.certs))
        console.print(_("Installed the certificates of {unit} (valid until {until}).").format(
            unit=done.unit, until=done.valid_until))
        if done.escrowed:
            console.print(_("Installed {n} encryption key(s) delivered by the bureau (it keeps an escrowed "
                            "copy, so a lost token loses no document).").format(n=done.delivered_keys))
        return 0


def run_rotate(args, console) -> int:
    from smseal.keystore import fingerprint_words

    with App(args, console) as app:
        roles = ["sign", "enc"] if args.role == "both" else [args.role]
        for role in roles:
            info = app.keystore.rotate(app.unit, role)
            console.print(_("New {role} key, generation {g}: {fp}").format(
                role=role, g=info.generation, fp=fingerprint_words(info.public_key)))
        console.print(_("Old keys are kept, so packages sealed to them still open. Next: smseal keys request "
                        "-o new.csr, and export a new card."))
        return 0
