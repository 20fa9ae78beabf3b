"""The shared loop of the Python peer adapters (docs/adapters-peers.md).

Each peer adapter (``openai_agents_adapter``, ``codex_sdk_python_adapter``, ``openai_codex_sdk_adapter``) runs in
a dedicated virtualenv that holds only its SDK, so this module uses the **standard library only** and never
imports ``harness``: an adapter is started as a script (``<venv>/bin/python <path>/openai_agents_adapter.py``)
and imports this file as the top-level module ``_common``; inside the main environment it is also importable
as ``harness.adapters._common`` (tests, mypy).

The protocol (JSON lines on stdin/stdout, one long-lived process per implementation)::

    -> {"cmd":"start","version":1}     <- {"implementation":{name, version, language, sdk, homepage, capabilities}}
    -> {"cmd":"run","seq":N,"case":{...},"codex_path":"/abs/codex","workdir":"/abs/tmp"}
                                       <- {"seq":N,"observation":{events,result,error,earlier_turns}}
                                        | {"seq":N,"skipped":{reason,issue_url}}
                                        | {"seq":N,"errored":{message,traceback,stderr}}
    -> {"cmd":"stop"}                  <- {"ok":true}, exit 0

:func:`serve` owns the protocol channel: it duplicates the real stdout for itself and points file
descriptor 1 (and ``sys.stdout``) at stderr before any SDK code runs, so nothing an SDK prints -- nor a
child process that inherits fd 1 -- can corrupt the channel. The event loop keeps running between requests
(stdin is read on a worker thread), as in a long-lived asyncio program: cleanup an SDK schedules on the loop
(an async generator's ``aclose()`` from asyncio's finalizer hook, a cancelled task) happens while the harness
watches, so a leak probe (``walk_away``) measures the SDK and not a loop the adapter stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import os
import sys
import traceback
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping, Sequence
from typing import IO, Any, Protocol

__all__ = [
    "CONSUMERS",
    "Consumed",
    "Consumer",
    "Driver",
    "PROTOCOL_VERSION",
    "Skip",
    "WALK_AWAY_HOWS",
    "WalkAway",
    "consume_events",
    "error_record",
    "given",
    "run_case",
    "serve",
    "to_jsonable",
    "walk_away_of",
]

PROTOCOL_VERSION = 1

#: Canonical error kinds (the ``error.kind`` of an observation).
KINDS = frozenset(
    {
        "exit",
        "signal",
        "parse",
        "line_too_long",
        "turn_failed",
        "stream_error",
        "idle_timeout",
        "abort",
        "binary_missing",
        "invalid_options",
        "unknown",
    }
)

#: The message asyncio's ``StreamReader.readline`` raises (as ``ValueError``) for a line over its limit.
LINE_TOO_LONG_MARKERS = ("chunk exceed the limit", "chunk is longer than limit")


class Skip(Exception):
    """The case needs something this SDK cannot express (an option it lacks): answered with ``skipped``."""

    def __init__(self, reason: str, issue_url: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.issue_url = issue_url


class Driver(Protocol):
    """What one SDK adapter provides; :func:`run_case` does the turn loop and the bookkeeping."""

    name: str
    sdk: str
    distribution: str
    #: Announced in the ``start`` reply; the client skips cases needing a capability not listed.
    capabilities: tuple[str, ...]

    def check(self, case: Mapping[str, Any]) -> None:
        """Raise :class:`Skip` when the case uses an option the SDK has no equivalent for."""

    def open_codex(self, case: Mapping[str, Any], codex_path: str) -> Any:
        """The SDK client, pointed at ``codex_path``, with the case's ``codex_options``."""

    def start_thread(self, codex: Any, case: Mapping[str, Any]) -> Any:
        """``codex.start_thread(<the case's thread_options>)``."""

    def resume_thread(self, codex: Any, thread_id: str, case: Mapping[str, Any]) -> Any:
        """``codex.resume_thread(thread_id, <the case's thread_options>)``."""

    def abort_signal(self) -> tuple[Any, Callable[[], None]]:
        """A fresh cancellation signal for the SDK's turn options, and the callable that fires it."""

    async def run(self, thread: Any, input: Any, turn_options: Mapping[str, Any], signal: Any) -> dict[str, Any]:
        """``thread.run``: return ``{thread_id, final_response, items, usage}`` as plain JSON."""

    async def stream(
        self,
        thread: Any,
        input: Any,
        turn_options: Mapping[str, Any],
        signal: Any,
        sink: list[Any],
        walk_away: WalkAway | None = None,
    ) -> Consumed:
        """``thread.run_streamed``: append every event, as plain JSON, to ``sink`` as it arrives -- all of them,
        or (``walk_away``) the first N, then walk away as :data:`CONSUMERS` says."""

    def thread_id(self, thread: Any) -> str | None:
        """The thread's id as the SDK reports it."""

    def classify(self, exc: BaseException, mode: str) -> str:
        """The canonical kind of an exception the SDK raised in ``mode`` (``run`` or ``streamed``)."""


