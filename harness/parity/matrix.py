"""The parity matrix: every selected scenario against every requested implementation.

``reference`` runs in-process through the scenario runner (``Backend.observe``): fast, and it observes
everything (telemetry, logs, the reference-only result keys), so it is compared on every part. Each other
implementation is one long-lived adapter process per worker (``harness.adapters.registry.connector_for``,
:class:`~harness.adapters.client.BlockingAdapterClient`), and per (scenario, implementation):

1. a scenario the adapter protocol cannot express (``mode: auto``, ``validate_output``) is ``skipped``;
2. the fake codex is built from the scenario's plan into a fresh workdir, exactly as the reference runner
   builds it, and the portable case gets the runner's hermetic environment;
3. the adapter runs the case; ``skipped`` / ``errored`` replies (and capability gaps) become results;
4. an observation gets ``invocations`` from the fake's log, is normalized with the runner's rules, and is
   compared with the **same golden** as the reference, on the portable parts (:mod:`harness.parity.compare`).

An implementation that is not installed is reported (its results are ``skipped`` with the install command,
and its header entry carries the problem); one that cannot be started gets ``errored`` results; neither
stops the run for the others. Baselines are applied last (:func:`apply_baselines`), so the comparison and
the baseline verdict stay separate steps: what the implementation did, whether it agrees, and whether a
disagreement is known.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from harness.adapters.client import BlockingAdapterClient
from harness.adapters.connection import Connector
from harness.adapters.protocol import Errored, Observed, Skipped, non_portable_reason
from harness.errors import AdapterError
from harness.parity.baseline import Baseline, judge_result, problems
from harness.parity.compare import compare_parts
from harness.parity.leaves import Leaf
from harness.report.model import (
    PARTS,
    PORTABLE_PARTS,
    REFERENCE,
    BaselineProblem,
    HarnessFailure,
    Header,
    Implementation,
    LeafDiff,
    Report,
    Result,
    Status,
)
from harness.report.parity import (
    NO_GOLDEN,
    Backend,
    _failure,
    _skip_reason,
    reference_implementation,
    utc_now,
    verdict,
)

__all__ = [
    "ADAPTER_TIMEOUT_MARGIN",
    "HANG_KIND",
    "AdapterDriver",
    "Driver",
    "MatrixRun",
    "ReferenceDriver",
    "apply_baseline",
    "apply_baselines",
    "baseline_problems",
    "driver_for",
    "judge",
    "matrix_non_portable_reason",
    "normalize_adapter_observation",
    "run_matrix",
]

#: Added to a scenario's own ``timeout`` for the adapter read timeout (the *case timeout*): an SDK that has not
#: answered by then is killed and restarted, and the case is observed as a :data:`HANG_KIND` error.
ADAPTER_TIMEOUT_MARGIN = 10.0

#: The canonical error kind of an SDK that never answered a case (set by the harness, not by an adapter); a
#: finding can explain it like any other leaf (``error/kind`` observed ``hang``).
HANG_KIND = "hang"


def matrix_non_portable_reason(scenario: Any) -> str | None:
    """Why a scenario cannot run through an adapter: :func:`non_portable_reason`, plus turn options only the
    reference SDK has (``validate_output``: structured-output validation is a reference feature)."""
    reason = non_portable_reason(scenario)
    if reason is not None:
        return reason
    options = dict(getattr(scenario, "turn_options", {}) or {})
    for index, turn in enumerate(getattr(scenario, "turns", ())):
        merged = {**options, **dict(getattr(turn, "turn_options", {}) or {})}
        if merged.get("validate_output"):
            return f"turn {index + 1} uses validate_output, which only the reference SDK has"
    return None


# ------------------------------------------------------------------------------------------ judging


@dataclasses.dataclass(frozen=True)
class Observation:
    """What a driver got for one scenario: the normalized observation, or why there is none."""

    observation: dict[str, Any] | None = None
    skip_reason: str | None = None
    issue_url: str | None = None
    failure: HarnessFailure | None = None
    adapter_stderr: str = ""


def _unwrap(golden: Mapping[str, Any]) -> dict[str, Any]:
    inner = golden.get("observation") if set(golden) == {"meta", "observation"} else None
    return dict(inner) if isinstance(inner, Mapping) else dict(golden)


def judge(
    scenario: Any,
    implementation: str,
    got: Observation,
    *,
    backend: Backend,
    golden_root: Path,
    parts: Sequence[str],
    portable: bool,
    check_expectations: bool,
    duration_s: float,
) -> Result:
    """One Result from an observation: compare the ``parts`` with the golden (no baseline yet)."""
    base: dict[str, Any] = {
        "scenario": scenario.id,
        "implementation": implementation,
        "title": scenario.title,
        "tags": tuple(sorted(scenario.tags)),
        "duration_s": duration_s,
        "adapter_stderr": got.adapter_stderr,
        "issue_url": got.issue_url,
    }
    if got.skip_reason is not None:
        return Result(**base, status=Status.SKIPPED, skip_reason=got.skip_reason)
    if got.observation is None:
        failure = got.failure or HarnessFailure("NoObservation", "the implementation returned nothing")
        return Result(**base, status=Status.ERRORED, harness_error=failure, summary=failure.message)
    observation = got.observation
    try:
        golden_doc = backend.read_golden(scenario.id, golden_root)
        failed = tuple(backend.check_expectations(scenario, observation)) if check_expectations else ()
    except Exception as exc:
        return Result(
            **base, status=Status.ERRORED, observation=observation, harness_error=_failure(exc), summary=str(exc)
        )
    if golden_doc is None:
        return Result(
            **base,
            status=Status.ERRORED,
            observation=observation,
            failed_expectations=failed,
            harness_error=HarnessFailure(type="MissingGolden", message=NO_GOLDEN),
            summary=NO_GOLDEN,
        )
    golden = dict(golden_doc)
    expected = _unwrap(golden)
    compared = tuple(parts)
    if not portable:  # the reference is compared on its whole observation, whatever keys it has
        from harness.scenario.compare import EVIDENCE_KEYS  # evidence for the report, never compared

        compared += tuple(sorted((set(expected) | set(observation)) - set(parts) - set(EVIDENCE_KEYS)))
    try:
        comparison = compare_parts(expected, observation, compared, portable=portable)
    except Exception as exc:
        return Result(
            **base,
            status=Status.ERRORED,
            observation=observation,
            golden=golden,
            harness_error=_failure(exc),
            summary=f"compare failed: {exc}",
        )
    status, summary = verdict(comparison.agrees, comparison.summary, failed)
    leaves = tuple(
        LeafDiff(leaf.pointer, leaf.change.value, leaf.expected, leaf.observed) for leaf in comparison.leaves
    )
    return Result(
        **base,
        status=status,
        agrees=comparison.agrees,
        observation=observation,
        golden=golden,
        summary=summary,
        diff=comparison.unified_diff,
        failed_expectations=failed,
        compared_parts=comparison.compared,
        diverging_parts=comparison.diverging,
        leaves=leaves,
    )


def apply_baseline(result: Result, baselines: Mapping[str, Baseline]) -> Result:
    """One compared result judged leaf by leaf against its implementation's findings (a result that was not
    compared -- skipped, errored -- is returned as it is: nothing was compared, nothing is explained)."""
    if result.agrees is None:
        return result
    baseline = baselines.get(result.implementation)
    leaves = [
        Leaf.from_dict({"path": d.path, "change": d.change, "expected": d.expected, "observed": d.observed})
        for d in result.leaves
    ]
    judged = judge_result(baseline, result.scenario, leaves, expectations_failed=bool(result.failed_expectations))
    summary = result.summary
    if judged.summary:
        summary = judged.summary if not summary else f"{judged.summary}\n{summary}"
    return dataclasses.replace(
        result, status=judged.status, leaves=judged.leaves, baseline=judged.notes, summary=summary
    )


def baseline_problems(
    results: Sequence[Result], baselines: Mapping[str, Baseline], scenario_ids: Sequence[str] | set[str]
) -> list[BaselineProblem]:
    """What fails in the baselines themselves, judged over the results of the whole run (stale findings, globs
    that match nothing): a finding is stale only when every scenario it applies to ran."""
    found: list[BaselineProblem] = []
    known = set(scenario_ids)
    for baseline in baselines.values():
        found.extend(problems(baseline, results, known))
    return found


def apply_baselines(
    results: Sequence[Result], baselines: Mapping[str, Baseline], scenario_ids: Sequence[str] | set[str]
) -> tuple[list[Result], list[BaselineProblem]]:
    """:func:`apply_baseline` to every result, then :func:`baseline_problems` over them."""
    out = [apply_baseline(result, baselines) for result in results]
    return out, baseline_problems(out, baselines, scenario_ids)


# ------------------------------------------------------------------------------------------ drivers


class Driver:
    """One implementation in the matrix: how its header entry reads and how one scenario is observed."""

    id: str
    parts: tuple[str, ...] = PORTABLE_PARTS
    portable: bool = True
    check_expectations: bool = False

    def implementation(self) -> Implementation:
        raise NotImplementedError

    def observe(self, scenario: Any) -> Observation:
        raise NotImplementedError

    def parts_for(self, scenario: Any) -> tuple[str, ...]:
        """The parts this implementation is compared on for ``scenario``: its transport's portable parts
        (exec: ``invocations`` + the turn parts; app-server: ``requests``, ``replies``, ``divergence`` + the
        turn parts), or all of them for the reference."""
        if not self.portable:
            return self.parts
        from harness.scenario.transports import transport_for

        return transport_for(scenario).parts

    def close(self) -> None:
        """Release processes (idempotent)."""


class ReferenceDriver(Driver):
    """The reference SDK through the in-process scenario runner (``Backend.observe``): no adapter, no
    protocol, every part of the observation; the scenario's ``expect`` entries are checked too."""

    id = REFERENCE
    parts = PARTS
    portable = False
    check_expectations = True

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def implementation(self) -> Implementation:
        base = reference_implementation()
        from harness.adapters.protocol import CAPABILITIES

        return dataclasses.replace(
            base, sdk="harness.reference", capabilities=(*CAPABILITIES, "auto"), compared=PARTS, driver="in-process"
        )

    def observe(self, scenario: Any) -> Observation:
        reason = _skip_reason(scenario)
        if reason is not None:
            return Observation(skip_reason=reason)
        try:
            return Observation(observation=dict(self.backend.observe(scenario)))
        except Exception as exc:
            return Observation(failure=_failure(exc))


