"""``harness baseline``: maintaining baseline files (registered by :func:`harness.commands.register_all`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

baseline_app = typer.Typer(
    name="baseline",
    help="Maintain the baselines of findings ([bold]baselines/<impl>.yaml[/], docs/baselines.md).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@baseline_app.command("migrate")
def migrate(
    files: Annotated[list[Path], typer.Argument(help="Format-1 baseline files to rewrite in place.")],
) -> None:
    """Rewrite format-1 baselines ([i]scenario:part[/] entries) as findings (format 2), in place.

    Entries sharing a reason become one finding limited to their scenarios, with a [i]<part>/**[/] matcher per
    part: exactly as permissive as before. Narrow the matchers afterwards.
    """
    from harness._atomic import write_text_atomic
    from harness.errors import HarnessError
    from harness.parity.migrate import render_migrated

    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise HarnessError(f"{file}: cannot read: {exc}") from None
        write_text_atomic(file, render_migrated(text, path=file))
        typer.echo(f"{file}: migrated to format 2")


def register(app: typer.Typer) -> None:
    """Add ``baseline`` to the root app."""
    app.add_typer(baseline_app, name="baseline")
