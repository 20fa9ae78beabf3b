"""Full app-server sessions driven by real recordings: a scripted server plays the recorded codex side over the
in-memory transport and checks the client's side loosely (method + params minus volatile fields; replies by id
and result), so the client is tested against what real codex 0.171.0 / 0.163.0 sent, message for message."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.reference.appserver import (
    AppServerClient,
    AppServerTurnFailedError,
    MemoryTransport,
    Notification,
    memory_pair,
)
from harness.reference.appserver.messages import AgentMessageItem, CommandExecutionItem, UserMessageItem
from harness.reference.telemetry import TelemetryBus, TelemetryEvent

CORPUS = (Path(__file__).resolve().parents[1] / "fixtures" / "appserver")
#: Keys of client messages that differ legitimately between clients (the recording's client was a probe).
VOLATILE_PARAMS = frozenset({"clientInfo"})


def load(version: str, name: str) -> list[dict[str, Any]]:
    path = CORPUS / version / f"{name}.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in records if r["dir"] in ("c2s", "s2c")]


@dataclass
class ScriptedServer:
    """Plays the ``s2c`` lines of a recording in order; at each ``c2s`` line reads the client's next frame."""

    records: list[dict[str, Any]]
    end: MemoryTransport
    mismatches: list[str] = field(default_factory=list)
    got: list[dict[str, Any]] = field(default_factory=list)
    ids: dict[Any, Any] = field(default_factory=dict)  # recorded client id -> the client's own id
    stop_after: int | None = None

    async def run(self) -> None:
        try:
            for index, record in enumerate(self.records):
                if self.stop_after is not None and index >= self.stop_after:
                    break
                msg = record["msg"]
                if record["dir"] == "s2c":
                    if "id" in msg and "method" not in msg:
                        msg = {**msg, "id": self.ids.get(msg["id"], msg["id"])}
                    await self.end.send(msg)
                    continue
                frame = await self.end.receive()
                if frame is None:
                    self.mismatches.append(f"seq {record['seq']}: client closed, expected {msg}")
                    return
                self.got.append(frame)
                problem = self.compare(msg, frame)
                if problem:
                    self.mismatches.append(f"seq {record['seq']}: {problem}")
                    return
            while (frame := await self.end.receive()) is not None:  # until the client closes
                self.got.append(frame)
        finally:
            await self.end.close()

    def compare(self, expected: dict[str, Any], got: dict[str, Any]) -> str | None:
        if "jsonrpc" in got:
            return "client sent a 'jsonrpc' field"
        if "method" in expected:
            if got.get("method") != expected["method"]:
                return f"method {got.get('method')!r} != {expected['method']!r}"
            if ("id" in expected) != ("id" in got):
                return "request/notification mismatch"
            if "id" in expected:
                self.ids[expected["id"]] = got["id"]
            want = {k: v for k, v in (expected.get("params") or {}).items() if k not in VOLATILE_PARAMS}
            have = {k: v for k, v in (got.get("params") or {}).items() if k not in VOLATILE_PARAMS}
            return None if want == have else f"{expected['method']} params {have} != {want}"
        if got.get("id") != expected.get("id") or type(got.get("id")) is not type(expected.get("id")):
            return f"reply id {got.get('id')!r} != {expected.get('id')!r}"
        for key in ("result", "error"):
            if expected.get(key) != got.get(key):
                return f"reply {key} {got.get(key)!r} != {expected.get(key)!r}"
        return None


def session_inputs(records: list[dict[str, Any]]) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """thread/start params, the turn input and the other turn/start params of the recording's client."""
    sent = [r["msg"] for r in records if r["dir"] == "c2s" and "method" in r["msg"]]
    thread_params = next(m["params"] for m in sent if m["method"] == "thread/start")
    turn_params = dict(next(m["params"] for m in sent if m["method"] == "turn/start"))
    turn_input = turn_params.pop("input")
    turn_params.pop("threadId")
    return thread_params, turn_input, turn_params


Handler = Callable[[str, dict[str, Any]], Awaitable[Any]]


async def accept(method: str, params: dict[str, Any]) -> Any:
    return {"decision": "accept"}


async def drive(
    version: str,
    name: str,
    handler: Handler | None = accept,
    *,
    id_factory: Callable[[], Any] | None = None,
    bus: TelemetryBus | None = None,
) -> tuple[Any, ScriptedServer]:
    records = load(version, name)
    client_end, server_end = memory_pair()
    server = ScriptedServer(records, server_end)
    server_task = asyncio.ensure_future(server.run())
    result: Any
    async with asyncio.timeout(10):  # a safeguard against a hang, not a timing assertion
        async with AppServerClient.connect(client_end, handler=handler, id_factory=id_factory, telemetry=bus) as client:
            await client.initialize({"name": "t", "title": "t", "version": "0"})
            thread_params, turn_input, turn_params = session_inputs(records)
            thread = await client.thread_start(thread_params)
            try:
                result = await thread.run(turn_input, turn_params)
            except AppServerTurnFailedError as exc:
                result = exc
        await server_task
    return result, server


@pytest.mark.parametrize("version", ["0.171.0", "0.163.0"])
def test_minimal_turn(version: str) -> None:
    turn, server = asyncio.run(drive(version, "minimal_turn"))
    assert server.mismatches == []
    assert turn.status == "completed"
    assert turn.final_response == "Hello from fake server"
    assert [type(i) for i in turn.items] == [UserMessageItem, AgentMessageItem]
    assert turn.usage is not None and (turn.usage.input_tokens, turn.usage.output_tokens) == (10, 5)
    assert turn.turn_usage is not None and turn.turn_usage.input_tokens == 10
    assert turn.cumulative_usage is not None and turn.cumulative_usage.output_tokens == 5
    assert [f.get("method") for f in server.got][:4] == ["initialize", "initialized", "thread/start", "turn/start"]


