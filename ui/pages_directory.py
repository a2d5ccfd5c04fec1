"""通讯录: this unit's keys and the directory of units with fingerprints; importing a unit's card
and pinning the bureau's root (both shown with their fingerprints first and done only after
confirmation, as ``keys import`` / ``directory trust`` ask); installing a bureau bundle."""

from __future__ import annotations

from typing import Any

import base64
import binascii

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smseal.office import bureau
from smseal.office.errors import UsageError
from smseal.office.fsutil import LARGE_FILE, read_input
from smseal.office.i18n import _
from smseal.office.trust import Trust

from .uploads import receive_form
from .web import home_of, render, with_office


def directory_view(office: Any) -> dict[str, Any]:
    """This unit's keys and the directory of units, with fingerprints (as ``keys list``)."""
    from smseal.keystore.cards import fingerprint_words

    own = [{"unit": i.name, "keys": [{"role": k.role, "generation": k.generation, "on_token": k.on_token,
                                      "fingerprint": fingerprint_words(k.public_key)} for k in i.keys]}
           for i in office.keystore.list()]
    units = [{"unit": u.name, "source": u.source, "revoked": u.revoked_at,
              "keys": [{"role": k.role, "generation": k.generation, "fingerprint": fingerprint_words(k.public_key),
                        "not_after": k.not_after, "revoked": k.revoked_at} for k in u.keys]}
             for u in office.directory.list()]
    trust = Trust(office.home)
    pinned = trust.pinned_root() if trust.root_path.exists() else None
    return {"own": own, "units": units, "root": pinned.unit_name if pinned else None,
            "root_fingerprint": fingerprint_words(pinned.public_key) if pinned else None,
            "bundle_version": trust.installed_version()}


def workflow_view(office: Any) -> dict[str, Any]:
    """The unit's leaders (签发人) and the groups of units (抄送组)."""
    from smseal.office.groups import list_groups

    return {"leaders": [x.name for x in office.leaders.list()],
            "groups": list_groups(office)}


async def directory(request: Request) -> Response:
    view = await with_office(request, directory_view)
    view.update(await with_office(request, workflow_view))
    return render(request, "directory.html", section="directory", **view)


async def _uploaded(request: Request, field: str, limit: int) -> bytes:
    async with receive_form(request, home_of(request)) as form:
        path = form.file(field)
        if path is None:
            raise UsageError(_("Choose the file first."))
        return read_input(path, limit)


async def card_check(request: Request) -> Response:
    """Step 1 of importing a card: whose card, its fingerprints, and what importing it changes
    (a new unit, or a known unit's new leaders or key), as ``keys import`` shows."""
    from smseal.keystore.cards import fingerprint_words, parse_card
    from smseal.office.unit_card import preview_card

    data = await _uploaded(request, "card", 1 << 20)
    card = parse_card(data)
    changes = await with_office(request, lambda office: preview_card(office, data))
    notes = []
    if not changes.new_unit:
        notes.append(_("{unit} is already in the directory; this card updates it.").format(unit=card.unit)
                     if not changes.unchanged else _("{unit} is already in the directory with this card.")
                     .format(unit=card.unit))
    notes += [_("new leader (签发人): {name}").format(name=x.name) for x in changes.leaders_added]
    notes += [_("leader removed: {name}").format(name=n) for n in changes.leaders_removed]
    if changes.new_encryption_key is not None and not changes.new_unit:
        notes.append(_("new encryption key: {fp}").format(fp=fingerprint_words(changes.new_encryption_key)))
    return render(request, "confirm.html", section="directory", kind="card", name=card.unit, notes=notes,
                  question=_("Does the fingerprint match what {unit} read out to you?").format(unit=card.unit),
                  fingerprints=[(_("signing key"), fingerprint_words(card.signing_key)),
                                (_("encryption key"), fingerprint_words(card.encryption_key))],
                  data=base64.b64encode(data).decode("ascii"), target="/directory/card/import")


def _confirmed_data(form: Any) -> bytes:
    if form.get("confirm") != "yes":
        raise UsageError(_("Not imported: the fingerprint was not confirmed."))
    try:
        return base64.b64decode(str(form.get("data", "")), validate=True)
    except (binascii.Error, ValueError):
        raise UsageError(_("The form is damaged; start again.")) from None


async def card_import(request: Request) -> Response:
    """Step 2: the secretary confirmed the fingerprint; the same bytes are verified again and imported."""
    from smseal.office.unit_card import import_card

    form = await request.form()
    data = _confirmed_data(form)
    changes = await with_office(request, lambda office: import_card(office, data))
    return render(request, "done.html", section="directory", back="/directory",
                  message=_("Imported {unit} into the directory.").format(unit=changes.unit))


async def root_check(request: Request) -> Response:
    from smseal.keystore.cards import fingerprint_words
    from smseal.keystore.bundle import load_root

    data = await _uploaded(request, "root", 1 << 20)
    root = load_root(data)
    return render(request, "confirm.html", section="directory", kind="root", name=root.unit_name,
                  question=_("Does this match the fingerprint the bureau published?"),
                  fingerprints=[(_("root key fingerprint"), fingerprint_words(root.public_key))],
                  data=base64.b64encode(data).decode("ascii"), target="/directory/root/pin")


async def root_pin(request: Request) -> Response:
    form = await request.form()
    data = _confirmed_data(form)
    replace = form.get("replace") == "yes"
    root = await with_office(request, lambda office: bureau.pin_root(office, data, replace=replace))
    return render(request, "done.html", section="directory", back="/directory",
                  message=_("Pinned {name}. Next: smseal directory update directory.bundle")
                  .format(name=root.unit_name))


async def bundle_install(request: Request) -> Response:
    data = await _uploaded(request, "bundle", LARGE_FILE)
    counts = await with_office(request, lambda office: bureau.install_bundle(office, data))
    message = _("Installed directory version {v} of {when} from {auth}: {n} units; "
                "{u} new units, {k} new keys, {r} revocations applied.").format(
        v=counts["version"], when=counts["issued"].date(), auth=counts["authority"], n=len(counts["unit_names"]),
        u=counts["units"], k=counts["keys"], r=counts["revoked"])
    warnings = [_("Warning: not added from the bundle ({conflict}). A card imported earlier claims the "
                  "same name or key; check it with the bureau.").format(conflict=c) for c in counts["conflicts"]]
    warnings[:0] = [bureau.untrusted_key_warning(k) for k in counts["untrusted"]]
    return render(request, "done.html", section="directory", back="/directory", message=message, warnings=warnings)


routes = [
    Route("/directory", directory),
    Route("/directory/card", card_check, methods=["POST"]),
    Route("/directory/card/import", card_import, methods=["POST"]),
    Route("/directory/root", root_check, methods=["POST"]),
    Route("/directory/root/pin", root_pin, methods=["POST"]),
    Route("/directory/bundle", bundle_install, methods=["POST"]),
]
