"""`harness` subcommands of the real subsystem (registered by :func:`harness.commands.register_all`).

``harness install`` puts a real codex binary in the cache and pins it in ``codex.lock``; ``harness record`` runs
catalogue cases (``cases/*.yaml``) with it inside the loopback-only sandbox and writes fixtures. Thin shells over
:mod:`harness.real`; errors are :class:`~harness.errors.HarnessError` (one line, exit 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["drift_command", "install_command", "record_command", "register", "verify_command"]


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


def verify_command(
    root: Annotated[Path, typer.Option("--root", help="Project tree to verify (default: the current folder).")] = Path(
        "."
    ),
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {ok, problems, notes, counts} as JSON (for CI).")
    ] = False,
    require_binaries: Annotated[
        bool, typer.Option("--require-binaries", help="A locked version that is not installed is a problem too.")
    ] = False,
) -> None:
    """Check that binaries match codex.lock, fixtures match index.json, and scenarios, goldens and baselines agree.

    One line per problem, [i]check: where: why[/]. Exit status: 0 all consistent (one summary line), 1 any
    problem, 2 the tree could not be verified at all.
    """
    import json

    from harness.real.verify import DEFAULT_CHECKS, BinaryCheck, Tree, verify_tree

    checks = [BinaryCheck(require_binaries=True) if isinstance(c, BinaryCheck) else c for c in DEFAULT_CHECKS]
    report = verify_tree(Tree.at(root), checks if require_binaries else DEFAULT_CHECKS)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for problem in report.problems:
            typer.echo(problem.line())
        for note in report.notes:
            typer.echo(f"note: {note.line()}", err=True)
        typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


def drift_command(
    old: Annotated[str, typer.Argument(help="Old version (a folder of fixtures/real/) or a folder of transcripts.")],
    new: Annotated[str, typer.Argument(help="New version or folder.")],
    out: Annotated[Path | None, typer.Option("--out", help="Also write the drift as Markdown to FILE.md.")] = None,
    fixtures: Annotated[
        Path | None, typer.Option("--fixtures", help="Where version folders live (default: fixtures/real/).")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="A paragraph for the Markdown header (sources).")] = "",
) -> None:
    """What changed between two CLI versions' transcripts: types, fields, exit codes, stderr, model requests."""
    import shutil
    import sys

    from harness._atomic import write_text_atomic
    from harness.errors import HarnessError
    from harness.real.drift import MarkdownRenderer, RichRenderer, compare_versions, resolve_version_dir

    if out is not None and out.is_dir():
        raise HarnessError(f"--out {out}: is a folder, expected a .md file")
    drift = compare_versions(resolve_version_dir(old, fixtures), resolve_version_dir(new, fixtures))
    width = shutil.get_terminal_size((120, 24)).columns
    typer.echo(RichRenderer(width=width, color=sys.stdout.isatty()).render(drift), nl=False)
    if out is not None:
        write_text_atomic(out, MarkdownRenderer(note=note).render(drift))
        typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``install``, ``record``, ``verify`` and ``drift`` to the root app."""
    app.command("install")(install_command)
    app.command("record")(record_command)
    app.command("verify")(verify_command)
    app.command("drift")(drift_command)
