"""The tool registry: registration rules, handles, thread safety, dynamicTools and the replies codex expects."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import harness.reference.tools as tools_pkg
from harness.reference.telemetry import TelemetryBus, TelemetryEvent, correlation
from harness.reference.tools import (
    DuplicateToolError,
    FunctionTool,
    Namespace,
    Tool,
    ToolDefinitionError,
    ToolOutcome,
    ToolRegistry,
    function_tool,
    outcome_from_result,
)

SCHEMA_DIR = (Path(__file__).resolve().parents[1] / "fixtures" / "appserver/schema/0.171.0")
CITY = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}


def weather(city: str) -> str:
    """Look up the weather for a city."""
    return f"Sunny in {city}"


def _registry() -> tuple[ToolRegistry, list[TelemetryEvent]]:
    bus = TelemetryBus()
    events: list[TelemetryEvent] = []
    bus.subscribe(events.append)
    return ToolRegistry(bus=bus), events


def _reply_schema() -> dict[str, Any]:
    """codex's own DynamicToolCallResponse schema (generate-json-schema excerpt), or an equivalent if absent."""
    path = SCHEMA_DIR / "DynamicToolCallResponse.json"
    if path.exists():
        return dict(json.loads(path.read_text(encoding="utf-8")))
    item = {"type": "object", "required": ["type"]}
    return {"type": "object", "required": ["contentItems", "success"],
            "properties": {"contentItems": {"type": "array", "items": item}, "success": {"type": "boolean"}}}


def test_public_names_sorted_and_resolve() -> None:
    assert tools_pkg.__all__ == sorted(tools_pkg.__all__)
    for name in tools_pkg.__all__:
        assert getattr(tools_pkg, name) is not None


def test_function_tool_is_a_tool_and_takes_docstring() -> None:
    tool = function_tool(weather, input_schema=CITY)
    assert isinstance(tool, Tool)
    assert (tool.name, tool.description, tool.is_async) == ("weather", "Look up the weather for a city.", False)


def test_duplicate_in_same_namespace_is_an_error_but_not_across_namespaces() -> None:
    registry, _ = _registry()
    registry.register(function_tool(weather, input_schema=CITY))
    with pytest.raises(DuplicateToolError) as info:
        registry.register(function_tool(weather, input_schema=CITY))
    assert info.value.kind == "duplicate_tool"
    assert str(info.value) == "duplicate dynamic tool name: weather"
    ns = Namespace("meteo", "Weather tools")
    registry.register(function_tool(weather, input_schema=CITY), namespace=ns)
    with pytest.raises(DuplicateToolError, match="duplicate dynamic tool name in namespace meteo: weather"):
        registry.register(function_tool(weather, input_schema=CITY), namespace="meteo")
    assert registry.names() == [(None, "weather"), ("meteo", "weather")]


def test_handle_unregister_twice_is_a_noop_and_never_removes_a_newer_registration() -> None:
    registry, _ = _registry()
    first = registry.register(function_tool(weather))
    assert first.active
    assert first.unregister() is True
    assert first.unregister() is False
    second = registry.register(function_tool(weather))
    assert first.unregister() is False  # stale handle: the new registration stays
    assert second.active and registry.get("weather") is not None
    assert second.unregister() is True and len(registry) == 0


def test_deferred_tool_needs_a_namespace() -> None:
    registry, _ = _registry()
    with pytest.raises(ToolDefinitionError) as info:
        registry.register(function_tool(weather), defer_loading=True)
    assert str(info.value) == "deferred dynamic tool must include a namespace: weather"
    assert info.value.to_dict()["kind"] == "invalid_tool"
    registry.register(function_tool(weather), namespace=Namespace("meteo", "Weather"), defer_loading=True)


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        (FunctionTool("bad name", "d", weather), "tool name must match"),
        (FunctionTool("x" * 129, "d", weather), "at most 128 characters"),
        (FunctionTool("mcp__x", "d", weather), "reserved for MCP tools"),
        (FunctionTool("ok", "  ", weather), "non-empty description"),
        (FunctionTool("ok", "d", weather, {"type": "array"}), "type: object at the top"),
        (FunctionTool("ok", "d", weather, {"type": "object", "properties": {"a": {"type": 3}}}),
         "not a valid JSON Schema"),
    ],
)
def test_definitions_codex_would_reject(tool: FunctionTool, message: str) -> None:
    registry, _ = _registry()
    with pytest.raises(ToolDefinitionError, match=message):
        registry.register(tool)
    assert len(registry) == 0


