"""保密局 (only where this home holds an authority): issue certificates for a unit's request,
revoke, publish the signed directory bundle, list what was issued — as ``smseal authority``.
Each act unlocks the authority key with the passphrase typed into its form, for that act only."""

from __future__ import annotations

from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smseal.office import bureau
from smseal.office.errors import UsageError
from smseal.office.fsutil import read_input
from smseal.office.i18n import _

from .uploads import receive_form
from .web import home_of, render, with_office

REASONS = ("unspecified", "keyCompromise", "affiliationChanged", "superseded", "cessationOfOperation",
           "privilegeWithdrawn")


def _unlock(passphrase: str) -> Callable[[], bytes]:
    """The authority key's passphrase from the form, for this one act."""
    def ask() -> bytes:
        if not passphrase:
            raise UsageError(_("Enter the passphrase (or the security token's PIN), then try again."))
        return passphrase.encode("utf-8")

    return ask


def _require_authority(office: Any) -> None:
    if not bureau.has_authority(office):
        raise UsageError(_("No authority here: run 'smseal authority init --name NAME' first."))


async def page(request: Request) -> Response:
    await with_office(request, _require_authority)
    return render(request, "bureau.html", section="bureau", reasons=REASONS, issued=None)


def _download(data: bytes, filename: str) -> Response:
    from urllib.parse import quote

    return Response(data, media_type="application/octet-stream",
                    headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


async def issue(request: Request) -> Response:
    async with receive_form(request, home_of(request)) as form:
        path = form.file("request")
        if path is None:
            raise UsageError(_("Choose the unit's request file (.csr)."))
        data = read_input(path)
        unit = (form.get("unit") or "").strip()
        if not unit:
            raise UsageError(_("Name the unit the request is for."))
        rotate = form.get("rotate") == "yes"
        days = int(form.get("validity_days") or 730)
        unlock = _unlock(form.get("passphrase"))
        certs = await with_office(
            request, lambda office: bureau.open_authority(office, unlock).issue_file(
                data, unit_name=unit, rotate=rotate, validity_days=days),
            pin=form.get("passphrase"))
        name = path.stem + ".certs"
    return _download(certs, name)


async def revoke(request: Request) -> Response:
    form = await request.form()
    target, reason = str(form.get("target", "")).strip(), str(form.get("reason", "unspecified"))
    if not target:
        raise UsageError(_("Name the unit or the certificate serial number to revoke."))
    if reason not in REASONS:
        raise UsageError(_("Choose a revocation reason from the list."))
    unlock = _unlock(str(form.get("passphrase", "")))
    serials = await with_office(request, lambda office: bureau.open_authority(office, unlock).revoke(target, reason),
                                pin=str(form.get("passphrase", "")))
    return render(request, "done.html", section="bureau", back="/bureau",
                  message=_("Revoked {n} certificate(s): {serials}. Publish a new bundle so offices learn of it.")
                  .format(n=len(serials), serials=", ".join(f"{s:x}" for s in serials)))


async def publish(request: Request) -> Response:
    form = await request.form()
    unlock = _unlock(str(form.get("passphrase", "")))
    data = await with_office(request, lambda office: bureau.open_authority(office, unlock).publish(),
                             pin=str(form.get("passphrase", "")))
    return _download(data, "directory.bundle")


async def listing(request: Request) -> Response:
    form = await request.form()
    unlock = _unlock(str(form.get("passphrase", "")))
    certs = await with_office(request, lambda office: bureau.open_authority(office, unlock).certificates(),
                              pin=str(form.get("passphrase", "")))
    issued = [{"unit": c.unit, "serial": f"{c.serial:x}", "usage": ", ".join(sorted(c.certificate.key_usage)),
               "not_after": c.certificate.not_after.date().isoformat(),
               "revoked": f"{c.revoked.date.date().isoformat()} {c.revoked.reason}" if c.revoked else ""}
              for c in certs]
    return render(request, "bureau.html", section="bureau", reasons=REASONS, issued=issued)


routes = [
    Route("/bureau", page),
    Route("/bureau/issue", issue, methods=["POST"]),
    Route("/bureau/revoke", revoke, methods=["POST"]),
    Route("/bureau/publish", publish, methods=["POST"]),
    Route("/bureau/list", listing, methods=["POST"]),
]
