"""Telemetry and logs of the reference SDK: an in-process event bus, correlation ids, a log formatter, OTel spans.

Why a bus and not only ``logging``: parity reports snapshot telemetry like events, so it must be structured data
(name, measurements, metadata) with a deterministic order, not formatted text. Log records are derived from the same
telemetry events, so the two never disagree.

Event names (a published contract, listed in :data:`EVENT_NAMES`):

============================  ==========================================================  ====================
name                          measurements                                                metadata
============================  ==========================================================  ====================
``codex.thread.start``        —                                                           thread_id (or None)
``codex.thread.stop``         turns                                                       thread_id
``codex.turn.start``          —                                                           thread_id, mode
``codex.turn.stop``           duration_ms, input_tokens, cached_input_tokens,             thread_id, mode,
                              cache_write_input_tokens, output_tokens,                    items
                              reasoning_output_tokens
``codex.turn.exception``      duration_ms                                                 thread_id, mode,
                                                                                          error_kind, message
``codex.event``               —                                                           type, item_type,
                                                                                          thread_id
============================  ==========================================================  ====================

Every event carries the current correlation id (:func:`correlation_id`), a ``contextvars`` value: asyncio tasks
inherit it, and :func:`run_in_thread` carries it into worker threads.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

__all__ = [
    "EVENT_NAMES",
    "TelemetryBus",
    "TelemetryEvent",
    "TelemetryLogFormatter",
    "correlation",
    "correlation_id",
    "default_bus",
    "log_telemetry",
    "otel_span",
    "start_otel_span",
    "run_in_thread",
]

EVENT_NAMES: tuple[str, ...] = (
    "codex.thread.start",
    "codex.thread.stop",
    "codex.turn.start",
    "codex.turn.stop",
    "codex.turn.exception",
    "codex.event",
)

_CORRELATION: contextvars.ContextVar[str | None] = contextvars.ContextVar("codex_correlation_id", default=None)
_LOGGER = logging.getLogger("harness.reference")
T = TypeVar("T")


def correlation_id() -> str | None:
    """The correlation id of the current context (task or thread), if any."""
    return _CORRELATION.get()


@contextlib.contextmanager
def correlation(value: str | None = None) -> Iterator[str]:
    """Run a block under a correlation id (a new random one unless given); restores the previous one after."""
    cid = value if value is not None else uuid.uuid4().hex[:16]
    token = _CORRELATION.set(cid)
    try:
        yield cid
    finally:
        _CORRELATION.reset(token)


def run_in_thread(executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> Future[T]:
    """Submit ``fn`` to a thread pool carrying the caller's context (correlation id included)."""
    ctx = contextvars.copy_context()
    return executor.submit(ctx.run, fn, *args)


@dataclass(frozen=True, slots=True)
class TelemetryEvent:
    """One telemetry event: a name from :data:`EVENT_NAMES`, numeric measurements and descriptive metadata."""

    name: str
    measurements: Mapping[str, float | int]
    metadata: Mapping[str, Any]
    correlation_id: str | None
    timestamp: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "measurements": dict(self.measurements),
            "metadata": dict(self.metadata),
            "correlation_id": self.correlation_id,
            "timestamp": self.timestamp,
        }


Handler = Callable[[TelemetryEvent], None]


