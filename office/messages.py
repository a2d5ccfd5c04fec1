"""User-facing sentences for each expected error (English msgids; see locale/), shared by the
command and the page.

Each sentence says what happened and what to do next.  ``{detail}`` is the
library's technical message; other fields come from the exception's context.
"""

from __future__ import annotations

import re
from typing import Any

import shangmi

from .i18n import N_, _, is_chinese

ERRORS: dict[str, str] = {
    "InvalidSignature": N_("The signature does not verify: the file was altered, or was not signed by "
                           "the unit it names. Do not use it; ask whoever sent it for a new copy, and tell them."),
    "EmptySignerId": N_("Refused, although nothing was altered: {detail}."),
    "InvalidTag": N_("The package is damaged or was altered on the way (an integrity check failed). "
                     "Nothing was written; ask the sender to send it again."),
    "DecryptionError": N_("The package cannot be decrypted: it is damaged or was altered. "
                          "Nothing was written; ask the sender to send it again."),
    "MalformedPackage": N_("This is not a valid smseal package, or it is damaged ({detail}). Nothing was "
                           "written. Check that you chose the package (.smx, or the e-mail it came in); if "
                           "you did, ask the sender to send it again."),
    "MalformedReceipt": N_("This is not a valid smseal receipt, or it is damaged ({detail}). Nothing was "
                           "recorded. Check that you chose the receipt (.receipt, or the e-mail it came in); if "
                           "you did, ask the unit that signed it for a new copy."),
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
    "ExpiredCertificate": N_("Refused, the certificate is not valid at this time: {detail}. If it has expired, "
                             "ask the unit to renew it with the confidentiality bureau; if it is not valid yet, "
                             "check this computer's date and time."),
    "RollbackRefused": N_("This directory bundle is not newer than the one installed ({detail}); it was refused "
                          "so that no revocation is undone. Get the latest bundle from the bureau."),
    "VerificationError": N_("Verification failed ({detail}). Do not use the file; ask whoever sent it for a new "
                            "copy."),
    "WrongPassphrase": N_("Wrong passphrase or PIN. Try again; nothing was changed."),
    "KeyNotFound": N_("Not found: {detail}. Run 'smseal keys list' to see what is known."),
    "UnknownUnit": N_("Not found: {detail}. Check the name (run 'smseal keys list'), or import the unit's card "
                      "or update the directory from the bureau."),
    "DuplicateEntry": N_("Already exists: {detail}. Nothing was changed."),
    "TokenError": N_("The security token could not be used ({detail}). Check that it is plugged in and "
                     "that the module path in the configuration is right."),
    "UnsupportedMechanism": N_("The security token cannot do this ({detail})."),
    "KeystoreError": N_("A problem with this office's keys: {detail}. Nothing was changed."),
    "ApprovalRequired": N_("Refused: this unit requires a leader's approval (签发) for {doc_type}, and {reason}. "
                           "Nothing was written; ask the sending unit to have it approved by its leader and send "
                           "it again."),
    "ApprovalError": N_("The leader's approval (签发) does not hold ({detail}). Nothing was sent; have the leader "
                        "approve the current files again (smseal approve)."),
    "PolicyError": N_("Refused: {detail}"),
    "OutputExists": N_("{path} already exists; nothing was overwritten. Choose another name or add --force."),
    "TransportError": N_("Delivery failed ({detail}). Nothing was lost; check the network or the mail settings, "
                         "then try again."),
    "MailError": N_("{detail}"),
    "UnsupportedAlgorithm": N_("Not supported: {detail}"),
    "ConfigError": N_("{detail}"),
    "UsageError": N_("{detail}"),
    "SmsealError": N_("Error: {detail}"),
}


# What each kind of error is, in a few words: under a Chinese locale this stands in for the
# library's English detail when that detail has no translated template (the facts in the
# error's context — unit names, paths, ids — are still shown).
DETAILS: dict[str, str] = {
    "SmsealError": N_("an error"),
    "VerificationError": N_("verification failed"),
    "InvalidSignature": N_("the signature does not verify"),
    "InvalidTag": N_("an integrity check failed"),
    "DecryptionError": N_("decryption failed"),
    "MalformedInput": N_("not well-formed"),
    "InvalidKey": N_("not a valid SM2 key"),
    "MalformedPackage": N_("not a well-formed package"),
    "MalformedReceipt": N_("not a well-formed receipt"),
    "MalformedCard": N_("not a well-formed unit card"),
    "InvalidPkcs11Uri": N_("not a valid pkcs11: address"),
    "NoMatchingKey": N_("no key of this unit opens it"),
    "UntrustedSender": N_("the sender's key is not trusted here"),
    "SenderNoLongerValid": N_("the sender's key is no longer valid"),
    "RevokedKey": N_("revoked"),
    "ExpiredCertificate": N_("outside its validity period"),
    "RollbackRefused": N_("older than the installed bundle"),
    "KeystoreError": N_("a problem with the keys"),
    "WrongPassphrase": N_("wrong passphrase"),
    "WrongPin": N_("wrong PIN"),
    "PinLocked": N_("the token's PIN is locked"),
    "PassphraseUnavailable": N_("no passphrase could be asked for"),
    "KeyNotFound": N_("no such key, identity or unit"),
    "UnknownUnit": N_("no such unit in the directory"),
    "AmbiguousKey": N_("more than one key matches"),
    "DuplicateEntry": N_("it exists already"),
    "TokenError": N_("the security token failed"),
    "ModuleNotFound": N_("the token's module was not found"),
    "TokenNotFound": N_("the token was not found"),
    "UnsupportedMechanism": N_("the token cannot do this"),
    "PolicyError": N_("not allowed by policy"),
    "ApprovalError": N_("the approval (签发) does not verify"),
    "ApprovalRequired": N_("a leader's approval (签发) is required"),
    "WrongKeyUsage": N_("the key is certified for another use"),
    "UnsupportedAlgorithm": N_("not supported"),
    "BackendError": N_("the cryptographic library failed"),
    "OutputExists": N_("the output exists already"),
    "TransportError": N_("delivery failed"),
    "UsageError": N_("wrong usage"),
    "ConfigError": N_("the configuration is wrong"),
}