class _Pool:
    """Adapter clients of one implementation, at most ``size``; each worker thread borrows one per case."""

    def __init__(self, connect: Connector, name: str, size: int, read_timeout: float) -> None:
        self.connect = connect
        self.name = name
        self.size = max(1, size)
        self.read_timeout = read_timeout
        self._free: queue.LifoQueue[BlockingAdapterClient] = queue.LifoQueue()
        self._all: list[BlockingAdapterClient] = []
        self._reserved = 0
        self._lock = threading.Lock()

    def _new(self) -> BlockingAdapterClient:
        client = BlockingAdapterClient(self.connect, name=self.name, read_timeout=self.read_timeout)
        try:
            client.start()
        except BaseException:
            client.close()
            raise
        return client

    def _grow(self) -> BlockingAdapterClient | None:
        """A new started client if the pool may grow, else None (the caller waits for a free one)."""
        with self._lock:
            if self._reserved >= self.size:
                return None
            self._reserved += 1
        try:
            client = self._new()
        except BaseException:
            with self._lock:
                self._reserved -= 1
            raise
        with self._lock:
            self._all.append(client)
        return client

    def first(self) -> BlockingAdapterClient:
        """Start the first client (AdapterError if the adapter cannot start) and make it available."""
        client = self._grow()
        assert client is not None
        self._free.put(client)
        return client

    @contextlib.contextmanager
    def borrow(self) -> Iterator[BlockingAdapterClient]:
        try:
            client = self._free.get_nowait()
        except queue.Empty:
            client = self._grow() or self._free.get()
        try:
            yield client
        finally:
            self._free.put(client)

    @property
    def started(self) -> int:
        return len(self._all)

    def close(self) -> None:
        with self._lock:
            clients, self._all = self._all, []
        for client in clients:
            client.close()


