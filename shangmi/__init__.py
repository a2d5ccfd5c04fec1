"""shangmi: China's commercial cryptography (商用密码) for smseal.

SM2 (GB/T 32918) signatures and public-key encryption, SM3 (GB/T 32905)
hashing, SM4 (GB/T 32907) encryption, and what is built from them.
This package does no file or network I/O.

    from shangmi import sm2, sm3, sm4, sm4_batch
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import *  # noqa: F401,F403  (the one exception hierarchy)
from .errors import __all__ as _errors_all
from .protocols import Decrypter, Signer

if TYPE_CHECKING:   # imported lazily at run time (see __getattr__); type checkers see them here
    from . import der, sm2, sm3, sm4, sm4_batch

__version__ = "0.1.0"

__all__ = ["sm2", "sm3", "sm4", "sm4_batch", "der", "Signer", "Decrypter", "__version__", *_errors_all]


def __getattr__(name: str) -> Any:
    # Import sm2 lazily: probing libcrypto is cheap, but only needed when used.
    if name in ("sm2", "sm3", "sm4", "sm4_batch", "der"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
