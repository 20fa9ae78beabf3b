"""The real subprocess path: ``AppServerClient.spawn`` against a small stdlib Python script that speaks the
app-server protocol (the fake app-server of ``harness.fake.appserver`` is tested on its own). Every test runs
under ``no_leaks``: no process may survive, whatever the server did."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.reference.appserver import (
    AppServerClient,
    AppServerExitedError,
    AppServerProtocolError,
    AppServerTimeoutError,
    NoReply,
    build_app_server_argv,
)
from harness.reference.errors import BinaryNotFoundError

SCRIPT = r"""
import json, os, signal, sys, time

args = sys.argv[1:]
config = {}
for i, a in enumerate(args):
    if a == "--config":
        k, v = args[i + 1].split("=", 1)
        config[k] = json.loads(v)
mode = config.get("test_mode", "ok")
log = config.get("log")
assert args[:3] == ["app-server", "--listen", "stdio://"], args

def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()

def note(method, params):
    out({"method": method, "params": params, "emittedAtMs": int(time.time() * 1000)})

if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

next_server_id = 0
turn = 0
pending = {}  # server request id -> turn id
for line in sys.stdin:
    msg = json.loads(line)
    if log:
        with open(log, "a") as fh:
            fh.write(json.dumps(msg) + "\n")
    method, rid = msg.get("method"), msg.get("id")
    if mode in ("never_init", "stubborn"):
        continue
    if method == "initialize":
        if mode == "garbage":
            sys.stdout.write("panicked at src/main.rs: {not json\n")
            sys.stdout.flush()
            continue
        out({"id": rid, "result": {"userAgent": json.dumps(args), "platformOs": "linux"}})
        note("configWarning", {"summary": "no bubblewrap", "details": None})
    elif method == "thread/start":
        thread = {"id": "T1", "status": {"type": "idle"}, "cwd": msg["params"].get("cwd")}
        out({"id": rid, "result": {"thread": thread, "model": "gpt-5.5"}})
        note("thread/started", {"thread": thread})
    elif method == "turn/start":
        turn += 1
        tid = "U%d" % turn
        out({"id": rid, "result": {"turn": {"id": tid, "items": [], "status": "inProgress", "error": None}}})
        note("turn/started", {"threadId": "T1", "turn": {"id": tid, "status": "inProgress"}})
        user = {"type": "userMessage", "id": "u%d" % turn, "content": msg["params"]["input"]}
        note("item/completed", {"item": user, "threadId": "T1", "turnId": tid})
        if mode == "exit_mid_turn":
            sys.stderr.write("fatal: model stream crashed OPENAI_API_KEY=sk-abcdefghijklmnop\n")
            sys.stderr.flush()
            sys.exit(3)
        waiting = {"type": "active", "activeFlags": ["waitingOnApproval"]}
        note("thread/status/changed", {"threadId": "T1", "status": waiting})
        pending[next_server_id] = tid
        out({"id": next_server_id, "method": "item/commandExecution/requestApproval",
             "params": {"threadId": "T1", "turnId": tid, "itemId": "c%d" % turn, "command": "touch x"}})
        next_server_id += 1
    elif method == "turn/interrupt":
        tid = msg["params"]["turnId"]
        out({"id": rid, "result": {}})
        note("thread/status/changed", {"threadId": "T1", "status": {"type": "idle"}})
        done = {"id": tid, "items": [], "status": "interrupted", "error": None}
        note("turn/completed", {"threadId": "T1", "turn": done})
        for sid, owner in list(pending.items()):
            if owner == tid:
                del pending[sid]
                note("serverRequest/resolved", {"threadId": "T1", "requestId": sid})
    elif method is None and rid in pending:
        tid = pending.pop(rid)
        decision = msg.get("result", {}).get("decision")
        note("serverRequest/resolved", {"threadId": "T1", "requestId": rid})
        agent = {"type": "agentMessage", "id": "m%d" % turn, "text": "decision was %s" % decision}
        note("item/completed", {"item": agent, "threadId": "T1", "turnId": tid})
        usage = {"inputTokens": 10 * turn, "outputTokens": 5 * turn, "cachedInputTokens": 0, "totalTokens": 15 * turn}
        tokens = {"total": usage, "last": usage}
        note("thread/tokenUsage/updated", {"threadId": "T1", "turnId": tid, "tokenUsage": tokens})
        done = {"id": tid, "items": [agent], "status": "completed", "error": None}
        note("turn/completed", {"threadId": "T1", "turn": done})
