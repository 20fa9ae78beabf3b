"""Running a scenario against the reference SDK and its transport's fake, hermetically, into an observation.

:func:`run_scenario` asks the scenario's transport (:mod:`harness.scenario.transports`: ``exec`` -- the fake codex
and the reference exec SDK; ``app-server`` -- the fake app-server replaying a recording and the reference
app-server client) to build the fake in the workdir and drive the reference SDK turn by turn, and returns the raw
observation; :func:`observe` does it in a fresh temp workdir and normalizes the result (this is what goldens,
reports and the CLI use). A failure of the SDK under test -- an exception, a hang past the scenario's
``timeout`` -- is *data* in the observation (``error``); only a harness that cannot run the scenario at all
raises.

Hermetic: the codex child gets a fixed environment (``PATH=/usr/local/bin:/usr/bin:/bin``, ``HOME`` and
``CODEX_HOME`` inside the workdir, ``LANG=C.UTF-8``, ``TMPDIR`` inside the workdir) plus the scenario's
``options.codex.env``; the "codex" it runs is a fake, so nothing reaches a real CLI or the network.

The observation (docs/scenarios.md, "Observation") is the fake's side (exec: ``invocations``; app-server:
``requests``, ``replies``, ``divergence``) and the SDK's side::

     "events": [...],                               # streamed mode; [] in run and auto mode
     "result": {...} | null,
     "error": {"kind", "class", "message", ...} | null,     # CodexError.to_dict(); auto: + attempts, sleeps
     "earlier_turns": [{"mode", "events", "result", "error"}, ...],   # multi-turn scenarios: turns before the last
     "telemetry": [{"name", "measurements", "metadata", "correlation_id"}, ...],
     "logs": [{"level", "logger", "message", "correlation_id", "measurements", "metadata"}, ...]

Telemetry and logs are captured per scenario, so scenarios can run in parallel threads: the client gets a private
:class:`~harness.reference.telemetry.TelemetryBus`, the scenario runs under its own correlation id, and the log
handler attached to the ``harness.reference`` logger keeps only the records of that correlation id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.scenario.compare import without_evidence
from harness.scenario.model import Scenario
from harness.scenario.transports import BASE_PATH, Transport, transport_for
from harness.scenario.transports.exec import (
    RECORDED_ENV,
    PreparedFake,
    normalization_context,
    prepare_fake,
    recorded_invocations,
)
from harness.scenario.transports.layout import plain as _plain

if TYPE_CHECKING:
    from harness.reference.telemetry import TelemetryEvent

__all__ = [
    "BASE_PATH",
    "RECORDED_ENV",
    "PreparedFake",
    "golden_document",
    "normalization_context",
    "observe",
    "prepare_fake",
    "recorded_invocations",
    "run_and_normalize",
    "run_scenario",
]

_GOLDEN_FORMAT = 1

# ----------------------------------------------------------------------------------------------------
# telemetry and logs, captured per scenario

_LOGGER_NAME = "harness.reference"
_LOG_LOCK = threading.Lock()
_LOG_USERS = 0
_LOG_SAVED_LEVEL = logging.NOTSET


class _CorrelatedJsonHandler(logging.Handler):
    """Keeps the records of one correlation id, formatted by ``TelemetryLogFormatter("json")`` and parsed back."""

    def __init__(self, cid: str, sink: list[dict[str, Any]]) -> None:
        from harness.reference.telemetry import TelemetryLogFormatter

        super().__init__(level=logging.DEBUG)
        self.cid = cid
        self.sink = sink
        self.setFormatter(TelemetryLogFormatter("json"))

    def emit(self, record: logging.LogRecord) -> None:
        from harness.reference.telemetry import correlation_id

        # Handlers run in the emitting thread, so the context's id is the emitter's (parallel scenarios differ).
        if (getattr(record, "correlation_id", None) or correlation_id()) != self.cid:
            return
        try:
            self.sink.append(json.loads(self.format(record)))
        except Exception:  # noqa: BLE001 - logging's own policy for a handler that fails
            self.handleError(record)


@contextmanager
def _debug_logging(handler: logging.Handler) -> Iterator[None]:
    """Attach ``handler`` to the ``harness.reference`` logger at DEBUG; restore the level after the last user."""
    global _LOG_USERS, _LOG_SAVED_LEVEL
    logger = logging.getLogger(_LOGGER_NAME)
    with _LOG_LOCK:
        if _LOG_USERS == 0:
            _LOG_SAVED_LEVEL = logger.level
        _LOG_USERS += 1
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield
    finally:
        with _LOG_LOCK:
            logger.removeHandler(handler)
            _LOG_USERS -= 1
            if _LOG_USERS == 0:
                logger.setLevel(_LOG_SAVED_LEVEL)


def _telemetry_record(event: TelemetryEvent) -> dict[str, Any]:
    """One telemetry event as observed: everything but the timestamp."""
    return {
        "name": event.name,
        "measurements": _plain(dict(event.measurements)),
        "metadata": _plain(dict(event.metadata)),
        "correlation_id": event.correlation_id,
    }


class _Capture:
    """The telemetry and logs of one scenario run: a private bus, a correlation id, a correlated log handler."""

    def __init__(self) -> None:
        from harness.reference.telemetry import TelemetryBus

        self.cid = f"scenario-{uuid.uuid4().hex}"
        self.bus = TelemetryBus()
        self.telemetry: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []

    @contextmanager
    def active(self) -> Iterator[None]:
        from harness.reference.telemetry import correlation, log_telemetry

        unsubscribe = [
            self.bus.subscribe(lambda event: self.telemetry.append(_telemetry_record(event))),
            self.bus.subscribe(log_telemetry),
        ]
        try:
            with _debug_logging(_CorrelatedJsonHandler(self.cid, self.logs)), correlation(self.cid):
                yield
        finally:
            for each in unsubscribe:
                each()



def run_scenario(scenario: Scenario, *, workdir: Path) -> dict[str, Any]:
    """Run ``scenario`` in ``workdir`` (which should be empty) and return the raw, un-normalized
    observation."""
    return _execute(scenario, Path(workdir))[0]


def _execute(
    scenario: Scenario, workdir: Path, transport: Transport | None = None
) -> tuple[dict[str, Any], Any, str]:
    """Run the scenario: the raw observation, the prepared fake and the correlation id it ran under."""
    transport = transport or transport_for(scenario)
    prepared = transport.prepare(scenario, Path(workdir))
    capture = _Capture()

    async def main() -> list[dict[str, Any]]:
        return await asyncio.wait_for(
            transport.run_reference(scenario, prepared, capture.bus), timeout=scenario.timeout
        )

    try:
        with capture.active():
            records = asyncio.run(main())
    except TimeoutError:
        records = [
            {
                "mode": str(scenario.turns[0].mode),
                "events": [],
                "result": None,
                "error": {
                    "kind": "harness_timeout",
                    "class": "TimeoutError",
                    "message": f"the scenario did not finish within {scenario.timeout:g} s",
                },
            }
        ]
    last = records[-1]
    observation = {
        **transport.fake_side(scenario, prepared),
        "events": last["events"],
        "result": last["result"],
        "error": last["error"],
        "earlier_turns": records[:-1],
        "telemetry": capture.telemetry,
        "logs": capture.logs,
    }
    return observation, prepared, capture.cid


def run_and_normalize(
    scenario: Scenario, *, workdir: Path, transport: Transport | None = None
) -> dict[str, Any]:
    """:func:`run_scenario` followed by the transport's normalization with everything the run knows.
    ``transport`` replaces the scenario's own (live mode: :class:`~.transports.live.LiveExecTransport`)."""
    transport = transport or transport_for(scenario)
    observation, prepared, cid = _execute(scenario, Path(workdir), transport)
    return transport.normalize(scenario, prepared, observation, cid)


def observe(scenario: Scenario) -> dict[str, Any]:
    """Run ``scenario`` in a fresh temp workdir (removed afterwards) and return the normalized observation."""
    with tempfile.TemporaryDirectory(prefix="codex-scenario-") as tmp:
        return run_and_normalize(scenario, workdir=Path(tmp))


def golden_document(scenario: Scenario, observation: dict[str, Any]) -> dict[str, Any]:
    """The golden of a scenario: metadata (id, CLI versions and fixtures used) and the normalized
    observation."""
    return {
        "meta": {
            "format": _GOLDEN_FORMAT,
            "id": scenario.id,
            "cli_versions": list(scenario.cli_versions),
            "fixtures": list(scenario.fixtures),
            "modes": [str(mode) for mode in scenario.modes],
        },
        "observation": without_evidence(observation),
    }

