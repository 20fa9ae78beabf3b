"""Threads and turns over the app-server: the same surface as the exec transport's ``Thread``.

``run_streamed`` is the one code path; ``run`` folds it, so the two cannot disagree. Rules:

* **Subscribe, then send.** The turn's subscription exists before ``turn/start`` is written, so nothing the
  server says about the turn can be missed, whatever order responses and notifications arrive in.
* **What belongs to the turn:** notifications whose ``turnId`` (or ``turn.id``) is this turn's, plus
  thread-scoped ones of this thread without a turn id while the turn runs (``thread/status/changed``,
  ``serverRequest/resolved``, ``guardianWarning``); not ``thread/started`` and nothing of other threads or of
  the whole connection (rate limits, config warnings). The stream ends with this turn's ``turn/completed``.
* **run():** items are the ``item/completed`` items in order (the official SDK's rule: user message, agent
  message, tool items…; the wire's ``turn.items`` holds only a summary). ``final_response`` is the last
  ``agentMessage`` text (``""`` if none). Usage comes from this turn's ``thread/tokenUsage/updated``
  (``total`` is the thread's cumulative value; the turn's share is computed by the client's
  :class:`~harness.reference.usage.UsageLedger`). ``turn/completed`` with ``status: "failed"``, or an ``error``
  notification with ``willRetry: false``, raises :class:`AppServerTurnFailedError` (kind ``turn_failed``) once
  the turn completed; ``interrupted`` is a normal result with that status.
* **Cancellation:** leaving the stream early (``break`` + ``aclose()``, ``async with``) or cancelling the task
  running ``run()`` sends ``turn/interrupt`` and waits (bounded) for the interrupted ``turn/completed``, so the
  thread is idle and the connection usable for the next turn. A turn cancelled before codex answered
  ``turn/start`` cannot be interrupted (its id is unknown).

Telemetry: ``codex.turn.start`` / ``codex.turn.stop`` (duration, tokens, outcome ``completed`` |
``interrupted`` | ``closed``) / ``codex.turn.exception`` (error kind; a failed turn is one) with ``transport:
"appserver"``, on the client's bus; every event carries the caller's correlation id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any

from harness.reference.appserver.errors import AppServerProtocolError, AppServerTurnFailedError
from harness.reference.appserver.inputs import TurnInput, build_input
from harness.reference.appserver.messages import (
    AgentMessageItem,
    ErrorNotification,
    ItemCompleted,
    Notification,
    ThreadItem,
    ThreadStartResult,
    ThreadTokenUsageUpdated,
    TokenUsageBreakdown,
    TurnCompleted,
    TurnStartResult,
)
from harness.reference.errors import CodexError
from harness.reference.stream import TurnStream
from harness.reference.usage import TokenCounts

if TYPE_CHECKING:
    from harness.reference.appserver.client import AppServerClient

__all__ = ["AppServerStreamedTurn", "AppServerThread", "AppServerTurn"]

_LOGGER = logging.getLogger("harness.reference.appserver")


@dataclasses.dataclass(frozen=True)
class AppServerTurn:
    """The result of :meth:`AppServerThread.run`."""

    thread_id: str
    turn_id: str
    #: ``completed`` or ``interrupted`` (a failed turn raises instead).
    status: str
    items: list[ThreadItem]
    final_response: str
    #: The last ``tokenUsage.total`` of the turn: the thread's cumulative usage, as codex sent it.
    usage: TokenUsageBreakdown | None
    #: What this turn alone consumed (see :mod:`harness.reference.usage`).
    turn_usage: TokenCounts | None = None
    #: The thread's cumulative usage after this turn.
    cumulative_usage: TokenCounts | None = None


class AppServerStreamedTurn(TurnStream[Notification]):
    """The notifications of one turn: an async iterator, and an async context manager that ends the turn (an
    interrupt if it is still running) on exit. ``turn_id`` is known once ``turn/start`` was answered."""

    def __init__(self, state: _TurnState, source: AsyncGenerator[Notification, None]) -> None:
        super().__init__(source)
        self._state = state

    @property
    def turn_id(self) -> str | None:
        return self._state.turn_id


@dataclasses.dataclass
class _TurnState:
    """What one turn has seen so far (fed by the stream, read by ``run`` and telemetry)."""

    mode: str
    turn_id: str | None = None
    completed: TurnCompleted | None = None
    failure: ErrorNotification | None = None
    items: list[ThreadItem] = dataclasses.field(default_factory=list)
    usage: TokenUsageBreakdown | None = None
    turn_usage: TokenCounts | None = None


class AppServerThread:
    """A conversation on one app-server connection; create it with ``client.thread_start`` / ``thread_resume``."""

    def __init__(
        self,
        client: AppServerClient,
        thread_id: str,
        info: ThreadStartResult | None = None,
        *,
        interrupt_timeout: float = 5.0,
    ) -> None:
        self._client = client
        self._id = thread_id
        self.info = info
        self.interrupt_timeout = interrupt_timeout
        self._active: _TurnState | None = None

    @property
    def id(self) -> str:
        return self._id

    @property
    def active_turn_id(self) -> str | None:
        """The running turn's id (``None`` between turns or before ``turn/start`` was answered)."""
        return self._active.turn_id if self._active is not None else None

    async def interrupt(self) -> bool:
        """Ask codex to interrupt the running turn (``turn/interrupt``); False when no turn is running."""
        turn_id = self.active_turn_id
        if turn_id is None:
            return False
        await self._client.turn_interrupt(self._id, turn_id)
        return True

    def run_streamed(self, input: TurnInput, turn_options: Mapping[str, Any] | None = None) -> AppServerStreamedTurn:
        """The turn's notifications as they arrive; lazy (``turn/start`` is sent on the first ``__anext__``).

        ``turn_options`` are ``turn/start`` params passed through verbatim (``model``, ``effort``,
        ``approvalPolicy``, ``outputSchema``, ``collaborationMode``, …)."""
        state = _TurnState(mode="streamed")
        return AppServerStreamedTurn(state, self._stream(input, turn_options, state))

    async def run(self, input: TurnInput, turn_options: Mapping[str, Any] | None = None) -> AppServerTurn:
        """Run a turn to its ``turn/completed``: items, final response, usage (module docstring)."""
        state = _TurnState(mode="run")
        stream = self._stream(input, turn_options, state)
        try:
            async for _ in stream:
                pass
        finally:
            await stream.aclose()
        error = _failure(state, self._id)
        if error is not None:
            raise error
        completed = state.completed
        if completed is None or state.turn_id is None:  # the stream ended without the turn's turn/completed
            raise AppServerProtocolError("the turn ended without turn/completed")
        final = ""
        for item in state.items:
            if isinstance(item, AgentMessageItem) and item.text is not None:
                final = item.text
        status = completed.turn.status if completed.turn is not None and completed.turn.status else "completed"
        cumulative = self._client.usage.cumulative(self._id) if state.usage is not None else None
        return AppServerTurn(
            thread_id=self._id,
            turn_id=state.turn_id,
            status=status,
            items=list(state.items),
            final_response=final,
            usage=state.usage,
            turn_usage=state.turn_usage,
            cumulative_usage=cumulative,
        )

    # -- the one code path ------------------------------------------------------------------------------------
    async def _stream(
        self, input: TurnInput, turn_options: Mapping[str, Any] | None, state: _TurnState
    ) -> AsyncGenerator[Notification, None]:
        if self._active is not None:
            raise RuntimeError(f"thread {self._id} already has a running turn")
        params: dict[str, Any] = {**(turn_options or {}), "threadId": self._id, "input": build_input(input)}
        telemetry = _TurnTelemetry(self._client, self._id, state)
        connection = self._client.connection
        self._active = state
        subscription = connection.subscribe()
        error: BaseException | None = None
        closed = False
        try:
            telemetry.start()
            result = await self._client.request("turn/start", params)
            turn = TurnStartResult.from_dict(result if isinstance(result, Mapping) else {}).turn
            if turn is None or turn.id is None:
                raise AppServerProtocolError("turn/start result has no turn id", repr(result))
            state.turn_id = turn.id
            async for notification in subscription:
                if not _belongs(notification, self._id, turn.id):
                    continue
                self._observe(notification, state)
                yield notification
                if state.completed is not None:
                    break
        except GeneratorExit:
            closed = True
            raise
        except BaseException as exc:
            error = exc
            closed = isinstance(exc, asyncio.CancelledError)
            raise
        finally:
            try:
                if state.completed is None and state.turn_id is not None and connection.failure is None:
                    await self._interrupt_and_drain(subscription, state)
            finally:
                subscription.close()
                self._active = None
                telemetry.finish(error, closed=closed)

    def _observe(self, notification: Notification, state: _TurnState) -> None:
        params = notification.params
        if isinstance(params, ItemCompleted) and params.item is not None:
            state.items.append(params.item)
        elif isinstance(params, ThreadTokenUsageUpdated) and params.token_usage is not None:
            total = params.token_usage.total
            if total is not None:
                state.usage = total
                entry = self._client.usage.record_cumulative(self._id, TokenCounts.from_usage(total.raw))
                state.turn_usage = entry.turn if state.turn_usage is None else state.turn_usage + entry.turn
        elif isinstance(params, ErrorNotification) and params.will_retry is False:
            state.failure = params
        elif isinstance(params, TurnCompleted):
            state.completed = params

    async def _interrupt_and_drain(self, subscription: Any, state: _TurnState) -> None:
        """Interrupt the turn and wait for its ``turn/completed``, both bounded by ``interrupt_timeout``."""
        turn_id = state.turn_id
        assert turn_id is not None
        try:
            async with asyncio.timeout(self.interrupt_timeout):
                await self._client.turn_interrupt(self._id, turn_id)
                async for notification in subscription:
                    if isinstance(notification.params, TurnCompleted) and notification.turn_id == turn_id:
                        state.completed = notification.params
                        break
        except (CodexError, TimeoutError) as exc:
            _LOGGER.warning("could not interrupt turn %s of thread %s: %s", turn_id, self._id, exc)


