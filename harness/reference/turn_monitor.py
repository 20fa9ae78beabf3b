"""Watches one turn's events: telemetry emission and usage accounting, kept out of the parsing loop.

One monitor per turn. The thread feeds it every event and tells it how the stream ended; the monitor decides which
telemetry event describes the outcome (rules below) and records cumulative usage in the thread's ledger.

Outcome rules, identical for ``run()`` and ``run_streamed()``:

* a ``turn.failed`` was seen → ``codex.turn.exception`` with ``error_kind: turn_failed`` and the failure message,
  whatever the process did afterwards (the CLI exits 1 after it; that exit is a consequence, not the cause);
* the stream raised a :class:`CodexError` → ``codex.turn.exception`` with that error's ``kind``;
* ``turn.completed`` was seen → ``codex.turn.stop`` with ``outcome: completed``, duration and token counts;
* the consumer stopped early (``break``/``aclose``/task cancellation) → ``codex.turn.stop`` with
  ``outcome: closed``; EOF without a terminal event → ``outcome: incomplete``.
"""

from __future__ import annotations

import time
from typing import Any

from msgspec import UNSET

from harness.reference.errors import CodexError
from harness.reference.events import (
    ItemCompletedEvent,
    ItemStartedEvent,
    ItemUpdatedEvent,
    ThreadEvent,
    ThreadStartedEvent,
    ThreadTokenUsageUpdatedEvent,
    TurnCompletedEvent,
    TurnFailedEvent,
    Usage,
)
from harness.reference.telemetry import TelemetryBus, start_otel_span
from harness.reference.usage import TokenCounts, TurnUsage, UsageLedger

__all__ = ["TurnMonitor"]


class TurnMonitor:
    """Telemetry and usage bookkeeping for one turn of one thread."""

    def __init__(self, bus: TelemetryBus, ledger: UsageLedger, *, thread_id: str | None, mode: str) -> None:
        self._bus = bus
        self._ledger = ledger
        self.thread_id = thread_id
        self.mode = mode
        self._started = time.monotonic()
        self._items = 0
        self._usage: Usage | None = None
        self._failure: str | None = None
        self._turn_usage = TokenCounts()
        self._recorded = False
        self._finished = False
        self._span: Any = None

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        """The process is about to be spawned."""
        self._bus.emit("codex.turn.start", metadata={"thread_id": self.thread_id, "mode": self.mode})
        self._span = start_otel_span("codex.turn", {"codex.mode": self.mode, "codex.thread_id": self.thread_id or ""})

    def observe(self, event: ThreadEvent) -> bool:
        """Account for one event; returns True when it announced a thread id for the first time."""
        announced = False
        if isinstance(event, ThreadStartedEvent) and self.thread_id != event.thread_id:
            announced = self.thread_id is None
            self.thread_id = event.thread_id
        elif isinstance(event, ItemCompletedEvent):
            self._items += 1
        elif isinstance(event, TurnCompletedEvent):
            self._usage = event.usage
            self._record(TokenCounts.from_usage(event.usage))
        elif isinstance(event, TurnFailedEvent):
            self._failure = event.error.message
        elif isinstance(event, ThreadTokenUsageUpdatedEvent):
            total = getattr(event.token_usage, "total", UNSET)
            last = getattr(event.token_usage, "last", UNSET)
            if total is not UNSET and total is not None:
                self._record(TokenCounts.from_usage(total))
            if last is not UNSET and last is not None:
                self._ledger.record_last_call(self.thread_id, TokenCounts.from_usage(last))
        item = (
            getattr(event, "item", None)
            if isinstance(event, ItemStartedEvent | ItemUpdatedEvent | ItemCompletedEvent)
            else None
        )
        self._bus.emit(
            "codex.event",
            metadata={
                "type": str(event.type),
                "item_type": str(getattr(item, "type", "")) or None,
                "thread_id": self.thread_id,
            },
        )
        return announced

    def finish(self, error: BaseException | None, *, closed: bool = False) -> None:
        """The stream ended: normally (``error`` None), by an exception, or closed early by the consumer."""
        if self._finished:
            return
        self._finished = True
        duration_ms = round((time.monotonic() - self._started) * 1000, 3)
        if self._span is not None:
            self._span.set_attribute("codex.thread_id", self.thread_id or "")
            self._span.set_attribute("codex.items", self._items)
            failure = error if isinstance(error, CodexError) else None
            if self._failure is not None:
                failure = CodexError(self._failure)
            self._span.end(failure)
        base = {"thread_id": self.thread_id, "mode": self.mode}
        if self._failure is not None:
            self._bus.emit(
                "codex.turn.exception",
                {"duration_ms": duration_ms},
                {**base, "error_kind": "turn_failed", "message": self._failure},
            )
        elif isinstance(error, CodexError):
            self._bus.emit(
                "codex.turn.exception",
                {"duration_ms": duration_ms},
                {**base, "error_kind": error.kind, "message": error.message},
            )
        elif error is not None and not closed:
            self._bus.emit(
                "codex.turn.exception",
                {"duration_ms": duration_ms},
                {**base, "error_kind": "harness", "message": f"{type(error).__name__}: {error}"},
            )
        else:
            outcome = "completed" if self._usage is not None else ("closed" if closed else "incomplete")
            measurements: dict[str, float | int] = {"duration_ms": duration_ms}
            measurements.update(TokenCounts.from_usage(self._usage).to_dict())
            measurements.update({f"turn_{k}": v for k, v in self._turn_usage.to_dict().items()})
            self._bus.emit("codex.turn.stop", measurements, {**base, "outcome": outcome, "items": self._items})

    # -- results -----------------------------------------------------------------------------------------------
    @property
    def turn_usage(self) -> TokenCounts | None:
        """What this turn consumed (the delta of the thread's cumulative usage), once usage was reported."""
        return self._turn_usage if self._recorded else None

    def cumulative_usage(self) -> TokenCounts | None:
        return self._ledger.cumulative(self.thread_id) if self._recorded else None

    def _record(self, cumulative: TokenCounts) -> None:
        entry: TurnUsage = self._ledger.record_cumulative(self.thread_id, cumulative)
        self._turn_usage = self._turn_usage + entry.turn
        self._recorded = True
