"""server_request_handler(): the recordings replayed through it, safety on bad input, concurrency, telemetry."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from harness.reference.approvals import (
    AllowAll,
    ApprovalRequest,
    ApprovalRequestHandler,
    Callback,
    Decision,
    DenyAll,
    FileChangeApprovalRequest,
    safe_reply,
    server_request_handler,
)
from harness.reference.telemetry import TelemetryBus, TelemetryEvent, correlation

CORPUS = Path(
    os.environ.get("CODEX_APPSERVER_CORPUS", str(Path(__file__).resolve().parents[1] / "fixtures" / "appserver"))
)

# scenario → what the recording client decided (the replies themselves are checked against the lines)
DECIDED = {
    "approval_cmd_untrusted_accept": Decision.accept,
    "approval_cmd_untrusted_decline": Decision.decline,
    "approval_cmd_untrusted_cancel": Decision.cancel,
    "approval_cmd_untrusted_acceptForSession": Decision.accept_for_session,
    "approval_cmd_accept_twice": Decision.accept,
    "approval_patch_accept": Decision.accept,
    "approval_patch_decline": Decision.decline,
    "approval_patch_cancel": Decision.cancel,
    "mcp_tool_call_onrequest_accept": Decision.accept,
    "mcp_tool_call_onrequest_decline": Decision.decline,
    "mcp_elicitation_accept": Decision.accept_with_content({"colour": "green"}),
    "dynamic_tool_ok": Decision.accept,  # item/tool/call: not ours, the handler must return None
}


def replay(path: Path, handler: ApprovalRequestHandler) -> list[tuple[str, Any, Any]]:
    """Feed the recording's s2c lines to the handler; return (method, our reply, recorded reply) per request."""
    messages = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out: list[tuple[str, Any, Any]] = []

    async def main() -> None:
        for index, record in enumerate(messages):
            msg = record["msg"]
            if record["dir"] != "s2c" or "method" not in msg:
                continue
            if "id" not in msg:
                handler.observe(msg["method"], msg["params"])
                continue
            recorded = next(
                r["msg"].get("result")
                for r in messages[index + 1 :]
                if r["dir"] == "c2s" and r["msg"].get("id") == msg["id"] and "method" not in r["msg"]
            )
            out.append((msg["method"], await handler(msg["method"], msg["params"], msg["id"]), recorded))

    asyncio.run(main())
    return out


ONLY_0_163 = {"approval_patch_cancel", "approval_cmd_accept_twice"}  # recorded with one CLI only (corpus README)
CASES = [(v, s) for s in sorted(DECIDED) for v in ("0.163.0", "0.171.0") if not (s in ONLY_0_163 and v == "0.171.0")]


@pytest.mark.parametrize(("version", "scenario"), CASES)
def test_recordings_replayed_through_the_handler(version: str, scenario: str) -> None:
    path = CORPUS / version / f"{scenario}.jsonl"
    seen: list[ApprovalRequest] = []

    def policy(request: ApprovalRequest) -> Decision:
        seen.append(request)
        return DECIDED[scenario]

    bus = TelemetryBus()
    events: list[TelemetryEvent] = []
    bus.subscribe(events.append)
    exchanges = replay(path, server_request_handler(Callback(policy), bus=bus))
    assert exchanges
    for method, ours, recorded in exchanges:
        if method == "item/tool/call":
            assert ours is None and not seen
            continue
        assert json.dumps(ours) == json.dumps(recorded)
    if scenario.startswith("approval_patch"):
        (request,) = seen
        assert isinstance(request, FileChangeApprovalRequest)
        assert request.paths == ("/srv/rec/ws/hello.txt",)  # taken from item/started, the request has no diff
    decided = [e for e in events if e.name == "codex.approval.decided"]
    assert len(decided) == len(seen) and [e.metadata["request_id"] for e in decided] == list(range(len(seen)))


def test_unknown_methods_are_left_to_other_handlers() -> None:
    handler = server_request_handler(AllowAll(), bus=TelemetryBus())
    for method in ("item/tool/call", "item/tool/requestUserInput", "account/chatgptAuthTokens/refresh", "x"):
        assert asyncio.run(handler(method, {"threadId": "t"})) is None
        assert not handler.handles(method) and safe_reply(method) is None
    assert handler.handles("item/fileChange/requestApproval")


