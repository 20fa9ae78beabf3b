"""The parity matrix: scenarios × implementations through the real backend, real scenarios and goldens.

Adapters here are in-process handlers and the fauxdapter, so the tests need no peer SDK: the reference SDK
behind the protocol (a faithful adapter: it must agree with every golden on the portable parts), the same with
a mangled error message (a divergence in exactly one part), a missing implementation, and one that cannot
start. The real peers are exercised by ``test_matrix_peers`` when they are installed.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.adapters.connection import in_process_connection, subprocess_connection
from harness.adapters.install import find_installed
from harness.adapters.protocol import dispatch
from harness.adapters.reference_adapter import ReferenceAdapter, handler
from harness.parity.baseline import Baseline, Finding, Matcher, baseline_parts, load_baselines
from harness.parity.compare import comparable, compare_parts, wire_text
from harness.parity.matrix import AdapterDriver, ReferenceDriver, driver_for, run_matrix
from harness.report.model import PARTS, PORTABLE_PARTS, REFERENCE, Selection, Status
from harness.report.parity import default_backend, make_header
from harness.scenario import load_all

ROOT = Path(__file__).resolve().parent.parent
FAUX = Path(__file__).resolve().parent / "fauxdapters" / "fauxdapter.py"
IDS = ("turns/agent_message_run", "parity/exit_error_text", "turns/agent_message_streamed", "auto/max_turns")


@pytest.fixture(scope="module")
def scenarios() -> list[Any]:
    loaded = {s.id: s for s in load_all(ROOT / "scenarios")}
    return [loaded[i] for i in IDS]


def _mangling_handler() -> Any:
    """The reference adapter, but every error message is upper-cased (a divergence in ``error`` only)."""
    adapter = ReferenceAdapter()

    async def handle(message: Mapping[str, Any]) -> dict[str, Any]:
        reply = await dispatch(adapter, message)
        error = reply.get("observation", {}).get("error")
        if error is not None:
            error["message"] = error["message"].upper()
        return reply

    return handle


def _run(scenarios: list[Any], drivers: list[Any], **kwargs: Any) -> Any:
    backend = default_backend()
    header = make_header(scenarios, argv=["test"], selection=Selection())
    try:
        return run_matrix(scenarios, drivers, backend=backend, golden_root=ROOT / "golden", header=header, **kwargs)
    finally:
        for driver in drivers:
            driver.close()


def test_matrix_reference_faithful_mangled_missing_and_broken(scenarios: list[Any], tmp_path: Path) -> None:
    backend = default_backend()
    drivers = [
        ReferenceDriver(backend),
        AdapterDriver("faithful", functools.partial(in_process_connection, handler())),
        AdapterDriver("mangled", functools.partial(in_process_connection, _mangling_handler())),
        AdapterDriver("absent", None, problem="not installed", install_hint="python -m harness.adapters.install x"),
        AdapterDriver(
            "broken", functools.partial(subprocess_connection, [sys.executable, str(FAUX), "--start=crash"])
        ),
    ]
    run = _run(scenarios, drivers, workers=2)
    report = run.report
    cell = {(r.scenario, r.implementation): r for r in report.results}
    assert len(report.results) == len(IDS) * 5

    for sid in IDS:
        assert cell[sid, REFERENCE].status is Status.PASSED, cell[sid, REFERENCE].summary
        assert cell[sid, REFERENCE].compared_parts[: len(PARTS)] == PARTS
    # the protocol loses nothing the portable parts hold: a faithful adapter agrees with every golden
    for sid in IDS[:3]:
        faithful = cell[sid, "faithful"]
        assert faithful.status is Status.PASSED, faithful.diff
        assert faithful.compared_parts == PORTABLE_PARTS and faithful.diverging_parts == ()
        assert faithful.observation is not None and faithful.observation["invocations"]
    # non-portable scenarios are skipped with the reason, for every adapter
    for impl in ("faithful", "mangled", "absent", "broken"):
        assert cell["auto/max_turns", impl].status is Status.SKIPPED
        assert "only the reference SDK has" in str(cell["auto/max_turns", impl].skip_reason)
    # one diverging part, with its evidence; observation (axis 1) kept apart from agreement (axis 2)
    mangled = cell["parity/exit_error_text", "mangled"]
    assert mangled.status is Status.DIVERGED and mangled.agrees is False
    assert mangled.diverging_parts == ("error",)
    assert mangled.observed_error_kind == "exit"
    assert "CODEX EXEC EXITED WITH CODE 2" in mangled.diff
    assert cell["turns/agent_message_run", "mangled"].status is Status.PASSED
    # a missing implementation is reported, not a crash
    absent = cell["turns/agent_message_run", "absent"]
    assert absent.status is Status.SKIPPED and "not installed" in str(absent.skip_reason)
    assert "python -m harness.adapters.install x" in str(absent.skip_reason)
    # an adapter that cannot start: every case errored, the others unaffected
    broken = cell["turns/agent_message_run", "broken"]
    assert broken.status is Status.ERRORED and broken.harness_error is not None
    assert "cannot be started" in broken.harness_error.message
    infos = {i.id: i for i in report.header.implementations}
    assert infos["absent"].problem == "not installed"
    assert infos["broken"].problem is not None and "cannot be started" in infos["broken"].problem
    assert infos["faithful"].name == "harness.reference" and infos["faithful"].sdk == "harness.reference"
    assert infos["faithful"].compared == PORTABLE_PARTS and infos[REFERENCE].compared == PARTS
    assert not report.ok


def test_known_divergence_passes_and_stale_fails(scenarios: list[Any]) -> None:
    ids = {s.id for s in load_all(ROOT / "scenarios")}
    baselines = {
        "mangled": Baseline(
            "mangled",
            Path("baselines/mangled.yaml"),
            (
                Finding("upper-case", "upper-cases messages", (Matcher("error/message", observed_matches="^CODEX"),),
                        scenarios=("parity/exit_error_text",), line=4, column=3),
                Finding("agrees-now", "listed, but agrees", (Matcher("error/kind"),),
                        scenarios=("turns/agent_message_run",), line=9, column=3),
            ),
        )
    }
    drivers = [AdapterDriver("mangled", functools.partial(in_process_connection, _mangling_handler()))]
    run = _run(scenarios[:2], drivers, baselines=baselines, scenario_ids=ids)
    cell = {r.scenario: r for r in run.report.results}
    known = cell["parity/exit_error_text"]
    assert known.status is Status.KNOWN_DIVERGENCE and not known.status.failing
    assert known.agrees is False and known.diff, "a known divergence still carries its evidence"
    assert [n.entry for n in known.baseline] == ["upper-case"]
    assert [(leaf.path, leaf.finding) for leaf in known.leaves] == [("error/message", "upper-case")]
    assert cell["turns/agent_message_run"].status is Status.PASSED
    assert [(p.entry, p.location) for p in run.report.baseline_problems] == [
        ("agrees-now", "baselines/mangled.yaml:9:3")
    ]
    assert not run.report.ok
    # the raw results (before baselines) are what --update-baseline writes from
    assert {r.status for r in run.raw_results} == {Status.DIVERGED, Status.PASSED}


def test_comparison_is_json_values_for_every_implementation() -> None:
    golden = {
        "events": ['{"type":"thread.started","thread_id":"t"}'],
        "result": None,
        "error": None,
        "invocations": [{"output_schema": '{"type":"object","required":["a"]}'}],
    }
    observed = {
        "events": [{"thread_id": "t", "type": "thread.started"}],
        "result": None,
        "error": None,
        "invocations": [{"output_schema": '{"required": ["a"], "type": "object"}'}],
    }
    assert compare_parts(golden, observed, ("events", "invocations"), portable=True).agrees
    assert compare_parts(golden, observed, ("events", "invocations"), portable=False).agrees
    observed["events"] = [{"thread_id": "u", "type": "thread.started"}]
    comparison = compare_parts(golden, observed, ("events", "invocations"), portable=True)
    assert comparison.diverging == ("events",) and '"thread_id": "u"' in comparison.unified_diff


def test_portable_projection_and_wire_text() -> None:
    observation = {
        "events": [],
        "result": {"thread_id": "t", "final_response": "x", "items": ['{"id":"i","type":"a"}'], "usage": None,
                   "turn_usage": {"input_tokens": 1}},
        "error": {"kind": "exit", "class": "ExitError", "message": "m", "details": {"exit_code": 2}},
        "earlier_turns": [{"mode": "run", "events": [], "result": None, "error": None}],
        "telemetry": [{"name": "x"}],
    }
    view = comparable(observation, PORTABLE_PARTS, portable=True)
    assert set(view) == set(PORTABLE_PARTS)
    assert view["result"] == {"thread_id": "t", "final_response": "x", "items": [{"id": "i", "type": "a"}],
                              "usage": None}
    assert view["error"] == {"kind": "exit", "message": "m"}
    assert comparable(observation, PARTS, portable=False)["error"]["class"] == "ExitError"
    # objects an SDK yields are written in codex's key order (id, type first), compact, raw UTF-8
    text = wire_text({"text": "é", "type": "agent_message", "id": "i"})
    assert text == '{"id":"i","type":"agent_message","text":"é"}'
    assert wire_text('{"b":1,"a":2}') == '{"b":1,"a":2}'


def test_missing_peer_is_reported_by_driver_for(tmp_path: Path) -> None:
    driver = driver_for("ts", default_backend(), cache_dir=tmp_path / "empty-cache")
    try:
        info = driver.implementation()
        assert info.problem is not None and "not installed" in info.problem
        assert info.name == "@openai/codex-sdk" and info.compared == PORTABLE_PARTS
    finally:
        driver.close()


PEERS = ("openai-agents", "ts", "codex-sdk-python", "openai-codex-sdk", "ai-sdk-codex",
         "openai-codex", "codex-python-sdk-unofficial", "codex-python-sdk")  # the last three: app-server SDKs


@pytest.mark.parametrize("peer", PEERS)
def test_matrix_peers_pass_with_the_committed_baselines(peer: str) -> None:
    """Every installed peer over the whole corpus: the committed baseline explains every divergence, and no
    entry is stale. (A peer that is not installed is skipped with the install command.)"""
    if find_installed(peer) is None:
        pytest.skip(f"peer {peer!r} is not installed; run `python -m harness.adapters.install {peer}`")
    all_scenarios = load_all(ROOT / "scenarios")
    baselines = load_baselines(ROOT / "baselines", {peer: baseline_parts(peer)})
    drivers = [driver_for(peer, default_backend(), workers=2)]
    run = _run(all_scenarios, drivers, workers=2, baselines=baselines, scenario_ids={s.id for s in all_scenarios})
    failing = [(r.scenario, r.status.value, r.summary[:300]) for r in run.report.results if r.status.failing]
    assert failing == [] and run.report.baseline_problems == ()
    assert any(r.agrees is not None for r in run.report.results), "nothing was compared"
