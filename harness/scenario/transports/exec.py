"""The exec transport: the fake ``codex`` built from the scenario's plan, driven by the reference exec SDK.

``codex exec --json`` is one process per turn, so the fake's side of an observation is its invocation log
(``invocations``: argv, stdin, cwd, the recorded env, the output-schema file), and the SDK's side is the
events, result and error of each turn (docs/scenarios.md, "Observation"). :class:`ExecTransport` is the
:class:`~harness.scenario.transports.base.Transport` the runner, the matrix and the pytest plugin use;
:func:`prepare_fake` is the shared fake builder the matrix also runs other SDKs against.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from harness.errors import HarnessError, ScenarioError
from harness.scenario.model import AutoSpec, Mode, Scenario, ThreadMode, TransportName, TurnSpec
from harness.scenario.normalize import NormalizationContext, is_secret_key, normalize
from harness.scenario.transports.layout import Layout, error_record, plain

if TYPE_CHECKING:
    from harness.reference.files import Attachment
    from harness.reference.telemetry import TelemetryBus

__all__ = [
    "EXEC_PARTS",
    "RECORDED_ENV",
    "STORE_DIR",
    "SWEPT_TTL",
    "ExecTransport",
    "PreparedFake",
    "Staged",
    "case_input",
    "normalization_context",
    "plan_thread_ids",
    "prepare_fake",
    "recorded_invocations",
    "run_turns",
    "sdk_input",
    "stage_inputs",
]

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

#: The parts every SDK reports on the exec transport (``telemetry`` and ``logs`` are the reference's own).
EXEC_PARTS: tuple[str, ...] = ("invocations", "leftover_process", "events", "result", "error", "earlier_turns")


# ------------------------------------------------------------------------------------------- attachments
#
# A scenario input part may stage a file: ``{type: local_image, stage: FILE}`` (FILE relative to the project root,
# optional ``ttl``, optional ``sweep_before_turn``). The run stages it into a FileStore inside its workdir, so the
# reference SDK is handed the ``Attachment`` itself (``os.PathLike``: its argv gets the staged path) and adapters
# get the same staged path as a plain ``path``; the fake then says whether the file was there, with which digest,
# when codex would read it (``invocations[].images``).

#: The run's FileStore, inside its workdir (normalized to ``<store>``, so an argv reads ``<store>/ab/ab12...``).
STORE_DIR = "store"
#: The ttl of a ``sweep_before_turn`` part that gives none: short, though any finite ttl is past at the sweep.
SWEPT_TTL = 1.0
#: How far ahead the sweep of ``sweep_before_turn`` parts looks (every finite expiry is behind it).
_FAR_FUTURE_S = 100 * 365 * 24 * 3600.0

#: The attachment of each staging part, by (turn index, part index).
Staged: TypeAlias = Mapping[tuple[int, int], "Attachment"]


@dataclasses.dataclass(frozen=True)
class _StagePart:
    turn: int
    part: int
    source: str
    ttl: float | None
    swept: bool


def _stage_parts(scenario: Scenario) -> list[_StagePart]:
    """The scenario's staging parts, in turn and part order."""
    out: list[_StagePart] = []
    for t, turn in enumerate(scenario.turns):
        if isinstance(turn.input, str):
            continue
        for p, part in enumerate(turn.input):
            if part.get("type") != "local_image" or "stage" not in part:
                continue
            swept = bool(part.get("sweep_before_turn", False))
            ttl = part.get("ttl", SWEPT_TTL if swept else None)
            out.append(_StagePart(t, p, str(part["stage"]), None if ttl is None else float(ttl), swept))
    return out


def _part_field(scenario: Scenario, part: _StagePart) -> str:
    where = f"input[{part.part}]" if len(scenario.turns) == 1 else f"turns[{part.turn}].input[{part.part}]"
    return f"{where}.stage"


