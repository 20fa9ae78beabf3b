"""compare() and check_expectations(): agreement, readable summaries, the expectation vocabulary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.scenario import compare, load_scenario
from harness.scenario.compare import check_expectations, resolve_path

OBS: dict[str, Any] = {
    "invocations": [{"argv": ["exec", "--experimental-json", "resume", "<thread:1>"], "stdin": "hi"}],
    "events": ['{"type":"thread.started","thread_id":"<thread:1>"}', '{"type":"turn.failed","error":{"message":"x"}}'],
    "result": None,
    "error": {"kind": "exit", "class": "ExitError", "message": "Codex Exec exited with code 1: "},
    "earlier_turns": [],
    "telemetry": [],
    "logs": [],
}


def test_compare_agrees_and_unwraps_golden_documents() -> None:
    document = {"meta": {"id": "a/b"}, "observation": OBS}
    assert compare(document, OBS).agrees
    assert compare(OBS, dict(OBS)).agrees
    assert compare(document, OBS).unified_diff == ""


def test_compare_reports_a_short_summary_and_diff() -> None:
    changed = {
        **OBS,
        "error": {"kind": "turn_failed", "class": "ExitError", "message": "Codex Exec exited with code 1: "},
    }
    result = compare({"meta": {}, "observation": OBS}, changed)
    assert not result.agrees
    assert "root['error']['kind']" in result.summary and "turn_failed" in result.summary
    assert '-    "kind": "exit"' in result.unified_diff and '+    "kind": "turn_failed"' in result.unified_diff
    assert result.unified_diff.startswith("--- golden\n+++ observed\n")


def test_compare_without_golden() -> None:
    result = compare(None, OBS)
    assert not result.agrees and result.summary == "no golden recorded for this scenario"
    assert '+  "error": {' in result.unified_diff


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("events", "count"), 2),
        (("events", "0", "type"), "thread.started"),
        (("events", "-1", "error", "message"), "x"),
        (("events", "*", "type"), ["thread.started", "turn.failed"]),
        (("invocations", "0", "argv", "2"), "resume"),
        (("error", "kind"), "exit"),
    ],
)
def test_resolve_path(path: tuple[str, ...], expected: object) -> None:
    assert resolve_path(OBS, path) == expected


def test_check_expectations(tmp_path: Path) -> None:
    (tmp_path / "scenarios" / "a").mkdir(parents=True)
    path = tmp_path / "scenarios" / "a" / "b.yaml"
    path.write_text(
        "title: t\nplan:\n  steps:\n    - lines: []\ninput: hi\nexpect:\n"
        "  error.kind: exit\n"  # ok
        "  error.kind !=: turn_failed\n"  # ok
        "  events.count: 2\n"  # ok
        "  invocations.0.argv contains: [resume, <thread:1>]\n"  # ok
        "  invocations.0.argv not contains: '-'\n"  # ok
        "  error.message matches: '^Codex Exec exited with code 1'\n"  # ok
        "  result exists: true\n"  # ok (result is null but present)
        "  result.thread_id exists: false\n"  # ok
        "  events.*.type contains: turn.completed\n"  # fails
        "  error.class: TurnFailedError\n"  # fails
        "  result.final_response: hello\n",  # fails (path missing)
        encoding="utf-8",
    )
    failures = check_expectations(load_scenario(path), {"meta": {}, "observation": OBS})
    assert failures == [
        f'{path}:15:3: expect events.*.type contains: expected ["thread.started", "turn.failed"] to contain '
        '"turn.completed"',
        f'{path}:16:3: expect error.class: expected "TurnFailedError", got "ExitError"',
        f'{path}:17:3: expect result.final_response: expected "hello", got nothing (the path does not exist)',
    ]
