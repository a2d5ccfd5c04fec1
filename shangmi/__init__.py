"""shangmi: China's commercial cryptography (商用密码) for smseal.

SM2 (GB/T 32918) signatures and public-key encryption, SM3 (GB/T 32905)
hashing, SM4 (GB/T 32907) encryption, and what is built from them.
This package does no file or network I/O.

    from shangmi import sm2, sm3, sm4
"""

from __future__ import annotations

from .errors import *  # noqa: F401,F403  (the one exception hierarchy)
from .errors import __all__ as _errors_all

__version__ = "0.1.0"

__all__ = ["sm2", "sm3", "sm4", "__version__", *_errors_all]


def __getattr__(name: str):
    # Import sm2 lazily: probing libcrypto is cheap, but only needed when used.
    if name in ("sm2", "sm3", "sm4", "der"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(name)