def stage_inputs(scenario: Scenario, store_root: Path) -> dict[tuple[int, int], Attachment]:
    """Stage the scenario's ``stage`` parts into a :class:`~harness.reference.files.FileStore` at ``store_root``.

    ``sweep_before_turn`` parts model a file removed by a sweep before the turn: they are staged first (with their
    short ttl), then ``sweep(now=far future)`` removes them, so their staged path no longer exists when codex reads
    it; the other parts are staged after the sweep and never expire (the store lives as long as the workdir). A
    swept part whose content another part keeps would come back, so that is refused. Nothing is created for a
    scenario without staging parts. Raises :class:`ScenarioError` for a file that cannot be staged."""
    parts = _stage_parts(scenario)
    if not parts:
        return {}
    from harness.reference.files import FileStore, FileStoreError
    from harness.reference.telemetry import TelemetryBus

    # A private bus: staging is the harness's doing, not telemetry of the SDK under test.
    store = FileStore(store_root, telemetry=TelemetryBus(), durable=False)
    staged: dict[tuple[int, int], Attachment] = {}

    def stage(part: _StagePart) -> Attachment:
        try:
            attachment = store.stage(scenario.project_root / part.source, ttl=part.ttl)
        except FileStoreError as exc:
            raise ScenarioError(
                f"cannot stage {part.source}: {exc.message}", path=scenario.path, field=_part_field(scenario, part)
            ) from None
        staged[(part.turn, part.part)] = attachment
        return attachment

    swept = [stage(part) for part in parts if part.swept]
    if swept:
        store.sweep(now=time.time() + _FAR_FUTURE_S)
        survivors = [str(attachment.path) for attachment in swept if attachment.path.exists()]
        if survivors:  # pragma: no cover - only a hold by another process could keep one
            raise HarnessError(f"{scenario.id}: the sweep before the turn kept {', '.join(survivors)}")
    for part in parts:
        if not part.swept and stage(part).sha256 in {attachment.sha256 for attachment in swept}:
            raise ScenarioError(
                f"{part.source} has the content of a sweep_before_turn part, which staging it would bring back",
                path=scenario.path,
                field=_part_field(scenario, part),
            )
    return staged


def _turn_input(turn: TurnSpec, index: int, staged: Staged, as_path: Callable[[Attachment], Any]) -> Any:
    if isinstance(turn.input, str):
        return turn.input
    out: list[dict[str, Any]] = []
    for p, part in enumerate(turn.input):
        if "stage" not in part:
            out.append(dict(part))
            continue
        attachment = staged.get((index, p))
        if attachment is None:
            raise HarnessError(f"turn {index + 1} part {p + 1}: {part['stage']} was not staged (prepare first)")
        out.append({"type": "local_image", "path": as_path(attachment)})
    return out


def sdk_input(turn: TurnSpec, index: int, staged: Staged) -> str | list[dict[str, Any]]:
    """Turn ``index``'s input for the reference SDK: a staged part's ``path`` is its ``Attachment`` object (what
    a user of the SDK passes), the other parts as written."""
    result: str | list[dict[str, Any]] = _turn_input(turn, index, staged, lambda attachment: attachment)
    return result


def case_input(turn: TurnSpec, index: int, staged: Staged) -> str | list[dict[str, Any]]:
    """Turn ``index``'s input for a portable case: a staged part's ``path`` is the staged file's path as text
    (the case is JSON; every SDK takes a plain path)."""
    result: str | list[dict[str, Any]] = _turn_input(turn, index, staged, lambda attachment: str(attachment.path))
    return result


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
        "structured_output": plain(result.structured_output),
    }


def _auto_result(result: Any, sleeps: list[float]) -> dict[str, Any]:
    return {
        "thread_id": result.thread_id,
        "final_response": result.final_response,
        "items": [_item_line(item) for item in result.items],
        "attempts": [plain(attempt.to_dict()) for attempt in result.attempts],
        "turn_usage": [_counts(entry) for entry in result.turn_usage],
        "usage": _counts(result.usage),
        "stop_reason": result.stop_reason,
        "tool_calls": plain(result.tool_calls),
        "sleeps": list(sleeps),
    }


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


async def _run_turn(
    codex: Any, thread: Any, scenario: Scenario, turn: TurnSpec, inputs: str | list[dict[str, Any]]
) -> dict[str, Any]:
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
            result = await thread.run(inputs, turn_options)
            record["result"] = _run_result(thread, result)
        elif turn.mode is Mode.STREAMED:
            from harness.scenario.walk_away import consume_stream

            walked = await consume_stream(
                lambda: thread.run_streamed(inputs, turn_options), turn.walk_away,
                lambda event: events.append(_event_line(event)),
            )
            if not walked:
                record["result"] = {"thread_id": thread.id, "final_response": None, "items": None, "usage": None}
        elif turn.mode is Mode.AUTO:
            kwargs = _auto_kwargs(turn.auto or AutoSpec(), sleeps)
            auto = await thread.run_auto(inputs, turn_options, **kwargs)
            record["result"] = _auto_result(auto, sleeps)
        else:  # pragma: no cover - a new Mode must be taught to the runner
            raise HarnessError(f"mode {turn.mode} is not supported by the runner")
    except HarnessError:
        raise
    except Exception as exc:  # noqa: BLE001 - a failure of the SDK under test is data
        error = error_record(exc)
        if turn.mode is Mode.AUTO:
            attempts = getattr(exc, "attempts", None)
            if isinstance(attempts, list):
                error["attempts"] = [plain(attempt.to_dict()) for attempt in attempts]
            error["sleeps"] = list(sleeps)
        record["error"] = error
    finally:
        if timer is not None:
            timer.cancel()
    return record


