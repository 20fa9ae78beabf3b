"""The app-server transport: the fake app-server replaying a recording, driven by the reference app-server client.

``codex app-server`` is one long-lived JSON-RPC session, and what matters on it is what the *client* says: its
requests (``initialize``, ``thread/start`` params, ``turn/start``, ``turn/interrupt``) and its replies to codex's
server requests (approval decisions, dynamic-tool results). The fake app-server checks both against the
recording and writes a report; that report -- not the SDK's word -- gives the ``requests``, ``replies`` and
``divergence`` parts, as the fake codex's log gives ``invocations`` on the exec transport. The SDK's side is the
same as for exec: ``events`` (streamed notifications), ``result``, ``error``, ``earlier_turns``.

A client that decides differently from the recording makes the fake stop at that reply (it cannot invent codex's
reaction): that is a ``divergence`` in the observation, compared with the golden like any other part, never a
harness error.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError, ScenarioError
from harness.scenario.model import ApprovalsSpec, Mode, Scenario, ToolSpec, TransportName, TurnSpec
from harness.scenario.normalize import NormalizationContext, is_secret_key, normalize
from harness.scenario.transports.appserver_handler import ScenarioHandler
from harness.scenario.transports.appserver_normalize import as_objects, drop_volatile, fake_parts, stable_telemetry
from harness.scenario.transports.layout import Layout, error_record, plain

if TYPE_CHECKING:
    from harness.reference.appserver import AppServerThread
    from harness.reference.telemetry import TelemetryBus

__all__ = [
    "APPSERVER_PARTS",
    "AppServerTransport",
    "PreparedAppServer",
    "ToolHandler",
    "appserver_leftover",
    "drive_reference",
    "thread_params",
    "workdir_turns",
]

#: The parts every SDK is compared on over the app-server: the fake's side first, then the SDK's.
APPSERVER_PARTS: tuple[str, ...] = (
    "requests", "replies", "divergence", "leftover_process", "events", "result", "error", "earlier_turns",
)

#: Longest the fake waits for the client's next recorded message before reporting it missing (seconds).
_FAKE_TIMEOUT = 5.0


@dataclasses.dataclass(frozen=True)
class PreparedAppServer:
    """The fake app-server built for one run: its layout, the ``codex`` executable, where it writes its report,
    and the child's environment (the hermetic base, and with the scenario's ``options.codex.env``)."""

    layout: Layout
    fake: Path
    report: Path
    base_env: dict[str, str]
    passed_env: dict[str, str]
    #: the scenario's turns with every ``local_image`` path made absolute in the workdir (:func:`workdir_turns`)
    turns: tuple[TurnSpec, ...] = ()
    #: where each fake app-server process records its identity and its ending (:mod:`harness.fake.appserver.lifecycle`)
    process_log: Path | None = None

    @property
    def workdir(self) -> Path:
        """The run's workdir; also the client's ``cwd`` and the thread's workspace."""
        return self.layout.workdir


def thread_params(scenario: Scenario, workdir: Path) -> dict[str, Any]:
    """The ``thread/start`` params of ``scenario``: its thread options through the sandbox table
    (:mod:`harness.reference.sandbox_map`), ``cwd`` = the workdir, ``dynamicTools`` from its tools, and its
    ``options.thread_params`` over them."""
    from harness.reference.sandbox_map import thread_start_params
    from harness.scenario.transports.appserver_handler import tool_registry

    extra: dict[str, Any] = {}
    if scenario.tools:
        extra["dynamicTools"] = tool_registry(scenario.tools).dynamic_tools()
    extra.update(dict(scenario.thread_params))
    return thread_start_params(dict(scenario.thread_options), cwd=str(workdir), extra=extra)


def workdir_turns(turns: Sequence[TurnSpec], workdir: Path) -> tuple[TurnSpec, ...]:
    """``turns`` with each ``local_image`` part's relative ``path`` resolved against ``workdir``.

    A client of ``codex app-server`` hands codex ``{"type": "localImage", "path": ...}`` and codex reads the file
    itself, so the path must mean the same to codex as to the client: a scenario names the image relative to the
    run's workdir (the thread's ``cwd``) and every client gets the absolute path, which the fake app-server maps
    back to the recorded workspace when it compares ``turn/start``."""
    out: list[TurnSpec] = []
    for turn in turns:
        if isinstance(turn.input, str):
            out.append(turn)
            continue
        parts: list[Mapping[str, Any]] = []
        for part in turn.input:
            if part.get("type") == "local_image" and "path" in part and not Path(str(part["path"])).is_absolute():
                part = {**part, "path": str(workdir / str(part["path"]))}
            parts.append(part)
        out.append(dataclasses.replace(turn, input=tuple(parts)))
    return tuple(out)


