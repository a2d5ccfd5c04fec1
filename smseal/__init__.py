"""smseal: seal official document packages between government offices with SM2, SM3 and SM4.

The installed distribution provides:

- ``shangmi``            the primitives (SM2, SM3, SM4, key encodings), no I/O;
- ``smseal.envelope``    the sealed-package format v1 (docs/FORMAT.md);
- ``smseal.keystore``    own keys (files, PKCS#11 tokens), the directory of units, the authority;
- ``smseal.office``      the exchange between offices (ledger, transports, configuration);
- ``smseal.cli``         the ``smseal`` command;
- ``smseal.errors``      every error class, also importable from here (``from smseal import
                         MalformedCard``).

In the repository the sub-packages live in the top-level folders ``envelope/``, ``keystore/``,
``office/`` and ``cli/``; ``pyproject.toml`` maps them under this namespace (setuptools
``package-dir``).  The public API and its stability promise are in docs/API.md.
"""

from __future__ import annotations

import logging

from .errors import *  # noqa: F401,F403  (the one exception hierarchy, from the package root)
from .errors import __all__ as _errors_all

__version__ = "0.2.0.dev0"

#: The library's logger.  It logs ids only (package ids, key ids, unit names), never titles,
#: file names, plaintext or secrets; it has no handler of its own (the application decides).
logger = logging.getLogger("smseal")
logger.addHandler(logging.NullHandler())

__all__ = ["__version__", "logger", *_errors_all]
