"""Live mode: recorded scenarios against the real codex, only inside the loopback-only namespace."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.real.install import ensure_installed
from harness.real.sandbox import HostIsolation
from harness.scenario import load_all
from harness.scenario.transports.live import LiveError, LiveExecTransport, compare_live, live_view, observe_live

REPO = Path(__file__).resolve().parents[1]


def _scenario(sid: str):  # type: ignore[no-untyped-def]
    (found,) = [s for s in load_all(REPO / "scenarios") if s.id == sid]
    return found


def test_live_refuses_outside_a_loopback_only_namespace() -> None:
    transport = LiveExecTransport(ensure_installed("0.171.0"), HostIsolation())
    with pytest.raises(LiveError, match="not in a loopback-only network namespace"):
        observe_live(_scenario("recorded/0_171_0/agent_message_run"), transport)


def test_live_refuses_a_scenario_without_a_recorded_case() -> None:
    transport = LiveExecTransport(ensure_installed("0.171.0"))
    with pytest.raises(LiveError, match="cannot run live"):
        observe_live(_scenario("turns/agent_message_run"), transport)
    with pytest.raises(LiveError, match="positional argument"):
        observe_live(_scenario("recorded/0_171_0/agent_message_argv_prompt_run"), transport)


def test_live_observation_matches_the_golden_in_the_sandbox() -> None:
    from harness.golden.store import read_golden

    transport = LiveExecTransport(ensure_installed("0.171.0"))
    scenario = _scenario("recorded/0_171_0/shell_ok_run")
    observed = observe_live(scenario, transport)
    golden = read_golden(scenario.id, REPO / "golden")
    assert golden is not None
    assert compare_live(golden["observation"], observed) == []
    # a real difference is still seen
    changed = {**observed, "result": {**observed["result"], "final_response": "something else"}}
    (leaf,) = compare_live(golden["observation"], changed)
    assert leaf.startswith("/result/final_response: golden 'Tool said: Chunk ID: <chunk>") and "something else" in leaf


def test_live_view_blanks_what_changes_run_to_run_only() -> None:
    a = {
        "events": [
            '{"type":"x","text":"Chunk ID: ab12\\nWall time: 0.0021 seconds\\nid 0b6c1f9e-1d2a-4c3b-9e8f-112233445566"}'
        ],
        "result": {"duration_ms": 12, "final_response": "hi"},
    }
    b = {
        "events": [
            '{"type":"x","text":"Chunk ID: ff99\\nWall time: 1.5 seconds\\nid 11111111-2222-4333-8444-555555555555"}'
        ],
        "result": {"duration_ms": 99, "final_response": "hi"},
    }
    assert live_view(a) == live_view(b)
    assert compare_live(a, {**b, "result": {"duration_ms": 1, "final_response": "ho"}}) == [
        "/result/final_response: golden 'hi' != live 'ho'"
    ]
