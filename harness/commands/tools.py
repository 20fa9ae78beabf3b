"""``harness tools …``: the tools subsystem's commands (registered by :func:`harness.commands.register_all`).

``harness tools validate MANIFEST…`` checks tool manifests (format in ``docs/tools.md``) the way codex would check
the ``dynamicTools`` they declare, and prints every problem as ``file:line:col: field: message`` on stdout (the
same convention as ``harness validate``): exit status 2 when there is any problem, 0 and one ``OK`` line otherwise.
A bad file is a diagnosis, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register", "validate"]


def validate(
    manifests: Annotated[
        list[Path], typer.Argument(help="Manifest files (YAML or JSON).", show_default=False)
    ],
) -> None:
    """Check tool manifests; print each problem as [i]file:line:col: field: message[/]. Exit status 2 on any."""
    from harness.reference.tools.manifest import check_manifest, load_manifest

    problems = [error for path in manifests for error in check_manifest(path)]
    for error in problems:
        typer.echo(str(error))
    if problems:
        files = len({error.path for error in problems})
        typer.echo(f"{len(problems)} problem(s) in {files} manifest(s)", err=True)
        raise typer.Exit(2)
    tools = sum(
        len(m.tools) + sum(len(ns.tools) for ns in m.namespaces) for m in map(load_manifest, manifests)
    )
    typer.echo(f"OK: {len(manifests)} manifest(s), {tools} tool(s)")


def register(app: typer.Typer) -> None:
    """Add the ``tools`` command group to the root app."""
    tools_app = typer.Typer(
        name="tools",
        help="User tools: check tool manifests (dynamic tools declared on [bold]thread/start[/]).",
        no_args_is_help=True,
        rich_markup_mode="rich",
    )
    tools_app.command("validate")(validate)
    app.add_typer(tools_app, name="tools")