class AdapterDriver(Driver):
    """Another SDK through its adapter: one process per worker (a pool of up to ``workers`` clients, started
    on demand), the fake and the normalization of the reference runner, the portable parts compared."""

    def __init__(
        self,
        implementation_id: str,
        connect: Connector | None,
        *,
        workers: int = 1,
        problem: str | None = None,
        install_hint: str | None = None,
        read_timeout: float = 60.0,
        case_margin: float = ADAPTER_TIMEOUT_MARGIN,
    ) -> None:
        from harness.adapters.registry import get_adapter

        self.id = implementation_id
        self.problem = problem
        self.case_margin = case_margin
        self.install_hint = install_hint
        self._spec = get_adapter(implementation_id) if _known(implementation_id) else None
        self._pool = _Pool(connect, implementation_id, workers, read_timeout) if connect is not None else None
        self._info: Implementation | None = None
        self._start_failure: HarnessFailure | None = None
        if self._pool is not None and problem is None:
            try:
                client = self._pool.first()
            except AdapterError as exc:
                self._start_failure = HarnessFailure("AdapterError", str(exc))
                self.problem = f"cannot be started: {exc}"
            else:
                found = client.client.implementation
                self._info = Implementation(
                    id=implementation_id,
                    name=found.name,
                    version=found.version,
                    language=found.language,
                    sdk=found.sdk,
                    homepage=found.homepage,
                    capabilities=found.capabilities,
                    compared=PORTABLE_PARTS,
                    driver="adapter",
                )

    def implementation(self) -> Implementation:
        if self._info is not None:
            return self._info
        spec = self._spec
        return Implementation(
            id=self.id,
            name=spec.name if spec is not None else self.id,
            version=(spec.pinned or "") if spec is not None else "",
            language=spec.language if spec is not None else "",
            sdk=(spec.package or "") if spec is not None else "",
            homepage=spec.homepage if spec is not None else None,
            compared=PORTABLE_PARTS,
            driver="adapter",
            problem=self.problem,
        )

    @property
    def processes(self) -> int:
        """How many adapter processes were started (one per worker that needed one)."""
        return self._pool.started if self._pool is not None else 0

    def observe(self, scenario: Any) -> Observation:
        reason = _skip_reason(scenario) or matrix_non_portable_reason(scenario)
        if reason is not None:
            return Observation(skip_reason=f"not portable: {reason}")
        if self._start_failure is not None:
            return Observation(failure=self._start_failure)
        if self._pool is None or self.problem is not None:
            hint = f"; run: {self.install_hint}" if self.install_hint else ""
            return Observation(skip_reason=f"{self.id} is not available: {self.problem}{hint}")
        for attempt in range(_ETXTBSY_RETRIES + 1):
            got = self._observe_once(scenario)
            if not _text_file_busy(got) or attempt == _ETXTBSY_RETRIES:
                return got
            time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _observe_once(self, scenario: Any) -> Observation:
        from harness.scenario.transports import transport_for

        assert self._pool is not None
        transport = transport_for(scenario)
        with tempfile.TemporaryDirectory(prefix="codex-parity-") as tmp:
            workdir = Path(tmp)
            prepared = transport.prepare(scenario, workdir)
            case = transport.case(scenario, prepared)
            limit = float(scenario.timeout) + self.case_margin
            try:
                with self._pool.borrow() as client:
                    got = client.run(case, codex_path=prepared.fake, workdir=workdir, timeout=limit)
            except AdapterError as exc:
                return Observation(failure=HarnessFailure("AdapterError", str(exc)))
            if isinstance(got, Skipped):
                by = "harness" if got.by == "harness" else "adapter"
                return Observation(
                    skip_reason=f"{got.reason} (skipped by the {by})",
                    issue_url=got.issue_url,
                    adapter_stderr=got.adapter_stderr,
                )
            if isinstance(got, Errored) and got.cause == "timeout":
                # A hang is behaviour of the SDK, not a harness failure: the client killed and will restart the
                # adapter; what the fake saw is kept, and the observation says the SDK never finished.
                hang: dict[str, Any] = {
                    "events": [],
                    "result": None,
                    "error": {"kind": HANG_KIND, "class": "Hang", "message": f"no answer within {limit:g} s"},
                    "earlier_turns": [],
                }
                observation = normalize_adapter_observation(scenario, prepared, workdir, hang)
                return Observation(observation=observation, adapter_stderr=got.adapter_stderr)
            if isinstance(got, Errored):
                detail = "\n".join(p for p in (got.message, got.traceback or "", got.stderr or "") if p)
                return Observation(
                    failure=HarnessFailure(f"AdapterErrored:{got.cause}", detail), adapter_stderr=got.adapter_stderr
                )
            assert isinstance(got, Observed)
            observation = normalize_adapter_observation(scenario, prepared, workdir, got.observation)
            return Observation(observation=observation, adapter_stderr=got.adapter_stderr)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()


