"""Live mode: the third :class:`~harness.scenario.transports.base.Transport` -- a recorded scenario run against the
**real** codex instead of its replay.

A scenario generated from a catalogue case (``scenarios/recorded.yaml``) still knows the case
(:class:`~harness.scenario.model.RecordedCase`), so the fake Responses server can be scripted exactly as when the
transcript was recorded. :class:`LiveExecTransport` prepares the run like ``harness record`` does (a workspace
seeded with the case's files, a ``CODEX_HOME`` holding the offline ``config.toml`` plus the case's ``-c``
overrides, scratch outside ``/tmp``) and hands the reference SDK a recording shim in front of the real binary
(:func:`harness.real.live.write_shim`); the SDK itself runs in the sandboxed worker (:mod:`harness.real.live`),
because the real codex may only run in a loopback-only namespace.

What differs run to run is absorbed in two steps: :meth:`LiveExecTransport.normalize` maps the live workspace to
the corpus's ``/srv/rec/ws`` and applies the runner's normalization (thread ids, paths, secrets), and
:func:`live_view` -- applied to the golden *and* the live observation -- keeps the parts every SDK is compared on
and blanks ids, timestamps, durations and codex's ``Chunk ID``/``Wall time`` lines. :func:`compare_live` then
compares leaf by leaf.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import shutil
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import harness.real.mcp_echo as _mcp_echo
from harness.errors import HarnessError
from harness.scenario.model import RecordedCase, Scenario
from harness.scenario.normalize import normalize
from harness.scenario.transports.exec import EXEC_PARTS, _as_text, normalization_context, recorded_invocations
from harness.scenario.transports.layout import Layout

if TYPE_CHECKING:
    from harness.real.sandbox import Isolation
    from harness.reference.telemetry import TelemetryBus

__all__ = [
    "LIVE_WORKSPACE",
    "LiveError",
    "LiveExecTransport",
    "PreparedLive",
    "compare_live",
    "live_view",
    "new_workdir",
    "observe_live",
    "remove_workdir",
]

#: Where the recorder's workspace appears in the corpus (``harness.real.record.NEUTRAL_PATHS["ws"]``).
LIVE_WORKSPACE = "/srv/rec/ws"
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_RUN_TO_RUN = (
    (re.compile(r"Chunk ID: [^\s\\\"]+"), "Chunk ID: <chunk>"),
    (re.compile(r"Wall time: [0-9.]+ ?(?:seconds|s|ms)?"), "Wall time: <duration>"),
    (re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<timestamp>"),
    (re.compile(r"\bin \d+(?:\.\d+)?m?s\b"), "in <duration>"),
)
_DURATION_KEYS = frozenset({"duration_ms", "duration", "wall_time", "wall_time_s", "elapsed_ms"})


class LiveError(HarnessError):
    """Live mode cannot run a scenario (not a recorded case, the sandbox refused, the worker failed)."""


@dataclasses.dataclass(frozen=True)
class PreparedLive:
    """One live run: the layout (as the replay's), the shim the SDK runs as "codex", the seeded workspace, the
    case and the real binary behind the shim."""

    layout: Layout
    fake: Path
    base_env: dict[str, str]
    passed_env: dict[str, str]
    workspace: Path
    recorded: RecordedCase
    binary: Path

    @property
    def workdir(self) -> Path:
        """The run's workdir."""
        return self.layout.workdir


def _case(recorded: RecordedCase, project_root: Path) -> Any:
    from harness.real.catalogue import load_catalogue, select_cases

    (case,) = select_cases(load_catalogue([project_root / recorded.catalogue]), [recorded.case])
    return case


class LiveExecTransport:
    """The recorded scenario against the real codex (binary ``version``, via ``isolation``); reference SDK only."""

    name = "live"
    capability: str | None = "live"
    parts: tuple[str, ...] = EXEC_PARTS

    def __init__(self, binary: Path, isolation: Isolation | None = None, *, timeout: float = 60.0) -> None:
        from harness.real.sandbox import NetnsIsolation

        self.binary = Path(binary)
        self.isolation: Isolation = isolation if isolation is not None else NetnsIsolation()
        self.timeout = timeout

    def prepare(self, scenario: Scenario, workdir: Path) -> PreparedLive:
        """The replay's layout plus the seeded workspace, the offline ``config.toml`` and the shim."""
        from harness.real.live import write_shim
        from harness.real.sandbox import offline_config, render_toml

        recorded = scenario.recorded
        if recorded is None or not recorded.live:
            why = recorded.not_live_reason if recorded is not None else "it did not come from a recorded case"
            raise LiveError(f"scenario {scenario.id} cannot run live: {why}")
        case = _case(recorded, scenario.project_root)
        layout = Layout(Path(workdir))
        layout.create()
        workspace = layout.workdir / "ws"
        workspace.mkdir(parents=True, exist_ok=True)
        for name, data in case.files.items():
            (workspace / name).write_bytes(data)
        names = {
            "{ws}": str(workspace),
            "{python}": sys.executable,
            "{mcp_log}": str(layout.workdir / "mcp.jsonl"),
            "{mcp_server}": str(Path(_mcp_echo.__file__ or "mcp_echo.py").resolve()),
        }
        overrides = {**case.config, **{k: _expand(v, names) for k, v in recorded.config.items()}}
        (layout.codex_home / "config.toml").write_text(render_toml(offline_config(overrides=overrides)), "utf-8")
        shim = write_shim(layout.fake_dir / "codex", self.binary, layout.log)
        env = dict(scenario.codex_options.get("env", {}))
        return PreparedLive(layout, shim, layout.env({}), layout.env(env), workspace, recorded, self.binary)

    async def run_reference(
        self, scenario: Scenario, prepared: PreparedLive, telemetry: TelemetryBus | None
    ) -> list[dict[str, Any]]:
        """Run the turns in the sandboxed worker; telemetry stays there (live compares the SDK parts only)."""
        from harness.real.live import LiveJob

        case = _case(prepared.recorded, scenario.project_root)
        changes: dict[str, str | None] = {"FAKE_API_KEY": "dummy"}
        for turn in case.turns:
            changes |= dict(turn.env)
        job_dir = prepared.workdir / "job"
        job_dir.mkdir(exist_ok=True)
        job = LiveJob(
            scenario_file=str(scenario.path),
            scenario_id=scenario.id,
            workdir=str(prepared.workdir),
            workspace=str(prepared.workspace),
            shim=str(prepared.fake),
            script=list(case.script_data),
            server=case.server,
            env=changes,
        ).write(job_dir / "job.json")
        argv = self.isolation.wrap([sys.executable, "-m", "harness.real.live", str(job)])
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(scenario.project_root),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise LiveError(
                f"scenario {scenario.id}: the live worker did not finish within {self.timeout:g} s"
            ) from None
        result_file = job_dir / "result.json"
        if not result_file.exists():
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["(no output)"]
            raise LiveError(f"scenario {scenario.id}: live run refused or failed (exit {proc.returncode}): {tail[0]}")
        result = json.loads(result_file.read_text(encoding="utf-8"))
        if "error" in result:
            raise LiveError(f"scenario {scenario.id}: live worker: {result['error']}")
        records: list[dict[str, Any]] = result["records"]
        return records

    def fake_side(self, scenario: Scenario, prepared: PreparedLive) -> dict[str, Any]:
        """``invocations``, from the shim's log (the same format and filter as the fake codex's)."""
        return {"invocations": recorded_invocations(prepared.layout.log, prepared.passed_env)}

    def case(self, scenario: Scenario, prepared: PreparedLive) -> dict[str, Any]:
        """Live mode drives the reference SDK only."""
        raise LiveError("live mode runs the reference SDK only; adapters run against the fakes")

    def normalize(
        self, scenario: Scenario, prepared: PreparedLive, raw: dict[str, Any], cid: str | None = None
    ) -> dict[str, Any]:
        """The live workspace becomes the corpus's ``/srv/rec/ws`` (outside ``invocations``, whose ``cwd`` is the
        run's own ``<cwd>``), then the exec normalization with the workspace as the cwd."""
        data = {**raw, **_as_text(raw)}
        data["earlier_turns"] = [{**turn, **_as_text(turn)} for turn in raw.get("earlier_turns") or []]
        workspace = str(prepared.workspace)
        data = {k: (v if k == "invocations" else _replace(v, workspace, LIVE_WORKSPACE)) for k, v in data.items()}
        context = dataclasses.replace(
            normalization_context(scenario, prepared.workdir, prepared.fake, cid), cwd=prepared.workspace
        )
        return normalize(data, context)


def _expand(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for key, real in names.items():
            value = value.replace(key, real)
    return value


def _replace(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    return value


def _blank(value: Any) -> Any:
    if isinstance(value, str):
        if value[:1] in "{[":
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict | list):
                return json.dumps(_blank(parsed), sort_keys=True, ensure_ascii=False)
        value = _UUID.sub("<uuid>", value)
        for pattern, replacement in _RUN_TO_RUN:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, list):
        return [_blank(v) for v in value]
    if isinstance(value, dict):
        return {k: ("<duration>" if k in _DURATION_KEYS else _blank(v)) for k, v in value.items()}
    return value


#: What live mode compares: the exec parts but ``leftover_process`` (the real codex keeps no pid/end records; the
#: fake's leak probes are judged against the fake only).
LIVE_PARTS: tuple[str, ...] = tuple(part for part in EXEC_PARTS if part != "leftover_process")


def live_view(observation: Mapping[str, Any], parts: tuple[str, ...] = LIVE_PARTS) -> dict[str, Any]:
    """The parts of a normalized observation live mode compares, with what changes run to run blanked (applied
    to the golden and to the live observation alike)."""
    out: dict[str, Any] = {part: _blank(observation.get(part)) for part in parts}
    return out


def compare_live(golden: Mapping[str, Any], observed: Mapping[str, Any]) -> list[str]:
    """The differing leaves (``/pointer: golden != live``) of two observations' live views; ``[]`` when they agree."""
    out: list[str] = []
    _diff(live_view(golden), live_view(observed), "", out)
    return out


def _diff(a: Any, b: Any, pointer: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            _diff(a.get(key, "<missing>"), b.get(key, "<missing>"), f"{pointer}/{key}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{pointer}/{index}", out)
    elif a != b:
        out.append(f"{pointer or '/'}: golden {_short(a)} != live {_short(b)}")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def new_workdir() -> Path:
    """A fresh scratch folder for one live run, outside ``/tmp`` (codex warns about a temporary CODEX_HOME)."""
    from harness.real.record import scratch_root

    path = scratch_root() / f"live-{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    return path


def remove_workdir(path: Path) -> None:
    """Remove a live run's scratch folder."""
    shutil.rmtree(path, ignore_errors=True)


def observe_live(scenario: Scenario, transport: LiveExecTransport) -> dict[str, Any]:
    """Run ``scenario`` live in a fresh scratch workdir (removed afterwards): the normalized observation."""
    from harness.scenario.runner import run_and_normalize

    workdir = new_workdir()
    try:
        return run_and_normalize(scenario, workdir=workdir, transport=transport)
    finally:
        remove_workdir(workdir)
