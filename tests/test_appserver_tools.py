"""Dynamic tools end to end on the app-server (issue 12): a tool that raises, invalid arguments, an unknown name and a
slow tool under a call limit, answered by the reference tool registry (``ToolHandler``) and -- through the matrix --
by the app-server SDKs (their findings in ``baselines/<id>.yaml``).

The recordings have fixed replies, so each case replays a synthetic session derived from ``dynamic_tool_fail``
(``fixtures/synthetic/appserver/dynamic_tool_*.jsonl``) whose recorded reply is the registry's answer; the tests
below prove it is, so the goldens are the reference's own behaviour and not a copy of the fixture.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.adapters import install
from harness.parity.baseline import baseline_parts, load_baselines
from harness.parity.matrix import driver_for, run_matrix
from harness.report.model import Selection, Status
from harness.report.parity import default_backend, make_header
from harness.scenario import load_all
from harness.scenario.model import ToolSpec
from harness.scenario.transports.appserver import ToolHandler

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "fixtures" / "synthetic" / "appserver"
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
NEW = ("dynamic_tool_raises", "dynamic_tool_invalid_args", "dynamic_tool_unknown", "dynamic_tool_timeout")


def _spec(**extra: Any) -> ToolSpec:
    return ToolSpec.from_dict(
        {
            "name": "lookup_weather",
            "description": "Look up the weather for a city.",
            "inputSchema": SCHEMA,
            "result": "Sunny, 21 C",
            **extra,
        }
    )


def _answer(spec: ToolSpec, tool: str = "lookup_weather", arguments: Any = None) -> Any:
    handler = ToolHandler(None, (spec,))
    params = {"tool": tool, "namespace": None, "callId": "c", "arguments": arguments or {"city": "Paris"}}
    return asyncio.run(handler(params=params, method="item/tool/call"))


def test_tool_spec_round_trips_its_behaviour() -> None:
    spec = _spec(**{"raise": "down", "sleep_s": 0.5, "timeout_s": 0.1})
    assert (spec.raises, spec.sleep_s, spec.timeout_s) == ("down", 0.5, 0.1)
    assert ToolSpec.from_dict(spec.to_dict()) == spec
    plain = _spec()
    assert set(plain.to_dict()) == {"name", "description", "inputSchema", "result"}


def _text(reply: Any) -> tuple[str, bool]:
    return reply["contentItems"][0]["text"], reply["success"]


def test_registry_answers_every_kind_of_call() -> None:
    assert _text(_answer(_spec())) == ("Sunny, 21 C", True)
    assert _text(_answer(_spec(**{"raise": "weather service down"}))) == (
        "tool lookup_weather failed: RuntimeError: weather service down",
        False,
    )
    assert _text(_answer(_spec(), arguments={"city": 3})) == (
        "invalid arguments for lookup_weather at \"/city\": 3 is not of type 'string'",
        False,
    )
    assert _text(_answer(_spec(), tool="lookup_tide")) == ("unknown tool: lookup_tide", False)
    assert _text(_answer(_spec(sleep_s=1.0, timeout_s=0.05))) == ("tool lookup_weather timed out after 0.05 s", False)
    assert _text(_answer(_spec(sleep_s=0.01, timeout_s=1.0))) == ("Sunny, 21 C", True)  # slow but in time
    assert _text(_answer(_spec(result={"failure": "no such city"}))) == ("no such city", False)


def _recorded_reply(name: str) -> tuple[Any, Any]:
    """The recorded client reply to the session's item/tool/call, and the call's params."""
    lines = [json.loads(line) for line in (SYNTHETIC / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    call = next(m["msg"] for m in lines if m["msg"].get("method") == "item/tool/call")
    reply = next(
        m["msg"] for m in lines if m["dir"] == "c2s" and m["msg"].get("id") == call["id"] and "result" in m["msg"]
    )
    return reply["result"], call["params"]


@pytest.mark.parametrize("name", NEW)
def test_synthetic_sessions_hold_the_registry_reply_of_their_scenario(name: str) -> None:
    (scenario,) = [s for s in load_all(ROOT / "scenarios") if s.id == f"appserver/{name}"]
    assert scenario.plan["recording"] == f"fixtures/synthetic/appserver/{name}.jsonl"
    recorded, params = _recorded_reply(name)
    handler = ToolHandler(None, scenario.tools)
    assert asyncio.run(handler("item/tool/call", dict(params))) == recorded
    assert recorded["success"] is False
    # the rest of the session agrees with its reply: the item and the agent's message carry the same text
    text = (SYNTHETIC / f"{name}.jsonl").read_text(encoding="utf-8")
    escaped = json.dumps(recorded["contentItems"][0]["text"], ensure_ascii=False)[1:-1]
    assert f"Tool said: {escaped}" in text
    assert "no such city" not in text


def _matrix(peers: tuple[str, ...], ids: set[str]) -> Any:
    everything = load_all(ROOT / "scenarios")
    scenarios = [s for s in everything if s.id in ids]
    backend = default_backend()
    drivers = [driver_for(peer, backend, workers=2) for peer in peers]
    baselines = load_baselines(
        ROOT / "baselines", {peer: baseline_parts(peer) for peer in peers if peer != "reference"}
    )
    header = make_header(scenarios, argv=["test"], selection=Selection())
    try:
        return run_matrix(
            scenarios,
            drivers,
            backend=backend,
            golden_root=ROOT / "golden",
            header=header,
            workers=2,
            baselines=baselines,
            scenario_ids={s.id for s in everything},
        )
    finally:
        for driver in drivers:
            driver.close()


def test_reference_agrees_with_the_goldens_of_the_tool_scenarios() -> None:
    run = _matrix(("reference",), {f"appserver/{n}" for n in (*NEW, "dynamic_tool_ok", "dynamic_tool_fail")})
    assert len(run.report.results) == 6
    assert {r.status for r in run.report.results} == {Status.PASSED}, [r.summary for r in run.report.results]
    for result in run.report.results:
        golden = json.loads((ROOT / "golden" / f"{result.scenario}.json").read_text(encoding="utf-8"))
        assert golden["observation"]["divergence"] is None
        assert golden["observation"]["replies"][0]["kind"] == "result"


@pytest.fixture(scope="module")
def installed() -> Iterator[None]:
    for key in install.APPSERVER_PEERS:
        install.install(key)  # idempotent; a failure raises with pip's reason
    yield


def test_appserver_sdks_answer_tools_their_own_way(installed: None) -> None:
    run = _matrix(tuple(install.APPSERVER_PEERS), {f"appserver/{n}" for n in NEW})
    assert not [r for r in run.report.results if r.status.failing], [r.summary for r in run.report.results]
    seen = {(r.implementation, r.scenario.split("/")[1]): dict(r.observation or {}) for r in run.report.results}

    def reply(impl: str, name: str) -> dict[str, Any]:
        replies = seen[(impl, name)]["replies"]
        assert isinstance(replies, list) and replies
        return dict(replies[0])

    # openai-codex: a raising tool (or no function for the name) ends the reader: codex gets nothing
    assert reply("openai-codex", "dynamic_tool_raises")["kind"] == "no_reply"
    assert reply("openai-codex", "dynamic_tool_unknown")["kind"] == "no_reply"
    # codex-python-sdk-unofficial: the exception becomes -32603
    assert reply("codex-python-sdk-unofficial", "dynamic_tool_raises")["error"]["code"] == -32603
    # neither validates arguments nor limits a call: the tool's own result goes out
    for impl in ("openai-codex", "codex-python-sdk-unofficial"):
        for name in ("dynamic_tool_invalid_args", "dynamic_tool_timeout"):
            assert reply(impl, name)["result"]["contentItems"][0]["text"] == "Sunny, 21 C"
            assert seen[(impl, name)]["divergence"]["reason"] == "reply_differs"
    # codex-python-sdk never gets to the call (text_elements at turn/start)
    assert seen[("codex-python-sdk", "dynamic_tool_raises")]["divergence"]["method"] == "turn/start"