#: How often a case is re-run when the SDK could not execute the fake because it was "busy" (see below).
_ETXTBSY_RETRIES = 2


def _text_file_busy(got: Observation) -> bool:
    """Whether the SDK failed to start the fake with ETXTBSY before codex ran at all.

    A harness race, not SDK behaviour: the fake is written by one worker thread while another forks (an adapter
    or a codex child); until that child execs it holds the fake's write descriptor, and exec of the fake fails
    with ``Text file busy``. Such a case is run again in a fresh workdir."""
    observation = got.observation
    if observation is None or observation.get("invocations"):
        return False
    error = observation.get("error")
    return isinstance(error, Mapping) and "Text file busy" in str(error.get("message", ""))


def _known(implementation_id: str) -> bool:
    from harness.adapters.registry import ADAPTERS

    return any(spec.id == implementation_id for spec in ADAPTERS)


# ------------------------------------------------------------------------------- fake + normalization


def normalize_adapter_observation(
    scenario: Any, prepared: Any, workdir: Path, wire: Mapping[str, Any]
) -> dict[str, Any]:
    """An adapter's observation as the reference runner would record it: the fake's own side from the
    scenario's transport (exec: ``invocations`` from the fake codex log; app-server: ``requests``, ``replies``,
    ``divergence`` from the fake app-server's report), the SDK's turn parts, then the transport's normalization
    with the same context as the runner's (``workdir`` is ``prepared.workdir``)."""
    from harness.scenario.transports import transport_for

    transport = transport_for(scenario)
    raw: dict[str, Any] = {**transport.fake_side(scenario, prepared), **dict(wire)}
    raw["earlier_turns"] = list(wire.get("earlier_turns") or [])
    raw.setdefault("telemetry", [])
    raw.setdefault("logs", [])
    return transport.normalize(scenario, prepared, raw)


