"""``harness fake-codex``: the fake codex from the root CLI (registered by :func:`harness.commands.register_all`).

``harness fake-codex ARGS…`` runs the fake codex with ARGS passed through (``HARNESS_FAKE_PLAN``), except when the
first argument names one of :data:`SUBCOMMANDS`: ``build`` compiles a plan once for an SDK to be pointed at, and
``launcher`` writes the perl launcher with this interpreter baked in. Real ``codex`` has neither subcommand, so
the only run that cannot be passed through is one whose first argument is literally ``build`` or ``launcher``
(run ``harness-fake-codex build`` for that).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["SUBCOMMANDS", "fake_codex", "register"]

#: First arguments that select a subcommand instead of being passed to the fake.
SUBCOMMANDS = ("build", "launcher")

_sub = typer.Typer(add_completion=False, no_args_is_help=True, help="Build the fake codex.")


@_sub.command("build")
def build(
    plan: Annotated[Path, typer.Argument(help="The plan (YAML or JSON), see docs/fake-codex.md.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Directory to compile into (DIR/codex).")],
    log: Annotated[
        Path | None, typer.Option("--log", help="Invocation log baked in \\[default: DIR/log.jsonl].")
    ] = None,
) -> None:
    """Compile PLAN into DIR and print the absolute path of DIR/codex: point your SDK at it."""
    from harness.fake.codex import build_fake, load_plan

    out = out.absolute()
    exe = build_fake(load_plan(plan), out, log_path=log if log is not None else out / "log.jsonl")
    typer.echo(str(exe))


@_sub.command("launcher")
def launcher(
    out: Annotated[
        Path | None,
        typer.Option("-o", "--out", help="Where to write it \\[default: <cache>/bin/harness-fake-codex]."),
    ] = None,
) -> None:
    """Write the perl launcher (HARNESS_FAKE_PLAN → cached compiled fake) with this Python baked in for cache
    misses, and print its absolute path."""
    from harness.fake.codex import cache_root, write_launcher

    dest = out if out is not None else cache_root() / "bin" / "harness-fake-codex"
    typer.echo(str(write_launcher(dest)))


def fake_codex(
    args: Annotated[list[str] | None, typer.Argument(help="Arguments for the fake codex, passed through.")] = None,
) -> None:
    """Run the fake [bold]codex[/] with ARGS passed through (reads HARNESS_FAKE_PLAN, HARNESS_FAKE_LOG); or
    [bold]build[/] PLAN -o DIR, or [bold]launcher[/] [-o FILE]."""
    argv = list(args or [])
    if argv and argv[0] in SUBCOMMANDS:
        typer.main.get_command(_sub)(argv, prog_name="harness fake-codex", standalone_mode=True)
        return  # pragma: no cover - standalone click always exits
    import harness.fake.cli as fake_cli  # looked up at call time: tests replace fake_cli.main

    status = fake_cli.main(argv)
    raise typer.Exit(int(status or 0))


def register(app: typer.Typer) -> None:
    """Add ``fake-codex`` to the root app."""
    app.command(
        "fake-codex",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
        add_help_option=False,
    )(fake_codex)
