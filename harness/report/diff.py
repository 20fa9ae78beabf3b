"""Comparing two parity reports, aligned by ``(scenario, implementation)``, never by run order.

Bowtie#6 and wpt.fyi#411 show that aligning by position or sequence number makes regressions hard to see;
stable ids make "what broke since the last run" a set operation. Only :attr:`Change.BROKEN` makes
``harness diff`` exit 1: it is the one change a CI gate must stop on.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rich.table import Table
from rich.text import Text

from harness.report.model import Report, Result, Status

__all__ = ["Change", "DiffEntry", "ReportDiff", "diff_reports", "diff_table"]


class Change(StrEnum):
    """How one (scenario, implementation) moved between report A (before) and B (after)."""

    BROKEN = "broken"  # not failing before (passed/skipped), failing now
    FIXED = "fixed"  # failing before, passing now
    STILL_FAILING = "still_failing"  # failing on both sides
    ADDED = "added"  # only in B
    REMOVED = "removed"  # only in A
    CHANGED_OBSERVATION = "changed_observation"  # same passing/skipped verdict, different observation
    STATUS_CHANGED = "status_changed"  # any other verdict change (to or from skipped)


_STYLES = {
    Change.BROKEN: "bold red",
    Change.FIXED: "green",
    Change.STILL_FAILING: "red",
    Change.ADDED: "cyan",
    Change.REMOVED: "yellow",
    Change.CHANGED_OBSERVATION: "blue",
    Change.STATUS_CHANGED: "magenta",
}


@dataclass(frozen=True)
class DiffEntry:
    """One aligned pair (or a one-sided result) that changed in some way."""

    scenario: str
    implementation: str
    change: Change
    before: Status | None
    after: Status | None
    observation_changed: bool
    summary: str

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` form."""
        return {
            "scenario": self.scenario,
            "implementation": self.implementation,
            "change": self.change.value,
            "before": self.before.value if self.before else None,
            "after": self.after.value if self.after else None,
            "observation_changed": self.observation_changed,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class ReportDiff:
    """The changed entries (sorted by key) and how many aligned results did not change at all."""

    entries: tuple[DiffEntry, ...]
    unchanged: int

    @property
    def broke(self) -> bool:
        """Whether anything newly fails: the exit status of ``harness diff``."""
        return any(e.change is Change.BROKEN for e in self.entries)

    def counts(self) -> dict[str, int]:
        """Entries per change kind, every kind present (zero included) for stable JSON."""
        tally = Counter(e.change for e in self.entries)
        return {c.value: tally.get(c, 0) for c in Change} | {"unchanged": self.unchanged}

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return {"broke": self.broke, "counts": self.counts(), "entries": [e.as_dict() for e in self.entries]}

    def to_json(self) -> str:
        """Stable, indented JSON for scripts."""
        return json.dumps(self.as_dict(), indent=2, sort_keys=True)


def _canonical(result: Result) -> str:
    return json.dumps(result.observation, sort_keys=True, separators=(",", ":"))


def _classify(a: Result, b: Result) -> Change | None:
    observation_changed = _canonical(a) != _canonical(b)
    was, now = a.status.failing, b.status.failing
    if was and not now and b.status is Status.PASSED:
        return Change.FIXED
    if not was and now:
        return Change.BROKEN
    if was and now:
        return Change.STILL_FAILING
    if a.status is not b.status:
        return Change.STATUS_CHANGED
    return Change.CHANGED_OBSERVATION if observation_changed else None


def diff_reports(a: Report, b: Report) -> ReportDiff:
    """Align A (before) and B (after) by stable key and classify every difference."""
    left, right = a.by_key(), b.by_key()
    entries: list[DiffEntry] = []
    unchanged = 0
    for key in sorted(left.keys() | right.keys()):
        before, after = left.get(key), right.get(key)
        if before is None and after is not None:
            entries.append(DiffEntry(*key, Change.ADDED, None, after.status, False, after.summary))
        elif after is None and before is not None:
            entries.append(DiffEntry(*key, Change.REMOVED, before.status, None, False, before.summary))
        elif before is not None and after is not None:
            change = _classify(before, after)
            if change is None:
                unchanged += 1
                continue
            summary = after.summary or before.summary
            if after.harness_error is not None and not summary:
                summary = after.harness_error.message
            entries.append(
                DiffEntry(
                    *key,
                    change,
                    before.status,
                    after.status,
                    _canonical(before) != _canonical(after),
                    summary,
                )
            )
    return ReportDiff(tuple(entries), unchanged)


def diff_table(diff: ReportDiff) -> Table:
    """The rich table printed by ``harness diff``; broken entries first, since they decide the exit status."""
    table = Table(title="report diff (A → B)", header_style="bold")
    table.add_column("change")
    table.add_column("scenario", no_wrap=True)
    table.add_column("impl")
    table.add_column("A")
    table.add_column("B")
    table.add_column("obs Δ", justify="center")
    table.add_column("summary", overflow="fold")
    order = {c: i for i, c in enumerate(Change)}
    for e in sorted(diff.entries, key=lambda e: (order[e.change], e.scenario, e.implementation)):
        table.add_row(
            Text(e.change.value, style=_STYLES[e.change]),
            e.scenario,
            e.implementation,
            e.before.value if e.before else "-",
            e.after.value if e.after else "-",
            "yes" if e.observation_changed else "",
            e.summary.splitlines()[0] if e.summary else "",
        )
    return table
