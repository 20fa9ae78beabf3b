"""Running a scenario against the reference SDK and the fake codex, hermetically, into an observation.

:func:`run_scenario` builds the fake (``build_fake`` into the workdir), drives the reference SDK turn by turn
(``run`` or ``streamed``), and returns the raw observation; :func:`observe` does it in a fresh temp workdir
and
normalizes the result (this is what goldens, reports and the CLI use). A failure of the SDK under test -- an
exception, a hang past the scenario's ``timeout`` -- is *data* in the observation (``error``); only a harness
that cannot run the scenario at all raises.

Hermetic: the codex child gets a fixed environment (``PATH=/usr/local/bin:/usr/bin:/bin``, ``HOME`` and
``CODEX_HOME`` inside the workdir, ``LANG=C.UTF-8``, ``TMPDIR`` inside the workdir) plus the scenario's
``options.codex.env``; the "codex" it runs is the fake, so nothing reaches a real CLI or the network.

The observation (docs/scenarios.md, "Observation")::

    {"invocations": [{"step", "argv", "stdin", "cwd", "env", "output_schema"}],
     "events": [<serialized event line>, ...],      # streamed mode; [] in run and auto mode
     "result": {"thread_id", "final_response", "items", "usage",              # run mode
                "turn_usage", "cumulative_usage", "structured_output"}
             | {"thread_id", "final_response", "items", "attempts", "turn_usage",  # auto mode
                "usage", "stop_reason", "tool_calls", "sleeps"}
             | null,
     "error": {"kind", "class", "message", ...} | null,     # CodexError.to_dict(); auto: + attempts, sleeps
     "earlier_turns": [{"mode", "events", "result", "error"}, ...],   # multi-turn scenarios: turns before
     the last
     "telemetry": [{"name", "measurements", "metadata", "correlation_id"}, ...],
     "logs": [{"level", "logger", "message", "correlation_id", "measurements", "metadata"}, ...]}

Telemetry and logs are captured per scenario, so scenarios can run in parallel threads: the client gets a private
:class:`~harness.reference.telemetry.TelemetryBus`, the scenario runs under its own correlation id, and the log
handler attached to the ``harness.reference`` logger keeps only the records of that correlation id.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import logging
import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError, ScenarioError
from harness.scenario.model import AutoSpec, Mode, Scenario, ThreadMode, TurnSpec
from harness.scenario.normalize import NormalizationContext, is_secret_key, normalize

if TYPE_CHECKING:
    from harness.reference.telemetry import TelemetryBus, TelemetryEvent

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

#: The ``PATH`` of the codex child: system directories only, identical on every machine that runs the harness.
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"

#: Environment variables recorded for each invocation (besides the ones the scenario sets and ``CODEX_*`` /
#: ``OPENAI_*``): what an SDK sets or passes through for codex.
RECORDED_ENV: tuple[str, ...] = (
    "CODEX_API_KEY",
    "CODEX_HOME",
    "CODEX_INTERNAL_ORIGINATOR_OVERRIDE",
    "HOME",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "PATH",
    "RUST_LOG",
)

_GOLDEN_FORMAT = 1


class _Layout:
    """The directories of one run inside its workdir."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.home = workdir / "home"
        self.codex_home = workdir / "codex-home"
        self.tmp = workdir / "tmp"
        self.fake_dir = workdir / "fake"
        self.log = workdir / "invocations.jsonl"

    def create(self) -> None:
        for directory in (self.home, self.codex_home, self.tmp, self.fake_dir):
            directory.mkdir(parents=True, exist_ok=True)

    def env(self, extra: Mapping[str, str]) -> dict[str, str]:
        base = {
            "PATH": BASE_PATH,
            "HOME": str(self.home),
            "CODEX_HOME": str(self.codex_home),
            "LANG": "C.UTF-8",
            "TMPDIR": str(self.tmp),
        }
        return base | dict(extra)


def _event_line(event: Any) -> str:
    from harness.reference.events import serialize

    return serialize(event)


