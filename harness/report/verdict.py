"""The verdict per implementation: its findings (root causes) and its conformance, derived from a report.

A report of a few hundred results answers "where does this SDK disagree" only when it is read by root cause:
one row per finding (what it explains, where, an example) instead of one line per divergence, plus a single
figure -- the share of compared (scenario, part) pairs that agree -- and a badge to show it. Everything here is
a pure function of a :class:`~harness.report.model.Report`, so every view (terminal, Markdown, HTML, badges)
says the same thing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from harness.report.model import LeafDiff, Report, Result

__all__ = [
    "Conformance",
    "FindingRow",
    "badge_svg",
    "conformance",
    "finding_rows",
]


@dataclasses.dataclass(frozen=True)
class Conformance:
    """Compared (scenario, part) pairs of one implementation and how many agree with the golden."""

    implementation: str
    agreeing: int
    compared: int

    @property
    def share(self) -> float | None:
        return self.agreeing / self.compared if self.compared else None

    @property
    def percent(self) -> str:
        return "-" if self.share is None else f"{100 * self.share:.1f}%"


def conformance(report: Report, implementation: str) -> Conformance:
    """:class:`Conformance` of ``implementation`` over the results that were compared."""
    agreeing = compared = 0
    for result in report.results:
        if result.implementation != implementation or result.agrees is None:
            continue
        compared += len(result.compared_parts)
        agreeing += len(result.compared_parts) - len(result.diverging_parts)
    return Conformance(implementation, agreeing, compared)


@dataclasses.dataclass(frozen=True)
class FindingRow:
    """One finding as the run saw it: its reason and issue, the scenarios whose leaves it explained, and one
    example leaf (golden vs observed at that path). ``finding`` is ``None`` for the unexplained leaves."""

    implementation: str
    finding: str | None
    reason: str
    issue: str | None
    scenarios: tuple[str, ...]
    example: LeafDiff
    example_scenario: str

    def example_text(self, limit: int = 100) -> str:
        leaf = self.example
        expected = "(absent)" if leaf.change == "added" else _short(leaf.expected, limit)
        observed = "(absent)" if leaf.change == "removed" else _short(leaf.observed, limit)
        return f"{leaf.path}: {expected} → {observed}"


def _short(value: Any, limit: int) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def finding_rows(report: Report, implementation: str) -> list[FindingRow]:
    """The findings that explained something for ``implementation`` (in first-seen order), preceded by one
    row for the unexplained leaves when there are any."""
    reasons: dict[str, tuple[str, str | None]] = {}
    scenarios: dict[str | None, list[str]] = {}
    examples: dict[str | None, tuple[LeafDiff, str]] = {}
    for result in _results(report, implementation):
        for note in result.baseline:
            reasons.setdefault(note.entry, (note.reason, note.issue))
        for leaf in result.leaves:
            seen = scenarios.setdefault(leaf.finding, [])
            if result.scenario not in seen:
                seen.append(result.scenario)
            examples.setdefault(leaf.finding, (leaf, result.scenario))
    rows = []
    order = ([None] if None in scenarios else []) + [name for name in scenarios if name is not None]
    for name in order:
        unexplained = ("no finding explains these differences", None)
        reason, issue = unexplained if name is None else reasons.get(name, ("", None))
        leaf, scenario = examples[name]
        rows.append(FindingRow(implementation, name, reason, issue, tuple(scenarios[name]), leaf, scenario))
    return rows


def _results(report: Report, implementation: str) -> Sequence[Result]:
    return [r for r in report.results if r.implementation == implementation]


def badge_svg(label: str, value: str, *, ok: bool) -> str:
    """A flat two-part SVG badge (shields.io style, no external fonts or links), e.g. ``ts | 100.0%``."""
    colour = "#2ea44f" if ok else "#cf222e"

    def width(text: str) -> int:
        return 10 + 7 * len(text)

    left, right = width(label), width(value)
    total = left + right

    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{esc(label)}: {esc(value)}">'
        f"<title>{esc(label)}: {esc(value)}</title>"
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2:.0f}" y="14">{esc(label)}</text>'
        f'<text x="{left + right / 2:.0f}" y="14">{esc(value)}</text></g></svg>\n'
    )
