"""The ``harness`` command line: thin subcommands, each handing off to one core function."""

from __future__ import annotations

import typer

from harness import __version__

app = typer.Typer(
    name="harness",
    help="Parity and conformance harness for Codex SDKs.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"harness {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Parity and conformance harness for Codex SDKs."""


def main() -> None:
    """Console-script entry point."""
    app()