class TsShapedDriver:
    """The turn calls of an SDK shaped like the TypeScript one (``await thread.run(input, options)`` returning
    ``final_response``/``items``/``usage``; ``await thread.run_streamed(...)`` whose ``.events`` iterate): shared by
    the Python peers, which differ only in how they spell turn options (:meth:`turn_options`)."""

    def turn_options(self, turn_options: Mapping[str, Any], signal: Any) -> Any:
        """The SDK's turn options for the case's ``turn_options`` and cancellation signal."""
        raise NotImplementedError

    async def run(self, thread: Any, input: Any, turn_options: Mapping[str, Any], signal: Any) -> dict[str, Any]:
        turn = await thread.run(input, self.turn_options(turn_options, signal))
        return {
            "thread_id": thread.id,
            "final_response": turn.final_response,
            "items": [to_jsonable(item) for item in turn.items],
            "usage": to_jsonable(turn.usage),
        }

    async def stream(
        self,
        thread: Any,
        input: Any,
        turn_options: Mapping[str, Any],
        signal: Any,
        sink: list[Any],
        walk_away: WalkAway | None = None,
    ) -> Consumed:
        options = self.turn_options(turn_options, signal)
        # The StreamedTurn is created inside the consumer, so that `drop` can release every reference to it.
        return await consume_events(lambda: thread.run_streamed(input, options), _events_of, sink, walk_away)

    def thread_id(self, thread: Any) -> str | None:
        value: str | None = thread.id
        return value


def _events_of(streamed: Any) -> AsyncIterable[Any]:
    events: AsyncIterable[Any] = streamed.events
    return events


# --------------------------------------------------------------------------------------------------------------
# Walking away from a streamed turn (issue #17: does the SDK leave codex running?)

#: The ways a user walks away (docs/adapters.md, ``turns[].walk_away``).
WALK_AWAY_HOWS = ("break", "raise", "drop")


@dataclasses.dataclass(frozen=True)
class WalkAway:
    """A streamed turn's ``walk_away``: stop consuming after ``after_events`` events, the way ``how`` says."""

    how: str
    after_events: int


def walk_away_of(turn: Mapping[str, Any]) -> WalkAway | None:
    """The turn's ``walk_away`` option, or ``None``; a malformed one is a ``ValueError`` (the harness validates
    cases against schemas/case.json, so this is an adapter-protocol bug, answered ``errored``)."""
    raw = turn.get("walk_away")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValueError(f"walk_away must be an object, got {raw!r}")
    how, after = raw.get("how"), raw.get("after_events")
    if how not in WALK_AWAY_HOWS:
        raise ValueError(f"walk_away.how must be one of {', '.join(WALK_AWAY_HOWS)}, got {how!r}")
    if not isinstance(after, int) or isinstance(after, bool) or after < 1:
        raise ValueError(f"walk_away.after_events must be an integer >= 1, got {after!r}")
    if turn.get("mode", "run") != "streamed":
        raise ValueError("walk_away needs mode: streamed")
    return WalkAway(str(how), after)


@dataclasses.dataclass(frozen=True)
class Consumed:
    """How a streamed turn ended for its consumer: ``walked_away`` when it stopped after N events (then the
    turn has no result), and ``kept`` -- what a user who walked away still holds (the StreamedTurn after a
    ``break`` or a caught ``raise``), which the adapter keeps alive while the harness watches for leaks."""

    walked_away: bool = False
    kept: Any = None


