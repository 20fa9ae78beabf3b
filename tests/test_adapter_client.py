"""AdapterClient against misbehaving fake adapters (tests/fauxdapters/): every misbehaviour is an ``Errored``
result, the adapter is restarted with ``start`` replayed, and nothing is left running afterwards.

The fakes are steered by the case id (see tests/fauxdapters/fauxdapter.py); each test passes a unique marker
on the fake's command line, and the ``faux`` fixture checks that no process carrying it survives the test.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.adapters import (
    AdapterClient,
    BlockingAdapterClient,
    Errored,
    Observed,
    Skipped,
    in_process_connection,
    subprocess_connection,
)
from harness.errors import AdapterError
from harness.fake.testing import wait_no_leftovers

FAUX = Path(__file__).parent / "fauxdapters"


def case(case_id: str, *, mode: str = "run", **turn: Any) -> dict[str, Any]:
    return {
        "id": case_id,
        "turns": [{"input": "hi", "mode": mode, "turn_options": {}, **turn}],
        "codex_options": {},
        "thread_options": {},
        "resume_thread_id": None,
    }


class Faux:
    """Builds clients over tests/fauxdapters/fauxdapter.py with a per-test marker and message log."""

    def __init__(self, tmp_path: Path) -> None:
        self.marker = f"faux-{uuid.uuid4().hex}"
        self.log = tmp_path / "messages.jsonl"
        self.state = tmp_path / "state"
        self.tmp_path = tmp_path

    def argv(self, *options: str) -> list[str]:
        return [
            sys.executable,
            str(FAUX / "fauxdapter.py"),
            f"--log={self.log}",
            f"--state={self.state}",
            *options,
            self.marker,
        ]

    def client(self, *options: str, read_timeout: float = 10.0, **kwargs: Any) -> AdapterClient:
        connect = functools.partial(subprocess_connection, self.argv(*options), grace=0.5)
        return AdapterClient(connect, name="faux", read_timeout=read_timeout, start_timeout=10.0, **kwargs)

    def messages(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def commands(self) -> list[str]:
        return [m["cmd"] if m["cmd"] != "run" else f"run:{m['case']['id']}" for m in self.messages()]

    async def run(self, client: AdapterClient, case_id: str, **kwargs: Any) -> Any:
        return await client.run(case(case_id), codex_path="/bin/false", workdir=str(self.tmp_path), **kwargs)


@pytest.fixture
def faux(tmp_path: Path) -> Iterator[Faux]:
    helper = Faux(tmp_path)
    yield helper
    assert wait_no_leftovers(helper.marker, timeout=5.0) == []


def arun(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coro

    return asyncio.run(main())


# ------------------------------------------------------------------------------------------ happy path


def test_start_run_stop(faux: Faux) -> None:
    async def main() -> None:
        async with faux.client() as client:
            assert client.implementation.name == "fauxdapter"
            assert client.implementation.capabilities == ("run", "streamed", "resume")
            first = await faux.run(client, "ok")
            second = await faux.run(client, "split")
            assert isinstance(first, Observed) and first.observation["result"]["final_response"] == "ok"
            assert isinstance(second, Observed)
            assert (first.seq, second.seq) == (1, 2)
            assert client.restarts == 0
        assert client.stop_problem is None

    arun(main())
    assert faux.commands() == ["start", "run:ok", "run:split", "stop"]


def test_run_message_is_what_the_docs_say(faux: Faux, tmp_path: Path) -> None:
    async def main() -> None:
        async with faux.client() as client:
            await client.run(case("ok"), codex_path="/abs/codex", workdir=tmp_path)

    arun(main())
    start, run, stop = faux.messages()
    assert start == {"cmd": "start", "version": 1}
    assert run == {
        "cmd": "run",
        "seq": 1,
        "case": case("ok"),
        "codex_path": "/abs/codex",
        "workdir": str(tmp_path),
    }
    assert stop == {"cmd": "stop"}


def test_adapter_reported_results_keep_the_process(faux: Faux) -> None:
    async def main() -> None:
        async with faux.client() as client:
            errored = await faux.run(client, "errored")
            skipped = await faux.run(client, "skip")
            ok = await faux.run(client, "ok")
            assert errored == Errored(
                seq=1, message="adapter bug", cause="reported", traceback="Traceback: fake", adapter_stderr=""
            )
            assert skipped == Skipped(seq=2, reason="known bug", issue_url="https://example.invalid/1")
            assert isinstance(ok, Observed)
            assert client.restarts == 0

    arun(main())
    assert faux.commands().count("start") == 1


# ------------------------------------------------------------------------------------------ stderr


def test_stderr_is_captured_data_attached_to_its_case(faux: Faux) -> None:
    async def main() -> None:
        async with faux.client() as client:
            noisy = await faux.run(client, "stderr:DeprecationWarning: old API")
            quiet = await faux.run(client, "ok")
            assert isinstance(noisy, Observed)
            assert noisy.adapter_stderr == "DeprecationWarning: old API\n"
            assert isinstance(quiet, Observed) and quiet.adapter_stderr == ""
            assert client.restarts == 0

    arun(main())


def test_stderr_of_a_crash_is_attached(faux: Faux) -> None:
    async def main() -> None:
        async with faux.client() as client:
            result = await faux.run(client, "stderr:about to die+crash")
            assert isinstance(result, Errored) and result.cause == "crash"
            assert "about to die" in result.adapter_stderr
            assert "exit status 3" in result.message

    arun(main())


# ------------------------------------------------------------------------------------------ misbehaviour


@pytest.mark.parametrize(
    ("case_id", "cause", "message"),
    [
        ("crash", "crash", "closed stdout without replying (exit status 3)"),
        ("crash_mid", "crash", "stopped mid-reply after 10 bytes"),
        ("garbage", "garbage", "reply is not a JSON line: b'Traceback? no: just garbage'"),
        ("noise", "garbage", "reply is not a JSON line: b'a stray print from the SDK'"),
        ("wrong_seq", "wrong_seq", "mismatched seq: expected 1, got 1001"),
        ("invalid", "invalid_reply", "reply does not match run-reply.json"),
        ("hang", "timeout", "no reply within 0.5 s"),
        ("hang_hard", "timeout", "no reply within 0.5 s"),
        ("orphan", "timeout", "no reply within 0.5 s"),
    ],
)
def test_misbehaviour_is_errored_then_restart_and_replay(faux: Faux, case_id: str, cause: str, message: str) -> None:
    async def main() -> None:
        async with faux.client(read_timeout=0.5) as client:
            bad = await faux.run(client, case_id)
            assert isinstance(bad, Errored), bad
            assert bad.cause == cause
            assert message in bad.message
            good = await faux.run(client, "ok", timeout=10.0)
            assert isinstance(good, Observed), good
            assert good.seq == 2
            assert client.restarts == 1

    started = time.monotonic()
    arun(main())
    assert time.monotonic() - started < 8
    # start replayed on the fresh process before the next case
    assert faux.commands() == ["start", f"run:{case_id}", "start", "run:ok", "stop"]


def test_read_timeout_per_request(faux: Faux) -> None:
    async def main() -> None:
        async with faux.client(read_timeout=30.0) as client:
            started = time.monotonic()
            result = await faux.run(client, "hang", timeout=0.3)
            assert isinstance(result, Errored) and result.cause == "timeout"
            assert time.monotonic() - started < 3

    arun(main())


def test_many_cases_one_process(faux: Faux) -> None:
    async def main() -> None:
        async with faux.client() as client:
            for _ in range(20):
                assert isinstance(await faux.run(client, "ok"), Observed)

    arun(main())
    assert faux.commands().count("start") == 1


# ------------------------------------------------------------------------------------------ start-up


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("--start=crash", r"start: the adapter closed stdout without replying \(exit status 1\); its stderr: BOOM!"),
        ("--start=garbage", r"bad reply to start: not a JSON line"),
        ("--start=invalid", r"bad reply to start: does not match start-reply.json: implementation: 'version'"),
        ("--start=hang", r"start: no reply within 0.5 s"),
    ],
)
def test_an_adapter_that_cannot_start_raises_adapter_error(faux: Faux, option: str, expected: str) -> None:
    client = faux.client(option)
    client.start_timeout = 0.5
    with pytest.raises(AdapterError, match=expected):
        arun(client.start())


def test_shell_fail_on_start(tmp_path: Path) -> None:
    connect = functools.partial(subprocess_connection, [str(FAUX / "fail_on_start.sh")])
    with pytest.raises(AdapterError, match="cannot be started: start: .*exit status 1.*BOOM!"):
        arun(AdapterClient(connect, name="fail_on_start").start())


@pytest.mark.parametrize("argv", [[str(FAUX / "silent_exit.sh")], ["/nonexistent/adapter"]])
def test_missing_or_silent_adapter_raises(argv: list[str]) -> None:
    connect = functools.partial(subprocess_connection, argv)
    with pytest.raises(AdapterError, match="cannot be started"):
        arun(AdapterClient(connect).start())


def test_restart_failures_are_errored_then_adapter_error(faux: Faux) -> None:
    async def main() -> None:
        client = faux.client("--start=crash-after-first", max_restart_failures=2)
        async with client:
            crashed = await faux.run(client, "crash")
            assert isinstance(crashed, Errored) and crashed.cause == "crash"
            again = await faux.run(client, "ok")
            assert isinstance(again, Errored) and again.cause == "restart_failed"
            assert "BOOM!" in again.adapter_stderr
            with pytest.raises(AdapterError, match="could not be restarted \\(2 attempts\\)"):
                await faux.run(client, "ok")

    arun(main())


# ------------------------------------------------------------------------------------------ capabilities


def test_cases_needing_unannounced_capabilities_are_skipped_unsent(faux: Faux) -> None:
    async def main() -> None:
        async with faux.client("--capabilities=run") as client:
            skipped = await client.run(case("ok", mode="streamed"), codex_path="/x", workdir="/tmp")
            assert skipped == Skipped(
                seq=1, reason="fauxdapter adapter lacks capability: streamed", issue_url=None, by="harness"
            )
            image = case("ok", turn_options={"output_schema": {"type": "object"}})
            skipped = await client.run(image, codex_path="/x", workdir="/tmp")
            assert isinstance(skipped, Skipped) and "output_schema" in skipped.reason

    arun(main())
    assert faux.commands() == ["start", "stop"]


def test_invalid_case_is_a_harness_error(faux: Faux) -> None:
    async def main() -> None:
        async with faux.client() as client:
            bad = case("ok")
            bad["codex_options"] = {"codex_path_override": "/x"}
            with pytest.raises(AdapterError, match="not a valid run request"):
                await client.run(bad, codex_path="/x", workdir="/tmp")

    arun(main())


# ------------------------------------------------------------------------------------------ in-process


def test_in_process_connection_failures_are_data() -> None:
    calls: list[str] = []

    async def handler(message: dict[str, Any]) -> dict[str, Any]:
        calls.append(message["cmd"])
        if message["cmd"] == "start":
            return {
                "implementation": {
                    "name": "mini",
                    "version": "1",
                    "language": "python",
                    "sdk": "mini",
                    "capabilities": ["run"],
                }
            }
        if message["cmd"] == "stop":
            return {"ok": True}
        behaviour = message["case"]["id"]
        if behaviour == "raise":
            raise RuntimeError("in-process adapter bug")
        if behaviour == "hang":
            await asyncio.sleep(60)
        if behaviour == "unjsonable":
            return {"seq": message["seq"], "observation": {"events": [object()]}}
        return {
            "seq": message["seq"],
            "observation": {"events": [], "result": None, "error": None, "earlier_turns": []},
        }

    connect: Callable[[], Any] = functools.partial(in_process_connection, handler)

    async def main() -> None:
        async with AdapterClient(connect, read_timeout=0.2) as client:
            raised = await client.run(case("raise"), codex_path="/x", workdir="/tmp")
            assert isinstance(raised, Errored) and raised.cause == "crash"
            assert "RuntimeError: in-process adapter bug" in raised.message
            assert "Traceback" in raised.adapter_stderr
            hung = await client.run(case("hang"), codex_path="/x", workdir="/tmp")
            assert isinstance(hung, Errored) and hung.cause == "timeout"
            garbage = await client.run(case("unjsonable"), codex_path="/x", workdir="/tmp")
            assert isinstance(garbage, Errored) and garbage.cause == "garbage"
            ok = await client.run(case("ok"), codex_path="/x", workdir="/tmp")
            assert isinstance(ok, Observed)
            assert client.restarts == 3

    arun(main())
    assert calls == ["start", "run", "start", "run", "start", "run", "start", "run", "stop"]


# ------------------------------------------------------------------------------------------ blocking


def test_blocking_client_keeps_one_process_across_calls(faux: Faux) -> None:
    connect = functools.partial(subprocess_connection, faux.argv(), grace=0.5)
    with BlockingAdapterClient(connect, read_timeout=0.5) as blocking:
        assert blocking.client.implementation.name == "fauxdapter"
        results = [blocking.run(case(c), codex_path="/x", workdir="/tmp") for c in ("ok", "crash", "ok")]
    assert [type(r).__name__ for r in results] == ["Observed", "Errored", "Observed"]
    assert faux.commands() == ["start", "run:ok", "run:crash", "start", "run:ok", "stop"]


def test_blocking_client_start_failure_cleans_up(faux: Faux) -> None:
    connect = functools.partial(subprocess_connection, faux.argv("--start=crash"), grace=0.5)
    with pytest.raises(AdapterError), BlockingAdapterClient(connect):
        pass
