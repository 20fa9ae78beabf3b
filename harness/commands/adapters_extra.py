"""``harness adapters check`` and ``harness adapters new``: for authors of adapters, beside ``list``/``install``.

Kept out of :mod:`harness.cli` so the root CLI stays a table of contents; :func:`register_adapters` adds both
commands to the existing ``adapters`` sub-app. Bad usage (no command, a command that does not exist, a file that
would be overwritten) is a :class:`~harness.errors.HarnessError`, which the root group prints as one
``error: ...`` line with exit status 2.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated

import typer

from harness.errors import HarnessError

__all__ = ["register_adapters"]


def _argv(command: list[str]) -> list[str]:
    """One argument is a command string split like a shell; several are the argv itself (after ``--``)."""
    if len(command) == 1:
        try:
            return shlex.split(command[0])
        except ValueError as exc:
            raise HarnessError(f"adapters check: cannot split the command: {exc}") from exc
    return list(command)


def register_adapters(adapters_app: typer.Typer) -> None:
    """Add ``check`` and ``new`` to the ``adapters`` sub-app."""

    @adapters_app.command("check")
    def adapters_check(
        command: Annotated[
            list[str],
            typer.Argument(metavar="COMMAND", help="The adapter's command: one string (split with shlex), or "
                           "its argv after `--`."),
        ],
        as_json: Annotated[bool, typer.Option("--json", help="Print the verdicts as JSON.")] = False,
        transport: Annotated[
            str, typer.Option(help="auto (app-server when announced, else exec), exec or app-server.")
        ] = "auto",
        run_timeout: Annotated[float, typer.Option(help="Seconds to wait for each run reply.")] = 30.0,
        start_timeout: Annotated[float, typer.Option(help="Seconds to wait for the start reply.")] = 30.0,
        stop_timeout: Annotated[float, typer.Option(help="Seconds for the stop reply and the exit.")] = 5.0,
    ) -> None:
        """Check that an adapter speaks protocol v1 correctly (docs/adapter-check.md): one line per rule.

        Exit status 0 when every rule passes, 1 when any fails, 2 on bad usage."""
        from harness.adapters.check import CheckOptions, check_command

        if transport not in ("auto", "exec", "app-server"):
            raise HarnessError(f"--transport {transport!r}: expected auto, exec or app-server")
        options = CheckOptions(start_timeout=start_timeout, run_timeout=run_timeout, stop_timeout=stop_timeout,
                               transport=transport)  # type: ignore[arg-type]
        report = check_command(_argv(command), options=options)
        typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.to_text())
        if not report.passed:
            raise typer.Exit(1)

    @adapters_app.command("new")
    def adapters_new(
        name: Annotated[str, typer.Argument(help="The adapter's name (letters, digits, - and _).")],
        lang: Annotated[str, typer.Option("--lang", help="python or node.")] = "python",
        out: Annotated[Path, typer.Option("-o", "--out", help="The folder to write it in.")] = Path("."),
    ) -> None:
        """Write a minimal adapter skeleton that passes `harness adapters check` as generated; replace its
        marked SDK call with your SDK. Refuses to overwrite a file."""
        from harness.adapters.skeleton import write_skeleton

        written = write_skeleton(name, lang, out)
        typer.echo(f"wrote {written.path}")
        typer.echo("")
        typer.echo(written.readme)
