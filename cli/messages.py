"""User-facing sentences for each expected error (English msgids; see locale/).

Each sentence says what happened and what to do next.  ``{detail}`` is the
library's technical message; other fields come from the exception's context.
"""

from __future__ import annotations

import shangmi

from smseal.office.i18n import N_

ERRORS: dict[str, str] = {
    "InvalidSignature": N_("The signature does not verify: the file was altered or was not sealed by the "
                           "unit it names. Do not use it; ask the sender to send it again."),
    "InvalidTag": N_("The package is damaged or was altered on the way (an integrity check failed). "
                     "Nothing was written; ask the sender to send it again."),
    "DecryptionError": N_("The package cannot be decrypted: it is damaged or was altered. "
                          "Nothing was written; ask the sender to send it again."),
    "MalformedPackage": N_("This is not a valid smseal package, or it is damaged ({detail}). "
                           "Nothing was written; ask the sender to send it again."),
    "InvalidKey": N_("The key or card is damaged or not an SM2 key ({detail}). Ask for a fresh copy."),
    "MalformedInput": N_("The file is damaged or in the wrong format ({detail}). Check that you chose the right file."),
    "NoMatchingKey": N_("This package is not addressed to your unit, so it cannot be opened here "
                        "(a confidential package opens only with the addressee's own key). Pass it on unopened."),
    "UntrustedSender": N_("The sender is not among your trusted units ({detail}). Import the sender's card "
                          "or update the directory from the bureau, then try again."),
    "SenderNoLongerValid": N_("Refused: the key of the sender {unit} is no longer valid ({reason}), although the "
                              "package says it was sealed on {sealed}. If {unit} confirms by phone that it was sent "
                              "before then, open it with --accept-before-revocation."),
    "RevokedKey": N_("Refused: the key of {unit} has been revoked ({reason}). Contact the confidentiality bureau."),
    "ExpiredCertificate": N_("Refused: the certificate of {unit} has expired ({reason}). "
                             "Ask the unit to renew it with the confidentiality bureau."),
    "RollbackRefused": N_("This directory bundle is not newer than the one installed ({detail}); it was refused "
                          "so that no revocation is undone. Get the latest bundle from the bureau."),
    "VerificationError": N_("Verification failed ({detail}). Do not use the file; ask the sender to send it again."),
    "WrongPassphrase": N_("Wrong passphrase or PIN. Try again; nothing was changed."),
    "KeyNotFound": N_("Not found: {detail}. Run 'smseal keys list' to see what is known."),
    "DuplicateEntry": N_("Already exists: {detail}. Nothing was changed."),
    "TokenError": N_("The security token could not be used ({detail}). Check that it is plugged in and "
                     "that the module path in the configuration is right."),
    "UnsupportedMechanism": N_("The security token cannot do this ({detail})."),
    "KeystoreError": N_("Keystore problem: {detail}. Nothing was changed."),
    "PolicyError": N_("Refused: {detail}"),
    "OutputExists": N_("{path} already exists; nothing was overwritten. Choose another name or add --force."),
    "TransportError": N_("Delivery failed ({detail}). Nothing was lost; check the network or the mail settings, "
                         "then try again."),
    "UnsupportedAlgorithm": N_("Not supported: {detail}"),
    "ConfigError": N_("{detail}"),
    "UsageError": N_("{detail}"),
    "SmsealError": N_("Error: {detail}"),
}


def error_template(exc: shangmi.SmsealError) -> str:
    for cls in type(exc).__mro__:
        t = ERRORS.get(cls.__name__)
        if t is not None:
            return t
    return ERRORS["SmsealError"]