class _WalkedAway(Exception):
    """Raised by the ``raise`` consumer inside its loop body, caught outside the loop."""


class Consumer(Protocol):
    """One way of consuming a streamed turn. ``open_stream()`` starts it (``thread.run_streamed(...)``),
    ``events_of(streamed)`` is its async iterable of events; each event goes to ``sink`` as plain JSON."""

    async def __call__(
        self,
        open_stream: Callable[[], Awaitable[Any]],
        events_of: Callable[[Any], AsyncIterable[Any]],
        sink: list[Any],
        after: int,
    ) -> Consumed: ...


async def _read_all(
    open_stream: Callable[[], Awaitable[Any]],
    events_of: Callable[[Any], AsyncIterable[Any]],
    sink: list[Any],
    after: int,
) -> Consumed:
    streamed = await open_stream()
    async for event in events_of(streamed):
        sink.append(to_jsonable(event))
    return Consumed()


async def _break(
    open_stream: Callable[[], Awaitable[Any]],
    events_of: Callable[[Any], AsyncIterable[Any]],
    sink: list[Any],
    after: int,
) -> Consumed:
    """``break`` out of ``async for`` after N events. Python does not close an async iterator on ``break``
    (JS does); no ``aclose()`` is called, and the user's StreamedTurn stays referenced (``kept``)."""
    streamed = await open_stream()
    count = 0
    async for event in events_of(streamed):
        sink.append(to_jsonable(event))
        count += 1
        if count >= after:
            break
    return Consumed(walked_away=count >= after, kept=streamed if count >= after else None)


async def _raise(
    open_stream: Callable[[], Awaitable[Any]],
    events_of: Callable[[Any], AsyncIterable[Any]],
    sink: list[Any],
    after: int,
) -> Consumed:
    """Raise inside the loop body after N events, caught outside the loop; the StreamedTurn stays referenced."""
    streamed = await open_stream()
    try:
        count = 0
        async for event in events_of(streamed):
            sink.append(to_jsonable(event))
            count += 1
            if count >= after:
                raise _WalkedAway(f"walked away after {count} events")
    except _WalkedAway:
        return Consumed(walked_away=True, kept=streamed)
    return Consumed()


async def _drop(
    open_stream: Callable[[], Awaitable[Any]],
    events_of: Callable[[Any], AsyncIterable[Any]],
    sink: list[Any],
    after: int,
) -> Consumed:
    """Stop iterating after N events, drop every reference to the StreamedTurn and its iterator without closing
    them, ``gc.collect()``, then yield to the event loop once (asyncio's finalizer hook schedules ``aclose()``
    of a collected async generator as a task: whatever the SDK does then is what is measured)."""
    streamed = await open_stream()
    iterator = aiter(events_of(streamed))
    del streamed
    count = 0
    while count < after:
        try:
            event = await anext(iterator)
        except StopAsyncIteration:
            return Consumed()
        sink.append(to_jsonable(event))
        del event
        count += 1
    del iterator
    gc.collect()
    await asyncio.sleep(0)
    return Consumed(walked_away=True)


#: ``None`` (read every event) and each ``walk_away.how`` -> its consumer.
CONSUMERS: Mapping[str | None, Consumer] = {None: _read_all, "break": _break, "raise": _raise, "drop": _drop}


async def consume_events(
    open_stream: Callable[[], Awaitable[Any]],
    events_of: Callable[[Any], AsyncIterable[Any]],
    sink: list[Any],
    walk_away: WalkAway | None,
) -> Consumed:
    """Consume a streamed turn: every event, or walk away after ``walk_away.after_events`` of them."""
    consumer = CONSUMERS[walk_away.how if walk_away is not None else None]
    return await consumer(open_stream, events_of, sink, walk_away.after_events if walk_away is not None else 0)


# --------------------------------------------------------------------------------------------------------------
# JSON conversion


