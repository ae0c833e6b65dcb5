"""Subcommands of the ``hlsforge`` command line that live in their own modules.

Each module in ``COMMANDS`` has ``register(subparsers)``, which adds its parser and sets
``func``. Keeping one module per subcommand means a new capability (estimate, scan, report,
calibrate, ...) adds a file and one name here instead of growing ``cli.py``.
"""

from __future__ import annotations

import argparse
import importlib

COMMANDS: tuple[str, ...] = ("estimate", "scan", "report", "calibrate")


def register_all(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