def _belongs(notification: Notification, thread_id: str, turn_id: str) -> bool:
    if notification.thread_id != thread_id or notification.method == "thread/started":
        return False
    return notification.turn_id in (turn_id, None)


def _failure(state: _TurnState, thread_id: str) -> AppServerTurnFailedError | None:
    completed = state.completed
    turn = completed.turn if completed is not None else None
    failed = turn is not None and turn.status == "failed"
    if not failed and state.failure is None:
        return None
    payload: dict[str, Any] | None = None
    if turn is not None and turn.error is not None:
        payload = dict(turn.error.raw) or turn.error.to_dict()
    elif state.failure is not None and state.failure.error is not None:
        payload = dict(state.failure.error.raw) or state.failure.error.to_dict()
    message = payload.get("message") if payload else None
    return AppServerTurnFailedError(
        message if isinstance(message, str) else "turn failed", payload, thread_id=thread_id, turn_id=state.turn_id
    )


class _TurnTelemetry:
    """``codex.turn.*`` for one turn (the outcome rules of the exec ``TurnMonitor``, app-server statuses)."""

    def __init__(self, client: AppServerClient, thread_id: str, state: _TurnState) -> None:
        self._bus = client.telemetry
        self._thread_id = thread_id
        self._state = state
        self._started = time.monotonic()

    def _base(self) -> dict[str, Any]:
        return {
            "thread_id": self._thread_id,
            "turn_id": self._state.turn_id,
            "mode": self._state.mode,
            "transport": "appserver",
        }

    def start(self) -> None:
        self._started = time.monotonic()
        self._bus.emit("codex.turn.start", metadata=self._base())

    def finish(self, error: BaseException | None, *, closed: bool) -> None:
        duration = {"duration_ms": round((time.monotonic() - self._started) * 1000, 3)}
        failure: CodexError | None = _failure(self._state, self._thread_id)
        if failure is None and isinstance(error, CodexError):
            failure = error
        if failure is not None:
            kind = failure.kind
            self._bus.emit(
                "codex.turn.exception", duration, {**self._base(), "error_kind": kind, "message": failure.message}
            )
            return
        if error is not None and not closed:
            text = f"{type(error).__name__}: {error}"
            self._bus.emit("codex.turn.exception", duration, {**self._base(), "error_kind": "harness", "message": text})
            return
        completed = self._state.completed
        status = completed.turn.status if completed is not None and completed.turn is not None else None
        outcome = "closed" if closed or status is None else status
        measurements: dict[str, float | int] = dict(duration)
        measurements.update(TokenCounts.from_usage(self._state.usage.raw if self._state.usage else None).to_dict())
        measurements.update({f"turn_{k}": v for k, v in (self._state.turn_usage or TokenCounts()).to_dict().items()})
        self._bus.emit(
            "codex.turn.stop", measurements, {**self._base(), "outcome": outcome, "items": len(self._state.items)}
        )
