"""The bureau's side and its directory: the authority kept in SMSEAL_HOME/authority (issue,
revoke, publish, list — ``smseal authority`` and the page's bureau pages), and in an office,
pinning the bureau's root and installing its signed directory bundle (``smseal directory
trust`` / ``update`` and the page)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .errors import UsageError
from .i18n import _
from .trust import Trust

if TYPE_CHECKING:
    from smseal.keystore.authority import Authority
    from smseal.keystore.x509 import Certificate


def authority_home(office: Any) -> Path:
    """Where the home of ``office`` keeps its authority (it may have none)."""
    return Path(office.home) / "authority"


def has_authority(office: Any) -> bool:
    """True when this home holds an authority (``smseal authority init`` was run here)."""
    return (authority_home(office) / "root.pem").exists()


def open_authority(office: Any, passphrase: Callable[[], bytes]) -> "Authority":
    """The authority of this home, unlocked: its key on a token (the token identity named in
    ``[authority] token_identity``), or a key file and ``passphrase()``."""
    from smseal.keystore.authority import Authority

    home = authority_home(office)
    if not has_authority(office):
        raise UsageError(_("No authority here: run 'smseal authority init --name NAME' first."))
    token_identity = office.config.get("authority", "token_identity")
    if token_identity:
        return Authority.open(home, signer=office.keystore.signer(token_identity))
    return Authority.open(home, password=passphrase())


def pin_root(office: Any, data: bytes, *, replace: bool = False) -> "Certificate":
    """Pin the bureau's root certificate ``data`` (after its fingerprint was confirmed out of
    band); a root pinned earlier is replaced only when ``replace`` is given."""
    from smseal.keystore.bundle import load_root

    root = load_root(data)
    trust = Trust(office.home)
    if trust.root_path.exists() and not replace:
        raise UsageError(_("An authority is already pinned; add --replace to replace it."))
    if trust.root_path.exists():
        from .ca_import import refuse_revoked_authority
        refuse_revoked_authority(trust, root)   # re-pinning a revoked sub-CA trusts nothing anew
    trust.pin(root.to_pem(), replace=replace)
    return root


def install_bundle(office: Any, data: bytes) -> dict[str, Any]:
    """Verify a directory bundle against the pinned root (older or equal versions refused, so no
    revocation is undone), apply it, then record its version.  Returns ``version``, ``issued``,
    ``authority`` (its name), ``unit_names``, the counts ``units`` (new units), ``keys`` and
    ``revoked``, ``untrusted`` (card keys of units the bundle certifies with other keys, no longer
    trusted: ``keystore.bundle_apply.UntrustedKey``), ``untrusted_leaders`` and the ``conflicts``
    (cards imported earlier that claim the same key).  The directory is changed by
    ``Directory.apply_bundle``, the library's one place for it."""
    from smseal.keystore.bundle import verify_bundle

    from .ca_import import record_bundle_crl, refuse_revoked_chain, revoke_through_revoked_authorities

    trust = Trust(office.home)
    verified = verify_bundle(data, trust.pinned_root(), installed_version=trust.installed_version())
    refuse_revoked_chain(trust, verified.chain)
    applied = office.directory.apply_bundle(verified)
    from smseal.keystore.unit_leaders import apply_leader_certificates
    leaders_skipped = apply_leader_certificates(office.directory, verified.leaders, verified.crl)
    from .groups import replace_bureau_groups
    replace_bureau_groups(office, verified.groups)
    record_bundle_crl(trust, verified)
    revoked = applied.revoked + revoke_through_revoked_authorities(office.directory, trust)
    trust.record(verified.version, verified.issued)
    return {"version": verified.version, "issued": verified.issued, "authority": verified.authority.unit_name,
            "unit_names": [u.name for u in verified.units], "units": applied.units, "keys": applied.keys,
            "revoked": revoked, "untrusted": list(applied.untrusted),
            "untrusted_leaders": list(applied.untrusted_leaders), "conflicts": list(applied.conflicts),
            "leaders": [f"{c.person} ({c.unit_name})" for c in verified.leaders], "leaders_skipped": leaders_skipped,
            "groups": [name for name, _units in verified.groups]}



def untrusted_key_warning(key: Any) -> str:
    """The warning for a card key the bureau's certificates made untrusted
    (``keystore.bundle_apply.UntrustedKey``), with its fingerprint to check by phone."""
    h = key.fingerprint.hex().upper()
    words = " ".join(h[i:i + 4] for i in range(0, len(h), 4))
    role = _("signing") if key.role == "sign" else _("encryption")
    if getattr(key, "certified_as", None):
        return _("Warning: the {role} key of {unit} from a card ({words}) is certified by the bureau as the "
                 "{new_role} key of {owner}: the card's claim is no longer trusted.").format(
            role=role, unit=key.unit, words=words, owner=key.certified_as,
            new_role=_("signing") if key.certified_role == "sign" else _("encryption"))
    return _("Warning: the {role} key of {unit} from a card ({words}) is not certified by the bureau, which "
             "certifies the unit with other keys: it is no longer trusted, for anything it signed.").format(
        role=role, unit=key.unit, words=words)