def _behaviour_fn(spec: ToolSpec) -> Any:
    """The tool function of ``spec``: it takes ``sleep_s`` (a slow tool), then raises ``raise`` or returns the
    ``result`` (``{failure: text}`` becomes ``success: false``). Async, so a timeout cancels the sleep."""
    from harness.reference.tools import ToolOutcome

    async def tool(**_arguments: Any) -> Any:
        if spec.sleep_s:
            await asyncio.sleep(spec.sleep_s)
        if spec.raises is not None:
            raise RuntimeError(spec.raises)
        if isinstance(spec.result, Mapping) and set(spec.result) == {"failure"}:
            return ToolOutcome.failure(str(spec.result["failure"]))
        return copy.deepcopy(spec.result)

    return tool


class ToolHandler(ScenarioHandler):
    """The scenario's server-request handler with tools that behave (``raise``, ``sleep_s``) and a per-tool call
    limit (``timeout_s``), all answered by the reference :class:`~harness.reference.tools.ToolRegistry`: schema
    validation before the call, an unknown name, an exception and a timeout each become its ``success: false``
    reply."""

    def __init__(
        self, approvals: ApprovalsSpec | None, tools: tuple[ToolSpec, ...], *, bus: TelemetryBus | None = None
    ) -> None:
        from harness.reference.tools import FunctionTool, Namespace, ToolRegistry

        super().__init__(approvals, tools, bus=bus)
        self.tools = tools
        if tools:
            registry = ToolRegistry(bus=bus)
            for spec in tools:
                tool = FunctionTool(spec.name, spec.description, _behaviour_fn(spec), dict(spec.input_schema))
                namespace = Namespace(spec.namespace, spec.namespace) if spec.namespace is not None else None
                registry.register(tool, namespace=namespace, defer_loading=spec.defer_loading)
            self.registry = registry

    async def __call__(self, method: str, params: dict[str, Any], request_id: Any = None) -> Any:
        if method != "item/tool/call" or self.registry is None:
            return await super().__call__(method, params, request_id)
        self.methods.append(method)
        try:
            spec = next((t for t in self.tools if t.name == params.get("tool")
                         and t.namespace == (params.get("namespace") or None)), None)
            return await self.registry.answer(params, timeout=spec.timeout_s if spec is not None else None)
        finally:
            asyncio.get_running_loop().call_soon(self.requested.set)


def _fake_timeout(scenario: Scenario) -> float:
    return min(_FAKE_TIMEOUT, max(0.5, scenario.timeout / 3))


def _record(turn: TurnSpec, **fields: Any) -> dict[str, Any]:
    return {"mode": str(turn.mode), "events": [], "result": None, "error": None, **fields}


def _event(notification: Any) -> dict[str, Any]:
    params = notification.raw.get("params")
    return {"method": notification.method, "params": plain(params) if params is not None else None}


def _run_result(turn: Any) -> dict[str, Any]:
    return {
        "thread_id": turn.thread_id,
        "status": turn.status,
        "final_response": turn.final_response,
        "items": [plain(item.to_dict()) for item in turn.items],
        "usage": plain(turn.usage.to_dict()) if turn.usage is not None else None,
        "turn_usage": turn.turn_usage.to_dict() if turn.turn_usage is not None else None,
        "cumulative_usage": turn.cumulative_usage.to_dict() if turn.cumulative_usage is not None else None,
    }


async def _interrupt_on_request(thread: AppServerThread, handler: ScenarioHandler) -> None:
    """Once the first server request was handled, interrupt the running turn (``interrupt: on_request``)."""
    await handler.requested.wait()
    while thread.active_turn_id is None:  # turn/start not answered yet
        await asyncio.sleep(0.005)
    await thread.interrupt()


async def _run_turn(thread: AppServerThread, turn: TurnSpec, handler: ScenarioHandler) -> dict[str, Any]:
    record = _record(turn)
    interrupter: asyncio.Task[None] | None = None
    if turn.interrupt == "on_request":
        interrupter = asyncio.ensure_future(_interrupt_on_request(thread, handler))
    try:
        if turn.mode is Mode.STREAMED:
            async with thread.run_streamed(turn.sdk_input()) as stream:
                async for notification in stream:
                    record["events"].append(_event(notification))
            record["result"] = {"thread_id": thread.id, "status": None, "final_response": None, "items": None,
                                "usage": None}
        else:
            record["result"] = _run_result(await thread.run(turn.sdk_input()))
    except HarnessError:
        raise
    except Exception as exc:  # noqa: BLE001 - a failure of the SDK under test is data
        record["error"] = error_record(exc)
    finally:
        if interrupter is not None:
            interrupter.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await interrupter
    return record


