"""``walk_away`` in the exec peer adapters (issue #17): a user who stops consuming a streamed turn after N events
(``break``, ``raise`` caught outside the loop, ``drop`` + garbage collection) -- does the SDK leave codex running?

Two parts:

- the walk-away consumers of ``harness.adapters._common`` against a fake event stream (an async generator that
  records whether it was closed), in process: what each ``how`` does to the stream, and the option's validation;
- every installed peer adapter driven over the protocol (``subprocess_connection``) with a fake codex that
  prints ``thread.started``, ``turn.started``, an item, then hangs; ``walk_away`` with N=2 for each ``how``. The
  reply must be an observation with exactly the 2 events, ``result`` and ``error`` null. Whether the fake is
  still alive 1 s later is *measured*, printed as a table (SDK x how -> leaked?), not asserted: it is the SDK's
  behaviour, the data issue #17 is about. The fakes are killed afterwards (``no_leaks``).

The Node adapters are started with ``--expose-gc`` so that ``drop`` really forces a collection (the change
proposed for ``harness.adapters.install._node_adapter``); the test checks the adapter did not have to note a
missing ``global.gc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.adapters import _common, subprocess_connection
from harness.adapters.connection import SubprocessConnection
from harness.adapters.install import PEERS, InstalledAdapter, find_installed
from harness.fake import Plan, build_fake
from harness.fake.testing import leftover_processes

HOWS = ("break", "raise", "drop")
AFTER = 2
GRACE_S = 1.0
REPLY_TIMEOUT = 60.0
GC_NOTE = "global.gc is not exposed"

# --------------------------------------------------------------------------------------------------------------
# The consumers, in process


class FakeStream:
    """A StreamedTurn-like object: ``events`` is an async generator of ``count`` events whose ``finally``
    records that it was closed (what an SDK's cleanup -- killing codex -- hangs on)."""

    def __init__(self, count: int) -> None:
        self.closed: list[str] = []
        self.events = self._events(count)

    async def _events(self, count: int) -> AsyncIterator[dict[str, Any]]:
        try:
            for index in range(count):
                yield {"type": "event", "index": index}
        finally:
            self.closed.append("closed")


def _consume(how: str | None, count: int, after: int) -> tuple[_common.Consumed, list[Any], list[str]]:
    """Run a consumer on a fresh loop; return what it returned, the events it recorded, the stream's close log
    (read after the loop got one more turn, as the adapter's live loop would give it)."""
    closed: list[str] = []
    sink: list[Any] = []

    async def open_stream() -> FakeStream:
        stream = FakeStream(count)
        nonlocal closed
        closed = stream.closed
        return stream

    async def main() -> _common.Consumed:
        walk_away = None if how is None else _common.WalkAway(how, after)
        consumed = await _common.consume_events(open_stream, lambda s: s.events, sink, walk_away)
        await asyncio.sleep(0)
        return consumed

    with asyncio.Runner() as runner:
        consumed = runner.run(main())
        closed_before_shutdown = list(closed)
    return consumed, sink, closed_before_shutdown


def test_common_all_is_sorted_and_resolves() -> None:
    assert _common.__all__ == sorted(_common.__all__)
    for name in _common.__all__:
        assert hasattr(_common, name), name
    assert set(_common.CONSUMERS) == {None, *_common.WALK_AWAY_HOWS}


def test_reading_everything_is_not_walking_away() -> None:
    consumed, sink, closed = _consume(None, 4, 0)
    assert consumed == _common.Consumed(walked_away=False, kept=None)
    assert [event["index"] for event in sink] == [0, 1, 2, 3]
    assert closed == ["closed"]


@pytest.mark.parametrize("how", ["break", "raise"])
def test_break_and_raise_keep_the_stream_unclosed(how: str) -> None:
    consumed, sink, closed = _consume(how, 5, 2)
    assert consumed.walked_away is True
    assert isinstance(consumed.kept, FakeStream)  # what the user still holds
    assert [event["index"] for event in sink] == [0, 1]
    assert closed == []  # Python closes nothing on break / a raise out of `async for`


def test_drop_releases_the_stream_and_lets_the_finalizer_close_it() -> None:
    consumed, sink, closed = _consume("drop", 5, 2)
    assert consumed == _common.Consumed(walked_away=True, kept=None)
    assert [event["index"] for event in sink] == [0, 1]
    # gc + one loop turn: asyncio's async-generator finalizer hook ran aclose() as a task.
    assert closed == ["closed"]


@pytest.mark.parametrize("how", HOWS)
def test_a_stream_that_ends_first_is_not_walked_away(how: str) -> None:
    consumed, sink, _ = _consume(how, 1, 3)
    assert consumed.walked_away is False
    assert consumed.kept is None
    assert len(sink) == 1


@pytest.mark.parametrize(
    ("turn", "message"),
    [
        ({"mode": "streamed", "walk_away": {"how": "close", "after_events": 1}}, "walk_away.how"),
        ({"mode": "streamed", "walk_away": {"how": "drop", "after_events": 0}}, "after_events"),
        ({"mode": "streamed", "walk_away": {"how": "drop", "after_events": True}}, "after_events"),
        ({"mode": "streamed", "walk_away": ["drop"]}, "must be an object"),
        ({"mode": "run", "walk_away": {"how": "break", "after_events": 1}}, "mode: streamed"),
    ],
)
def test_walk_away_of_rejects_malformed_options(turn: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _common.walk_away_of(turn)


def test_walk_away_of_reads_the_option() -> None:
    turn = {"mode": "streamed", "walk_away": {"how": "raise", "after_events": 3}}
    assert _common.walk_away_of(turn) == _common.WalkAway("raise", 3)
    assert _common.walk_away_of({"mode": "streamed"}) is None


class _Driver(_common.TsShapedDriver):
    """A TS-shaped driver over :class:`FakeStream` threads, to run :func:`_common.run_case` in process."""

    name = sdk = distribution = "fake"
    capabilities: tuple[str, ...] = ("streamed", "walk_away")

    def __init__(self) -> None:
        self.streams: list[FakeStream] = []

    def check(self, case: Mapping[str, Any]) -> None:
        return None

    def open_codex(self, case: Mapping[str, Any], codex_path: str) -> Any:
        return None

    def start_thread(self, codex: Any, case: Mapping[str, Any]) -> Any:
        driver = self

        class Thread:
            id = "t-1"

            async def run_streamed(self, input: Any, options: Any) -> FakeStream:
                stream = FakeStream(4)
                driver.streams.append(stream)
                return stream

        return Thread()

    def resume_thread(self, codex: Any, thread_id: str, case: Mapping[str, Any]) -> Any:
        raise AssertionError("not used")

    def abort_signal(self) -> Any:
        raise AssertionError("not used")

    def turn_options(self, turn_options: Mapping[str, Any], signal: Any) -> Any:
        return None

    def classify(self, exc: BaseException, mode: str) -> str:
        return "unknown"


@pytest.mark.parametrize("how", HOWS)
def test_run_case_records_the_events_and_no_result(how: str) -> None:
    driver = _Driver()
    kept: list[Any] = []
    turn = {"input": "hi", "mode": "streamed", "turn_options": {}, "walk_away": {"how": how, "after_events": 2}}
    case = {"id": "x", "turns": [turn]}
    with asyncio.Runner() as runner:
        observation = runner.run(_common.run_case(driver, case, "/nonexistent/codex", kept))
    assert observation == {
        "events": [{"type": "event", "index": 0}, {"type": "event", "index": 1}],
        "result": None,
        "error": None,
        "earlier_turns": [],
    }
    assert kept == ([] if how == "drop" else driver.streams)


# --------------------------------------------------------------------------------------------------------------
# The installed peers, over the protocol


@dataclasses.dataclass(frozen=True)
class Probe:
    """One measured walk-away: the reply's observation and whether the fake outlived the grace period."""

    key: str
    how: str
    observation: dict[str, Any]
    alive_after_grace: bool
    pids: tuple[int, ...]


def _command(installed: InstalledAdapter) -> list[str]:
    command = list(installed.command)
    if installed.language == "javascript":  # see the module docstring: what install.py should do
        command.insert(1, "--expose-gc")
    return command


def _fake_codex(folder: Path) -> Path:
    steps = [
        {
            "events": [
                {"type": "thread.started", "thread_id": "walk-away-thread"},
                {"type": "turn.started"},
                {
                    "type": "item.completed",
                    "item": {"id": "item_0", "type": "agent_message", "text": "still working"},
                },
            ],
            "faults": {"hang_after_line": 3},
        }
    ]
    return build_fake(Plan.from_mapping({"steps": steps}, base_dir=folder), folder / "fake", log_path=folder / "log")


def _case(key: str, how: str) -> dict[str, Any]:
    turn = {
        "input": "Say hello",
        "mode": "streamed",
        "turn_options": {},
        "walk_away": {"how": how, "after_events": AFTER},
    }
    return {"id": f"leak/{how}", "turns": [turn], "codex_options": {}, "thread_options": {}, "resume_thread_id": None}


async def _request(connection: SubprocessConnection, message: Mapping[str, Any]) -> dict[str, Any]:
    reply = await connection.request(message, timeout=REPLY_TIMEOUT)
    decoded: dict[str, Any] = json.loads(reply.line)
    return decoded


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


async def _probe_peer(key: str, installed: InstalledAdapter, tmp_path: Path) -> tuple[list[Probe], dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_FAKE_")}
    probes: list[Probe] = []
    async with subprocess_connection(_command(installed), env=env) as connection:
        start = await _request(connection, {"cmd": "start", "version": 1})
        for seq, how in enumerate(HOWS, start=1):
            folder = tmp_path / key / how
            folder.mkdir(parents=True)
            exe = _fake_codex(folder)
            message = {
                "cmd": "run",
                "seq": seq,
                "case": _case(key, how),
                "codex_path": str(exe),
                "workdir": str(folder),
            }
            reply = await _request(connection, message)
            returned = time.monotonic()
            assert reply.get("seq") == seq and "observation" in reply, (key, how, reply)
            # The fake hangs in a perl process whose command line names its folder.
            await asyncio.sleep(max(0.0, returned + GRACE_S - time.monotonic()))
            alive = [pid for pid, _ in leftover_processes(folder / "fake")]
            probes.append(Probe(key, how, reply["observation"], bool(alive), tuple(alive)))
            _kill(alive)
        stop = await _request(connection, {"cmd": "stop"})
        assert stop == {"ok": True}
        stderr = connection.take_stderr()
    return probes, {"start": start, "stderr": stderr}


def _table(probes: list[Probe]) -> str:
    keys = list(dict.fromkeys(probe.key for probe in probes))
    width = max([len("SDK"), *map(len, keys)])
    lines = [f"{'SDK':<{width}}  " + "  ".join(f"{how:<6}" for how in HOWS)]
    for key in keys:
        row = {probe.how: ("LEAK" if probe.alive_after_grace else "ok") for probe in probes if probe.key == key}
        lines.append(f"{key:<{width}}  " + "  ".join(f"{row[how]:<6}" for how in HOWS))
    return "\n".join(lines)


def test_installed_peers_walk_away(no_leaks: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    installed = {key: found for key in PEERS if (found := find_installed(key)) is not None}

    async def main() -> list[tuple[list[Probe], dict[str, Any]]]:
        return await asyncio.gather(*(_probe_peer(key, found, tmp_path) for key, found in installed.items()))

    with asyncio.Runner() as runner:
        results = runner.run(main())
    gc.collect()
    probes = [probe for peer_probes, _ in results for probe in peer_probes]
    for (peer_probes, extra), key in zip(results, installed, strict=True):
        assert "walk_away" in extra["start"]["implementation"]["capabilities"], key
        assert GC_NOTE not in extra["stderr"], (key, extra["stderr"][-2000:])
        assert [probe.how for probe in peer_probes] == list(HOWS)
    for probe in probes:
        observation = probe.observation
        assert observation["error"] is None, (probe.key, probe.how, observation["error"])
        assert observation["result"] is None, (probe.key, probe.how, observation["result"])
        assert len(observation["events"]) == AFTER, (probe.key, probe.how, observation["events"])
        assert observation["earlier_turns"] == []
        if probe.key != "ai-sdk-codex":  # the provider yields AI SDK stream parts, not codex events
            assert [event["type"] for event in observation["events"]] == ["thread.started", "turn.started"]
    with capsys.disabled():
        print(f"\nwalk_away after {AFTER} events, fake codex alive {GRACE_S:g} s after the reply:")
        print(_table(probes) if probes else "(no peer adapter installed)")
