"""The list of subcommand modules; each has ``register(subparsers)``."""

from __future__ import annotations

import importlib

MODULES = [
    "cmd_init",
    "cmd_keys",
    "cmd_seal",
    "cmd_open",
    "cmd_receipts",
    "cmd_inbox",
    "cmd_draft",
    "cmd_reply",
    "cmd_cases",
    "cmd_register",
    "cmd_directory",
    "cmd_authority",
    "cmd_quickstart",
    "cmd_selftest",
    "cmd_ui",
]


def register_all(sub) -> None:
    for name in MODULES:
        importlib.import_module(f".{name}", __package__).register(sub)

