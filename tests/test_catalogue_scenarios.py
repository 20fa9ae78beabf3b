"""Recorded catalogue cases become scenarios (scenarios/recorded.yaml expanded by the loader)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import harness.scenario as scenario_pkg
from harness.errors import ScenarioError
from harness.real.catalogue import load_catalogue
from harness.scenario import load_all, validate_paths
from harness.scenario.load import load_file, scenario_ids

REPO = Path(__file__).resolve().parents[1]


def test_every_recorded_transcript_of_0_171_0_has_a_run_and_a_streamed_scenario() -> None:
    scenarios = [s for s in load_all(REPO / "scenarios") if s.recorded is not None]
    transcripts = {p.relative_to(REPO).as_posix() for p in (REPO / "fixtures/real/0.171.0").glob("*.jsonl")}
    replayed = {f for s in scenarios for f in s.fixtures}
    assert transcripts == replayed
    cases = {
        c.id
        for c in load_catalogue()
        if all((REPO / f"fixtures/real/0.171.0/{t.file}.jsonl").exists() for t in c.turns)
    }
    ids = {s.id for s in scenarios}
    assert ids == {f"recorded/0_171_0/{c}_{m}" for c in cases for m in ("run", "streamed")}
    assert ids == set(scenario_ids(REPO / "scenarios/recorded.yaml"))
    for s in scenarios:
        assert (REPO / "golden" / f"{s.id}.json").is_file(), s.id


def test_expectations_come_from_the_recording() -> None:
    index = {t["file"]: t for t in json.loads((REPO / "fixtures/real/index.json").read_text())["transcripts"]}
    for s in load_all(REPO / "scenarios"):
        if s.recorded is None:
            continue
        entry = index[s.fixtures[-1].removeprefix("fixtures/real/")]
        expect = {e.key: e.value for e in s.expect}
        last_step = s.plan["steps"][-1]
        if entry["killed_by_signal"]:
            assert last_step["faults"]["signal"] == entry["killed_by_signal"]
            assert expect["error.kind"] == "signal"
        elif entry["exit_code"]:
            assert last_step["faults"]["exit_code"] == entry["exit_code"]
            failed = s.modes[-1] == "run" and entry["events"][-1] == "turn.failed"
            assert expect["error.kind"] == ("turn_failed" if failed else "exit")
        else:
            assert expect["error"] is None and "faults" not in last_step
        if s.modes[-1] == "streamed" and entry["events"][-1] in ("turn.completed", "turn.failed"):
            assert expect["events.-1.type"] == entry["events"][-1]


def test_case_options_reach_the_sdk() -> None:
    by_id = {s.id: s for s in load_all(REPO / "scenarios") if s.recorded is not None}
    assert by_id["recorded/0_171_0/shell_sandbox_denied_run"].thread_options["sandbox_mode"] == "read-only"
    assert by_id["recorded/0_171_0/unknown_model_warning_run"].thread_options["model"] == "fake-model"
    retry = by_id["recorded/0_171_0/retry_reconnecting_sse_run"].codex_options["config"]
    assert retry == {"model_providers": {"fake": {"stream_max_retries": 2}}}
    assert len(by_id["recorded/0_171_0/resume_two_turns_streamed"].turns) == 2
    assert not by_id["recorded/0_171_0/shell_parallel_run"].recorded.live  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope: 1\n", "a file directly under scenarios/ is a manifest"),
        ("recorded: {catalogue: cases/exec.yaml, versions: ['9.9.9']}\n", "no recordings at fixtures/real/9.9.9"),
        ("recorded: {catalogue: cases/exec.yaml, versions: ['0.171.0'], bogus: 1}\n", "unknown key 'bogus'"),
        ("recorded: {catalogue: cases/exec.yaml, versions: ['0.171.0'], skip: {nope: x}}\n", "unknown case 'nope'"),
        ("recorded: {catalogue: cases/exec.yaml, versions: ['0.171.0'], modes: [auto]}\n", "modes:"),
    ],
)
def test_bad_manifests_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    root = tmp_path / "scenarios"
    root.mkdir()
    for name in ("cases", "fixtures"):
        (tmp_path / name).symlink_to(REPO / name)
    manifest = root / "recorded.yaml"
    manifest.write_text(text)
    with pytest.raises(ScenarioError, match=message):
        load_file(manifest)
    errors = validate_paths([root])
    assert errors and message.split("'")[0] in str(errors[0]) and str(manifest) in str(errors[0])


def test_skip_removes_a_case(tmp_path: Path) -> None:
    root = tmp_path / "scenarios"
    root.mkdir()
    for name in ("cases", "fixtures"):
        (tmp_path / name).symlink_to(REPO / name)
    (root / "rec.yaml").write_text(
        "recorded: {catalogue: cases/exec.yaml, versions: ['0.171.0'], modes: [run], skip: {web_search: not today}}\n"
    )
    ids = {s.id for s in load_file(root / "rec.yaml")}
    assert "rec/0_171_0/agent_message_run" in ids and not any("web_search" in i for i in ids)
    assert not any(i.endswith("_streamed") for i in ids)


def test_public_names_are_sorted_and_resolve() -> None:
    from harness.scenario import recorded
    from harness.scenario.transports import live

    for module in (scenario_pkg, recorded, live):
        assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), n))  # constants first
        for name in module.__all__:
            assert getattr(module, name) is not None
