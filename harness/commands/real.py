"""`harness` subcommands of the real subsystem (registered by :func:`harness.commands.register_all`).

``harness install`` puts a real codex binary in the cache and pins it in ``codex.lock``; ``harness record`` runs
catalogue cases (``cases/*.yaml``) with it inside the loopback-only sandbox and writes fixtures. Thin shells over
:mod:`harness.real`; errors are :class:`~harness.errors.HarnessError` (one line, exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["install_command", "record_command", "register"]


def install_command(
    cli: Annotated[str | None, typer.Option("--cli", help="CLI version (default: the newest in codex.lock).")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="npm or pypi (default: the locked one, else npm).")
    ] = None,
    lock: Annotated[Path | None, typer.Option("--lock", help="Lock file (default: codex.lock).")] = None,
) -> None:
    """Install the real [bold]codex[/] binary VERSION into the cache and pin it in codex.lock."""
    from harness.real.install import install

    result = install(cli, source=source, lock_path=lock)
    state = "installed" if result.downloaded else "already installed"
    typer.echo(f"codex {result.entry.version} {state}: {result.binary} (sha256 {result.entry.binary_sha256})")


def record_command(
    cases: Annotated[list[str] | None, typer.Argument(help="Case ids (or transcript names) to record.")] = None,
    all_cases: Annotated[bool, typer.Option("--all", help="Record every case of the catalogue.")] = False,
    cli: Annotated[str | None, typer.Option("--cli", help="CLI version (default: the newest in codex.lock).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output root (default: fixtures/real/).")] = None,
    catalogue: Annotated[
        list[Path] | None, typer.Option("--cases", help="Catalogue files/folders (default: cases/).")
    ] = None,
    workers: Annotated[int, typer.Option("-n", "--workers", help="Cases in parallel.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
) -> None:
    """Record catalogue CASES (or --all) with the real codex, offline, into OUT/<version>/."""
    from harness.errors import HarnessError
    from harness.real.catalogue import load_catalogue, select_cases
    from harness.real.lock import LockFile, default_lock_path
    from harness.real.record import record, recordings_to_json

    loaded = load_catalogue(catalogue)
    if all_cases == bool(cases):
        raise HarnessError("name the cases to record, or pass --all (not both)")
    chosen = loaded if all_cases else select_cases(loaded, list(cases or []))
    version = cli or LockFile.load(default_lock_path()).newest()
    if version is None:
        raise HarnessError("codex.lock names no version; run `harness install --cli VERSION` first")

    def progress(rec: object) -> None:
        if not as_json:
            from harness.real.record import Recording

            assert isinstance(rec, Recording)
            status = "ok" if rec.ok else "; ".join(rec.problems)
            got = rec.killed_by_signal or rec.exit_code
            typer.echo(f"{rec.file:34} exit {got!s:8} {rec.wall_time_s:6.2f}s  {status}", err=True)

    run = record(chosen, version, out=out, workers=workers, progress=progress)
    if as_json:
        typer.echo(recordings_to_json(run))
    else:
        typer.echo(
            f"{len(run.recordings)} transcript(s) of codex {version} in {run.out / version} ({run.wall_time_s:.1f} s)"
        )
        for problem in run.problems:
            typer.echo(f"problem: {problem}")
    if run.problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``install`` and ``record`` to the root app."""
    app.command("install")(install_command)
    app.command("record")(record_command)
