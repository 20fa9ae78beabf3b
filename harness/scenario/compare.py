"""Comparing a normalized observation with its golden, and checking a scenario's explicit expectations."""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from typing import Any

from harness.scenario.model import Expectation, Scenario

__all__ = [
    "Comparison",
    "canonical_json",
    "check_expectations",
    "compare",
    "resolve_path",
    "unwrap_observation",
]

_SUMMARY_LINES = 12
_MISSING = object()


def canonical_json(data: Any) -> str:
    """The canonical text of a JSON value: sorted keys, indent 2, raw UTF-8, final newline (as goldens are
    written)."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


#: Observation keys that are evidence for the report, never compared and never in a golden (they differ on every
#: run): the leak probes' pids and timings (:mod:`harness.scenario.leftover`).
EVIDENCE_KEYS: tuple[str, ...] = ("process_evidence",)


def unwrap_observation(data: dict[str, Any]) -> dict[str, Any]:
    """The observation inside a golden document (``{"meta": ..., "observation": ...}``), or ``data``
    itself, without its :data:`EVIDENCE_KEYS`."""
    inner = data.get("observation") if set(data) == {"meta", "observation"} else None
    observation = inner if isinstance(inner, dict) else data
    return without_evidence(observation)


def without_evidence(observation: dict[str, Any]) -> dict[str, Any]:
    """``observation`` without its :data:`EVIDENCE_KEYS` (itself when it has none)."""
    if not any(key in observation for key in EVIDENCE_KEYS):
        return observation
    return {k: v for k, v in observation.items() if k not in EVIDENCE_KEYS}


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Whether an observation agrees with its golden; a short summary and a unified diff when it does not."""

    agrees: bool
    summary: str
    unified_diff: str


def _summary(expected: Any, actual: Any) -> str:
    from deepdiff import DeepDiff

    diff = DeepDiff(expected, actual, verbose_level=2)
    try:
        text: str = diff.pretty()
    except Exception:  # noqa: BLE001 - a summary must never hide the diff itself
        text = str(diff)
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > _SUMMARY_LINES:
        lines = [*lines[:_SUMMARY_LINES], f"... and {len(lines) - _SUMMARY_LINES} more difference(s)"]
    return "\n".join(lines)


def compare(golden: dict[str, Any] | None, observed: dict[str, Any]) -> Comparison:
    """Compare a golden (a golden document or a bare observation; ``None`` if there is none) with an
    observation.

    Golden documents are unwrapped to their observation, so metadata never causes a disagreement here.
    """
    actual = unwrap_observation(observed)
    actual_text = canonical_json(actual)
    if golden is None:
        diff = "".join(difflib.unified_diff([], actual_text.splitlines(keepends=True), "golden (missing)", "observed"))
        return Comparison(agrees=False, summary="no golden recorded for this scenario", unified_diff=diff)
    expected = unwrap_observation(golden)
    expected_text = canonical_json(expected)
    if expected_text == actual_text:
        return Comparison(agrees=True, summary="", unified_diff="")
    diff = "".join(
        difflib.unified_diff(
            expected_text.splitlines(keepends=True),
            actual_text.splitlines(keepends=True),
            "golden",
            "observed",
        )
    )
    return Comparison(agrees=False, summary=_summary(expected, actual), unified_diff=diff)


def resolve_path(data: Any, path: tuple[str, ...]) -> Any:
    """Follow a dotted expectation path; returns a private sentinel when it leads nowhere.

    Segments: a mapping key; a list index (``0``, ``-1``); ``*`` maps the rest of the path over every list
    element; ``count`` is the length of a list, mapping or string (unless a mapping has a ``count`` key). A
    string
    holding a JSON object or array (a serialized event) is parsed before a segment is applied to it.
    """
    value = data
    for position, segment in enumerate(path):
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                value = json.loads(value)
            except ValueError:
                return _MISSING
        if segment == "*" and isinstance(value, list):
            rest = path[position + 1 :]
            return [resolve_path(item, rest) for item in value]
        if (
            segment == "count"
            and isinstance(value, list | str)
            or (segment == "count" and isinstance(value, dict) and "count" not in value)
        ):
            value = len(value)
            continue
        if isinstance(value, dict):
            if segment not in value:
                return _MISSING
            value = value[segment]
        elif isinstance(value, list) and re.fullmatch(r"-?\d+", segment):
            index = int(segment)
            if not -len(value) <= index < len(value):
                return _MISSING
            value = value[index]
        else:
            return _MISSING
    return value


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, list):
        if isinstance(item, list):
            return all(_contains(container, each) for each in item)
        return item in container
    if isinstance(container, dict) and isinstance(item, dict):
        return all(k in container and container[k] == v for k, v in item.items())
    return False


def _show(value: Any) -> str:
    if value is _MISSING:
        return "nothing (the path does not exist)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 300 else text[:297] + "..."


def _check(expectation: Expectation, actual: Any) -> str | None:
    op, want = expectation.op, expectation.value
    if op == "exists":
        ok = (actual is not _MISSING) == want
        return None if ok else ("expected the path to exist" if want else f"expected no value, got {_show(actual)}")
    if op == "==":
        return None if actual is not _MISSING and actual == want else f"expected {_show(want)}, got {_show(actual)}"
    if op == "!=":
        return None if actual is _MISSING or actual != want else f"expected anything but {_show(want)}"
    if op == "contains":
        ok = actual is not _MISSING and _contains(actual, want)
        return None if ok else f"expected {_show(actual)} to contain {_show(want)}"
    if op == "not contains":
        ok = actual is _MISSING or not _contains(actual, want)
        return None if ok else f"expected {_show(actual)} not to contain {_show(want)}"
    if op == "matches":
        ok = isinstance(actual, str) and re.search(str(want), actual) is not None
        return None if ok else f"expected {_show(actual)} to match /{want}/"
    return f"unknown operator {op!r}"  # pragma: no cover - rejected when the scenario is loaded


def check_expectations(scenario: Scenario, observed: dict[str, Any]) -> list[str]:
    """Messages for each of the scenario's ``expect`` entries that the (normalized) observation fails."""
    observation = unwrap_observation(observed)
    failures: list[str] = []
    for expectation in scenario.expect:
        problem = _check(expectation, resolve_path(observation, expectation.path))
        if problem is not None:
            failures.append(
                f"{scenario.path}:{expectation.line}:{expectation.column}: expect {expectation.key}: {problem}"
            )
    return failures