def test_namespace_rules() -> None:
    registry, _ = _registry()
    with pytest.raises(ToolDefinitionError, match="reserved Responses API namespace"):
        registry.register(function_tool(weather), namespace=Namespace("functions", "d"))
    with pytest.raises(ToolDefinitionError, match="unknown namespace 'meteo'"):
        registry.register(function_tool(weather), namespace="meteo")
    registry.add_namespace(Namespace("meteo", "Weather"))
    with pytest.raises(ToolDefinitionError, match="another description"):
        registry.add_namespace(Namespace("meteo", "Other"))


def test_concurrent_registration_from_threads() -> None:
    registry, _ = _registry()
    barrier = threading.Barrier(8)
    wins: list[str] = []
    dupes: list[str] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        barrier.wait()
        for n in range(50):
            name = f"tool_{n}"  # every thread races for the same 50 names
            try:
                handle = registry.register(FunctionTool(name, f"tool {n}", weather))
            except DuplicateToolError:
                with lock:
                    dupes.append(name)
                continue
            with lock:
                wins.append(name)
            if n % 2 and index % 2:
                handle.unregister()
                handle.unregister()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) + len(dupes) == 8 * 50
    live = {name for _, name in registry.names()}
    assert {f"tool_{n}" for n in range(0, 50, 2)} <= live  # even names are never unregistered
    assert len(live) == len(registry)


def test_dynamic_tools_shape_matches_recorded_thread_start() -> None:
    registry, _ = _registry()
    registry.register(FunctionTool("lookup_weather", "Look up the weather for a city.", weather, CITY))
    ns = Namespace("weather", "Weather tools")
    registry.register(FunctionTool("forecast", "Forecast.", weather), namespace=ns, defer_loading=True)
    empty = registry.register(FunctionTool("gone", "Gone.", weather), namespace=Namespace("empty", "Empty"))
    empty.unregister()
    specs = registry.dynamic_tools()
    # the recorded 0.171.0 dynamic_tool_ok thread/start entry, byte for byte as a value
    assert specs[0] == {"type": "function", "name": "lookup_weather", "description": "Look up the weather for a city.",
                        "inputSchema": CITY}
    assert specs[1] == {"type": "namespace", "name": "weather", "description": "Weather tools",
                        "tools": [{"type": "function", "name": "forecast", "description": "Forecast.",
                                   "inputSchema": {"type": "object"}, "deferLoading": True}]}
    assert len(specs) == 2  # the namespace without live tools is left out
    json.dumps(specs)  # plain JSON, no read-only mappings


def test_answer_replies_validate_against_codex_schema() -> None:
    registry, _ = _registry()
    registry.register(FunctionTool("lookup_weather", "Weather.", weather, CITY))
    validator = jsonschema.Draft7Validator(_reply_schema())
    params = {"threadId": "t", "turnId": "u", "callId": "call_1", "namespace": None, "tool": "lookup_weather"}

    async def run() -> list[dict[str, Any]]:
        return [
            await registry.answer({**params, "arguments": {"city": "Paris"}}),
            await registry.answer({**params, "arguments": {"town": "Paris"}}),
            await registry.answer({**params, "tool": "nope", "arguments": {}}),
            await registry.answer({"bogus": True}),
        ]

    ok, invalid, unknown, malformed = asyncio.run(run())
    assert ok == {"contentItems": [{"type": "inputText", "text": "Sunny in Paris"}], "success": True}
    for reply in (ok, invalid, unknown, malformed):
        assert list(validator.iter_errors(reply)) == []
        assert reply != {}
    assert invalid["success"] is False
    text = invalid["contentItems"][0]["text"]
    assert '"/city"' in text and '"/town"' in text
    assert unknown == {"contentItems": [{"type": "inputText", "text": "unknown tool: nope"}], "success": False}
    assert malformed["success"] is False


