"""Threads and turns: ``Thread.run_streamed`` parses the transport's lines into events; ``Thread.run`` folds
them.

One code path serves both APIs (as in the TS SDK and the openai-agents port), so they cannot disagree about
parsing, thread ids or cleanup. TS semantics, deliberately:

* ``run()`` collects ``item.completed`` items in order; ``final_response`` is the text of the *last*
  ``agent_message`` (``""`` if none); ``usage`` comes from ``turn.completed`` (else ``None``). ``turn.failed``
  stops the process and raises :class:`TurnFailedError` with the failure message. Top-level ``error`` events
  are ignored -- they are also retry notices (``Reconnecting... 1/5``) and the turn may still succeed.
* ``run_streamed()`` yields every event, unknown types included, and does not raise on ``turn.failed``; after
  stdout closes a non-zero exit raises :class:`ExitError`.
* A line that does not parse raises :class:`EventParseError` (``Failed to parse item: <line>``) with its line
  number.
* Each turn is one ``codex exec`` process; once ``thread.started`` has given the thread an id, later turns
  pass ``resume <id>``.

``run_streamed()`` is lazy: nothing is spawned and no schema file is written until the first event is
requested. Python's ``async for`` does not close an iterator on ``break`` (JavaScript's ``for await`` does),
so use ``async with thread.run_streamed(...) as events:`` or call ``aclose()`` to stop the process
deterministically; otherwise it is stopped when the iterator is garbage collected.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from typing import Any

import msgspec
from msgspec import UNSET

from harness.reference.auto import run_auto
from harness.reference.errors import EventParseError, TurnFailedError
from harness.reference.events import (
    AgentMessageItem,
    ItemCompletedEvent,
    ThreadEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
    TurnFailedEvent,
    Usage,
    parse,
    serialize,
)
from harness.reference.exec.argv import Input, build_argv, build_env, normalize_input
from harness.reference.exec.schema_file import OutputSchemaFile
from harness.reference.exec.transport import CodexExec, iterate_sync, run_coroutine_sync
from harness.reference.items import ThreadItem
from harness.reference.options import CodexOptions, ThreadOptions, TurnOptions
from harness.reference.stream import TurnStream
from harness.reference.structured_output import decode_output, schema_for, validate_output
from harness.reference.telemetry import TelemetryBus, default_bus
from harness.reference.turn_monitor import TurnMonitor
from harness.reference.usage import TokenCounts, UsageLedger

__all__ = ["StreamedTurn", "Thread", "Turn"]


@dataclasses.dataclass(frozen=True)
class Turn:
    """The result of :meth:`Thread.run` (TS ``Turn``/``RunResult``)."""

    items: list[ThreadItem]
    final_response: str
    #: As the CLI printed it on ``turn.completed``: the thread's *cumulative* usage (TS semantics).
    usage: Usage | None
    #: What this turn alone consumed (difference of cumulative values; see :mod:`harness.reference.usage`).
    turn_usage: TokenCounts | None = None
    #: The thread's cumulative usage after this turn.
    cumulative_usage: TokenCounts | None = None
    #: The validated final response (decoded into ``TurnOptions.output_type`` when given), else ``None``.
    structured_output: Any = None


def _coerce_turn_options(options: TurnOptions | Mapping[str, Any] | None) -> TurnOptions:
    if options is None:
        return TurnOptions()
    if isinstance(options, TurnOptions):
        return options
    return TurnOptions.from_mapping(options)


def _effective_schema(turn: TurnOptions) -> Any:
    """The schema sent with ``--output-schema``: the explicit one, else the one derived from ``output_type``."""
    if turn.output_schema is None and turn.output_type is not None:
        return schema_for(turn.output_type)
    return turn.output_schema


def _parse_line(line: bytes, line_number: int) -> ThreadEvent:
    """Parse one line into an event; every failure becomes the TS-worded :class:`EventParseError`."""
    try:
        return parse(line)
    except EventParseError as exc:
        raise EventParseError(
            line.decode("utf-8", errors="replace"), exc.reason, line_number=line_number
        ) from exc
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError, KeyError) as exc:
        raise EventParseError(
            line.decode("utf-8", errors="replace"), str(exc), line_number=line_number
        ) from exc


class StreamedTurn(TurnStream[ThreadEvent]):
    """The events of one exec turn (TS ``RunStreamedResult``): an async iterator, and an async context manager that
    stops the process on exit (terminate and reap it, remove the schema file). ``events`` returns the iterator
    itself, for code written against the TS shape ``(await thread.runStreamed()).events``.
    """


class Thread:
    """A conversation with codex; create it with :meth:`Codex.start_thread` or :meth:`Codex.resume_thread`."""

    def __init__(
        self,
        exec: CodexExec,
        codex_options: CodexOptions,
        thread_options: ThreadOptions,
        thread_id: str | None = None,
        *,
        telemetry: TelemetryBus | None = None,
        ledger: UsageLedger | None = None,
    ) -> None:
        self._exec = exec
        self._codex_options = codex_options
        self._thread_options = thread_options
        self._id = thread_id
        self._telemetry = telemetry if telemetry is not None else default_bus()
        self._ledger = ledger if ledger is not None else UsageLedger()
        self._turns = 0
        self._announced = False

    @property
    def usage(self) -> UsageLedger:
        """The usage ledger this thread records into (its client's, shared by the client's threads and keyed by
        thread id): per turn and cumulative, never double counted across turns, attempts or resumes."""
        return self._ledger

    @property
    def telemetry(self) -> TelemetryBus:
        """The bus this thread reports to (the client's)."""
        return self._telemetry

    def close(self) -> None:
        """Say the thread is done: emits ``codex.thread.stop`` once (a thread holds no process between turns)."""
        if self._announced:
            self._telemetry.emit("codex.thread.stop", {"turns": self._turns}, {"thread_id": self._id})
            self._announced = False

    @property
    def id(self) -> str | None:
        """The thread id: given on resume, else ``None`` until the first ``thread.started`` event."""
        return self._id

    @property
    def options(self) -> ThreadOptions:
        """The options every turn of this thread runs with."""
        return self._thread_options

    def run_streamed(
        self, input: Input, turn_options: TurnOptions | Mapping[str, Any] | None = None
    ) -> StreamedTurn:
        """The turn's events as they arrive; lazy (nothing runs until iterated). See the module docstring."""
        return self.stream_turn(input, turn_options, mode="streamed")

    def stream_turn(
        self, input: Input, turn_options: TurnOptions | Mapping[str, Any] | None = None, *, mode: str
    ) -> StreamedTurn:
        """:meth:`run_streamed` for drivers built on it (``run_auto``): ``mode`` names the driver in telemetry."""
        return StreamedTurn(self._stream(input, turn_options, mode=mode))

    async def run(self, input: Input, turn_options: TurnOptions | Mapping[str, Any] | None = None) -> Turn:
        """Run a turn to completion: its items, final response and usage (a fold over the events)."""
        items: list[ThreadItem] = []
        final_response = ""
        usage: Usage | None = None
        failure: TurnFailedEvent | None = None
        turn = _coerce_turn_options(turn_options)
        monitors: list[TurnMonitor] = []
        stream = self._stream(input, turn, mode="run", monitors=monitors)
        try:
            async for event in stream:
                if isinstance(event, ItemCompletedEvent):
                    item = event.item
                    if isinstance(item, AgentMessageItem):
                        final_response = item.text
                    items.append(item)
                elif isinstance(event, TurnCompletedEvent):
                    usage = event.usage
                elif isinstance(event, TurnFailedEvent):
                    failure = event
                    break
        finally:
            # Closing the stream stops the process (TS: the generator's ``finally`` kills the child).
            await stream.aclose()
        if failure is not None:
            # The payload is the error object as printed, unknown fields included.
            payload = json.loads(serialize(failure)).get("error")
            raise TurnFailedError(failure.error.message, payload if isinstance(payload, dict) else None)
        if usage is not None and usage.cache_write_input_tokens is UNSET:
            # TS 0.150+ backfills ``cache_write_input_tokens ??= 0`` (older CLIs do not print it). Only the
            # Turn gets it: streamed events stay byte-exact copies of what the CLI printed.
            usage = msgspec.structs.replace(usage, cache_write_input_tokens=0)
        structured: Any = None
        schema = _effective_schema(turn)
        validate = turn.validate_output if turn.validate_output is not None else turn.output_type is not None
        if validate and turn.output_type is not None:
            structured = decode_output(final_response, turn.output_type, schema)
        elif validate and schema is not None:
            structured = validate_output(final_response, schema)
        monitor = monitors[0] if monitors else None
        return Turn(
            items=items,
            final_response=final_response,
            usage=usage,
            turn_usage=monitor.turn_usage if monitor else None,
            cumulative_usage=monitor.cumulative_usage() if monitor else None,
            structured_output=structured,
        )

    async def run_auto(
        self,
        input: Input,
        turn_options: TurnOptions | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run turns until a terminal outcome, retrying retryable failures (:func:`harness.reference.auto.run_auto`)."""
        return await run_auto(self, input, _coerce_turn_options(turn_options), **kwargs)

    def run_auto_sync(
        self, input: Input, turn_options: TurnOptions | Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        """:meth:`run_auto` for synchronous callers."""
        return run_coroutine_sync(lambda: self.run_auto(input, turn_options, **kwargs))

    def run_sync(self, input: Input, turn_options: TurnOptions | Mapping[str, Any] | None = None) -> Turn:
        """:meth:`run` for synchronous callers (a private event loop in a helper thread)."""
        return run_coroutine_sync(lambda: self.run(input, turn_options))

    def run_streamed_sync(
        self, input: Input, turn_options: TurnOptions | Mapping[str, Any] | None = None
    ) -> Iterator[ThreadEvent]:
        """:meth:`run_streamed` for synchronous callers; closing the iterator early stops the process."""
        return iterate_sync(lambda: self.run_streamed(input, turn_options))

    async def _stream(
        self,
        input: Input,
        turn_options: TurnOptions | Mapping[str, Any] | None,
        *,
        mode: str,
        monitors: list[TurnMonitor] | None = None,
    ) -> AsyncGenerator[ThreadEvent, None]:
        turn = _coerce_turn_options(turn_options)
        prompt, images = normalize_input(input)
        monitor = TurnMonitor(self._telemetry, self._ledger, thread_id=self._id, mode=mode)
        if monitors is not None:
            monitors.append(monitor)
        async with OutputSchemaFile(_effective_schema(turn)) as schema_path:
            argv = build_argv(
                self._codex_options,
                self._thread_options,
                turn,
                thread_id=self._id,
                images=images,
                output_schema_path=schema_path,
            )
            env = build_env(self._codex_options)
            self._turns += 1
            if self._id is not None:
                self._announce(resumed=True)
            monitor.start()
            lines: AsyncIterator[bytes] = self._exec.run(
                argv, stdin=prompt, env=env, signal=turn.signal, idle_timeout=turn.idle_timeout
            )
            error: BaseException | None = None
            closed = False
            try:
                line_number = 0
                async for line in lines:
                    line_number += 1
                    event = _parse_line(line, line_number)
                    monitor.observe(event)
                    if isinstance(event, ThreadStartedEvent):
                        self._id = event.thread_id
                        self._announce(resumed=False)
                    yield event
            except GeneratorExit:
                closed = True
                raise
            except BaseException as exc:
                error = exc
                closed = isinstance(exc, asyncio.CancelledError)
                raise
            finally:
                try:
                    close = getattr(lines, "aclose", None)
                    if close is not None:
                        await close()
                finally:
                    monitor.finish(error, closed=closed)

    def _announce(self, *, resumed: bool) -> None:
        """Emit ``codex.thread.start`` once, as soon as the thread id is known."""
        if not self._announced:
            self._announced = True
            self._telemetry.emit("codex.thread.start", metadata={"thread_id": self._id, "resumed": resumed})
