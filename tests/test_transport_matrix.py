"""App-server scenarios through the parity matrix: the same goldens, the same verdicts, for every adapter.

The reference adapter behind the protocol (in-process: the case travels as JSON) must agree with every
app-server golden on the app-server parts; an adapter that answers approvals differently shows the divergence in
``replies`` and ``divergence`` (an observation, never a harness error); an adapter that announces no
``transport:app-server`` is skipped with the reason, and still runs exec scenarios.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.adapters.connection import in_process_connection
from harness.adapters.protocol import Implementation, dispatch, required_capabilities, schema_errors
from harness.adapters.reference_adapter import ReferenceAdapter, handler
from harness.parity.matrix import AdapterDriver, ReferenceDriver, run_matrix
from harness.report.model import REFERENCE, Selection, Status
from harness.report.parity import default_backend, make_header
from harness.scenario import load_all
from harness.scenario.transports import APPSERVER_PARTS, EXEC_PARTS, transport_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def appserver() -> list[Any]:
    return load_all(ROOT / "scenarios", keyword="appserver")


def _run(scenarios: list[Any], drivers: list[Any]) -> Any:
    header = make_header(scenarios, argv=["test"], selection=Selection())
    try:
        return run_matrix(
            scenarios, drivers, backend=default_backend(), golden_root=ROOT / "golden", header=header, workers=2
        )
    finally:
        for driver in drivers:
            driver.close()


class _ExecOnly(ReferenceAdapter):
    """The reference adapter announcing the v1 capabilities only (an adapter written before app-server)."""

    def implementation(self) -> Implementation:
        from dataclasses import replace

        from harness.adapters.protocol import CAPABILITIES

        return replace(super().implementation(), capabilities=CAPABILITIES)


def _exec_only() -> Any:
    return functools.partial(dispatch, _ExecOnly())


def _approving_everything() -> Any:
    """The reference adapter with every policy replaced by accept: what an SDK that cannot surface approvals
    to user code does (the official SDK's default handler)."""
    adapter = ReferenceAdapter()

    async def handle(message: Mapping[str, Any]) -> dict[str, Any]:
        if message.get("cmd") == "run" and message["case"].get("transport") == "app-server":
            message = {**message, "case": {**message["case"], "approvals": {"policy": "accept"}}}
        return await dispatch(adapter, message)

    return handle


def test_there_are_app_server_scenarios_for_every_policy(appserver: list[Any]) -> None:
    policies = {s.approvals.policy for s in appserver if s.approvals is not None}
    assert policies == {"accept", "acceptForSession", "decline", "cancel", "error", "empty", "none", "timeout"}
    assert any(s.tools for s in appserver)
    assert {str(s.transport) for s in appserver} == {"app-server"}


def test_reference_adapter_agrees_with_every_app_server_golden(appserver: list[Any]) -> None:
    drivers = [
        ReferenceDriver(default_backend()),
        AdapterDriver("faithful", functools.partial(in_process_connection, handler())),
    ]
    report = _run(appserver, drivers).report
    cells = {(r.scenario, r.implementation): r for r in report.results}
    assert len(cells) == 2 * len(appserver)
    for scenario in appserver:
        ref = cells[scenario.id, REFERENCE]
        assert ref.status is Status.PASSED, ref.summary
        faithful = cells[scenario.id, "faithful"]
        assert faithful.status is Status.PASSED, faithful.diff
        assert faithful.compared_parts == APPSERVER_PARTS
        assert faithful.observation is not None and faithful.observation["requests"][0]["method"] == "initialize"
    assert report.ok


def test_a_diverging_decision_is_an_observation_in_replies_and_divergence(appserver: list[Any]) -> None:
    chosen = [s for s in appserver if s.id in ("appserver/cmd_decline", "appserver/cmd_accept")]
    report = _run(
        chosen, [AdapterDriver("yes-man", functools.partial(in_process_connection, _approving_everything()))]
    ).report
    cells = {r.scenario: r for r in report.results}
    accept = cells["appserver/cmd_accept"]
    assert accept.status is Status.PASSED, accept.diff
    decline = cells["appserver/cmd_decline"]
    assert decline.status is Status.DIVERGED and decline.harness_error is None
    assert {"replies", "divergence"} <= set(decline.diverging_parts)
    assert decline.observation is not None
    assert decline.observation["divergence"]["reason"] == "reply_differs"
    assert decline.observation["replies"][0]["result"] == {"decision": "accept"}
    pointers = {leaf.path for leaf in decline.leaves}
    assert "replies/0/result/decision" in pointers


def test_an_exec_only_adapter_skips_app_server_cases_and_runs_exec_ones(appserver: list[Any]) -> None:
    exec_scenario = next(s for s in load_all(ROOT / "scenarios") if s.id == "turns/agent_message_run")
    report = _run(
        [appserver[0], exec_scenario], [AdapterDriver("old", functools.partial(in_process_connection, _exec_only()))]
    ).report
    cells = {r.scenario: r for r in report.results}
    skipped = cells[appserver[0].id]
    assert skipped.status is Status.SKIPPED
    assert "transport:app-server" in str(skipped.skip_reason)
    ran = cells["turns/agent_message_run"]
    assert ran.status is Status.PASSED and ran.compared_parts == EXEC_PARTS


def test_app_server_cases_are_schema_valid_and_name_their_capabilities(appserver: list[Any], tmp_path: Path) -> None:
    for index, scenario in enumerate(appserver):
        transport = transport_for(scenario)
        prepared = transport.prepare(scenario, tmp_path / str(index))
        case = transport.case(scenario, prepared)
        assert schema_errors("case", case) == [], scenario.id
        needed = required_capabilities(case)
        assert "transport:app-server" in needed
        assert ("dynamic_tools" in needed) == bool(scenario.tools)
        assert ("interrupt" in needed) == any(t.interrupt for t in scenario.turns)
        assert case["thread_params"]["cwd"] == str(prepared.workdir)
    exec_case = {
        "id": "x",
        "turns": [{"input": "hi", "mode": "run", "turn_options": {}}],
        "codex_options": {},
        "thread_options": {},
        "resume_thread_id": None,
    }
    assert not any(name.startswith("transport:") for name in required_capabilities(exec_case))
    assert schema_errors("case", {**exec_case, "approvals": {"policy": "accept"}}) != []
