"""Migrating a format-1 baseline (``scenario:part`` entries) to findings (format 2).

Format 1 listed one entry per (scenario, part), each with its own copy of the reason, so one root cause
appeared up to 121 times and excused *any* difference in its part. The migration keeps the meaning exactly
and only regroups: entries that share a reason (and issue) become one finding, limited to those scenarios,
with one ``<part>/**`` matcher per part they named; a whole-scenario entry becomes a ``nondeterministic``
entry. The result is as permissive as the old file was, which is the point of a faithful migration; narrow
the matchers afterwards (``harness parity --update-baseline`` proposes leaf-level ones) and check that the
run still passes.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from harness.errors import HarnessError
from harness.parity.baseline import Baseline, Finding, Matcher, Nondeterministic, render_baseline
from harness.report.model import PARTS

__all__ = ["MigrationError", "migrate_text", "render_migrated"]


class MigrationError(HarnessError):
    """A file that is not a format-1 baseline."""


def _name(reason: str, taken: set[str]) -> str:
    words = re.findall(r"[a-z0-9]+", reason.lower())[:6]
    base = "-".join(words) or "finding"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def migrate_text(text: str, *, path: Path) -> Baseline:
    """The format-2 baseline equivalent to the format-1 file ``text`` (read from ``path``)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MigrationError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict) or "implementation" not in data:
        raise MigrationError(f"{path}: not a baseline (no 'implementation')")
    if data.get("format") == 2 or "findings" in data:
        raise MigrationError(f"{path}: already format 2")
    divergences = data.get("divergences") or {}
    if not isinstance(divergences, dict):
        raise MigrationError(f"{path}: 'divergences' is not a mapping")
    groups: dict[tuple[str, str | None], dict[str, set[str]]] = {}
    escapes: list[Nondeterministic] = []
    for key, entry in divergences.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("reason"), str):
            raise MigrationError(f"{path}: entry {key!r} has no reason")
        scenario, _, part = str(key).partition(":")
        if not part:
            escapes.append(Nondeterministic(scenario, entry["reason"]))
            continue
        if part not in PARTS:
            raise MigrationError(f"{path}: entry {key!r}: unknown part {part!r}")
        group = groups.setdefault((entry["reason"], entry.get("issue")), {})
        group.setdefault(part, set()).add(scenario)
    taken: set[str] = set()
    findings: list[Finding] = []
    for (reason, issue), parts in groups.items():
        scenarios = sorted(set().union(*parts.values()))
        matchers = tuple(Matcher(f"{part}/**") for part in PARTS if part in parts)
        findings.append(Finding(_name(reason, taken), reason, matchers, issue, tuple(scenarios)))
    return Baseline(str(data["implementation"]), path, tuple(findings), tuple(escapes))


def render_migrated(text: str, *, path: Path) -> str:
    """:func:`migrate_text`, rendered as the new file's text."""
    return render_baseline(migrate_text(text, path=path))