if mode == "stubborn":
    while True:
        time.sleep(1)
"""


@pytest.fixture
def fake_codex(tmp_path: Path) -> Path:
    path = tmp_path / "codex"
    path.write_text(f"#!{sys.executable}\n{SCRIPT}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


async def accept(method: str, params: dict[str, Any]) -> Any:
    return {"decision": "accept"}


def spawn(codex: Path, mode: str, **options: Any) -> Any:
    overrides = {"test_mode": mode, **options.pop("config", {})}
    return AppServerClient.spawn(codex, config_overrides=overrides, close_grace=0.5, kill_grace=0.5, **options)


def test_full_session_over_a_subprocess(fake_codex: Path, tmp_path: Path, no_leaks: str) -> None:
    async def main() -> Any:
        async with asyncio.timeout(20), spawn(fake_codex, "ok", handler=accept, cwd=tmp_path) as client:
            assert client.pid is not None
            init = await client.initialize()
            thread = await client.thread_start({"cwd": str(tmp_path), "approvalPolicy": "untrusted"})
            first = await thread.run("touch x")
            second = await thread.run([{"type": "text", "text": "again"}, {"type": "localImage", "path": tmp_path}])
            return init, thread, first, second

    init, thread, first, second = asyncio.run(main())
    assert json.loads(init.user_agent) == ["app-server", "--listen", "stdio://", "--config", 'test_mode="ok"']
    assert thread.id == "T1" and thread.info is not None and thread.info.model == "gpt-5.5"
    assert (first.status, first.final_response) == ("completed", "decision was accept")
    assert [i.type for i in first.items] == ["userMessage", "agentMessage"]
    assert second.items[0].content[1] == {"type": "localImage", "path": str(tmp_path)}
    # usage: the thread's cumulative total, and what each turn alone consumed (never double counted)
    assert second.cumulative_usage is not None and second.cumulative_usage.input_tokens == 20
    assert first.turn_usage is not None and second.turn_usage is not None
    assert (first.turn_usage.input_tokens, second.turn_usage.input_tokens) == (10, 10)


def test_cancelling_a_run_interrupts_the_turn_and_keeps_the_connection(
    fake_codex: Path, tmp_path: Path, no_leaks: str
) -> None:
    log = tmp_path / "server.log"

    async def main() -> Any:
        asked = asyncio.Event()
        calls: list[str] = []

        async def handler(method: str, params: dict[str, Any]) -> Any:
            calls.append(method)
            if len(calls) == 1:
                asked.set()
                return NoReply  # a human who never decides
            return {"decision": "accept"}

        async with asyncio.timeout(20), spawn(fake_codex, "ok", handler=handler, config={"log": str(log)}) as client:
            await client.initialize()
            thread = await client.thread_start({})
            task = asyncio.ensure_future(thread.run("wait for me"))
            await asked.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert thread.active_turn_id is None
            return await thread.run("now accept")

    turn = asyncio.run(main())
    assert turn.status == "completed" and turn.final_response == "decision was accept"
    sent = [json.loads(line) for line in log.read_text().splitlines()]
    methods = [m.get("method") for m in sent]
    assert methods.count("turn/interrupt") == 1
    interrupt = sent[methods.index("turn/interrupt")]
    assert interrupt["params"] == {"threadId": "T1", "turnId": "U1"}
    assert methods.index("turn/interrupt") < len(methods) - 1 - methods[::-1].index("turn/start")


def test_breaking_out_of_run_streamed_interrupts(fake_codex: Path, tmp_path: Path, no_leaks: str) -> None:
    log = tmp_path / "server.log"

    async def never(method: str, params: dict[str, Any]) -> Any:
        return NoReply

    async def main() -> list[str]:
        seen: list[str] = []
        async with asyncio.timeout(20), spawn(fake_codex, "ok", handler=never, config={"log": str(log)}) as client:
            await client.initialize()
            thread = await client.thread_start({})
            async with thread.run_streamed("hi") as stream:
                async for event in stream:
                    seen.append(event.method)
                    if event.method == "thread/status/changed":
                        break
            assert stream.turn_id == "U1"
        return seen

    seen = asyncio.run(main())
    assert seen == ["turn/started", "item/completed", "thread/status/changed"]
    methods = [json.loads(line).get("method") for line in log.read_text().splitlines()]
    assert methods[-1] == "turn/interrupt"


def test_server_exiting_mid_turn_is_appserver_exited(fake_codex: Path, no_leaks: str) -> None:
    async def main() -> AppServerExitedError:
        async with asyncio.timeout(20), spawn(fake_codex, "exit_mid_turn", handler=accept) as client:
            await client.initialize()
            thread = await client.thread_start({})
            with pytest.raises(AppServerExitedError) as info:
                await thread.run("crash")
            return info.value

    error = asyncio.run(main())
    assert error.kind == "appserver_exited" and error.exit_code == 3
    assert "model stream crashed" in error.stderr_tail and "model stream crashed" in error.message
    assert "sk-abcdefghijklmnop" not in error.message  # secrets never reach a message
    assert error.to_dict()["details"] == {"exit_code": 3}


def test_never_answering_initialize_is_appserver_timeout(fake_codex: Path, no_leaks: str) -> None:
    async def main() -> AppServerTimeoutError:
        async with asyncio.timeout(20), spawn(fake_codex, "never_init", request_timeout=0.3) as client:
            with pytest.raises(AppServerTimeoutError) as info:
                await client.initialize()
            return info.value

    error = asyncio.run(main())
    assert error.kind == "appserver_timeout" and error.to_dict()["details"] == {
        "retryable": True,
        "method": "initialize",
        "seconds": 0.3,
    }


def test_garbage_frame_is_appserver_protocol(fake_codex: Path, no_leaks: str) -> None:
    async def main() -> AppServerProtocolError:
        async with asyncio.timeout(20), spawn(fake_codex, "garbage") as client:
            with pytest.raises(AppServerProtocolError) as info:
                await client.initialize()
            return info.value

    error = asyncio.run(main())
    assert error.kind == "appserver_protocol" and "panicked at src/main.rs" in error.message


def test_a_server_ignoring_eof_and_sigterm_is_killed(fake_codex: Path, no_leaks: str) -> None:
    async def main() -> int | None:
        client = await spawn(fake_codex, "stubborn")
        try:
            await client.connection.notify("initialized")
            await asyncio.sleep(0.2)  # let the script install its SIGTERM handler
        finally:
            await client.close()
        transport: Any = client.connection.transport
        return transport.process.returncode  # type: ignore[no-any-return]

    assert asyncio.run(main()) == -9


def test_missing_binary_is_binary_missing(tmp_path: Path, no_leaks: str) -> None:
    async def main() -> None:
        async with AppServerClient.spawn(tmp_path / "no-such-codex"):
            pass

    with pytest.raises(BinaryNotFoundError) as info:
        asyncio.run(main())
    assert info.value.kind == "binary_missing"


def test_argv_has_one_config_flag_per_override() -> None:
    argv = build_app_server_argv(Path("/opt/codex"), config_overrides={"a": {"b": 1}, "c": "x"})
    assert argv == ["/opt/codex", "app-server", "--listen", "stdio://", "--config", "a.b=1", "--config", 'c="x"']
    assert build_app_server_argv("codex") == ["codex", "app-server", "--listen", "stdio://"]
    assert os.fspath(Path("/opt/codex")) == argv[0]


def test_interrupt_ends_the_turn_as_interrupted(fake_codex: Path, no_leaks: str) -> None:
    async def main() -> Any:
        asked = asyncio.Event()

        async def handler(method: str, params: dict[str, Any]) -> Any:
            asked.set()
            return NoReply

        async with asyncio.timeout(20), spawn(fake_codex, "ok", handler=handler) as client:
            await client.initialize()
            thread = await client.thread_start({})
            assert await thread.interrupt() is False  # no turn yet
            task = asyncio.ensure_future(thread.run("hang"))
            await asked.wait()
            assert await thread.interrupt() is True
            return await task

    turn = asyncio.run(main())
    assert turn.status == "interrupted" and turn.final_response == ""
    assert [i.type for i in turn.items] == ["userMessage"]