def _jsonable(value: Any) -> Any:
    """A typed value (e.g. ``Usage``) as plain data, as the CLI printed it."""
    from harness.reference.events import to_builtins

    return to_builtins(value)


def _item_line(item: Any) -> str:
    from harness.reference import events

    serialize_item = getattr(events, "serialize_item", None)
    if serialize_item is not None:
        text: str = serialize_item(item)
        return text
    return json.dumps(_jsonable(item), separators=(",", ":"), ensure_ascii=False)


def _error(exc: BaseException) -> dict[str, Any]:
    from harness.reference.errors import CodexError

    if isinstance(exc, CodexError):
        data: dict[str, Any] = exc.to_dict()
        return data
    return {"kind": "unexpected", "class": type(exc).__name__, "message": str(exc)}


def _counts(value: Any) -> dict[str, int] | None:
    """A ``TokenCounts`` as a dict (``None`` stays ``None``)."""
    if value is None:
        return None
    data: dict[str, int] = value.to_dict()
    return data


def _run_result(thread: Any, result: Any) -> dict[str, Any]:
    return {
        "thread_id": thread.id,
        "final_response": result.final_response,
        "items": [_item_line(item) for item in result.items],
        "usage": _jsonable(result.usage),
        "turn_usage": _counts(result.turn_usage),
        "cumulative_usage": _counts(result.cumulative_usage),
        "structured_output": _plain(result.structured_output),
    }


def _auto_result(result: Any, sleeps: list[float]) -> dict[str, Any]:
    return {
        "thread_id": result.thread_id,
        "final_response": result.final_response,
        "items": [_item_line(item) for item in result.items],
        "attempts": [_plain(attempt.to_dict()) for attempt in result.attempts],
        "turn_usage": [_counts(entry) for entry in result.turn_usage],
        "usage": _counts(result.usage),
        "stop_reason": result.stop_reason,
        "tool_calls": _plain(result.tool_calls),
        "sleeps": list(sleeps),
    }