def to_jsonable(value: Any) -> Any:
    """Plain JSON of an SDK value, keeping the SDK's own field names: pydantic models through
    ``model_dump(mode="json")``, dataclasses field by field (like ``dataclasses.asdict``), mappings and
    sequences recursively; anything else becomes ``str(value)``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump) and not isinstance(value, type):
        return to_jsonable(model_dump(mode="json"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_jsonable(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def given(options: Mapping[str, Any] | None, key: str) -> bool:
    """Whether ``options`` sets ``key`` to something (``None``, ``{}`` and ``[]`` count as unset)."""
    if not options or key not in options:
        return False
    value = options[key]
    return value is not None and value != {} and value != []


def error_record(exc: BaseException, kind: str) -> dict[str, Any]:
    return {"kind": kind if kind in KINDS else "unknown", "class": type(exc).__name__, "message": str(exc)}


def common_kind(exc: BaseException) -> str | None:
    """Kinds every Python SDK shares: an over-long line from ``StreamReader.readline``, a missing binary."""
    if isinstance(exc, ValueError | asyncio.LimitOverrunError) and any(
        marker in str(exc) for marker in LINE_TOO_LONG_MARKERS
    ):
        return "line_too_long"
    if isinstance(exc, FileNotFoundError | PermissionError | NotADirectoryError):
        return "binary_missing"
    return None


def exit_kind(code: int) -> str:
    """``exit`` for a non-zero exit code, ``signal`` for asyncio's negative return code of a killed child."""
    return "signal" if code < 0 else "exit"


# --------------------------------------------------------------------------------------------------------------
# The turn loop


async def run_case(
    driver: Driver, case: Mapping[str, Any], codex_path: str, kept: list[Any] | None = None
) -> dict[str, Any]:
    """Run every turn of ``case`` and return the observation, like the reference runner: one thread
    (``start_thread``, or ``resume_thread`` when ``resume_thread_id``); a turn with ``"thread": "resume"``
    runs on ``resume_thread(<id after the previous turn>)``; ``abort_after_ms`` fires the SDK's cancellation
    signal. An SDK exception is data (``error``); the loop stops at the first failed turn.

    A streamed turn with ``walk_away`` records the N events received, ``result`` and ``error`` null (the user
    walked away: not the SDK's error); what the user still holds afterwards is appended to ``kept``, which the
    caller keeps alive for the adapter's lifetime."""
    turns: Sequence[Mapping[str, Any]] = case.get("turns") or []
    if not turns:
        raise ValueError("case has no turns")
    walk_aways = [walk_away_of(turn) for turn in turns]
    driver.check(case)
    records: list[dict[str, Any]] = []
    first_mode = str(turns[0].get("mode", "run"))
    try:
        codex = driver.open_codex(case, codex_path)
        resume = case.get("resume_thread_id")
        thread = driver.resume_thread(codex, resume, case) if resume else driver.start_thread(codex, case)
    except Exception as exc:  # noqa: BLE001 - options the SDK rejects are an observation
        records.append(_record(first_mode, error=error_record(exc, driver.classify(exc, first_mode))))
        return _observation(records)
    loop = asyncio.get_running_loop()
    for turn, walk_away in zip(turns, walk_aways, strict=True):
        mode = str(turn.get("mode", "run"))
        if turn.get("thread") == "resume":
            previous = driver.thread_id(thread)
            if previous is None:
                error = {
                    "kind": "unknown",
                    "class": "NoThreadId",
                    "message": "cannot resume: the previous turn produced no thread id",
                }
                records.append(_record(mode, error=error))
                break
            thread = driver.resume_thread(codex, previous, case)
        record = _record(mode)
        turn_options: Mapping[str, Any] = turn.get("turn_options") or {}
        signal: Any = None
        timer: asyncio.TimerHandle | None = None
        if turn.get("abort_after_ms") is not None:
            signal, fire = driver.abort_signal()
            timer = loop.call_later(int(turn["abort_after_ms"]) / 1000, fire)
        try:
            if mode == "streamed":
                consumed = await driver.stream(thread, turn["input"], turn_options, signal, record["events"], walk_away)
                if consumed.kept is not None and kept is not None:
                    kept.append(consumed.kept)
                if not consumed.walked_away:
                    record["result"] = {
                        "thread_id": driver.thread_id(thread),
                        "final_response": None,
                        "items": None,
                        "usage": None,
                    }
            else:
                record["result"] = await driver.run(thread, turn["input"], turn_options, signal)
        except Exception as exc:  # noqa: BLE001 - a failure of the SDK under test is data
            record["error"] = error_record(exc, driver.classify(exc, mode))
        finally:
            if timer is not None:
                timer.cancel()
        records.append(record)
        if record["error"] is not None:
            break
    return _observation(records)


