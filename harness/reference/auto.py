"""Auto-run: drive a thread through turns until a terminal outcome, retrying what the taxonomy calls retryable.

The loop's rules (each has a test in ``tests/test_turn_pipeline.py``):

1. A turn runs through :meth:`Thread.run_streamed`, so the extension events that ``run()`` ignores are seen.
2. **Success** (``turn.completed``):
   * if the turn raised ``tool.call.required`` events that no ``tool.call.completed`` answered in the same turn,
     each is answered from the tools and the outputs are sent as the next turn's input, as one JSON text
     ``{"tool_outputs": [{"call_id", "name", "output"}]}``; a tool nobody registered ends the run with
     :class:`UnhandledToolCallError`. ``tools`` is a :class:`~harness.reference.tools.ToolRegistry` -- the same
     registry (schema validation, timeouts, telemetry) that answers app-server ``item/tool/call`` requests, so a
     tool behaves the same whichever transport asks; its output is the text the model reads
     (``ToolOutcome.message``), a failure's text included. A plain ``{name: handler}`` mapping is the shorthand of
     earlier versions: ``handler(arguments)`` (sync or async) and its return value is the output as it is;
   * else, if the turn printed ``turn.continuation``, the next turn sends ``policy.continuation_prompt``;
   * else the run is complete.
   Follow-up turns continue the same thread (``resume <id>``). At most ``policy.max_turns`` turns run; hitting the
   limit ends the run with ``stop_reason = "max_turns"`` (not an exception: the work so far is returned).
3. **Failure** of a turn (``turn.failed``, or any :class:`CodexError` from the process): if the error is
   ``retryable`` and the turn has had fewer than ``policy.max_attempts`` attempts, wait
   ``policy.backoff.delay(attempt, error.retry_after)`` through the injected ``sleep`` and run the same input again
   (on the same thread when it already has an id). Otherwise re-raise the error, with ``attempts`` attached.
   A ``turn.failed`` is the error even when the process then exits non-zero (that exit is its consequence).
4. Usage comes from the thread's :class:`UsageLedger`: per turn and cumulative, each token counted once, whatever
   the number of attempts (a failed attempt prints no usage; what it consumed appears in the next cumulative value).
5. Cancellation (task cancel or the turn's abort signal) is never retried.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from harness.reference.errors import AbortError, CodexError, TurnFailedError
from harness.reference.events import (
    AgentMessageItem,
    ItemCompletedEvent,
    ThreadEvent,
    ToolCallCompletedEvent,
    ToolCallRequiredEvent,
    TurnCompletedEvent,
    TurnContinuationEvent,
    TurnFailedEvent,
    serialize,
)
from harness.reference.exec.argv import Input
from harness.reference.items import ThreadItem
from harness.reference.options import TurnOptions
from harness.reference.tools import ToolRegistry
from harness.reference.usage import TokenCounts

if TYPE_CHECKING:  # auto drives a Thread; the thread module depends on this one, never the reverse
    from harness.reference.thread import Thread

__all__ = [
    "Attempt",
    "AutoRunPolicy",
    "AutoRunResult",
    "Backoff",
    "ToolHandler",
    "UnhandledToolCallError",
    "run_auto",
]

ToolHandler = Callable[[Any], Any | Awaitable[Any]]
Sleep = Callable[[float], Awaitable[None]]


class UnhandledToolCallError(CodexError):
    """codex asked for a tool (``tool.call.required``) that has no registered handler."""

    kind = "tool_call_unhandled"

    def __init__(self, name: str, call_id: str) -> None:
        super().__init__(f"No handler registered for tool {name!r} (call {call_id!r})")
        self.name = name
        self.call_id = call_id


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: ``initial * factor ** (attempt - 1)`` capped at ``maximum``; a known
    ``retry_after`` is honoured when it is longer."""

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        computed = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        return max(computed, retry_after or 0.0)


@dataclass(frozen=True, slots=True)
class AutoRunPolicy:
    """Limits of an auto-run: attempts per turn, turns per run, backoff, and the continuation prompt."""

    max_attempts: int = 3
    max_turns: int = 8
    backoff: Backoff = field(default_factory=Backoff)
    continuation_prompt: str = "continue"

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_turns < 1:
            raise ValueError("AutoRunPolicy.max_attempts and max_turns must be at least 1")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One process run: which turn, which attempt of it, how it ended, and how long we waited before it."""

    turn: int
    attempt: int
    outcome: Literal["completed", "failed"]
    error: Mapping[str, Any] | None
    waited: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "turn": self.turn,
            "attempt": self.attempt,
            "outcome": self.outcome,
            "error": dict(self.error) if self.error is not None else None,
            "waited": self.waited,
        }


@dataclass(frozen=True)
class AutoRunResult:
    """What an auto-run produced: every completed turn's items, the final response and usage."""

    thread_id: str | None
    items: list[ThreadItem]
    final_response: str
    attempts: list[Attempt]
    turn_usage: list[TokenCounts]
    usage: TokenCounts
    stop_reason: Literal["completed", "max_turns"]
    tool_calls: list[dict[str, Any]]


