"""Subcommand groups of the ``harness`` CLI, one module per subsystem.

Each module exposes ``register(app)``, which adds its commands (or a sub-``Typer``) to the root app; the
root :mod:`harness.cli` calls them in :data:`MODULES` order. A subsystem's commands live beside its code's
concerns, and the root CLI stays a thin table of contents.
"""

from __future__ import annotations

import importlib

import typer

__all__ = ["MODULES", "register_all"]

#: The subcommand modules, in the order their commands appear in ``harness --help``.
MODULES: tuple[str, ...] = (
    "harness.commands.baseline",
    "harness.commands.fake",
    "harness.commands.report",
    "harness.commands.real",
    "harness.commands.appserver",
    "harness.commands.tools",
    "harness.commands.corpus",
)


def register_all(app: typer.Typer) -> None:
    """Call ``register(app)`` of every module in :data:`MODULES`."""
    for name in MODULES:
        importlib.import_module(name).register(app)
