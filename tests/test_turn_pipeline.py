"""The turn pipeline on top of the fake codex: telemetry sequence, usage per turn, structured output, auto-run."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.fake.testing import build_from_mapping, wait_no_leftovers
from harness.reference import Codex, CodexOptions, ExitError, TurnFailedError, TurnOptions
from harness.reference.auto import AutoRunPolicy, Backoff, UnhandledToolCallError
from harness.reference.structured_output import StructuredOutputError
from harness.reference.telemetry import TelemetryBus, TelemetryEvent, correlation
from harness.reference.usage import TokenCounts

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "fixtures" / "real" / "0.169.0"


def _client(tmp_path: Path, steps: list[dict[str, Any]]) -> tuple[Codex, list[TelemetryEvent], Path]:
    exe, log = build_from_mapping({"steps": steps}, tmp_path)
    bus = TelemetryBus()
    seen: list[TelemetryEvent] = []
    bus.subscribe(seen.append)
    return Codex(CodexOptions(codex_path_override=str(exe)), telemetry=bus), seen, exe


def _line(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def _turn(thread_id: str, text: str, usage: tuple[int, int], *extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "lines": [
            _line({"type": "thread.started", "thread_id": thread_id}),
            _line({"type": "turn.started"}),
            *(_line(e) for e in extra),
            _line({"type": "item.completed", "item": {"id": "item_0", "type": "agent_message", "text": text}}),
            _line(
                {
                    "type": "turn.completed",
                    "usage": {
                        "input_tokens": usage[0],
                        "cached_input_tokens": 0,
                        "cache_write_input_tokens": 0,
                        "output_tokens": usage[1],
                        "reasoning_output_tokens": 0,
                    },
                }
            ),
        ]
    }


def _failed(message: str) -> dict[str, Any]:
    return {
        "lines": [
            _line({"type": "thread.started", "thread_id": "t1"}),
            _line({"type": "turn.started"}),
            _line({"type": "error", "message": message}),
            _line({"type": "turn.failed", "error": {"message": message}}),
        ],
        "faults": {"exit_code": 1},
    }


def test_telemetry_sequence_and_usage_of_two_resumed_turns(tmp_path: Path) -> None:
    codex, seen, exe = _client(
        tmp_path,
        [{"replay": str(REAL / "resume_turn1.jsonl")}, {"replay": str(REAL / "resume_turn2.jsonl")}],
    )

    async def main() -> tuple[Any, Any]:
        thread = codex.start_thread()
        with correlation("cid-1"):
            first = await thread.run("one")
            second = await thread.run("two")
        thread.close()
        return first, second

    first, second = asyncio.run(main())
    names = [e.name for e in seen]
    assert names[:2] == ["codex.turn.start", "codex.event"]
    assert names.count("codex.thread.start") == 1 and names[-1] == "codex.thread.stop"
    assert names.count("codex.turn.stop") == 2 and names.count("codex.event") == 8
    assert {e.correlation_id for e in seen[:-1]} == {"cid-1"}
    stops = [e for e in seen if e.name == "codex.turn.stop"]
    assert [s.metadata["outcome"] for s in stops] == ["completed", "completed"]
    # The CLI reports cumulative usage (10/5 then 20/10); the turn's own share is the difference.
    assert second.usage.input_tokens == 20
    assert first.turn_usage == second.turn_usage == TokenCounts(10, 0, 0, 5, 0)
    assert second.cumulative_usage == TokenCounts(20, 0, 0, 10, 0)
    assert stops[1].measurements["turn_input_tokens"] == 10 and stops[1].measurements["input_tokens"] == 20
    assert not wait_no_leftovers(exe)


def test_a_failed_turn_is_reported_as_turn_failed_in_both_modes(tmp_path: Path) -> None:
    codex, seen, _ = _client(tmp_path, [_failed("boom"), _failed("boom")])

    async def main() -> None:
        thread = codex.start_thread()
        with pytest.raises(TurnFailedError):
            await thread.run("x")
        with pytest.raises(ExitError):
            async for _ in thread.run_streamed("x"):
                pass

    asyncio.run(main())
    exceptions = [e for e in seen if e.name == "codex.turn.exception"]
    assert [(e.metadata["mode"], e.metadata["error_kind"], e.metadata["message"]) for e in exceptions] == [
        ("run", "turn_failed", "boom"),
        ("streamed", "turn_failed", "boom"),
    ]


def test_closing_a_stream_early_is_a_stop_with_outcome_closed(tmp_path: Path) -> None:
    codex, seen, exe = _client(tmp_path, [{"replay": str(REAL / "shell_ok.jsonl"), "faults": {"hang_after_line": 3}}])

    async def main() -> None:
        async with codex.start_thread().run_streamed("x") as events:
            async for event in events:
                if event.type == "item.started":
                    break

    asyncio.run(main())
    stop = [e for e in seen if e.name == "codex.turn.stop"]
    assert len(stop) == 1 and stop[0].metadata["outcome"] == "closed"
    assert not wait_no_leftovers(exe)


@dataclass
class Answer:
    summary: str
    count: int
    ok: bool


def test_structured_output_is_decoded_into_the_output_type(tmp_path: Path) -> None:
    codex, _, _ = _client(tmp_path, [{"replay": str(REAL / "output_schema.jsonl")}])
    turn = codex.start_thread().run_sync("x", TurnOptions(output_type=Answer))
    assert turn.structured_output == Answer("fake", 42, True)


def test_structured_output_violation_lists_pointers_and_removes_the_schema_file(tmp_path: Path) -> None:
    @dataclass
    class Strict:
        summary: int
        missing: str

    codex, _, _ = _client(tmp_path, [{"replay": str(REAL / "output_schema.jsonl")}])
    with pytest.raises(StructuredOutputError) as info:
        codex.start_thread().run_sync("x", TurnOptions(output_type=Strict))
    assert sorted(v.pointer for v in info.value.violations) == ["", "", "/summary"]
    log = [json.loads(x) for x in (tmp_path / "fake.log.jsonl").read_text().splitlines()]
    schema_path = log[0]["argv"][log[0]["argv"].index("--output-schema") + 1]
    assert json.loads(log[0]["output_schema"])["required"] == ["summary", "missing"]
    assert not Path(schema_path).exists()


def test_a_plain_output_schema_keeps_ts_semantics_unless_validation_is_asked(tmp_path: Path) -> None:
    steps = [{"replay": str(REAL / "agent_message.jsonl")}] * 2
    codex, _, _ = _client(tmp_path, steps)
    schema = {"type": "object"}
    turn = codex.start_thread().run_sync("x", TurnOptions(output_schema=schema))
    assert turn.final_response == "Hello from fake server" and turn.structured_output is None
    with pytest.raises(StructuredOutputError, match="not valid JSON"):
        codex.start_thread().run_sync("x", TurnOptions(output_schema=schema, validate_output=True))


class FakeClock:
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_auto_run_retries_retryable_failures_with_backoff_and_counts_usage_once(tmp_path: Path) -> None:
    high_demand = "We’re currently experiencing high demand, which may cause temporary errors."
    codex, _, exe = _client(
        tmp_path,
        [
            _failed(high_demand),
            _failed("exceeded retry limit, last status: 429 Too Many Requests"),
            _turn("t1", "done", (30, 7)),
        ],
    )
    clock = FakeClock()
    policy = AutoRunPolicy(max_attempts=3, backoff=Backoff(initial=0.5, factor=3, maximum=10))
    result = codex.start_thread().run_auto_sync("x", policy=policy, sleep=clock.sleep)
    assert clock.slept == [0.5, 1.5]
    assert [(a.turn, a.attempt, a.outcome) for a in result.attempts] == [
        (1, 1, "failed"),
        (1, 2, "failed"),
        (1, 3, "completed"),
    ]
    assert result.attempts[0].error is not None and result.attempts[0].error["kind"] == "turn_failed"
    assert result.final_response == "done" and result.stop_reason == "completed"
    assert result.usage == TokenCounts(30, 0, 0, 7, 0) and result.turn_usage == [TokenCounts(30, 0, 0, 7, 0)]
    assert not wait_no_leftovers(exe)


def test_auto_run_gives_up_on_non_retryable_errors_and_after_max_attempts(tmp_path: Path) -> None:
    bad_request = '{"error": {"message": "Invalid request (fake)", "type": "invalid_request_error"}}'
    codex, _, _ = _client(
        tmp_path,
        [_failed(bad_request), _failed("stream disconnected before completion: x")]
        + [_failed("stream disconnected before completion: x")],
    )
    clock = FakeClock()
    with pytest.raises(TurnFailedError) as info:
        codex.start_thread().run_auto_sync("x", sleep=clock.sleep)
    assert clock.slept == [] and len(info.value.attempts) == 1  # type: ignore[attr-defined]
    with pytest.raises(TurnFailedError) as info:
        codex.start_thread().run_auto_sync("x", policy=AutoRunPolicy(max_attempts=2), sleep=clock.sleep)
    assert clock.slept == [1.0] and len(info.value.attempts) == 2  # type: ignore[attr-defined]


def test_auto_run_answers_tool_calls_and_follows_continuations_on_the_same_thread(tmp_path: Path) -> None:
    required = {"type": "tool.call.required", "call_id": "c1", "name": "add", "arguments": {"a": 1, "b": 2}}
    codex, _, _ = _client(
        tmp_path,
        [
            _turn("t1", "need a tool", (10, 1), required),
            {"resume": "t1", **_turn("t1", "thinking", (20, 2), {"type": "turn.continuation"})},
            {"resume": "t1", **_turn("t1", "the answer is 3", (30, 3))},
        ],
    )
    calls: list[Any] = []

    async def add(arguments: dict[str, int]) -> int:
        calls.append(arguments)
        return arguments["a"] + arguments["b"]

    result = codex.start_thread().run_auto_sync("add 1 and 2", tools={"add": add}, sleep=FakeClock().sleep)
    assert calls == [{"a": 1, "b": 2}]
    assert result.final_response == "the answer is 3" and result.thread_id == "t1"
    assert result.turn_usage == [TokenCounts(10, 0, 0, 1, 0)] * 3
    assert result.usage == TokenCounts(30, 0, 0, 3, 0)
    log = [json.loads(x) for x in (tmp_path / "fake.log.jsonl").read_text().splitlines()]
    assert json.loads(log[1]["stdin"]) == {"tool_outputs": [{"call_id": "c1", "name": "add", "output": 3}]}
    assert log[1]["argv"][-2:] == ["resume", "t1"] and log[2]["stdin"] == "continue"


def test_auto_run_stops_at_max_turns_and_rejects_unknown_tools(tmp_path: Path) -> None:
    loop = _turn("t1", "again", (1, 1), {"type": "turn.continuation"})
    codex, _, _ = _client(tmp_path, [loop, {"resume": "t1", **loop}])
    result = codex.start_thread().run_auto_sync("x", policy=AutoRunPolicy(max_turns=2), sleep=FakeClock().sleep)
    assert result.stop_reason == "max_turns" and len(result.attempts) == 2

    required = {"type": "tool.call.required", "call_id": "c9", "name": "nope", "arguments": None}
    codex, _, _ = _client(tmp_path / "b", [_turn("t2", "x", (1, 1), required)])
    with pytest.raises(UnhandledToolCallError, match="'nope'"):
        codex.start_thread().run_auto_sync("x", sleep=FakeClock().sleep)


def test_each_turn_is_an_opentelemetry_span(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    codex, _, _ = _client(tmp_path, [{"replay": str(REAL / "agent_message.jsonl")}, _failed("boom")])
    monkeypatch.setattr(trace, "get_tracer", lambda name, *a, **k: provider.get_tracer(name))
    thread = codex.start_thread()
    thread.run_sync("x")
    with pytest.raises(TurnFailedError):
        thread.run_sync("y")
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["codex.turn", "codex.turn"]
    assert spans[0].attributes is not None and spans[0].attributes["codex.mode"] == "run"
    assert spans[0].attributes["codex.items"] == 1
    assert spans[0].status.is_ok and not spans[1].status.is_ok


def test_breaking_out_of_async_for_stops_the_process_without_aclose(tmp_path: Path) -> None:
    codex, seen, exe = _client(tmp_path, [{"replay": str(REAL / "shell_ok.jsonl"), "faults": {"hang_after_line": 3}}])

    async def main() -> bool:
        async for event in codex.start_thread().run_streamed("x"):
            if event.type == "item.started":
                break  # no aclose(): the dropped generator is finalized by the event loop
        for _ in range(100):
            await asyncio.sleep(0.02)
            if not wait_no_leftovers(exe, timeout=0):
                return True
        return False

    assert asyncio.run(main()), "the codex process outlived the abandoned stream"
    assert [e.metadata["outcome"] for e in seen if e.name == "codex.turn.stop"] == ["closed"]


def test_auto_run_answers_tool_calls_from_the_tool_registry(tmp_path: Path) -> None:
    """One code path for tools: the registry that answers app-server item/tool/call answers exec tool calls."""
    from harness.reference.tools import ToolRegistry, function_tool

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    def broken(x: str) -> str:
        """Always fails."""
        raise RuntimeError("no luck")

    registry = ToolRegistry()
    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
              "required": ["a", "b"]}
    registry.register(function_tool(add, input_schema=schema))
    registry.register(function_tool(broken, input_schema={"type": "object", "properties": {"x": {"type": "string"}}}))
    calls = [
        {"type": "tool.call.required", "call_id": "c1", "name": "add", "arguments": {"a": 1, "b": 2}},
        {"type": "tool.call.required", "call_id": "c2", "name": "add", "arguments": {"a": "one"}},
        {"type": "tool.call.required", "call_id": "c3", "name": "broken", "arguments": {"x": "y"}},
    ]
    codex, _, _ = _client(tmp_path, [_turn("t1", "need tools", (10, 1), *calls),
                                     {"resume": "t1", **_turn("t1", "done", (20, 2))}])
    result = codex.start_thread().run_auto_sync("go", tools=registry, sleep=FakeClock().sleep)
    assert result.final_response == "done"
    log = [json.loads(x) for x in (tmp_path / "fake.log.jsonl").read_text().splitlines()]
    outputs = {o["call_id"]: o["output"] for o in json.loads(log[1]["stdin"])["tool_outputs"]}
    assert outputs["c1"] == "3"
    assert "b" in outputs["c2"] and "invalid" in outputs["c2"].lower(), "arguments are validated before invoke"
    assert "no luck" in outputs["c3"] or "RuntimeError" in outputs["c3"], "a raising tool is an answer, not a crash"

    required = {"type": "tool.call.required", "call_id": "c9", "name": "nope", "arguments": {}}
    codex, _, _ = _client(tmp_path / "b", [_turn("t2", "x", (1, 1), required)])
    with pytest.raises(UnhandledToolCallError, match="'nope'"):
        codex.start_thread().run_auto_sync("x", tools=registry, sleep=FakeClock().sleep)