async def _run_turns(
    scenario: Scenario,
    layout: Layout,
    fake: Path,
    telemetry: TelemetryBus | None = None,
    staged: Staged | None = None,
) -> list[dict[str, Any]]:
    """One record per turn run; ``staged`` holds the attachments of the staging parts (:func:`stage_inputs`)."""
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
        return [{"mode": str(first.mode), "events": [], "result": None, "error": error_record(exc)}]
    threads = [thread]
    try:
        for index, turn in enumerate(scenario.turns):
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
            record = await _run_turn(codex, thread, scenario, turn, sdk_input(turn, index, staged or {}))
            records.append(record)
            if record["error"] is not None:
                break
    finally:
        # Done with every thread, in the order they were made (``codex.thread.stop`` for announced ones).
        for each in threads:
            each.close()
    return records


#: The reference exec driver, public for live mode's sandboxed worker (:mod:`harness.real.live`), which drives the
#: same turns against the real codex.
run_turns = _run_turns


def leftover_parts(log: Path, *, returned_at: float) -> dict[str, Any]:
    """``leftover_process`` (compared) and ``process_evidence`` (report only) of the fake processes in ``log``."""
    from harness.fake.codex.log import read_ends, read_log
    from harness.scenario.leftover import observe_processes, process_part

    processes = [i.process for i in read_log(log) if i.process is not None]
    fates = observe_processes(processes, {}, returned_at=returned_at, read_ends=lambda: read_ends(log))
    return {"leftover_process": process_part(fates), "process_evidence": [f.evidence() for f in fates]}


def recorded_invocations(log: Path, passed_env: Mapping[str, str]) -> list[dict[str, Any]]:
    """The ``invocations`` of an observation, read from the fake's log (the recorded env variables only), each
    with ``images`` (``[{path, exists, sha256}]``: every ``--image`` as the fake found it when it started) when it
    was given any."""
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
        record: dict[str, Any] = {
            "step": invocation.step,
            "argv": list(invocation.argv),
            "stdin": invocation.stdin,
            "cwd": invocation.cwd,
            "env": dict(sorted(env.items())),
            "output_schema": invocation.output_schema,
        }
        if invocation.images:  # only then: observations of invocations without --image stay as they were
            record["images"] = [
                {"path": image.path, "exists": image.exists, "sha256": image.sha256} for image in invocation.images
            ]
        out.append(record)
    return out


def plan_thread_ids(scenario: Scenario) -> list[str]:
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


@dataclasses.dataclass(frozen=True)
class PreparedFake:
    """The fake codex built for one scenario run: its workdir layout, the executable, and the codex child's
    environment (``base_env``: the hermetic base; ``passed_env``: with the scenario's ``options.codex.env``), and the
    files its input parts staged (``attachments``)."""

    layout: Layout
    fake: Path
    base_env: dict[str, str]
    passed_env: dict[str, str]
    #: The staged attachment of each staging input part, by (turn index, part index) (:func:`stage_inputs`).
    attachments: Staged = dataclasses.field(default_factory=dict)

    @property
    def workdir(self) -> Path:
        """The run's workdir."""
        return self.layout.workdir

    @property
    def log(self) -> Path:
        """The fake's invocation log."""
        return self.layout.log