async def drive_reference(
    codex_path: Path,
    *,
    workdir: Path,
    env: Mapping[str, str],
    config: Mapping[str, Any] | None,
    params: Mapping[str, Any],
    turns: Sequence[TurnSpec],
    approvals: ApprovalsSpec | None,
    tools: tuple[ToolSpec, ...],
    timeout: float,
    telemetry: TelemetryBus | None = None,
) -> list[dict[str, Any]]:
    """The reference app-server client through one session: one turn record per turn run. Shared by the runner
    and the reference adapter, so the two observe alike by construction."""
    from harness.reference.appserver import AppServerClient
    from harness.scenario.transports.appserver_close import close_client_turn, holding_approvals

    handler = ToolHandler(holding_approvals(approvals, turns), tools, bus=telemetry)
    records: list[dict[str, Any]] = []
    try:
        async with AppServerClient.spawn(
            codex_path, cwd=workdir, env=dict(env), handler=handler, config_overrides=config,
            request_timeout=timeout, telemetry=telemetry,
        ) as client:
            await client.initialize()
            thread = await client.thread_start(dict(params))
            for turn in turns:
                if turn.close_client is not None:  # a leak probe: the client is closed mid-turn
                    records.append(await close_client_turn(client, thread, turn, handler))
                    break
                record = await _run_turn(thread, turn, handler)
                records.append(record)
                if record["error"] is not None:
                    break
    except HarnessError:
        raise
    except Exception as exc:  # noqa: BLE001 - a client that cannot even start the thread is observed too
        turn = turns[min(len(records), len(turns) - 1)]
        records.append(_record(turn, error=error_record(exc)))
    return records


class AppServerTransport:
    """``transport: app-server``: the fake app-server replaying ``plan.recording`` + the reference client, its
    handler answering with the scenario's ``approvals`` and ``tools``."""

    name = TransportName.APP_SERVER
    capability: str | None = "transport:app-server"
    parts: tuple[str, ...] = APPSERVER_PARTS

    def prepare(self, scenario: Scenario, workdir: Path) -> PreparedAppServer:
        """Build the fake app-server for the scenario's recording (and faults) in ``workdir``."""
        from harness.fake.appserver import build_fake_appserver

        layout = Layout(Path(workdir))
        layout.create()
        report = layout.workdir / "appserver-report.json"
        process_log = layout.workdir / "appserver-process.jsonl"
        plan = dict(scenario.plan)
        try:
            fake = build_fake_appserver(
                scenario.project_root / plan["recording"],
                layout.fake_dir,
                faults=plan.get("faults"),
                report_path=report,
                timeout=_fake_timeout(scenario),
                process_log=process_log,
            )
        except HarnessError as exc:
            raise ScenarioError(getattr(exc, "message", str(exc)), path=scenario.path, field="plan") from exc
        env = dict(scenario.codex_options.get("env", {}))
        return PreparedAppServer(layout, fake, report, layout.env({}), layout.env(env),
                                 workdir_turns(scenario.turns, layout.workdir), process_log)

    async def run_reference(
        self, scenario: Scenario, prepared: PreparedAppServer, telemetry: TelemetryBus | None
    ) -> list[dict[str, Any]]:
        """Drive the reference client: ``initialize``, ``thread/start``, each turn (``run`` or streamed)."""
        config = scenario.codex_options.get("config")
        return await drive_reference(
            prepared.fake,
            workdir=prepared.workdir,
            env=prepared.passed_env,
            config=dict(config) if isinstance(config, Mapping) else None,
            params=thread_params(scenario, prepared.workdir),
            turns=prepared.turns or scenario.turns,
            approvals=scenario.approvals,
            tools=scenario.tools,
            timeout=_fake_timeout(scenario) + 2,
            telemetry=telemetry,
        )

    def fake_side(self, scenario: Scenario, prepared: PreparedAppServer) -> dict[str, Any]:
        """``leftover_process`` (and its ``process_evidence``, report only) first -- called right after the SDK side
        returned, it waits the grace period for the fake to be gone and kills a leftover --, then ``requests``,
        ``replies``, ``divergence`` from the fake's report (written when the session ended; a fake left waiting
        wrote it provisionally before it began to wait, so a leak shows as a leak and not as a lost report)."""
        from harness.fake.appserver import read_report

        leftover = appserver_leftover(prepared.process_log, returned_at=time.monotonic())
        try:
            report = read_report(prepared.report)
        except (OSError, HarnessError, ValueError):
            report = None
        return {**fake_parts(report), **leftover}

    def case(self, scenario: Scenario, prepared: PreparedAppServer) -> dict[str, Any]:
        """The portable app-server case (docs/adapters.md, "App-server cases")."""
        codex_options = {k: v for k, v in dict(scenario.codex_options).items() if k != "codex_path_override"}
        codex_options["env"] = {**prepared.base_env, **dict(codex_options.get("env") or {})}
        turns: list[dict[str, Any]] = []
        for turn in prepared.turns or scenario.turns:
            entry: dict[str, Any] = {"input": turn.sdk_input(), "mode": str(turn.mode), "turn_options": {}}
            if turn.interrupt is not None:
                entry["interrupt"] = turn.interrupt
            if turn.close_client is not None:
                entry["close_client"] = {"when": turn.close_client}
            turns.append(entry)
        approvals = scenario.approvals.to_dict() if scenario.approvals is not None else {"policy": "decline"}
        return {
            "id": scenario.id,
            "transport": str(TransportName.APP_SERVER),
            "turns": turns,
            "codex_options": codex_options,
            "thread_options": dict(scenario.thread_options),
            "thread_params": thread_params(scenario, prepared.workdir),
            "approvals": approvals,
            "tools": [tool.to_dict() for tool in scenario.tools],
            "resume_thread_id": None,
        }

    def normalize(
        self, scenario: Scenario, prepared: PreparedAppServer, raw: dict[str, Any], cid: str | None = None
    ) -> dict[str, Any]:
        """Volatile keys dropped (:mod:`.appserver_normalize`), then the runner's rules."""
        data = drop_volatile(as_objects(raw))
        if isinstance(data.get("telemetry"), list):
            data["telemetry"] = stable_telemetry(data["telemetry"])
        data["logs"] = []
        layout = prepared.layout
        secrets = [str(scenario.codex_options["api_key"])] if scenario.codex_options.get("api_key") else []
        secrets += [v for k, v in dict(scenario.codex_options.get("env", {})).items() if is_secret_key(k)]
        context = NormalizationContext(
            workdir=layout.workdir,
            home=layout.home,
            codex_home=layout.codex_home,
            codex_path=prepared.fake,
            cwd=Path(os.getcwd()),
            secrets=tuple(secrets),
            thread_ids=_recorded_thread_ids(scenario),
            correlation_ids=(cid,) if cid else (),
        )
        return normalize(data, context)