class TelemetryBus:
    """Synchronous fan-out of telemetry events to subscribers; a failing handler is detached, never fatal."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: list[tuple[Handler, frozenset[str] | None]] = []

    def subscribe(self, handler: Handler, names: tuple[str, ...] | None = None) -> Callable[[], None]:
        """Register ``handler`` (for all events, or only ``names``); returns a function that unsubscribes it."""
        entry = (handler, frozenset(names) if names is not None else None)
        with self._lock:
            self._handlers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._handlers:
                    self._handlers.remove(entry)

        return unsubscribe

    def emit(
        self,
        name: str,
        measurements: Mapping[str, float | int] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> TelemetryEvent:
        """Build an event in the current context and deliver it to every matching handler, in subscription order."""
        event = TelemetryEvent(name, dict(measurements or {}), dict(metadata or {}), correlation_id())
        with self._lock:
            handlers = list(self._handlers)
        for handler, names in handlers:
            if names is not None and name not in names:
                continue
            try:
                handler(event)
            except Exception:  # a subscriber's bug must not break a turn; drop that subscriber and say so
                _LOGGER.exception("telemetry handler %r failed; detaching it", handler)
                with self._lock:
                    if (handler, names) in self._handlers:
                        self._handlers.remove((handler, names))
        return event


_DEFAULT_BUS = TelemetryBus()


def default_bus() -> TelemetryBus:
    """The process-wide bus used when a ``Codex`` is created without one."""
    return _DEFAULT_BUS


def log_telemetry(event: TelemetryEvent, logger: logging.Logger = _LOGGER) -> None:
    """A bus handler that turns telemetry into log records (INFO; ``codex.turn.exception`` at WARNING)."""
    level = logging.WARNING if event.name == "codex.turn.exception" else logging.INFO
    if event.name == "codex.event":
        level = logging.DEBUG
    logger.log(
        level,
        event.name,
        extra={
            "codex_event": event.name,
            "codex_measurements": dict(event.measurements),
            "codex_metadata": dict(event.metadata),
            "correlation_id": event.correlation_id,
        },
    )


class TelemetryLogFormatter(logging.Formatter):
    """Formats records as ``text`` (one readable line) or ``json`` (one JSON object per line, stable key order)."""

    def __init__(self, mode: Literal["text", "json"] = "text") -> None:
        super().__init__()
        if mode not in ("text", "json"):
            raise ValueError(f"unknown log format mode {mode!r}: expected 'text' or 'json'")
        self.mode = mode

    def format(self, record: logging.LogRecord) -> str:
        """The formatted line, with secrets redacted (:func:`harness.redact.redact_text`): a log is an output too."""
        from harness.redact import redact_text

        return redact_text(self._format(record))

    def _format(self, record: logging.LogRecord) -> str:
        cid = getattr(record, "correlation_id", None) or correlation_id()
        measurements = getattr(record, "codex_measurements", {})
        metadata = getattr(record, "codex_metadata", {})
        if self.mode == "json":
            payload = {
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
                "correlation_id": cid,
                "measurements": measurements,
                "metadata": metadata,
            }
            return json.dumps(payload, ensure_ascii=False, sort_keys=False, default=str)
        parts = [f"{record.levelname} {record.name} {record.getMessage()}"]
        if cid:
            parts.append(f"cid={cid}")
        parts.extend(f"{k}={v}" for k, v in {**metadata, **measurements}.items())
        return " ".join(parts)


@contextlib.contextmanager
def otel_span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """An OpenTelemetry span when ``opentelemetry-api`` is installed (extra ``otel``), else a no-op."""
    try:
        from opentelemetry import trace
    except ImportError:
        yield None
        return
    tracer = trace.get_tracer("harness.reference")
    clean = {k: v for k, v in (attributes or {}).items() if isinstance(v, str | int | float | bool)}
    with tracer.start_as_current_span(name, attributes=clean) as span:
        yield span


class _NoSpan:
    """Stands in for a span when OpenTelemetry is not installed."""

    def set_attribute(self, key: str, value: Any) -> None:
        return None

    def end(self, error: BaseException | None = None) -> None:
        return None


class _OtelSpan:
    def __init__(self, span: Any) -> None:
        self._span = span

    def set_attribute(self, key: str, value: Any) -> None:
        if isinstance(value, str | int | float | bool):
            self._span.set_attribute(key, value)

    def end(self, error: BaseException | None = None) -> None:
        if error is not None:
            from opentelemetry.trace import Status, StatusCode

            self._span.record_exception(error)
            self._span.set_status(Status(StatusCode.ERROR, str(error)))
        self._span.end()


def start_otel_span(name: str, attributes: Mapping[str, Any] | None = None) -> _NoSpan | _OtelSpan:
    """Start a span that outlives a ``with`` block (a streamed turn spans many ``yield``s); call ``end()``."""
    try:
        from opentelemetry import trace
    except ImportError:
        return _NoSpan()
    clean = {k: v for k, v in (attributes or {}).items() if isinstance(v, str | int | float | bool)}
    return _OtelSpan(trace.get_tracer("harness.reference").start_span(name, attributes=clean))
