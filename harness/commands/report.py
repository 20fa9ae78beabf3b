"""``harness report``: working with finished reports (registered by :func:`harness.commands.register_all`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

report_app = typer.Typer(
    name="report",
    help="Work with parity reports ([bold]parity.json[/]): merge the shards of a run.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@report_app.command("merge")
def merge(
    reports: Annotated[list[Path], typer.Argument(help="The parity.json of each shard.", show_default=False)],
    out_dir: Annotated[Path, typer.Option("-o", "--out", metavar="DIR", help="Where to write the merged views.")],
    baselines_dir: Annotated[
        Path | None,
        typer.Option("--baselines", metavar="DIR", help="Judge stale findings again over the merged run "
                     "(default: ./baselines, and the built-in corpus's for built-in implementations).",
                     show_default=False),
    ] = None,
    scenarios_dir: Annotated[
        Path | None,
        typer.Option("--scenarios", metavar="DIR", help="The corpus the findings' globs are checked against "
                     "(default: ./scenarios, else the built-in corpus).", show_default=False),
    ] = None,
) -> None:
    """Merge the reports of [i]harness parity --shard K/N[/] runs and rebuild every view from the merged records.

    Conflicting results for the same (scenario, implementation) are an error naming both files. Findings are
    judged stale again over the whole run (a shard cannot). Exit status 0 if the merged run passes, 1 otherwise.
    """
    from harness.cli import _check_out_dir, _load_run_baselines
    from harness.corpus import resolve_run_dirs
    from harness.parity.matrix import baseline_problems
    from harness.report.merge import merge_reports
    from harness.report.model import BaselineProblem, Result
    from harness.report.writer import write_reports

    _check_out_dir(out_dir)
    dirs = resolve_run_dirs(scenarios=scenarios_dir, golden=None, baselines=baselines_dir)

    def rejudge(results: Sequence[Result]) -> list[BaselineProblem]:
        implementations = sorted({r.implementation for r in results})
        baselines = _load_run_baselines(dirs, implementations)
        ids: set[str] = {r.scenario for r in results}
        if dirs.scenarios.is_dir():
            from harness.scenario import load_all

            ids |= {s.id for s in load_all(dirs.scenarios)}
        return baseline_problems(results, baselines, ids)

    judge = dirs.baselines.is_dir() or dirs.fallback_baselines.is_dir()
    report = merge_reports(reports, rejudge=rejudge if judge else None)
    paths = write_reports(report, out_dir)
    counts = report.counts
    typer.echo(
        f"merged {len(reports)} report(s): {counts.total} results ({counts.failing} failing, "
        f"{len(report.baseline_problems)} baseline problem(s)) -> {paths.json}"
    )
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``report`` to the root app."""
    app.add_typer(report_app, name="report")
