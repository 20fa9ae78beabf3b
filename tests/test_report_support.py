"""Shared builders for the report/CLI tests: hand-built reports and a stand-in scenario/golden backend.

The stand-in lets the CLI be tested (in-process and through a real TTY) independently of the scenario
runner and golden store, which have their own tests. A stand-in scenario is a JSON file holding its
observation directly; its golden is ``<golden>/<id>.json``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ScenarioError
from harness.report.model import (
    REFERENCE,
    HarnessFailure,
    Header,
    Implementation,
    Report,
    Result,
    Selection,
    Status,
)
from harness.report.parity import Backend


def make_header(**overrides: Any) -> Header:
    fields: dict[str, Any] = {
        "harness_version": "0.1.0",
        "python": "3.11.9",
        "platform": "Linux-test",
        "started_at": "2025-01-01T00:00:00Z",
        "cli_versions": ("0.169.0",),
        "implementations": (Implementation(REFERENCE, "harness.reference", "0.1.0"),),
        "argv": ("harness", "parity"),
        "selection": Selection(keyword="basic", tags=("smoke",)),
    }
    fields.update(overrides)
    return Header(**fields)


def make_result(scenario: str, status: Status = Status.PASSED, **overrides: Any) -> Result:
    observation = overrides.pop("observation", {"events": [{"type": "turn.completed"}], "error": None})
    fields: dict[str, Any] = {
        "scenario": scenario,
        "implementation": REFERENCE,
        "status": status,
        "title": f"title of {scenario}",
        "tags": ("smoke",),
        "observation": observation,
        "golden": observation,
        "agrees": status is Status.PASSED or None,
        "duration_s": 0.25,
    }
    if status is Status.DIVERGED:
        fields.update(
            agrees=False,
            summary="events differ",
            diff="--- golden\n+++ observed\n@@ -1 +1 @@\n-old\n+new\n",
            failed_expectations=("result.final_response == 'hi'",),
        )
    elif status is Status.ERRORED:
        fields.update(
            agrees=None,
            golden=None,
            summary="no golden; run harness golden refresh",
            harness_error=HarnessFailure("MissingGolden", "no golden; run harness golden refresh"),
        )
    elif status is Status.SKIPPED:
        fields.update(agrees=None, observation=None, golden=None, skip_reason="not on this platform")
    fields.update(overrides)
    return Result(**fields)


def make_report(results: Iterable[Result], **header: Any) -> Report:
    return Report.build(make_header(**header), results, finished_at="2025-01-01T00:01:00Z")


# --- stand-in backend ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StandInScenario:
    id: str
    title: str
    path: Path
    tags: tuple[str, ...] = ()
    observation: Mapping[str, Any] = field(default_factory=dict)
    expect_fail: tuple[str, ...] = ()
    raises: str | None = None
    cli_versions: tuple[str, ...] = ("0.169.0",)


@dataclass(frozen=True)
class StandInComparison:
    agrees: bool
    summary: str
    unified_diff: str


def write_scenario(root: Path, scenario_id: str, observation: Mapping[str, Any], **extra: Any) -> Path:
    path = root / f"{scenario_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"id": scenario_id, "title": f"title {scenario_id}", "observation": observation, **extra})
    )
    return path


def _load_all(
    root: Path | str = Path("scenarios"),
    paths: Iterable[Path | str] | None = None,
    *,
    keyword: str | None = None,
    tags: Collection[str] = (),
) -> list[StandInScenario]:
    out = []
    for path in sorted(Path(root).rglob("*.json")):
        raw = json.loads(path.read_text())
        scenario = StandInScenario(
            id=raw["id"],
            title=raw.get("title", ""),
            path=path,
            tags=tuple(raw.get("tags", ())),
            observation=raw.get("observation", {}),
            expect_fail=tuple(raw.get("expect_fail", ())),
            raises=raw.get("raises"),
        )
        if keyword and keyword not in scenario.id:
            continue
        if tags and not set(tags) & set(scenario.tags):
            continue
        out.append(scenario)
    return sorted(out, key=lambda s: s.id)


def _validate_paths(paths: Sequence[Path]) -> list[ScenarioError]:
    errors = []
    for root in paths:
        for path in sorted(Path(root).rglob("*.json")):
            try:
                json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                errors.append(ScenarioError(exc.msg, path=path, line=exc.lineno, column=exc.colno))
    return errors


def _observe(scenario: StandInScenario) -> dict[str, Any]:
    if scenario.raises:
        raise RuntimeError(scenario.raises)
    return dict(scenario.observation)


def render_golden(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _compare(golden: Mapping[str, Any] | None, observed: Mapping[str, Any]) -> StandInComparison:
    if golden == observed:
        return StandInComparison(True, "", "")
    import difflib

    diff = "".join(
        difflib.unified_diff(
            render_golden(golden or {}).splitlines(True),
            render_golden(observed).splitlines(True),
            "golden",
            "observed",
        )
    )
    return StandInComparison(False, "observation differs from golden", diff)


def _check(scenario: StandInScenario, observed: Mapping[str, Any]) -> list[str]:
    return list(scenario.expect_fail)


def _read_golden(scenario_id: str, root: Path) -> dict[str, Any] | None:
    path = Path(root) / f"{scenario_id}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _write_golden(scenario_id: str, data: Mapping[str, Any], root: Path) -> Path:
    path = Path(root) / f"{scenario_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_golden(data))
    return path


def standin_backend() -> Backend:
    return Backend(
        load_all=_load_all,
        validate_paths=_validate_paths,
        observe=_observe,
        compare=_compare,
        check_expectations=_check,
        read_golden=_read_golden,
        write_golden=_write_golden,
        render_golden=render_golden,
        golden_document=lambda scenario, observation: dict(observation),
    )