def appserver_leftover(process_log: Path | None, *, returned_at: float) -> dict[str, Any]:
    """``leftover_process`` and ``process_evidence`` of the fake app-server processes in ``process_log``, through
    the transport-neutral check (:mod:`harness.scenario.leftover`). The fake's own endings that are not signals
    (``stdin_closed``: the client closed the pipe; ``divergence``, ``timeout``, ``crash``) all mean it ended by itself
    (``signal: null``); the evidence keeps the precise one as ``fake_ended_by``."""
    from harness.fake.appserver import read_process_log
    from harness.scenario.leftover import observe_processes, process_part

    if process_log is None:
        return {"leftover_process": [], "process_evidence": []}

    def endings() -> dict[tuple[int, int | None], str]:
        return {(life.process.pid, life.process.starttime): life.ended_by
                for life in read_process_log(process_log) if life.ended_by is not None}

    lives = read_process_log(process_log)
    fates = observe_processes([life.process for life in lives], {}, returned_at=returned_at,
                              read_ends=lambda: {k: v if v.startswith("SIG") else "exit" for k, v in endings().items()})
    precise = endings()
    evidence = [{**fate.evidence(), "fake_ended_by": precise.get((life.process.pid, life.process.starttime))}
                for fate, life in zip(fates, lives, strict=True)]
    return {"leftover_process": process_part(fates), "process_evidence": evidence}


def _recorded_thread_ids(scenario: Scenario) -> tuple[str, ...]:
    """The thread ids of the recording (the fake hands them out), in order: numbered ``<thread:N>`` whichever
    part of an observation shows them first -- an adapter has no telemetry, a diverging turn no result."""
    from harness.fake.appserver import load_recording

    ids: list[str] = []
    for message in load_recording(scenario.project_root / scenario.plan["recording"]).messages:
        msg = message.msg
        result = msg.get("result") if isinstance(msg, Mapping) else None
        thread = result.get("thread") if isinstance(result, Mapping) else None
        if isinstance(thread, Mapping) and isinstance(thread.get("id"), str) and thread["id"] not in ids:
            ids.append(thread["id"])
    return tuple(ids)