def test_result_mapping_and_exceptions() -> None:
    registry, _ = _registry()
    items = [{"type": "inputText", "text": "a"}, {"type": "inputImage", "imageUrl": "data:image/png;base64,AA=="}]

    async def listing() -> list[dict[str, str]]:
        return items

    def boom() -> str:
        raise RuntimeError("database password=hunter2 unreachable")

    registry.register(FunctionTool("listing", "List.", listing))
    registry.register(FunctionTool("boom", "Boom.", boom))
    registry.register(FunctionTool("number", "Number.", lambda: {"n": 1}))
    registry.register(FunctionTool("deny", "Deny.", lambda: ToolOutcome.failure("no such city")))
    registry.register(FunctionTool("bad", "Bad.", lambda: [{"type": "inputText"}]))

    async def run() -> dict[str, ToolOutcome]:
        return {name: await registry.call(name, {}) for name in ("listing", "boom", "number", "deny", "bad")}

    got = asyncio.run(run())
    assert got["listing"] == ToolOutcome(True, tuple(items))
    assert got["boom"].success is False and got["boom"].error_kind == "exception"
    assert "RuntimeError" in got["boom"].message and "hunter2" not in got["boom"].message
    assert got["number"] == ToolOutcome.text('{"n":1}')
    assert got["deny"].to_reply() == {"contentItems": [{"type": "inputText", "text": "no such city"}],
                                      "success": False}
    assert got["bad"].error_kind == "invalid_result"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_any_string_becomes_one_input_text(text: str) -> None:
    assert outcome_from_result(text).to_reply() == {"contentItems": [{"type": "inputText", "text": text}],
                                                    "success": True}


def test_timeout_async_and_sync_tools() -> None:
    registry, _ = _registry()
    release = threading.Event()

    async def slow_async() -> str:
        await asyncio.sleep(30)
        return "late"

    def slow_sync() -> str:
        release.wait(30)
        return "late"

    registry.register(FunctionTool("slow_async", "Slow.", slow_async))
    registry.register(FunctionTool("slow_sync", "Slow.", slow_sync))

    async def run() -> tuple[dict[str, Any], ToolOutcome]:
        a = await registry.answer({"tool": "slow_async", "callId": "c", "arguments": {}}, timeout=0.05)
        b = await registry.call("slow_sync", {}, timeout=0.05)
        return a, b

    try:
        reply, outcome = asyncio.run(run())
    finally:
        release.set()
    assert reply == {"contentItems": [{"type": "inputText", "text": "tool slow_async timed out after 0.05 s"}],
                     "success": False}
    assert outcome.error_kind == "timeout"


def test_telemetry_per_call_with_correlation_id() -> None:
    registry, events = _registry()
    seen_cid: list[str | None] = []

    def sync_tool(city: str) -> str:
        from harness.reference.telemetry import correlation_id

        seen_cid.append(correlation_id())
        return city

    registry.register(FunctionTool("lookup", "Lookup.", sync_tool, CITY))
    registry.register(FunctionTool("boom", "Boom.", lambda: 1 / 0))

    async def run() -> None:
        with correlation("cid-42"):
            await registry.call("lookup", {"city": "Oslo"}, call_id="call_a")
            await registry.call("boom", {}, call_id="call_b")
            await registry.call("lookup", {}, call_id="call_c")

    asyncio.run(run())
    assert [e.name for e in events] == [
        "codex.tool.start", "codex.tool.stop",
        "codex.tool.start", "codex.tool.exception",
        "codex.tool.start", "codex.tool.stop",
    ]
    assert {e.correlation_id for e in events} == {"cid-42"}
    assert seen_cid == ["cid-42"]  # the worker thread inherited the context
    stop, exc, invalid = events[1], events[3], events[5]
    assert stop.metadata == {"tool": "lookup", "namespace": None, "call_id": "call_a", "outcome": "success"}
    assert stop.measurements["duration_ms"] >= 0
    assert exc.metadata["outcome"] == "exception" and exc.metadata["error_kind"] == "ZeroDivisionError"
    assert invalid.metadata["outcome"] == "invalid_arguments"
