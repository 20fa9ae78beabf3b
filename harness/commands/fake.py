"""``harness fake-codex``: the fake codex from the root CLI (registered by :func:`harness.commands.register_all`)."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["fake_codex", "register"]


def fake_codex(
    args: Annotated[
        list[str] | None, typer.Argument(help="Arguments for the fake codex, passed through.")
    ] = None,
) -> None:
    """Run the fake [bold]codex[/] with ARGS passed through (reads HARNESS_FAKE_PLAN, HARNESS_FAKE_LOG)."""
    from harness.fake.cli import main as fake_main

    status = fake_main(list(args or []))
    raise typer.Exit(int(status or 0))


def register(app: typer.Typer) -> None:
    """Add ``fake-codex`` to the root app."""
    app.command(
        "fake-codex",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
        add_help_option=False,
    )(fake_codex)