def prepare_fake(scenario: Scenario, workdir: Path) -> PreparedFake:
    """Create the run's directories in ``workdir``, build the scenario's fake codex there and stage its input
    files (:func:`stage_inputs`). Shared by the reference runner and the parity matrix (which runs other SDKs
    through adapters against the same fake)."""
    from harness.fake import Plan, build_fake

    layout = Layout(Path(workdir))
    layout.create()
    try:
        plan = Plan.from_mapping(dict(scenario.plan), base_dir=scenario.project_root, source=scenario.path)
    except HarnessError as exc:
        raise ScenarioError(getattr(exc, "message", str(exc)), path=scenario.path, field="plan") from exc
    fake = build_fake(plan, layout.fake_dir, log_path=layout.log)
    attachments = stage_inputs(scenario, layout.workdir / STORE_DIR)
    passed_env = layout.env(scenario.codex_options.get("env", {}))
    return PreparedFake(layout, fake, layout.env({}), passed_env, attachments)


def normalization_context(
    scenario: Scenario, workdir: Path, fake: Path, cid: str | None = None
) -> NormalizationContext:
    """Everything a run in ``workdir`` knows for :func:`~harness.scenario.normalize.normalize`."""
    layout = Layout(workdir)
    secrets = [str(scenario.codex_options["api_key"])] if scenario.codex_options.get("api_key") else []
    secrets += [v for k, v in dict(scenario.codex_options.get("env", {})).items() if is_secret_key(k)]
    return NormalizationContext(
        workdir=workdir,
        home=layout.home,
        codex_home=layout.codex_home,
        codex_path=fake,
        cwd=Path(os.getcwd()),
        secrets=tuple(secrets),
        thread_ids=tuple(plan_thread_ids(scenario)),
        correlation_ids=(cid,) if cid else (),
        store=workdir / STORE_DIR,
    )


class ExecTransport:
    """``transport: exec`` (the default): the fake codex of the plan + the reference exec SDK."""

    name = TransportName.EXEC
    #: Every adapter speaks exec unless it says otherwise, so an exec case needs no transport capability.
    capability: str | None = None
    parts: tuple[str, ...] = EXEC_PARTS

    def prepare(self, scenario: Scenario, workdir: Path) -> PreparedFake:
        """Build the scenario's fake codex in ``workdir``."""
        return prepare_fake(scenario, workdir)

    async def run_reference(
        self, scenario: Scenario, prepared: PreparedFake, telemetry: TelemetryBus | None
    ) -> list[dict[str, Any]]:
        """Drive the reference exec SDK through the scenario's turns: one record per turn run."""
        return await _run_turns(scenario, prepared.layout, prepared.fake, telemetry, prepared.attachments)

    def fake_side(self, scenario: Scenario, prepared: PreparedFake) -> dict[str, Any]:
        """``invocations``, from the fake's own log (never from the SDK), and ``leftover_process``: whether each
        fake process outlived the SDK call by the grace period (called right after the SDK side returned)."""
        return {"invocations": recorded_invocations(prepared.log, prepared.passed_env),
                **leftover_parts(prepared.log, returned_at=time.monotonic())}

    def case(self, scenario: Scenario, prepared: PreparedFake) -> dict[str, Any]:
        """The portable case an adapter runs (the hermetic base env merged under ``options.codex.env``); a staged
        input part is a plain ``local_image`` part with the staged file's path."""
        from harness.adapters.protocol import portable_case

        case = portable_case(scenario, env=prepared.base_env)
        for index, (entry, turn) in enumerate(zip(case["turns"], scenario.turns, strict=True)):
            entry["input"] = case_input(turn, index, prepared.attachments)
        return case

    def normalize(
        self, scenario: Scenario, prepared: PreparedFake, raw: dict[str, Any], cid: str | None = None
    ) -> dict[str, Any]:
        """The runner's normalization (docs/normalization.md) with everything the run knows. Events and items an
        adapter reported as objects become compact JSON text first (the reference reports codex's lines as text
        already), so long ones are digested alike (:func:`~harness.parity.compare.wire_text`)."""
        data = {**raw, **_as_text(raw)}
        data["earlier_turns"] = [{**turn, **_as_text(turn)} for turn in raw.get("earlier_turns") or []]
        return normalize(data, normalization_context(scenario, prepared.layout.workdir, prepared.fake, cid))


def _as_text(record: Mapping[str, Any]) -> dict[str, Any]:
    """``events`` and ``result.items`` of one turn record with every object as its compact JSON text."""
    from harness.parity.compare import wire_text

    out: dict[str, Any] = {}
    if isinstance(record.get("events"), list):
        out["events"] = [wire_text(event) for event in record["events"]]
    result = record.get("result")
    if isinstance(result, Mapping) and isinstance(result.get("items"), list):
        out["result"] = {**result, "items": [wire_text(item) for item in result["items"]]}
    return out