def _record(mode: str, *, error: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"mode": mode, "events": [], "result": None, "error": error}


def _observation(records: list[dict[str, Any]]) -> dict[str, Any]:
    last = records[-1]
    return {
        "events": last["events"],
        "result": last["result"],
        "error": last["error"],
        "earlier_turns": records[:-1],
    }


# --------------------------------------------------------------------------------------------------------------
# The protocol loop


def _protocol_channel() -> IO[str]:
    """Keep the real stdout for the protocol; send fd 1 and ``sys.stdout`` to stderr from now on."""
    sys.stdout.flush()
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def _implementation(driver: Driver) -> dict[str, Any]:
    from importlib import metadata

    try:
        version = metadata.version(driver.distribution)
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "name": driver.name,
        "version": version,
        "language": "python",
        "sdk": driver.sdk,
        "homepage": None,
        "capabilities": list(driver.capabilities),
    }


async def handle_run(driver: Driver, request: Mapping[str, Any], kept: list[Any]) -> dict[str, Any]:
    """Answer one ``run`` request (never raises), on the adapter's one event loop (one loop for the process
    keeps asyncio's child-process watcher consistent between cases). ``kept``: see :func:`run_case`."""
    seq = request.get("seq")
    try:
        case = request["case"]
        codex_path = str(request["codex_path"])
        observation = await run_case(driver, case, codex_path, kept)
    except Skip as skip:
        return {"seq": seq, "skipped": {"reason": skip.reason, "issue_url": skip.issue_url}}
    except BaseException as exc:  # noqa: BLE001 - an adapter bug is reported, the process lives on
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        return {
            "seq": seq,
            "errored": {
                "message": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
                "stderr": None,
            },
        }
    return {"seq": seq, "observation": observation}


def serve(make_driver: Callable[[], Driver], stdin: IO[str] | None = None) -> int:
    """The adapter's main loop; returns the exit code."""
    channel = _protocol_channel()
    source = stdin if stdin is not None else sys.stdin

    def send(message: Mapping[str, Any]) -> None:
        channel.write(json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n")
        channel.flush()

    with asyncio.Runner() as runner:
        return runner.run(_loop(make_driver, source, send))


async def _loop(
    make_driver: Callable[[], Driver],
    source: IO[str],
    send: Callable[[Mapping[str, Any]], None],
) -> int:
    driver: Driver | None = None
    # What a user who walked away from a streamed turn still holds: kept for the adapter's lifetime, as a user who
    # keeps the turn object would (dropping it at the next request made the probe depend on whether the harness,
    # running cases on several workers, had finished watching before that request came).
    kept: list[Any] = []
    while raw := await asyncio.to_thread(source.readline):
        line = raw.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request must be a JSON object")
        except ValueError as exc:
            send({"errored": {"message": f"bad request: {exc}", "traceback": "", "stderr": ""}})
            continue
        cmd = request.get("cmd")
        if cmd in ("start", "run") and driver is None:
            try:
                driver = make_driver()
            except Exception as exc:  # noqa: BLE001 - e.g. the SDK is not installed in this interpreter
                send(
                    {
                        "seq": request.get("seq"),
                        "errored": {
                            "message": f"{type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc(),
                            "stderr": "",
                        },
                    }
                )
                continue
        if cmd == "start":
            if request.get("version") != PROTOCOL_VERSION:
                message = f"unsupported protocol version {request.get('version')!r}"
                send({"errored": {"message": message, "traceback": "", "stderr": ""}})
                continue
            assert driver is not None
            send({"implementation": _implementation(driver)})
        elif cmd == "run":
            assert driver is not None
            send(await handle_run(driver, request, kept))
        elif cmd == "stop":
            send({"ok": True})
            return 0
        else:
            message = f"unknown command {cmd!r}"
            send({"seq": request.get("seq"), "errored": {"message": message, "traceback": "", "stderr": ""}})
    return 0