def driver_for(implementation_id: str, backend: Backend, *, workers: int = 1, cache_dir: Path | None = None) -> Driver:
    """The driver of a requested implementation; never raises for one that is missing (it is reported)."""
    if implementation_id == REFERENCE:
        return ReferenceDriver(backend)
    from harness.adapters.registry import connector_for, get_adapter, status_of

    try:
        spec = get_adapter(implementation_id)
    except AdapterError as exc:
        return AdapterDriver(implementation_id, None, problem=str(exc))
    status = status_of(spec, cache_dir=cache_dir)
    if not status.installed:
        return AdapterDriver(implementation_id, None, problem=status.problem, install_hint=spec.install_hint)
    return AdapterDriver(implementation_id, connector_for(implementation_id, cache_dir=cache_dir), workers=workers)


# ------------------------------------------------------------------------------------------ running


@dataclasses.dataclass(frozen=True)
class MatrixRun:
    """A finished matrix: the report (baselines applied), the results before baselines (for
    ``--update-baseline``), and where the time went."""

    report: Report
    raw_results: tuple[Result, ...]
    wall_s: float
    #: per implementation: the sum of its case durations (busy time), and adapter processes started
    busy_s: Mapping[str, float]
    processes: Mapping[str, int]


def run_matrix(
    scenarios: Sequence[Any],
    drivers: Sequence[Driver],
    *,
    backend: Backend,
    golden_root: Path,
    header: Header,
    workers: int = 1,
    baselines: Mapping[str, Baseline] | None = None,
    scenario_ids: Sequence[str] | set[str] | None = None,
    on_result: Callable[[Result], None] | None = None,
    retries: int = 0,
) -> MatrixRun:
    """Run every (scenario, driver) pair on ``workers`` threads and build the report.

    Pairs are scheduled scenario by scenario, each scenario's implementations next to each other, so every
    implementation makes progress from the start. ``scenario_ids`` (all the corpus's ids, not only the
    selected ones) is what baseline entries are checked against.
    """
    started = time.perf_counter()
    tasks = [(scenario, driver) for scenario in scenarios for driver in drivers]

    known_baselines = baselines or {}

    def attempt(scenario: Any, driver: Driver) -> tuple[Result, Result]:
        """One observation of (scenario, driver): the result before and after its baseline."""
        began = time.perf_counter()
        try:
            got = driver.observe(scenario)
        except Exception as exc:  # HarnessError included: the harness failed on this pair, the run goes on
            got = Observation(failure=_failure(exc))
        raw = judge(
            scenario,
            driver.id,
            got,
            backend=backend,
            golden_root=golden_root,
            parts=driver.parts_for(scenario),
            portable=driver.portable,
            check_expectations=driver.check_expectations,
            duration_s=time.perf_counter() - began,
        )
        return raw, apply_baseline(raw, known_baselines)

    def one(task: tuple[Any, Driver]) -> tuple[Result, Result]:
        """The pair, re-run up to ``retries`` times while its verdict fails the run; outcomes that differ
        make it ``flaky`` (each attempt's status kept, the last attempt's evidence shown)."""
        scenario, driver = task
        outcomes = [attempt(scenario, driver)]
        while outcomes[-1][1].status.failing and len(outcomes) <= retries:
            outcomes.append(attempt(scenario, driver))
        raw, final = outcomes[-1]
        if len(outcomes) == 1:
            return raw, final
        statuses = tuple(judged.status.value for _, judged in outcomes)
        duration = sum(judged.duration_s for _, judged in outcomes)
        status = Status.FLAKY if len(set(statuses)) > 1 else final.status
        summary = f"attempts: {', '.join(statuses)}" + (f"\n{final.summary}" if final.summary else "")
        return raw, dataclasses.replace(final, status=status, attempts=statuses, duration_s=duration, summary=summary)

    pairs: list[tuple[Result, Result]] = []
    if workers <= 1:
        for task in tasks:
            pairs.append(one(task))
            if on_result is not None:
                on_result(pairs[-1][1])
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="parity") as pool:
            futures = [pool.submit(one, task) for task in tasks]
            for future in as_completed(futures):
                pairs.append(future.result())
                if on_result is not None:
                    on_result(pairs[-1][1])
    results = [raw for raw, _ in pairs]
    judged = [final for _, final in pairs]
    ids = set(scenario_ids) if scenario_ids is not None else {s.id for s in scenarios}
    problems_found = baseline_problems(judged, known_baselines, ids)
    header = dataclasses.replace(header, implementations=tuple(d.implementation() for d in drivers))
    report = Report.build(header, judged, finished_at=utc_now(), baseline_problems=problems_found)
    busy: dict[str, float] = {}
    for result in results:
        busy[result.implementation] = busy.get(result.implementation, 0.0) + result.duration_s
    processes = {d.id: getattr(d, "processes", 0) for d in drivers}
    return MatrixRun(
        report=report,
        raw_results=tuple(sorted(results, key=lambda r: r.key)),
        wall_s=time.perf_counter() - started,
        busy_s=busy,
        processes=processes,
    )
