"""What envelope needs from keys and from the directory, as protocols.

A ``shangmi.sm2.PrivateKey`` is both a ``Signer`` and a ``Decrypter``; key
files and PKCS#11 tokens in ``keystore`` implement the same methods, so
envelope never knows where a key lives.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Protocol, Sequence, Union, cast, runtime_checkable

from shangmi import sm2
from shangmi.protocols import Decrypter as Decrypter, Signer as Signer  # the one definition, re-exported
from shangmi.errors import (ExpiredCertificate, RevokedKey, SenderNoLongerValid, UntrustedSender,
                            WrongArgumentType)


@runtime_checkable
class TrustStore(Protocol):
    """Who may sign packages: ``check_sender`` vouches for a signing key at a time, or raises.

    ``smseal.keystore.Directory`` is the full one (units, generations, revocation, validity);
    ``KeyList`` is the simplest.  Any object with this method works."""

    def check_sender(self, key: sm2.PublicKey, sealed_at: datetime) -> str | None:
        """Return the sender unit's name (or None if unknown name) when `key` is a trusted
        signing key at `sealed_at`; raise UntrustedSender / RevokedKey / ExpiredCertificate
        otherwise."""


Trusted = Union[TrustStore, Sequence[sm2.PublicKey]]


class KeyList:
    """The simplest trust store: a fixed set of signing keys, with no names and no revocation."""

    def __init__(self, keys: Iterable[sm2.PublicKey]) -> None:
        self._keys = set()
        for k in keys:
            if not isinstance(k, sm2.PublicKey):
                raise WrongArgumentType("trusted= takes sm2.PublicKey objects or a trust store",
                                        code="bad-trust-store")
            self._keys.add(k)

    def check_sender(self, key: sm2.PublicKey, sealed_at: datetime) -> str | None:
        """Return None (no names) when ``key`` is one of the trusted keys; ``UntrustedSender`` otherwise."""
        if key not in self._keys:
            raise UntrustedSender("the signing key {key_id} is not trusted",
                                  hint="import the sending unit's key into the directory",
                                  key_id=key.key_id().hex())
        return None


def as_trust_store(trusted: Trusted) -> TrustStore:
    """Accept a list of public keys or anything with ``check_sender``."""
    if hasattr(trusted, "check_sender"):
        return cast(TrustStore, trusted)
    if isinstance(trusted, (str, bytes)):
        raise WrongArgumentType("trusted= takes sm2.PublicKey objects or a trust store",
                                        code="bad-trust-store")
    return KeyList(trusted)


def check_sender(trust: TrustStore, key: sm2.PublicKey, sealed_at: datetime) -> str | None:
    """Ask the trust store; insist that it answers with a name or None, or raises."""
    name = trust.check_sender(key, sealed_at)
    if name is not None and not isinstance(name, str):
        raise WrongArgumentType("check_sender must return a str or None, or raise", code="bad-trust-store")
    return name


def check_sender_now(trust: TrustStore, key: sm2.PublicKey, signed_at: datetime, *,
                     accept_before_revocation: bool = False,
                     now: datetime | None = None) -> tuple[str | None, str | None]:
    """The trust rule applied to every verified header and receipt: valid then AND still valid now.

    First the trust store must vouch for ``key`` at ``signed_at`` (the time the
    signed item claims).  Then, because a revoked or expired unit could
    backdate what it signs, the key must still be valid ``now``: if it is
    revoked or expired today, ``SenderNoLongerValid`` is raised unless
    ``accept_before_revocation`` (the caller confirmed with the signer, e.g. by
    phone).  Returns (unit name or None, why it is no longer valid or None).
    """
    name = check_sender(trust, key, signed_at)
    try:
        check_sender(trust, key, now or datetime.now(timezone.utc))
    except (RevokedKey, ExpiredCertificate) as exc:
        facts = {k: str(v) for k, v in exc.context.items()}
        facts.setdefault("unit", name or key.key_id().hex())
        facts.setdefault("reason", str(exc))
        facts["sealed"] = signed_at.isoformat()
        if not accept_before_revocation:
            raise SenderNoLongerValid("{exc}; the signed item claims the earlier time {signed_at}", exc=str(exc),
                                      signed_at=signed_at.isoformat(),
                                      hint='confirm with the signer, then accept_before_revocation=True',
                                      **facts) from None
        return name, str(exc)
    return name, None