@dataclass
class _TurnOutcome:
    items: list[ThreadItem] = field(default_factory=list)
    final_response: str | None = None
    completed: bool = False
    failure: TurnFailedEvent | None = None
    continuation: bool = False
    required: dict[str, ToolCallRequiredEvent] = field(default_factory=dict)


async def _run_one(thread: Thread, input: Input, options: TurnOptions) -> tuple[_TurnOutcome, TokenCounts | None]:
    outcome = _TurnOutcome()
    before = len(thread.usage.turns)
    stream = thread.stream_turn(input, options, mode="auto")
    try:
        async for event in stream:
            _fold(outcome, event)
            if outcome.failure is not None:
                break
    except CodexError:
        if outcome.failure is None:
            raise
    finally:
        await stream.aclose()
    turn_usage: TokenCounts | None = None
    for entry in thread.usage.turns[before:]:
        turn_usage = entry.turn if turn_usage is None else turn_usage + entry.turn
    return outcome, turn_usage


def _fold(outcome: _TurnOutcome, event: ThreadEvent) -> None:
    if isinstance(event, ItemCompletedEvent):
        outcome.items.append(event.item)
        if isinstance(event.item, AgentMessageItem):
            outcome.final_response = event.item.text
    elif isinstance(event, TurnCompletedEvent):
        outcome.completed = True
    elif isinstance(event, TurnFailedEvent):
        outcome.failure = event
    elif isinstance(event, TurnContinuationEvent):
        outcome.continuation = True
    elif isinstance(event, ToolCallRequiredEvent):
        outcome.required[event.call_id] = event
    elif isinstance(event, ToolCallCompletedEvent):
        outcome.required.pop(event.call_id, None)


async def _call_tool(handler: ToolHandler, arguments: Any) -> Any:
    result = handler(arguments)
    if inspect.isawaitable(result):
        result = await result
    return result


def _tool_answerer(
    tools: Mapping[str, ToolHandler] | ToolRegistry | None,
) -> Callable[[str, Any, str], Awaitable[Any]]:
    """``answer(name, arguments, call_id) -> output`` for one run; raises :class:`UnhandledToolCallError` for a
    tool nobody registered."""
    if isinstance(tools, ToolRegistry):
        registry = tools

        async def from_registry(name: str, arguments: Any, call_id: str) -> Any:
            result = await registry.call(name, arguments, call_id=call_id)
            if result.error_kind == "unknown_tool":
                raise UnhandledToolCallError(name, call_id)
            return result.message

        return from_registry
    handlers = dict(tools or {})

    async def from_mapping(name: str, arguments: Any, call_id: str) -> Any:
        handler = handlers.get(name)
        if handler is None:
            raise UnhandledToolCallError(name, call_id)
        return await _call_tool(handler, arguments)

    return from_mapping


async def run_auto(
    thread: Thread,
    input: Input,
    turn_options: TurnOptions | None = None,
    *,
    policy: AutoRunPolicy | None = None,
    tools: Mapping[str, ToolHandler] | ToolRegistry | None = None,
    sleep: Sleep = asyncio.sleep,
) -> AutoRunResult:
    """Run turns on ``thread`` until a terminal outcome (rules in the module docstring)."""
    policy = policy or AutoRunPolicy()
    options = turn_options or TurnOptions()
    answer = _tool_answerer(tools)
    attempts: list[Attempt] = []
    items: list[ThreadItem] = []
    turn_usage: list[TokenCounts] = []
    tool_calls: list[dict[str, Any]] = []
    final_response = ""
    next_input: Input = input

    def finish(stop_reason: Literal["completed", "max_turns"]) -> AutoRunResult:
        usage = thread.usage.cumulative(thread.id)
        return AutoRunResult(thread.id, items, final_response, attempts, turn_usage, usage, stop_reason, tool_calls)

    for turn_number in range(1, policy.max_turns + 1):
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome, used = await _run_one(thread, next_input, options)
                if outcome.failure is not None:
                    payload = json.loads(serialize(outcome.failure)).get("error")
                    raise TurnFailedError(outcome.failure.error.message, payload if isinstance(payload, dict) else None)
            except CodexError as exc:
                attempts.append(Attempt(turn_number, attempt, "failed", exc.to_dict(), waited))
                if isinstance(exc, AbortError) or not exc.retryable or attempt >= policy.max_attempts:
                    exc.attempts = list(attempts)  # type: ignore[attr-defined]
                    raise
                waited = policy.backoff.delay(attempt, exc.retry_after)
                await sleep(waited)
                continue
            attempts.append(Attempt(turn_number, attempt, "completed", None, waited))
            break
        items.extend(outcome.items)
        if outcome.final_response is not None:
            final_response = outcome.final_response
        if used is not None:
            turn_usage.append(used)
        if outcome.required:
            outputs = []
            for call in outcome.required.values():
                output = await answer(call.name, call.arguments, call.call_id)
                outputs.append({"call_id": call.call_id, "name": call.name, "output": output})
                tool_calls.append(
                    {
                        "call_id": call.call_id,
                        "name": call.name,
                        "arguments": call.arguments,
                        "output": output,
                    }
                )
            next_input = json.dumps({"tool_outputs": outputs}, ensure_ascii=False, default=str)
        elif outcome.continuation:
            next_input = policy.continuation_prompt
        else:
            return finish("completed")
    return finish("max_turns")