@pytest.mark.parametrize(
    ("method", "params", "reply"),
    [
        ("item/commandExecution/requestApproval", {"threadId": 1}, {"decision": "decline"}),
        ("item/commandExecution/requestApproval", None, {"decision": "decline"}),
        ("item/fileChange/requestApproval", [], {"decision": "decline"}),
        ("mcpServer/elicitation/request", {"serverName": "s"}, {"action": "decline", "content": None}),
        ("item/permissions/requestApproval", {"threadId": "t"}, {"permissions": {}, "scope": "turn"}),
    ],
)
def test_unparsable_params_still_get_a_safe_reply(method: str, params: Any, reply: Any) -> None:
    bus = TelemetryBus()
    events: list[TelemetryEvent] = []
    bus.subscribe(events.append)
    asked: list[ApprovalRequest] = []

    def spy(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return Decision.accept

    handler = server_request_handler(Callback(spy), bus=bus)
    assert asyncio.run(handler(method, params, 4)) == reply
    assert not asked  # the policy never sees a request that could not be read
    (failed,) = events
    assert failed.name == "codex.approval.failed" and failed.metadata["error_type"] == "ApprovalRequestError"
    assert failed.metadata["method"] == method and failed.metadata["request_id"] == 4


def test_a_raising_policy_never_kills_the_handler() -> None:
    calls = 0

    def flaky(request: ApprovalRequest) -> Decision:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("handler bug")
        return Decision.accept

    handler = server_request_handler(Callback(flaky), bus=TelemetryBus())
    params = {"threadId": "t", "turnId": "u", "itemId": "i", "startedAtMs": 1, "command": "ls"}
    first = asyncio.run(handler("item/commandExecution/requestApproval", params))
    second = asyncio.run(handler("item/commandExecution/requestApproval", params))
    assert first == {"decision": "decline"} and second == {"decision": "accept"}


def test_a_slow_decision_does_not_hold_up_another() -> None:
    """Two requests in flight: the parked one (a UI waiting for a human) must not delay the other."""
    order: list[str] = []

    async def main() -> None:
        gate = asyncio.Event()

        async def policy(request: ApprovalRequest) -> Decision:
            assert request.item_id is not None
            if request.item_id == "slow":
                await gate.wait()
            order.append(request.item_id)
            return Decision.accept

        handler = server_request_handler(Callback(policy), bus=TelemetryBus())

        def params(item: str) -> dict[str, Any]:
            return {"threadId": "t", "turnId": "u", "itemId": item, "startedAtMs": 1}

        slow = asyncio.create_task(handler("item/commandExecution/requestApproval", params("slow"), 0))
        fast = await handler("item/fileChange/requestApproval", params("fast"), 1)
        order.append("fast replied")
        assert not slow.done()
        gate.set()
        assert await slow == {"decision": "accept"} and fast == {"decision": "accept"}

    asyncio.run(main())
    assert order == ["fast", "fast replied", "slow"]


def test_timeout_on_the_handler_answers_a_parked_request() -> None:
    async def parked(request: ApprovalRequest) -> Decision:
        await asyncio.Event().wait()
        return Decision.accept

    handler = server_request_handler(Callback(parked), bus=TelemetryBus(), timeout=0.05)
    params = {"threadId": "t", "turnId": "u", "itemId": "i", "startedAtMs": 1}
    assert asyncio.run(handler("item/fileChange/requestApproval", params)) == {"decision": "decline"}
    cancel = server_request_handler(Callback(parked), bus=TelemetryBus(), timeout=0.05, timeout_default=Decision.cancel)
    assert asyncio.run(cancel("mcpServer/elicitation/request", {"threadId": "t", "serverName": "s"})) == {
        "action": "cancel",
        "content": None,
    }


def test_item_tracking_observe_and_lookup() -> None:
    handler = ApprovalRequestHandler(DenyAll(), bus=TelemetryBus(), max_tracked_items=2)
    for n in range(3):
        handler.observe("item/started", {"threadId": "t", "item": {"type": "fileChange", "id": f"c{n}", "changes": []}})
    handler.observe("item/started", {"threadId": "t", "item": {"type": "commandExecution", "id": "cmd"}})
    assert handler.started_item("t", "c0") is None  # the oldest was dropped
    assert handler.started_item("t", "c2") is not None and handler.started_item("t", "cmd") is None
    handler.observe("item/completed", {"threadId": "t", "item": {"type": "fileChange", "id": "c2"}})
    assert handler.started_item("t", "c2") is None
    handler.observe("item/started", {"threadId": "t", "item": "garbage"})
    handler.observe("turn/started", {"threadId": "t"})

    item = {"id": "ext", "changes": [{"path": "/w/x.py", "kind": {"type": "add"}, "diff": ""}]}
    seen: list[ApprovalRequest] = []

    def spy(request: ApprovalRequest) -> Decision:
        seen.append(request)
        return Decision.accept

    looked_up = server_request_handler(
        Callback(spy),
        bus=TelemetryBus(),
        on_item_started=lambda thread, item_id: item if (thread, item_id) == ("t", "ext") else None,
    )
    params = {"threadId": "t", "turnId": "u", "itemId": "ext", "startedAtMs": 1}
    asyncio.run(looked_up("item/fileChange/requestApproval", params))
    (request,) = seen
    assert isinstance(request, FileChangeApprovalRequest) and request.paths == ("/w/x.py",)


def test_telemetry_carries_no_secret_and_the_correlation_id() -> None:
    bus = TelemetryBus()
    events: list[TelemetryEvent] = []
    bus.subscribe(events.append)
    handler = server_request_handler(AllowAll(), bus=bus)
    secret = "sk-live-0123456789abcdef"
    params = {
        "threadId": "t",
        "turnId": "u",
        "itemId": "i",
        "startedAtMs": 1,
        "command": f"/bin/bash -lc 'curl -H \"Authorization: Bearer {secret}\" https://user:pw@example.com'",
        "cwd": "/home/me/secret-project",
    }
    with correlation("cid-42"):
        reply = asyncio.run(handler("item/commandExecution/requestApproval", params, 9))
    assert reply == {"decision": "accept"}
    assert [e.name for e in events] == ["codex.approval.requested", "codex.approval.decided"]
    assert all(e.correlation_id == "cid-42" for e in events)
    dumped = json.dumps([e.to_dict() for e in events])
    assert secret not in dumped and "user:pw" not in dumped and "secret-project" not in dumped
    assert events[0].metadata == {
        "kind": "command",
        "method": "item/commandExecution/requestApproval",
        "request_id": 9,
        "item_id": "i",
        "thread_id": "t",
        "turn_id": "u",
        "policy": "AllowAll",
    }
