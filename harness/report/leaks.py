"""The leak probes' view of a report: per SDK, which probes left codex running, with the evidence.

A *probe* is a scenario tagged ``leak`` (``scenarios/leak/``, ``scenarios/appserver/leak_*``); any other result
whose fake process outlived the SDK call is listed too, since a leak there is just as real. The evidence is the
observation's ``process_evidence`` (pid, how long it lived after the SDK returned, what ended it), which is never
compared and never in a golden (:mod:`harness.scenario.leftover`). docs/leak-probes.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from harness.report.model import Report, Result

__all__ = ["LeakCell", "leak_cells", "leak_markdown", "leak_probes"]

PROBE_TAG = "leak"


@dataclasses.dataclass(frozen=True)
class LeakCell:
    """One (probe, implementation): whether a fake process was left running, and the evidence of each process."""

    scenario: str
    implementation: str
    leaked: bool | None
    evidence: tuple[Mapping[str, Any], ...]

    def text(self) -> str:
        """``LEAK pid 123 alive 1003 ms, killed by the harness`` / ``clean: SIGTERM after 4 ms`` / ``-``."""
        if self.leaked is None:
            return "-"
        parts = []
        for item in self.evidence:
            ended = "killed by the harness" if item.get("ended_by") == "harness" else str(item.get("ended_by"))
            parts.append(f"pid {item.get('pid')} alive {item.get('alive_ms')} ms, {ended}")
        return ("LEAK " if self.leaked else "clean: ") + "; ".join(parts)


def _evidence(result: Result) -> tuple[Mapping[str, Any], ...] | None:
    observation = result.observation or {}
    raw = observation.get("process_evidence")
    if not isinstance(raw, list):
        return None
    return tuple(item for item in raw if isinstance(item, Mapping))


def leak_cells(report: Report) -> list[LeakCell]:
    """A cell for every result of a probe, and for every other result that leaked."""
    cells: list[LeakCell] = []
    for result in report.results:
        evidence = _evidence(result)
        probe = PROBE_TAG in result.tags
        leaked = None if evidence is None else any(bool(item.get("leftover")) for item in evidence)
        if probe or leaked:
            cells.append(LeakCell(result.scenario, result.implementation, leaked, evidence or ()))
    return cells


def leak_probes(report: Report) -> dict[str, list[str]]:
    """implementation -> the probes (and other scenarios) where it left codex running, sorted."""
    out: dict[str, list[str]] = {i: [] for i in report.implementation_ids}
    for cell in leak_cells(report):
        if cell.leaked:
            out.setdefault(cell.implementation, []).append(cell.scenario)
    return {i: sorted(s) for i, s in out.items()}


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|") or " "


def leak_markdown(report: Report) -> list[str]:
    """The ``## Leak probes`` section: per implementation the probes that leak, then probe × implementation."""
    cells = leak_cells(report)
    if not cells:
        return []
    implementations: Sequence[str] = report.implementation_ids
    out = ["## Leak probes", "", "Does the SDK leave codex running when its user walks away? (docs/leak-probes.md)", ""]
    out += ["| implementation | leaks in |", "|---|---|"]
    for implementation, scenarios in leak_probes(report).items():
        out.append(f"| {implementation} | {_md_cell(', '.join(scenarios)) if scenarios else 'none'} |")
    out += ["", "| probe | " + " | ".join(implementations) + " |", "|---|" + "---|" * len(implementations)]
    by_key = {(c.scenario, c.implementation): c for c in cells}
    for scenario in sorted({c.scenario for c in cells}):
        row = [_md_cell(by_key[(scenario, i)].text()) if (scenario, i) in by_key else "-" for i in implementations]
        out.append(f"| {scenario} | " + " | ".join(row) + " |")
    return [*out, ""]
