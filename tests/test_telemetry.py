"""Telemetry bus, correlation ids across tasks and threads, log formatting."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.reference.telemetry import (
    EVENT_NAMES,
    TelemetryBus,
    TelemetryEvent,
    TelemetryLogFormatter,
    correlation,
    correlation_id,
    log_telemetry,
    otel_span,
    run_in_thread,
)


def test_subscribers_receive_events_in_order_and_can_filter_and_unsubscribe() -> None:
    bus = TelemetryBus()
    everything: list[str] = []
    only_stops: list[str] = []
    bus.subscribe(lambda e: everything.append(e.name))
    unsubscribe = bus.subscribe(lambda e: only_stops.append(e.name), names=("codex.turn.stop",))
    bus.emit("codex.turn.start")
    bus.emit("codex.turn.stop", {"duration_ms": 3})
    unsubscribe()
    bus.emit("codex.turn.stop")
    assert everything == ["codex.turn.start", "codex.turn.stop", "codex.turn.stop"]
    assert only_stops == ["codex.turn.stop"]


def test_a_failing_handler_is_detached_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    bus = TelemetryBus()
    seen: list[str] = []

    def broken(event: TelemetryEvent) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(broken)
    bus.subscribe(lambda e: seen.append(e.name))
    with caplog.at_level(logging.ERROR, logger="harness.reference"):
        bus.emit("codex.turn.start")
        bus.emit("codex.turn.stop")
    assert seen == ["codex.turn.start", "codex.turn.stop"]
    assert sum("detaching" in r.getMessage() for r in caplog.records) == 1


def test_correlation_ids_follow_asyncio_tasks_and_stay_apart() -> None:
    bus = TelemetryBus()
    events: list[TelemetryEvent] = []
    bus.subscribe(events.append)

    async def turn(cid: str) -> None:
        with correlation(cid):
            bus.emit("codex.turn.start", metadata={"who": cid})
            await asyncio.sleep(0)
            await asyncio.create_task(asyncio.sleep(0))
            bus.emit("codex.turn.stop", metadata={"who": cid})

    async def main() -> None:
        await asyncio.gather(turn("a"), turn("b"))

    asyncio.run(main())
    assert correlation_id() is None
    assert all(e.correlation_id == e.metadata["who"] for e in events)
    assert {e.correlation_id for e in events} == {"a", "b"}


def test_correlation_ids_are_carried_into_threads() -> None:
    with ThreadPoolExecutor(max_workers=1) as pool, correlation("thread-cid"):
        assert run_in_thread(pool, correlation_id).result() == "thread-cid"
        assert pool.submit(correlation_id).result() is None  # a plain submit does not carry context


def test_formatter_modes() -> None:
    logger = logging.getLogger("harness.test.telemetry")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger.addHandler(Keep())
    logger.setLevel(logging.DEBUG)
    with correlation("c1"):
        event = TelemetryBus().emit("codex.turn.stop", {"duration_ms": 5}, {"thread_id": "t"})
    log_telemetry(event, logger)
    text = TelemetryLogFormatter("text").format(records[-1])
    assert text == "INFO harness.test.telemetry codex.turn.stop cid=c1 thread_id=t duration_ms=5"
    data = json.loads(TelemetryLogFormatter("json").format(records[-1]))
    assert data == {
        "level": "INFO",
        "logger": "harness.test.telemetry",
        "message": "codex.turn.stop",
        "correlation_id": "c1",
        "measurements": {"duration_ms": 5},
        "metadata": {"thread_id": "t"},
    }
    with pytest.raises(ValueError, match="unknown log format mode"):
        TelemetryLogFormatter("xml")  # type: ignore[arg-type]


def test_event_names_are_unique_and_otel_span_is_a_noop_without_the_api() -> None:
    assert len(set(EVENT_NAMES)) == len(EVENT_NAMES)
    with otel_span("codex.turn", {"mode": "run", "bad": object()}) as span:
        try:
            import opentelemetry  # noqa: F401
        except ImportError:
            assert span is None
