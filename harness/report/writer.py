"""Writing a :class:`~harness.report.model.Report` to disk: JSON lines plus the rendered views.

Every file is written whole to a temporary sibling and renamed into place, so a reader never sees half a
report (syrupy users lost thousands of lines to torn writes; lessons §6). The JSON form is the
record; Markdown, HTML and JUnit are views of it rendered by :mod:`harness.report.render`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness._atomic import write_text_atomic
from harness.report.model import BaselineProblem, Footer, HarnessFailure, Header, LeafDiff, Report, Result

__all__ = [
    "ReportPaths",
    "baseline_problem_record",
    "leaf_record",
    "footer_record",
    "header_record",
    "result_record",
    "to_jsonl",
    "write_badges",
    "write_json",
    "write_reports",
]


def header_record(header: Header) -> dict[str, Any]:
    """The JSON object of the header line."""
    return {
        "record": "header",
        "format_version": header.format_version,
        "harness_version": header.harness_version,
        "python": header.python,
        "platform": header.platform,
        "cli_versions": list(header.cli_versions),
        "implementations": [
            {
                "id": i.id,
                "name": i.name,
                "version": i.version,
                "language": i.language,
                "sdk": i.sdk,
                "homepage": i.homepage,
                "capabilities": list(i.capabilities),
                "compared": list(i.compared),
                "driver": i.driver,
                "problem": i.problem,
            }
            for i in header.implementations
        ],
        "started_at": header.started_at,
        "argv": list(header.argv),
        "selection": {
            "keyword": header.selection.keyword,
            "tags": list(header.selection.tags),
            "scenarios": header.selection.scenarios,
            "golden": header.selection.golden,
            "shard": header.selection.shard,
        },
    }


def _failure(failure: HarnessFailure | None) -> dict[str, Any] | None:
    if failure is None:
        return None
    return {"type": failure.type, "message": failure.message, "traceback": failure.traceback}


def result_record(result: Result) -> dict[str, Any]:
    """The JSON object of one result line; ``observed_error_kind`` is derived, written for consumers."""
    return {
        "record": "result",
        "scenario": result.scenario,
        "implementation": result.implementation,
        "status": result.status.value,
        "title": result.title,
        "tags": list(result.tags),
        "agrees": result.agrees,
        "observed_error_kind": result.observed_error_kind,
        "summary": result.summary,
        "failed_expectations": list(result.failed_expectations),
        "harness_error": _failure(result.harness_error),
        "skip_reason": result.skip_reason,
        "duration_s": round(result.duration_s, 6),
        "diff": result.diff,
        "golden": _plain(result.golden),
        "observation": _plain(result.observation),
        "compared_parts": list(result.compared_parts),
        "diverging_parts": list(result.diverging_parts),
        "baseline": [
            {"entry": n.entry, "reason": n.reason, "issue": n.issue, "stale": n.stale} for n in result.baseline
        ],
        "adapter_stderr": result.adapter_stderr,
        "issue_url": result.issue_url,
        "leaves": [leaf_record(leaf) for leaf in result.leaves],
        "attempts": list(result.attempts),
    }


def leaf_record(leaf: LeafDiff) -> dict[str, Any]:
    """One differing leaf; the side a change lacks is left out (``added`` has no ``expected``)."""
    out: dict[str, Any] = {"path": leaf.path, "change": leaf.change, "finding": leaf.finding}
    if leaf.change != "added":
        out["expected"] = leaf.expected
    if leaf.change != "removed":
        out["observed"] = leaf.observed
    return out


def baseline_problem_record(problem: BaselineProblem) -> dict[str, Any]:
    """The JSON object of a ``baseline_problem`` line: a baseline entry that fails the run by itself."""
    return {
        "record": "baseline_problem",
        "implementation": problem.implementation,
        "location": problem.location,
        "entry": problem.entry,
        "message": problem.message,
    }


def footer_record(footer: Footer) -> dict[str, Any]:
    """The JSON object of the footer line."""
    return {
        "record": "footer",
        "complete": footer.complete,
        "counts": footer.counts.as_dict(),
        "finished_at": footer.finished_at,
    }


def _plain(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else dict(value)


def _line(record: Mapping[str, Any]) -> str:
    # sort_keys keeps the bytes stable for identical reports; ensure_ascii=False keeps text readable
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def to_jsonl(report: Report) -> str:
    """The whole report as JSON lines: header, results in stable-key order, footer, final newline."""
    lines = [_line(header_record(report.header))]
    lines.extend(_line(result_record(r)) for r in sorted(report.results, key=lambda r: r.key))
    lines.extend(_line(baseline_problem_record(p)) for p in report.baseline_problems)
    lines.append(_line(footer_record(report.footer)))
    return "\n".join(lines) + "\n"


def write_json(report: Report, path: Path) -> Path:
    """Write ``parity.json`` atomically and return its path."""
    write_text_atomic(path, to_jsonl(report))
    return path


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`write_reports` put each view."""

    json: Path
    markdown: Path
    html: Path
    junit: Path

    def all(self) -> tuple[Path, ...]:
        """Every written file, in a fixed order for printing."""
        return (self.json, self.markdown, self.html, self.junit)


def write_badges(report: Report, directory: Path) -> list[Path]:
    """``<directory>/<implementation>.svg`` for each implementation: its conformance, green when none of its
    results fails the run."""
    from harness.report.verdict import badge_svg, conformance

    written = []
    for implementation in report.implementation_ids:
        failing = any(r.status.failing for r in report.results if r.implementation == implementation) or any(
            p.implementation == implementation for p in report.baseline_problems
        )
        figure = conformance(report, implementation)
        path = directory / f"{implementation}.svg"
        write_text_atomic(path, badge_svg(implementation, figure.percent, ok=not failing))
        written.append(path)
    return written


def write_reports(report: Report, out_dir: Path) -> ReportPaths:
    """Write ``parity.json``, ``parity.md``, ``parity.html`` and ``junit.xml`` into ``out_dir``.

    The JSON is written last: it is the record, so its presence means the views beside it are current.
    """
    from harness.report.render import render_html, render_junit, render_markdown

    paths = ReportPaths(
        json=out_dir / "parity.json",
        markdown=out_dir / "parity.md",
        html=out_dir / "parity.html",
        junit=out_dir / "junit.xml",
    )
    write_badges(report, out_dir / "badges")
    write_text_atomic(paths.markdown, render_markdown(report))
    write_text_atomic(paths.html, render_html(report))
    write_text_atomic(paths.junit, render_junit(report))
    write_json(report, paths.json)
    return paths
