"""`harness` subcommands of the appserver subsystem (registered by :func:`harness.commands.register_all`)."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this subsystem's commands to the root app."""