def _plain(value: Any) -> Any:
    """A JSON-able copy (dataclasses and other values through ``str``, as a report would write them)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _auto_kwargs(spec: AutoSpec, sleeps: list[float]) -> dict[str, Any]:
    """``run_auto`` keyword arguments: the policy, static tool handlers, and a sleep that only records."""
    from harness.reference.auto import AutoRunPolicy, Backoff

    policy_args = spec.policy_kwargs()
    if spec.backoff:
        policy_args["backoff"] = Backoff(**{key: float(value) for key, value in spec.backoff.items()})

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0)

    def tool(result: Any) -> Callable[[Any], Any]:
        def handler(arguments: Any) -> Any:
            return copy.deepcopy(result)

        return handler

    return {
        "policy": AutoRunPolicy(**policy_args),
        "tools": {name: tool(result) for name, result in spec.tool_results.items()},
        "sleep": sleep,
    }


async def _run_turn(codex: Any, thread: Any, scenario: Scenario, turn: TurnSpec) -> dict[str, Any]:
    from harness.reference import AbortController, TurnOptions

    events: list[str] = []
    record: dict[str, Any] = {"mode": str(turn.mode), "events": events, "result": None, "error": None}
    timer: asyncio.TimerHandle | None = None
    sleeps: list[float] = []
    try:
        options: dict[str, Any] = {**scenario.turn_options, **turn.turn_options}
        if turn.abort_after_ms is not None:
            controller = AbortController()
            options["signal"] = controller.signal
            timer = asyncio.get_running_loop().call_later(turn.abort_after_ms / 1000, controller.abort)
        turn_options = TurnOptions.from_mapping(options)
        if turn.mode is Mode.RUN:
            result = await thread.run(turn.sdk_input(), turn_options)
            record["result"] = _run_result(thread, result)
        elif turn.mode is Mode.STREAMED:
            async with thread.run_streamed(turn.sdk_input(), turn_options) as stream:
                async for event in stream:
                    events.append(_event_line(event))
            record["result"] = {"thread_id": thread.id, "final_response": None, "items": None, "usage": None}
        elif turn.mode is Mode.AUTO:
            kwargs = _auto_kwargs(turn.auto or AutoSpec(), sleeps)
            auto = await thread.run_auto(turn.sdk_input(), turn_options, **kwargs)
            record["result"] = _auto_result(auto, sleeps)
        else:  # pragma: no cover - a new Mode must be taught to the runner
            raise HarnessError(f"mode {turn.mode} is not supported by the runner")
    except HarnessError:
        raise
    except Exception as exc:  # noqa: BLE001 - a failure of the SDK under test is data
        error = _error(exc)
        if turn.mode is Mode.AUTO:
            attempts = getattr(exc, "attempts", None)
            if isinstance(attempts, list):
                error["attempts"] = [_plain(attempt.to_dict()) for attempt in attempts]
            error["sleeps"] = list(sleeps)
        record["error"] = error
    finally:
        if timer is not None:
            timer.cancel()
    return record


async def _run_turns(
    scenario: Scenario, layout: _Layout, fake: Path, telemetry: TelemetryBus | None = None
) -> list[dict[str, Any]]:
    from harness.reference import Codex, CodexOptions, ThreadOptions

    records: list[dict[str, Any]] = []
    try:
        codex_options = dict(scenario.codex_options)
        codex_options["env"] = layout.env(codex_options.get("env", {}))
        codex_options["codex_path_override"] = str(fake)
        codex = Codex(CodexOptions.from_mapping(codex_options), telemetry=telemetry)
        thread_options = ThreadOptions.from_mapping(dict(scenario.thread_options))
        thread = codex.start_thread(thread_options)
    except Exception as exc:  # noqa: BLE001 - options the SDK rejects are an observation too
        first = scenario.turns[0]
        return [{"mode": str(first.mode), "events": [], "result": None, "error": _error(exc)}]
    threads = [thread]
    try:
        for turn in scenario.turns:
            if turn.thread is ThreadMode.RESUME:
                previous = thread.id
                if previous is None:
                    records.append(
                        {
                            "mode": str(turn.mode),
                            "events": [],
                            "result": None,
                            "error": {
                                "kind": "harness",
                                "class": "NoThreadId",
                                "message": "cannot resume: the previous turn produced no thread id",
                            },
                        }
                    )
                    break
                thread = codex.resume_thread(previous, thread_options)
                threads.append(thread)
            record = await _run_turn(codex, thread, scenario, turn)
            records.append(record)
            if record["error"] is not None:
                break
    finally:
        # Done with every thread, in the order they were made (``codex.thread.stop`` for announced ones).
        for each in threads:
            each.close()
    return records


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


def _invocations(log: Path, passed_env: Mapping[str, str]) -> list[dict[str, Any]]:
    from harness.fake import read_log

    if not log.exists():
        return []
    out: list[dict[str, Any]] = []
    for invocation in read_log(log):
        env = {
            key: value
            for key, value in invocation.env.items()
            if key in RECORDED_ENV or key in passed_env or key.startswith(("CODEX_", "OPENAI_"))
        }
        out.append(
            {
                "step": invocation.step,
                "argv": list(invocation.argv),
                "stdin": invocation.stdin,
                "cwd": invocation.cwd,
                "env": dict(sorted(env.items())),
                "output_schema": invocation.output_schema,
            }
        )
    return out


def _plan_thread_ids(scenario: Scenario) -> list[str]:
    """Thread ids the plan will print (fixture and inline ``thread.started`` events), for normalization."""
    ids: list[str] = []
    for step in scenario.plan.get("steps", []):
        lines: list[str] = []
        if "replay" in step:
            try:
                lines = (scenario.project_root / step["replay"]).read_text(encoding="utf-8").split("\n")
            except (OSError, UnicodeDecodeError):
                lines = []
        lines += [line for line in step.get("lines", []) if isinstance(line, str)]
        lines += [json.dumps(event) for event in step.get("events", [])]
        if isinstance(step.get("resume"), str):
            ids.append(step["resume"])
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and isinstance(event.get("thread_id"), str):
                ids.append(event["thread_id"])
    return ids


def run_scenario(scenario: Scenario, *, workdir: Path) -> dict[str, Any]:
    """Run ``scenario`` in ``workdir`` (which should be empty) and return the raw, un-normalized
    observation."""
    return _execute(scenario, Path(workdir))[0]


@dataclasses.dataclass(frozen=True)
class PreparedFake:
    """The fake codex built for one scenario run: its workdir layout, the executable, and the codex child's
    environment (``base_env``: the hermetic base; ``passed_env``: with the scenario's ``options.codex.env``)."""

    layout: _Layout
    fake: Path
    base_env: dict[str, str]
    passed_env: dict[str, str]

    @property
    def log(self) -> Path:
        """The fake's invocation log."""
        return self.layout.log


def prepare_fake(scenario: Scenario, workdir: Path) -> PreparedFake:
    """Create the run's directories in ``workdir`` and build the scenario's fake codex there. Shared by the
    reference runner and the parity matrix (which runs other SDKs through adapters against the same fake)."""
    from harness.fake import Plan, build_fake

    layout = _Layout(Path(workdir))
    layout.create()
    try:
        plan = Plan.from_mapping(dict(scenario.plan), base_dir=scenario.project_root, source=scenario.path)
    except HarnessError as exc:
        raise ScenarioError(getattr(exc, "message", str(exc)), path=scenario.path, field="plan") from exc
    fake = build_fake(plan, layout.fake_dir, log_path=layout.log)
    return PreparedFake(layout, fake, layout.env({}), layout.env(scenario.codex_options.get("env", {})))


def recorded_invocations(log: Path, passed_env: Mapping[str, str]) -> list[dict[str, Any]]:
    """The ``invocations`` of an observation, read from the fake's log (the recorded env variables only)."""
    return _invocations(log, passed_env)


def normalization_context(
    scenario: Scenario, workdir: Path, fake: Path, cid: str | None = None
) -> NormalizationContext:
    """Everything a run in ``workdir`` knows for :func:`~harness.scenario.normalize.normalize`."""
    return _context(scenario, workdir, fake, cid)


def _execute(scenario: Scenario, workdir: Path) -> tuple[dict[str, Any], Path, str]:
    """Run the scenario: the raw observation, the fake's path and the correlation id it ran under."""
    prepared = prepare_fake(scenario, Path(workdir))
    layout, fake = prepared.layout, prepared.fake
    capture = _Capture()

    async def main() -> list[dict[str, Any]]:
        return await asyncio.wait_for(_run_turns(scenario, layout, fake, capture.bus), timeout=scenario.timeout)

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
        "invocations": _invocations(layout.log, prepared.passed_env),
        "events": last["events"],
        "result": last["result"],
        "error": last["error"],
        "earlier_turns": records[:-1],
        "telemetry": capture.telemetry,
        "logs": capture.logs,
    }
    return observation, fake, capture.cid


def _context(scenario: Scenario, workdir: Path, fake: Path, cid: str | None = None) -> NormalizationContext:
    layout = _Layout(workdir)
    secrets = [str(scenario.codex_options["api_key"])] if scenario.codex_options.get("api_key") else []
    secrets += [v for k, v in dict(scenario.codex_options.get("env", {})).items() if is_secret_key(k)]
    return NormalizationContext(
        workdir=workdir,
        home=layout.home,
        codex_home=layout.codex_home,
        codex_path=fake,
        cwd=Path(os.getcwd()),
        secrets=tuple(secrets),
        thread_ids=tuple(_plan_thread_ids(scenario)),
        correlation_ids=(cid,) if cid else (),
    )


def run_and_normalize(scenario: Scenario, *, workdir: Path) -> dict[str, Any]:
    """:func:`run_scenario` followed by :func:`normalize` with everything the run knows."""
    observation, fake, cid = _execute(scenario, Path(workdir))
    return normalize(observation, _context(scenario, Path(workdir), fake, cid))


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
        "observation": observation,
    }