@pytest.mark.parametrize("version", ["0.171.0", "0.163.0"])
def test_command_approval_accepted(version: str) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    async def handler(method: str, params: dict[str, Any]) -> Any:
        calls.append((method, params))
        return {"decision": "accept"}

    turn, server = asyncio.run(drive(version, "approval_cmd_untrusted_accept", handler))
    assert server.mismatches == []
    assert [m for m, _ in calls] == ["item/commandExecution/requestApproval"]
    assert calls[0][1]["command"] == "/bin/bash -lc 'touch approved.txt'"
    commands = [i for i in turn.items if isinstance(i, CommandExecutionItem)]
    assert [(c.status, c.exit_code) for c in commands] == [("completed", 0)]
    assert turn.status == "completed"
    assert turn.final_response == turn.items[-1].text


def test_a_different_decision_is_caught_by_the_script() -> None:
    async def decline(method: str, params: dict[str, Any]) -> Any:
        return {"decision": "decline"}

    async def main() -> ScriptedServer:
        records = load("0.171.0", "approval_cmd_untrusted_accept")
        client_end, server_end = memory_pair()
        server = ScriptedServer(records, server_end)
        task = asyncio.ensure_future(server.run())
        async with asyncio.timeout(10), AppServerClient.connect(client_end, handler=decline) as client:
            await client.initialize()
            thread_params, turn_input, _ = session_inputs(records)
            thread = await client.thread_start(thread_params)
            with pytest.raises(Exception) as info:
                await thread.run(turn_input)
            assert getattr(info.value, "kind", None) in ("appserver_exited", "appserver_closed")
        await task
        return server

    server = asyncio.run(main())
    assert len(server.mismatches) == 1 and "decline" in server.mismatches[0]


def test_failed_turn_with_string_ids_raises_turn_failed() -> None:
    bus = TelemetryBus()
    seen: list[TelemetryEvent] = []
    bus.subscribe(seen.append)
    error, server = asyncio.run(drive("0.171.0", "sdk/sdk_failed_turn", id_factory=lambda: str(uuid.uuid4()), bus=bus))
    assert server.mismatches == []
    assert isinstance(error, AppServerTurnFailedError)
    assert error.kind == "turn_failed"
    assert "Invalid request (fake)" in error.message
    assert error.to_dict()["details"]["codex_error_info"] == "other"
    assert all(isinstance(f.get("id"), str) for f in server.got if "method" in f and "id" in f)
    names = [e.name for e in seen if e.name.startswith("codex.turn.")]
    assert names == ["codex.turn.start", "codex.turn.exception"]
    exception = next(e for e in seen if e.name == "codex.turn.exception")
    assert exception.metadata["error_kind"] == "turn_failed" and exception.metadata["transport"] == "appserver"


@pytest.mark.parametrize("version", ["0.171.0", "0.163.0"])
def test_cancel_decision_ends_interrupted(version: str) -> None:
    async def cancel(method: str, params: dict[str, Any]) -> Any:
        return {"decision": "cancel"}

    turn, server = asyncio.run(drive(version, "approval_cmd_untrusted_cancel", cancel))
    assert server.mismatches == []
    assert turn.status == "interrupted"
    assert not any(isinstance(i, AgentMessageItem) for i in turn.items)


def test_streamed_turn_yields_only_this_turns_notifications_and_telemetry() -> None:
    bus = TelemetryBus()
    seen: list[TelemetryEvent] = []
    bus.subscribe(seen.append)

    async def main() -> tuple[list[Notification], ScriptedServer]:
        records = load("0.171.0", "approval_cmd_untrusted_accept")
        client_end, server_end = memory_pair()
        server = ScriptedServer(records, server_end)
        task = asyncio.ensure_future(server.run())
        events: list[Notification] = []
        async with asyncio.timeout(10), AppServerClient.connect(client_end, handler=accept, telemetry=bus) as client:
            await client.initialize()
            thread_params, turn_input, _ = session_inputs(records)
            thread = await client.thread_start(thread_params)
            async with thread.run_streamed(turn_input) as stream:
                async for event in stream:
                    events.append(event)
        await task
        return events, server

    events, server = asyncio.run(main())
    assert server.mismatches == []
    methods = [e.method for e in events]
    assert methods[0] == "thread/status/changed" and methods[-1] == "turn/completed"
    assert "thread/started" not in methods and "account/rateLimits/updated" not in methods
    assert "serverRequest/resolved" in methods
    assert methods.index("item/started") < methods.index("serverRequest/resolved")
    assert {e.emitted_at_ms is not None for e in events} == {True}
    rpc = [e for e in seen if e.name.startswith("codex.appserver.")]
    assert {"codex.appserver.request", "codex.appserver.response", "codex.appserver.notification"} <= {
        e.name for e in rpc
    }
    reply = next(e for e in rpc if e.name == "codex.appserver.reply")
    assert reply.metadata == {"method": "item/commandExecution/requestApproval", "id": 0, "outcome": "result"}
    stop = next(e for e in seen if e.name == "codex.turn.stop")
    assert stop.metadata["outcome"] == "completed" and stop.measurements["input_tokens"] > 0
