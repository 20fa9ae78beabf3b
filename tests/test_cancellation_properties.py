"""Cancelling a streamed turn at a random point, on both transports (Hypothesis).

Before the first event, between any two events (by ``break`` or by cancelling the consuming task), and while an
approval is pending: afterwards no process remains (every child carries a per-example leak token, the
``no_leaks`` pattern), the events seen are a prefix of the recorded turn, and a turn that was never iterated
never started anything (exec: no codex process; app-server: no ``turn/start``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.fake import read_log
from harness.fake.appserver import read_report
from harness.fake.testing import LEAK_TOKEN_VAR, token_leaks
from harness.reference import Codex, CodexOptions, ThreadOptions
from harness.reference.appserver import AppServerClient
from harness.reference.events import serialize
from harness.scenario import load_scenario
from harness.scenario.transports import AppServerTransport, ExecTransport
from harness.scenario.transports.appserver import thread_params

ROOT = Path(__file__).resolve().parent.parent
EXEC = load_scenario(ROOT / "scenarios" / "items" / "shell_ok_streamed.yaml")
APPSERVER = load_scenario(ROOT / "scenarios" / "appserver" / "cmd_accept_streamed.yaml")
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _golden_events(scenario: Any) -> list[Any]:
    events: list[Any] = json.loads((ROOT / "golden" / f"{scenario.id}.json").read_text("utf-8"))["observation"][
        "events"
    ]
    return events


EXEC_EVENTS = [json.loads(e)["type"] for e in _golden_events(EXEC)]
APPSERVER_EVENTS = [e["method"] for e in _golden_events(APPSERVER)]


def _no_leaks(token: str) -> None:
    deadline = time.monotonic() + 2.0
    while (leaked := token_leaks(token)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert leaked == []


async def _consume(stream: AsyncIterator[Any], stop_after: int, how: str, seen: list[Any], key: Any) -> None:
    """Take events until ``stop_after`` were seen, then stop by ``break`` or by having the task cancelled."""

    async def take() -> None:
        async for event in stream:
            seen.append(key(event))
            if len(seen) >= stop_after:
                if how == "break":
                    return
                await asyncio.Event().wait()  # parked: the caller cancels this task

    task = asyncio.ensure_future(take())
    if how == "cancel":
        while len(seen) < stop_after and not task.done():
            await asyncio.sleep(0.001)
        task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise


@PROPERTY
@given(stop_after=st.integers(0, len(EXEC_EVENTS) + 1), how=st.sampled_from(["break", "cancel"]))
def test_exec_stream_cancelled_anywhere(tmp_path_factory: pytest.TempPathFactory, stop_after: int, how: str) -> None:
    token = uuid.uuid4().hex
    workdir = tmp_path_factory.mktemp("exec-cancel")
    prepared = ExecTransport().prepare(EXEC, workdir)
    env = {**prepared.passed_env, LEAK_TOKEN_VAR: token}
    codex = Codex(CodexOptions(codex_path_override=str(prepared.fake), env=env))
    seen: list[str] = []

    async def main() -> None:
        thread = codex.start_thread(ThreadOptions.from_mapping(dict(EXEC.thread_options)))
        async with asyncio.timeout(20):  # a safeguard against a hang, not a timing assertion
            async with thread.run_streamed(EXEC.turns[0].sdk_input()) as stream:
                if stop_after:
                    await _consume(stream, stop_after, how, seen, lambda e: json.loads(serialize(e))["type"])
        thread.close()

    asyncio.run(main())
    _no_leaks(token)
    assert seen == EXEC_EVENTS[: len(seen)]
    assert len(seen) == min(stop_after, len(EXEC_EVENTS))
    invocations = list(read_log(prepared.log)) if prepared.log.exists() else []
    assert len(invocations) == (1 if stop_after else 0)


def _blocking_handler(pending: asyncio.Event) -> Any:
    async def handler(method: str, params: dict[str, Any]) -> Any:
        pending.set()
        await asyncio.Event().wait()  # a human who never answers
        return None

    return handler


async def _accept(method: str, params: dict[str, Any]) -> Any:
    return {"decision": "accept"}


@PROPERTY
@given(
    stop_after=st.integers(0, len(APPSERVER_EVENTS) + 1),
    how=st.sampled_from(["break", "cancel", "pending_approval"]),
)
def test_app_server_stream_cancelled_anywhere(
    tmp_path_factory: pytest.TempPathFactory, stop_after: int, how: str
) -> None:
    token = uuid.uuid4().hex
    workdir = tmp_path_factory.mktemp("appserver-cancel")
    prepared = AppServerTransport().prepare(APPSERVER, workdir)
    env = {**prepared.passed_env, LEAK_TOKEN_VAR: token}
    pending = asyncio.Event()
    seen: list[str] = []

    async def main() -> None:
        handler = _blocking_handler(pending) if how == "pending_approval" else _accept
        async with asyncio.timeout(20):
            async with AppServerClient.spawn(
                prepared.fake, cwd=workdir, env=env, handler=handler, close_grace=0.5, kill_grace=0.5
            ) as client:
                await client.initialize()
                thread = await client.thread_start(thread_params(APPSERVER, workdir))
                async with thread.run_streamed(APPSERVER.turns[0].sdk_input()) as stream:
                    if how == "pending_approval":
                        if stop_after:
                            consumer = asyncio.ensure_future(_consume(stream, 10**6, "break", seen, lambda n: n.method))
                            await pending.wait()
                            consumer.cancel()
                            await asyncio.gather(consumer, return_exceptions=True)
                    elif stop_after:
                        await _consume(stream, stop_after, how, seen, lambda n: n.method)

    asyncio.run(main())
    _no_leaks(token)
    assert seen == APPSERVER_EVENTS[: len(seen)]
    if how != "pending_approval":
        assert len(seen) == min(stop_after, len(APPSERVER_EVENTS))
    methods = [m["msg"].get("method") for m in read_report(prepared.report).messages if m["dir"] == "c2s"]
    assert ("turn/start" in methods) == bool(stop_after)
