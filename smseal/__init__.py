"""smseal: seal official document packages between government offices with SM2, SM3 and SM4.

The installed distribution provides:

- ``shangmi``            the primitives (SM2, SM3, SM4, key encodings), no I/O;
- ``smseal.envelope``    the sealed-package format v1 (docs/FORMAT.md);
- ``smseal.keystore``    own keys (files, PKCS#11 tokens), the directory of units, the authority;
- ``smseal.cli``         the ``smseal`` command.

In the repository the sub-packages live in the top-level folders ``envelope/``, ``keystore/``
and ``cli/``; ``pyproject.toml`` maps them under this namespace (setuptools ``package-dir``).
"""

__version__ = "0.2.0.dev0"

__all__ = ["__version__"]
