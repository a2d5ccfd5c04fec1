"""Software key files: one SM2 private key per file, encrypted PKCS#8 (PBES2 + SM4-CBC).

Files are created 0600 and atomically (see ``atomic``); an existing file is
never overwritten by a new key.  Re-encrypting under a new passphrase
replaces the file atomically only after the old passphrase was proven right,
so a wrong passphrase changes nothing.  The PBKDF2 iteration count defaults
to shangmi's (about 0.3 s a guess); ``SMSEAL_KDF_ITERATIONS`` or the
``iterations`` argument lower it for tests.
"""

from __future__ import annotations

import os
from pathlib import Path

from shangmi import sm2
from shangmi.errors import InvalidArgument, InvalidKey, KeyNotFound, MalformedInput, SmsealError, WrongPassphrase

from .atomic import create_atomic, write_atomic

ENV_ITERATIONS = "SMSEAL_KDF_ITERATIONS"
MAX_KEY_FILE = 64 * 1024


def kdf_iterations(explicit: int | None = None) -> int | None:
    """``explicit``, else ``$SMSEAL_KDF_ITERATIONS``, else None (shangmi's default)."""
    if explicit is not None:
        value: int | str = explicit
    else:
        env = os.environ.get(ENV_ITERATIONS)
        if not env:
            return None
        value = env
    try:
        n = int(value)
    except ValueError:
        raise InvalidArgument("{variable} must be a whole number", variable=str(ENV_ITERATIONS),
                              code='bad-kdf-iterations') from None
    if not 1 <= n <= 50_000_000:
        raise InvalidArgument("the PBKDF2 iteration count must be between 1 and 50,000,000",
                              code="bad-kdf-iterations")
    return n


def read_key_file(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_KEY_FILE + 1)
    except FileNotFoundError:
        raise KeyNotFound("key file {name} is missing", name=str(path.name)) from None
    if len(data) > MAX_KEY_FILE:
        raise InvalidKey("key file {name} is too large to be a key", name=str(path.name))
    return data


def load_key(path: Path, password: bytes) -> sm2.PrivateKey:
    """Decrypt the key in ``path``: ``WrongPassphrase`` or ``InvalidKey`` (damaged file)."""
    data = read_key_file(path)
    try:
        return sm2.PrivateKey.from_pem(data, password=password)
    except WrongPassphrase:
        raise WrongPassphrase("wrong passphrase for {name}, or the file is damaged", name=str(path.name)) from None
    except (MalformedInput, ValueError) as exc:
        raise InvalidKey("key file {name} is damaged or not an SM2 key", name=str(path.name)) from exc
    except SmsealError:
        raise


def store_new_key(path: Path, key: sm2.PrivateKey, password: bytes, *, iterations: int | None = None) -> None:
    """Write ``key`` encrypted under ``password`` to a new file (``DuplicateEntry`` if it exists)."""
    create_atomic(path, key.to_pem(password, iterations=kdf_iterations(iterations)))


def rewrap_key(path: Path, old: bytes, new: bytes, *, iterations: int | None = None) -> None:
    """Re-encrypt a key file under a new passphrase; unchanged if ``old`` is wrong."""
    key = load_key(path, old)
    write_atomic(path, key.to_pem(new, iterations=kdf_iterations(iterations)))
