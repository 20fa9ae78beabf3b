"""Merging the reports of a run spread over machines (``harness report merge A B … -o DIR``).

Each shard (``harness parity --shard K/N``) writes a complete report of its part. The merge reads them strictly
(:func:`~harness.report.reader.read_report`), takes the union of their results, and rebuilds the report -- and
from it every view -- from those records, so the merged ``parity.json``, Markdown, HTML, JUnit and badges are what
one unsharded run would have written (apart from timings). Two reports that disagree on the same (scenario,
implementation) are an error naming both files; an identical duplicate (a shard run twice) is kept once.

Findings can only be judged stale over the whole run -- a shard never sees all the scenarios of a finding, so it
never calls one stale itself -- so the caller passes ``rejudge``, which recomputes the baseline problems over the
merged results; without it the shards' own problems are kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.errors import ReportError
from harness.report.model import BaselineProblem, Implementation, Report, Result
from harness.report.reader import read_report

__all__ = ["MergeError", "Rejudge", "merge_reports"]

#: Recomputes the baseline problems (stale findings, globs that match nothing) over all merged results.
Rejudge = Callable[[Sequence[Result]], list[BaselineProblem]]


class MergeError(ReportError):
    """Reports that cannot be merged (conflicting results, nothing to merge)."""


def _same(a: Result, b: Result) -> bool:
    return dataclasses.replace(a, duration_s=0.0) == dataclasses.replace(b, duration_s=0.0)


def merge_reports(paths: Sequence[Path], *, rejudge: Rejudge | None = None) -> Report:
    """The union of the reports at ``paths`` as one report."""
    if not paths:
        raise MergeError("nothing to merge: give the reports (parity.json) of the shards")
    reports = [(Path(path), read_report(Path(path))) for path in paths]
    results: dict[tuple[str, str], tuple[Path, Result]] = {}
    implementations: dict[str, Implementation] = {}
    problems: dict[tuple[str, str, str], BaselineProblem] = {}
    for path, report in reports:
        for info in report.header.implementations:
            implementations.setdefault(info.id, info)
        for result in report.results:
            seen = results.get(result.key)
            if seen is not None and not _same(seen[1], result):
                raise MergeError(
                    f"{result.scenario} ({result.implementation}) differs between {seen[0]} "
                    f"({seen[1].status.value}) and {path} ({result.status.value})",
                    path=path,
                )
            results.setdefault(result.key, (path, result))
        for problem in report.baseline_problems:
            problems.setdefault((problem.implementation, problem.entry, problem.location), problem)
    merged = [result for _, result in results.values()]
    first = reports[0][1].header
    header = dataclasses.replace(
        first,
        started_at=min(report.header.started_at for _, report in reports),
        cli_versions=tuple(sorted({v for _, report in reports for v in report.header.cli_versions})),
        implementations=tuple(implementations.values()),
        selection=dataclasses.replace(first.selection, shard=None),
    )
    found = rejudge(merged) if rejudge is not None else list(problems.values())
    finished = max(report.footer.finished_at for _, report in reports)
    return Report.build(header, merged, finished_at=finished, baseline_problems=found)
