"""App-server scenarios: the file format, the goldens, the corpus copies they replay, and the client changes
they rely on (a handler that gets the request id and observes notifications)."""

from __future__ import annotations

import asyncio
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ScenarioError
from harness.reference.appserver import Connection, MemoryTransport, memory_pair
from harness.scenario import load_all, load_scenario, validate_paths
from harness.scenario.model import TransportName

ROOT = Path(__file__).resolve().parent.parent
OK = "title: t\ntransport: app-server\nplan:\n  recording: fixtures/appserver/0.171.0/minimal_turn.jsonl\ninput: hi\n"


def _write(tmp_path: Path, text: str, name: str = "one") -> Path:
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    path = tmp_path / "scenarios" / "area" / f"{name}.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_every_app_server_scenario_has_a_golden_from_its_recording() -> None:
    index = json.loads((ROOT / "fixtures" / "appserver" / "index.json").read_text("utf-8"))
    copied = {f"fixtures/appserver/{entry['file']}" for entry in index["transcripts"]}
    scenarios = load_all(ROOT / "scenarios", keyword="appserver")
    assert len(scenarios) >= 20
    for scenario in scenarios:
        assert scenario.transport is TransportName.APP_SERVER
        # a corpus recording, or a synthetic session where the recordings have fixed replies (its README row)
        assert scenario.fixtures[0] in copied or scenario.fixtures[0].startswith("fixtures/synthetic/appserver/"), \
            scenario.fixtures
        golden = json.loads((ROOT / "golden" / f"{scenario.id}.json").read_text("utf-8"))
        assert golden["meta"]["fixtures"] == list(scenario.fixtures)
        observation = golden["observation"]
        assert set(observation) >= {"requests", "replies", "divergence", "events", "result", "error"}
        assert [r["method"] for r in observation["requests"][:3]] == ["initialize", "initialized", "thread/start"]
        expected_divergence = "diverges" in scenario.id
        assert (observation["divergence"] is not None) == expected_divergence, scenario.id


@pytest.mark.parametrize(
    ("scenario", "kind", "reply"),
    [
        ("cmd_accept", "result", {"decision": "accept"}),
        ("cmd_cancel", "result", {"decision": "cancel"}),
        ("cmd_policy_timeout", "result", {"decision": "decline"}),
        ("cmd_empty_reply", "empty", {}),
        ("cmd_no_reply_interrupt", "no_reply", None),
        ("mcp_elicitation_accept", "result", {"action": "accept", "content": {"colour": "green"}}),
    ],
)
def test_goldens_record_the_client_reply(scenario: str, kind: str, reply: Any) -> None:
    observation = json.loads((ROOT / "golden" / "appserver" / f"{scenario}.json").read_text("utf-8"))["observation"]
    assert observation["replies"][0]["kind"] == kind
    assert observation["replies"][0].get("result") == reply


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (OK + "approvals:\n  policy: maybe\n", "approvals.policy: must be one of accept"),
        (OK.replace("minimal_turn", "nope"), "plan.recording: recording not found"),
        (OK + "mode: auto\n", "mode auto is the exec reference SDK's loop"),
        (OK + "abort_after_ms: 5\n", "use 'interrupt' on the app-server transport"),
        (OK + "tools:\n  - name: x\n", "tools[0]: missing required key 'description'"),
        (OK.replace("recording:", "steps:"), "plan: missing required key 'recording'"),
        (
            "title: t\nplan:\n  steps:\n    - events: []\ninput: hi\napprovals:\n  policy: accept\n",
            "approvals: 'approvals' applies only to transport: app-server",
        ),
        ("title: t\nplan:\n  steps:\n    - events: []\ninput: hi\ninterrupt: on_request\n", "applies only to"),
    ],
)
def test_malformed_app_server_scenarios_are_located(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    errors = validate_paths([path])
    assert errors, text
    assert message in str(errors[0])
    assert str(errors[0]).startswith(f"{path}:")
    with pytest.raises(ScenarioError):
        load_scenario(path)


def test_a_valid_app_server_scenario_loads_its_specs(tmp_path: Path) -> None:
    text = OK + (
        "approvals:\n  policy: timeout\n  timeout_s: 0.5\n  default: cancel\n"
        "tools:\n  - {name: t, description: d, inputSchema: {type: object}, result: ok}\n"
        "options:\n  thread_params: {approvalsReviewer: user}\n"
    )
    scenario = load_scenario(_write(tmp_path, text))
    assert scenario.approvals is not None and scenario.approvals.to_dict() == {
        "policy": "timeout",
        "timeout_s": 0.5,
        "default": "cancel",
    }
    assert [tool.to_dict()["name"] for tool in scenario.tools] == ["t"]
    assert scenario.thread_params == {"approvalsReviewer": "user"}
    assert scenario.cli_versions == ("0.171.0",)


@pytest.mark.parametrize("module", ["harness.scenario.transports", "harness.scenario"])
def test_all_is_sorted_and_resolves(module: str) -> None:
    mod = importlib.import_module(module)
    names = list(mod.__all__)

    def group(name: str) -> int:  # isort style (ruff RUF022): constants, classes, then functions
        return 0 if name.isupper() else 1 if name[0].isupper() else 2

    assert names == sorted(names, key=lambda name: (group(name), name))
    for name in names:
        assert getattr(mod, name) is not None


def test_handler_gets_the_request_id_and_observes_notifications_first() -> None:
    seen: list[Any] = []

    class Handler:
        def observe(self, method: str, params: dict[str, Any]) -> None:
            seen.append(("observe", method, params.get("n")))

        async def __call__(self, method: str, params: dict[str, Any], request_id: Any) -> Any:
            seen.append(("request", method, request_id))
            return {"ok": True}

    async def server(end: MemoryTransport) -> None:
        await end.send({"method": "item/started", "params": {"n": 1}})
        await end.send({"id": 7, "method": "item/fileChange/requestApproval", "params": {}})
        reply = await end.receive()
        seen.append(("reply", reply))

    async def main() -> None:
        client_end, server_end = memory_pair()
        async with Connection(client_end, handler=Handler()):
            await asyncio.wait_for(server(server_end), 5)
        await server_end.close()

    asyncio.run(main())
    assert seen == [
        ("observe", "item/started", 1),
        ("request", "item/fileChange/requestApproval", 7),
        ("reply", {"id": 7, "result": {"ok": True}}),
    ]


def test_two_argument_handlers_still_work() -> None:
    calls: list[str] = []

    def two(method: str, params: dict[str, Any]) -> Any:
        calls.append(method)
        return {}

    async def main() -> Any:
        client_end, server_end = memory_pair()
        async with Connection(client_end, handler=two):
            await server_end.send({"id": 0, "method": "item/tool/call", "params": {}})
            reply = await asyncio.wait_for(server_end.receive(), 5)
        await server_end.close()
        return reply

    assert asyncio.run(main()) == {"id": 0, "result": {}}
    assert calls == ["item/tool/call"]
