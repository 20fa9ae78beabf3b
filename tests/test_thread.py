"""Codex/Thread against the fake codex: the run() fold, run_streamed(), resume, argv/stdin/env end to end.

Every test runs under ``no_leaks`` (no process with this test's environment token survives, no zombie
children, no schema directory left in the test's private temp dir).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from harness.fake import read_log
from harness.fake.testing import LEAK_TOKEN_VAR, build_from_mapping
from harness.reference import (
    AbortController,
    Codex,
    CodexExec,
    CodexOptions,
    EventParseError,
    ExitError,
    InvalidOptionsError,
    Thread,
    ThreadOptions,
    Turn,
    TurnFailedError,
    TurnOptions,
)
from harness.reference import events as ev

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "fixtures" / "real"
AGENT_MESSAGE = REAL / "0.169.0" / "agent_message.jsonl"
TS_CASES: list[dict[str, Any]] = json.loads(
    (ROOT / "fixtures" / "argv" / "typescript-codex-sdk.json").read_text("utf-8")
)


pytestmark = pytest.mark.usefixtures("no_leaks")


def fake(tmp_path: Path, *steps: dict[str, Any]) -> tuple[Path, Path]:
    return build_from_mapping({"steps": list(steps)}, tmp_path)


def client(exe: Path, **options: Any) -> Codex:
    return Codex(CodexOptions(codex_path_override=exe, **options))


def lines_of(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines()


# --- run(): the fold
# --------------------------------------------------------------------------------------------


def test_run_folds_items_final_response_and_usage(tmp_path: Path) -> None:
    exe, _log = fake(tmp_path, {"replay": str(REAL / "0.169.0" / "reasoning_then_message.jsonl")})
    thread = client(exe).start_thread()
    assert thread.id is None
    turn = asyncio.run(thread.run("hi"))
    events = [ev.parse(line) for line in lines_of(REAL / "0.169.0" / "reasoning_then_message.jsonl")]
    completed = [e.item for e in events if isinstance(e, ev.ItemCompletedEvent)]
    assert isinstance(turn, Turn)
    assert turn.items == completed
    assert turn.final_response == next(i.text for i in reversed(completed) if isinstance(i, ev.AgentMessageItem))
    assert turn.usage == next(e.usage for e in events if isinstance(e, ev.TurnCompletedEvent))
    assert thread.id == next(e.thread_id for e in events if isinstance(e, ev.ThreadStartedEvent))


def test_final_response_is_the_last_agent_message_and_defaults_to_empty(tmp_path: Path) -> None:
    two = [
        {"type": "thread.started", "thread_id": "t-1"},
        {"type": "item.completed", "item": {"id": "a", "type": "agent_message", "text": "first"}},
        {"type": "item.completed", "item": {"id": "b", "type": "agent_message", "text": "second"}},
    ]
    none = [{"type": "thread.started", "thread_id": "t-2"}, {"type": "turn.started"}]
    exe, _ = fake(tmp_path, {"events": two}, {"events": none})
    codex = client(exe)
    turn = asyncio.run(codex.start_thread().run("x"))
    assert turn.final_response == "second" and len(turn.items) == 2 and turn.usage is None
    turn = asyncio.run(codex.start_thread().run("x"))
    assert turn == Turn(items=[], final_response="", usage=None)


def test_error_events_are_ignored_by_run(tmp_path: Path) -> None:
    exe, _ = fake(tmp_path, {"replay": str(REAL / "0.169.0" / "retry_reconnecting_then_ok.jsonl")})
    turn = asyncio.run(client(exe).start_thread().run("x"))
    assert turn.final_response and turn.usage is not None


def test_turn_failed_raises_and_stops_the_process(tmp_path: Path) -> None:
    # The fake would hang after turn.failed; run() must not wait for it (TS kills the child in ``finally``).
    exe, _ = fake(tmp_path, {"replay": str(REAL / "0.169.0" / "fail_500.jsonl"), "faults": {"hang_after_line": 4}})
    started = time.monotonic()
    with pytest.raises(TurnFailedError) as info:
        asyncio.run(client(exe).start_thread().run("x"))
    assert time.monotonic() - started < 5
    message = "We’re currently experiencing high demand, which may cause temporary errors."
    assert str(info.value) == message and info.value.payload == {"message": message}
    assert info.value.kind == "turn_failed" and info.value.retryable


def test_run_raises_exit_error_when_the_stream_ends_without_turn_failed(tmp_path: Path) -> None:
    exe, _ = fake(
        tmp_path,
        {"replay": str(AGENT_MESSAGE), "faults": {"exit_code": 2, "stderr": "fake codex: simulated crash\n"}},
    )
    with pytest.raises(ExitError) as info:
        asyncio.run(client(exe).start_thread().run("x"))
    assert str(info.value) == "Codex Exec exited with code 2: fake codex: simulated crash\n"


# --- run_streamed()
# ---------------------------------------------------------------------------------------------


def test_run_streamed_yields_everything_then_raises_on_exit(tmp_path: Path) -> None:
    fixture = REAL / "0.169.0" / "fail_500.jsonl"
    exe, _ = fake(
        tmp_path,
        {"replay": str(fixture), "faults": {"exit_code": 1, "stderr": "Reading prompt from stdin...\n"}},
    )
    seen: list[Any] = []

    async def main() -> None:
        async with client(exe).start_thread().run_streamed("x") as events:
            async for event in events:
                seen.append(event)

    with pytest.raises(ExitError) as info:
        asyncio.run(main())
    assert [ev.serialize(e) for e in seen] == lines_of(fixture)
    assert str(info.value) == "Codex Exec exited with code 1: Reading prompt from stdin...\n"


def test_run_streamed_is_lazy(tmp_path: Path) -> None:
    exe, log = fake(tmp_path, {"replay": str(AGENT_MESSAGE)})
    thread = client(exe).start_thread()

    async def main() -> None:
        stream = thread.run_streamed("x", TurnOptions(output_schema={"type": "object"}))
        await asyncio.sleep(0.2)
        assert read_log(log) == [] and list(Path(tempfile.gettempdir()).iterdir()) == []
        await stream.aclose()

    asyncio.run(main())
    assert read_log(log) == []


def test_run_streamed_early_exit_stops_the_process(tmp_path: Path) -> None:
    exe, _ = fake(tmp_path, {"replay": str(AGENT_MESSAGE), "faults": {"hang_after_line": 1, "ignore_sigterm": True}})
    codex = Codex(CodexOptions(codex_path_override=exe), exec=CodexExec(exe, kill_grace=0.2))

    async def main() -> None:
        async with codex.start_thread().run_streamed("x", {"outputSchema": {"type": "object"}}) as events:
            async for event in events:
                assert isinstance(event, ev.ThreadStartedEvent)
                break

    asyncio.run(main())  # no_leaks checks the process and the schema directory


def test_run_streamed_events_attribute_is_the_ts_shape(tmp_path: Path) -> None:
    exe, _ = fake(tmp_path, {"replay": str(AGENT_MESSAGE)})

    async def main() -> list[str]:
        streamed = client(exe).start_thread().run_streamed("x")
        return [type(e).__name__ async for e in streamed.events]

    assert asyncio.run(main())[0] == "ThreadStartedEvent"


def test_parse_error_has_ts_text_and_line_number(tmp_path: Path) -> None:
    exe, _ = fake(
        tmp_path,
        {
            "replay": str(AGENT_MESSAGE),
            "faults": {"malformed_line": {"after": 2, "text": "this is not json"}},
        },
    )
    with pytest.raises(EventParseError) as info:
        asyncio.run(client(exe).start_thread().run("x"))
    assert str(info.value) == "Failed to parse item: this is not json"
    assert info.value.line_number == 3 and info.value.kind == "parse"


# --- threads, resume, argv end to end
# ---------------------------------------------------------------------------


def test_second_turn_resumes_the_thread(tmp_path: Path) -> None:
    exe, log = fake(
        tmp_path,
        {"replay": str(REAL / "0.169.0" / "resume_turn1.jsonl")},
        {"replay": str(REAL / "0.169.0" / "resume_turn2.jsonl")},
    )
    thread = client(exe).start_thread(ThreadOptions(model="m", thread_source="user"))
    asyncio.run(thread.run("one"))
    first_id = thread.id
    assert first_id is not None
    asyncio.run(thread.run("two"))
    calls = read_log(log)
    assert list(calls[0].argv) == ["exec", "--experimental-json", "--model", "m", "--thread-source", "user"]
    assert list(calls[1].argv) == ["exec", "--experimental-json", "--model", "m", "resume", first_id]
    assert [c.stdin for c in calls] == ["one", "two"]


def test_resume_thread_and_mapping_options(tmp_path: Path) -> None:
    exe, log = fake(tmp_path, {"replay": str(AGENT_MESSAGE)})
    codex = Codex({"codexPathOverride": str(exe), "apiKey": "sk-x"})
    thread = codex.resume_thread("abc-123", {"sandboxMode": "read-only"})
    assert isinstance(thread, Thread) and thread.id == "abc-123"
    asyncio.run(thread.run([{"type": "text", "text": "t"}, {"type": "local_image", "path": "/i.png"}]))
    (call,) = read_log(log)
    assert list(call.argv) == [
        "exec", "--experimental-json", "--sandbox", "read-only", "resume", "abc-123", "--image", "/i.png",
    ]  # fmt: skip
    assert call.env["CODEX_API_KEY"] == "sk-x" and call.env["CODEX_INTERNAL_ORIGINATOR_OVERRIDE"] == "codex_sdk_ts"


@pytest.mark.parametrize("case", TS_CASES, ids=[c["case"] for c in TS_CASES])
def test_thread_reproduces_recorded_ts_invocation(tmp_path: Path, case: dict[str, Any]) -> None:
    recorded = case["calls"][0]
    exe, log = fake(tmp_path, {"replay": str(AGENT_MESSAGE)})
    options = CodexOptions.from_mapping({**case["client_options"], "codexPathOverride": str(exe)})
    codex = Codex(options)
    argv = recorded["argv"]
    if "resume" in argv:
        thread = codex.resume_thread(argv[argv.index("resume") + 1], case["thread_options"])
    else:
        thread = codex.start_thread(case["thread_options"])
    asyncio.run(thread.run(case["input"], TurnOptions(output_schema=case["output_schema"])))
    (call,) = read_log(log)
    ours = list(call.argv)
    if "--output-schema" in ours:
        i = ours.index("--output-schema") + 1
        assert Path(ours[i]).parent.name.startswith("codex-output-schema-")
        ours[i] = argv[i]
    assert ours == argv
    assert call.stdin == recorded["stdin"]
    assert call.output_schema == recorded["output_schema_file"]
    for key in ("CODEX_INTERNAL_ORIGINATOR_OVERRIDE", "CODEX_API_KEY", "OPENAI_BASE_URL"):
        assert call.env.get(key) == recorded["env"][key], key


def test_env_option_replaces_the_environment(tmp_path: Path, no_leaks: str) -> None:
    exe, log = fake(tmp_path, {"replay": str(AGENT_MESSAGE)})
    env = {"PATH": os.environ["PATH"], LEAK_TOKEN_VAR: no_leaks, "CODEX_HOME": "/h"}
    asyncio.run(client(exe, env=env, originator="codex_sdk_py").start_thread().run("x"))
    (call,) = read_log(log)
    assert call.env["CODEX_HOME"] == "/h" and call.env["CODEX_INTERNAL_ORIGINATOR_OVERRIDE"] == "codex_sdk_py"
    assert call.env["OPENAI_API_KEY"] is None


def test_invalid_options_fail_before_spawning(tmp_path: Path) -> None:
    exe, log = fake(tmp_path, {"replay": str(AGENT_MESSAGE)})
    with pytest.raises(InvalidOptionsError, match="^outputSchema must be a plain JSON object$"):
        asyncio.run(client(exe).start_thread().run("x", TurnOptions(output_schema=["not", "an", "object"])))
    with pytest.raises(InvalidOptionsError, match="^Codex config override at a cannot be null$"):
        asyncio.run(client(exe, config={"a": None}).start_thread().run("x", {"outputSchema": {"type": "object"}}))
    with pytest.raises(InvalidOptionsError, match="Unknown TurnOptions"):
        asyncio.run(client(exe).start_thread().run("x", {"bogus": 1}))
    assert read_log(log) == []


def test_abort_signal_through_run(tmp_path: Path) -> None:
    from harness.reference import AbortError

    exe, _ = fake(tmp_path, {"replay": str(AGENT_MESSAGE), "faults": {"hang_after_line": 1}})
    controller = AbortController()

    async def main() -> None:
        asyncio.get_running_loop().call_later(0.2, controller.abort)
        await client(exe).start_thread().run("x", TurnOptions(signal=controller.signal))

    with pytest.raises(AbortError, match="^The operation was aborted$"):
        asyncio.run(main())


# --- sync wrappers
# ----------------------------------------------------------------------------------------------


def test_sync_wrappers(tmp_path: Path) -> None:
    exe, _ = fake(tmp_path, {"replay": str(AGENT_MESSAGE)}, {"replay": str(AGENT_MESSAGE)})
    thread = client(exe).start_thread()
    turn = thread.run_sync("x")
    assert turn.final_response and thread.id is not None
    events = list(thread.run_streamed_sync("y"))
    assert [ev.serialize(e) for e in events] == lines_of(AGENT_MESSAGE)


def test_run_streamed_sync_early_close(tmp_path: Path) -> None:
    exe, _ = fake(tmp_path, {"replay": str(AGENT_MESSAGE), "faults": {"hang_after_line": 2}})
    iterator = client(exe).start_thread().run_streamed_sync("x", {"outputSchema": {"type": "object"}})
    assert isinstance(next(iterator), ev.ThreadStartedEvent)
    iterator.close()  # type: ignore[attr-defined]


def test_usage_backfill_and_turn_failed_payload_keep_ts_semantics(tmp_path: Path) -> None:
    old_usage = [
        {"type": "thread.started", "thread_id": "t"},
        {
            "type": "turn.completed",
            "usage": {"input_tokens": 1, "cached_input_tokens": 0, "output_tokens": 2},
        },
    ]
    failed = [{"type": "turn.failed", "error": {"message": "m", "code": "rate_limit_exceeded", "n": {"a": 1}}}]
    exe, _ = fake(tmp_path, {"events": old_usage}, {"events": old_usage}, {"events": failed})
    codex = client(exe)
    turn = asyncio.run(codex.start_thread().run("x"))
    assert turn.usage is not None and turn.usage.cache_write_input_tokens == 0  # TS: ``??= 0``
    streamed = list(codex.start_thread().run_streamed_sync("x"))
    assert ev.serialize(streamed[-1]) == json.dumps(old_usage[-1], separators=(",", ":"))  # stays exact
    with pytest.raises(TurnFailedError) as info:
        asyncio.run(codex.start_thread().run("x"))
    assert info.value.payload == failed[0]["error"]


def test_codex_without_a_binary_fails_at_construction_like_ts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from harness.reference import BinaryNotFoundError

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BinaryNotFoundError, match="^Unable to locate Codex CLI binaries"):
        Codex()
    with pytest.raises(BinaryNotFoundError, match="^Unable to start Codex CLI at "):
        asyncio.run(Codex({"codexPathOverride": str(tmp_path / "missing")}).start_thread().run("x"))


def test_many_threads_concurrently(tmp_path: Path) -> None:
    exe, log = fake(tmp_path, *({"replay": str(AGENT_MESSAGE)} for _ in range(12)))
    codex = client(exe)

    async def main() -> list[Turn]:
        return await asyncio.gather(
            *(codex.start_thread().run(f"p{i}", {"outputSchema": {"type": "object"}}) for i in range(12))
        )

    turns = asyncio.run(main())
    assert all(t.final_response for t in turns)
    assert sorted(c.stdin or "" for c in read_log(log)) == sorted(f"p{i}" for i in range(12))