def _by_class(table: dict[str, str], exc: BaseException, default: str) -> str:
    for cls in type(exc).__mro__:
        t = table.get(cls.__name__)
        if t is not None:
            return t
    return table[default]


def detail(exc: shangmi.SmsealError) -> str:
    """The library's technical detail in the user's language.

    English: the library's own sentence.  Chinese: its translated template when the catalog
    has one; otherwise a few words on what kind of error it is, followed by the facts from
    the error's context (unit names, paths, ids), so no untranslated English reaches the user.
    """
    context = getattr(exc, "context", None) or {}
    text = str(exc)
    if not is_chinese() or getattr(exc, "localized", False) or not ENGLISH_RUN.search(text):
        return text
    template = getattr(exc, "template", None)
    if template:
        translated = _(template)
        if translated != template:
            # {what} names the thing checked ("the certificate"): the library's descriptions
            # are in the catalog too (scripts/i18n_library.py).
            values = {k: (_(v) if k == "what" and isinstance(v, str) and v else
                          problem(v) if k == "problem" and isinstance(v, str) else v)
                      for k, v in context.items()}
            try:
                return translated.format(**values)
            except (KeyError, IndexError, ValueError):
                pass
    words = _(_by_class(DETAILS, exc, "SmsealError"))
    facts = [str(v) for k, v in context.items() if v not in (None, "") and k not in _HIDDEN_FACTS]
    return words + ("：" + "，".join(facts) if facts else "")


# Three English words in a row: a sentence the reader of a Chinese locale should not get.
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'-]*(?:[ ,;:]+[A-Za-z][A-Za-z'-]*){2,}")

# Context entries that are structural, not facts for the reader.
_HIDDEN_FACTS = frozenset({"code", "reason_code"})


def error_template(exc: shangmi.SmsealError) -> str:
    return _by_class(ERRORS, exc, "SmsealError")


class _Facts(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?" if key != "detail" else ""


def facts(exc: shangmi.SmsealError) -> dict[str, Any]:
    """The error's context, with its ``detail`` in the user's language."""
    f = _Facts(getattr(exc, "context", {}) or {})
    f["detail"] = detail(exc)
    path = getattr(exc, "path", None)   # OutputExists for a name from inside a package: shown to
    if path:                            # the person who opened it, never put in context or logs
        f.setdefault("path", path)
    return f


def describe(exc: shangmi.SmsealError) -> str:
    """The one translated sentence for ``exc``: what happened and what to do next."""
    return _(error_template(exc)).format_map(facts(exc))


def system_refused(exc: OSError) -> str:
    """The sentence for an operating-system refusal (permissions, a full disk, a folder where a
    file was expected)."""
    where = f" ({exc.filename})" if exc.filename else ""
    return _("The system refused: {why}{where}. Nothing was left half-written; check the path and "
             "permissions, then try again.").format(why=exc.strerror or exc, where=where)


# The text and file-name rules (envelope/text.py, envelope/paths.py) say why a text or name is
# refused in a few fixed English phrases, passed as ``{problem}``; translated here.
PROBLEMS = (
    N_("is empty"), N_("is empty (leave the field out instead)"),
    N_("a control character"), N_("a surrogate"), N_("a line or paragraph separator"),
    N_("an invisible or bidirectional formatting character"), N_("an invisible Hangul filler"),
    N_("a private-use character"), N_("an invisible (default-ignorable) character"),
    N_("contains a path separator or a character Windows forbids"),
    N_("is not in Unicode NFC form"), N_("is a directory reference"),
    N_("begins or ends with a space, or ends with a dot"), N_("is a reserved device name"),
)
_CONTAINS = re.compile(r"contains (.+) \((U\+[0-9A-F]{4,6})\)")
_LONGER = re.compile(r"is longer than (\d+) bytes")
_UNASSIGNED = re.compile(r"a code point unassigned in Unicode ([\d.]+)")


def problem(text: str) -> str:
    """One of the text rules' English reasons (``envelope.text.text_problem``,
    ``envelope.paths.name_problem``) in the user's language; anything else unchanged."""
    if m := _CONTAINS.fullmatch(text):
        return _("contains {what} ({code_point})").format(what=problem(m[1]), code_point=m[2])
    if m := _LONGER.fullmatch(text):
        return _("is longer than {n} bytes").format(n=m[1])
    if m := _UNASSIGNED.fullmatch(text):
        return _("a code point unassigned in Unicode {version}").format(version=m[1])
    return _(text)
