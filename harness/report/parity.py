"""Running scenarios against an implementation and turning each outcome into a report :class:`Result`.

The scenario, golden and runner layers are reached through :class:`Backend`, a bundle of their functions,
so the CLI and the tests can run the whole pipeline over stand-ins (the seam pattern of httpx's
``MockTransport``). A failure of the implementation is data in a Result; a failure of the harness for one
scenario (observe raised, golden unreadable, no golden) is also data, marked ``errored`` with a
``harness_error``, so one bad scenario never hides the verdicts of the others.
"""

from __future__ import annotations

import datetime as _dt
import platform
import time
import traceback
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from harness import __version__
from harness.errors import HarnessError
from harness.report.model import (
    REFERENCE,
    HarnessFailure,
    Header,
    Implementation,
    Report,
    Result,
    Selection,
    Status,
)

__all__ = [
    "NO_GOLDEN",
    "Backend",
    "ComparisonLike",
    "GoldenChange",
    "ScenarioLike",
    "default_backend",
    "evaluate",
    "make_header",
    "observe_all",
    "plan_refresh",
    "reference_implementation",
    "run_parity",
    "utc_now",
]

NO_GOLDEN = "no golden; run harness golden refresh"


class ScenarioLike(Protocol):
    """What the report layer needs from :class:`harness.scenario.model.Scenario`."""

    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def tags(self) -> Collection[str]: ...

    @property
    def path(self) -> Path: ...


class ComparisonLike(Protocol):
    """What the report layer needs from :class:`harness.scenario.compare.Comparison`."""

    @property
    def agrees(self) -> bool: ...

    @property
    def summary(self) -> str: ...

    @property
    def unified_diff(self) -> str: ...


@dataclass(frozen=True)
class Backend:
    """The functions of the lower layers that a parity run or a golden refresh calls."""

    load_all: Callable[..., Sequence[Any]]
    validate_paths: Callable[[Sequence[Path]], Sequence[HarnessError]]
    observe: Callable[[Any], dict[str, Any]]
    compare: Callable[[dict[str, Any] | None, dict[str, Any]], ComparisonLike]
    check_expectations: Callable[[Any, dict[str, Any]], Sequence[str]]
    read_golden: Callable[[str, Path], dict[str, Any] | None]
    write_golden: Callable[[str, dict[str, Any], Path], object]
    render_golden: Callable[[dict[str, Any]], str]
    #: wraps an observation into the document stored as a golden (metadata + observation)
    golden_document: Callable[[Any, dict[str, Any]], dict[str, Any]]


def default_backend() -> Backend:
    """The real layers, imported late so ``harness --help`` and ``harness diff`` work without them."""
    from harness.golden.store import read_golden, render_golden, write_golden
    from harness.scenario.compare import check_expectations, compare
    from harness.scenario.load import load_all, validate_paths
    from harness.scenario.runner import golden_document, observe

    return Backend(
        load_all=load_all,
        validate_paths=validate_paths,
        observe=observe,
        compare=compare,
        check_expectations=check_expectations,
        read_golden=read_golden,
        write_golden=write_golden,
        render_golden=render_golden,
        golden_document=golden_document,
    )


def utc_now() -> str:
    """An ISO-8601 UTC timestamp with seconds precision, the only clock value in a report."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def reference_implementation() -> Implementation:
    """The reference SDK as an implementation entry."""
    return Implementation(id=REFERENCE, name="harness.reference", version=__version__, language="python")


def make_header(
    scenarios: Iterable[Any],
    *,
    argv: Sequence[str],
    selection: Selection,
    implementations: Sequence[Implementation] | None = None,
    started_at: str | None = None,
) -> Header:
    """Run metadata; the CLI versions are the union of the scenarios' fixture versions, sorted."""
    versions: set[str] = set()
    for scenario in scenarios:
        versions.update(str(v) for v in getattr(scenario, "cli_versions", ()) or ())
    return Header(
        harness_version=__version__,
        python=platform.python_version(),
        platform=platform.platform(),
        started_at=started_at or utc_now(),
        cli_versions=tuple(sorted(versions)),
        implementations=tuple(implementations or (reference_implementation(),)),
        argv=tuple(argv),
        selection=selection,
    )


def verdict(agrees: bool, difference: str, failed_expectations: Sequence[str]) -> tuple[Status, str]:
    """The status of an observed result and its one-line summary: passed only when it agrees with the golden
    *and* every expectation holds; the summary names the difference, else the first failed expectation."""
    if agrees and not failed_expectations:
        return Status.PASSED, ""
    if agrees:
        more = f" (+{len(failed_expectations) - 1} more)" if len(failed_expectations) > 1 else ""
        return Status.DIVERGED, f"expectation failed: {failed_expectations[0]}{more}"
    return Status.DIVERGED, difference


def _failure(exc: BaseException) -> HarnessFailure:
    # a HarnessError is a diagnosed failure (one line is enough); anything else is a bug: keep the traceback
    trace = None if isinstance(exc, HarnessError) else "".join(traceback.format_exception(exc))
    return HarnessFailure(type=type(exc).__name__, message=str(exc) or type(exc).__name__, traceback=trace)


def _skip_reason(scenario: Any) -> str | None:
    skip = getattr(scenario, "skip", None)
    if not skip:
        return None
    return skip if isinstance(skip, str) else "skipped by the scenario"


def evaluate(
    scenario: ScenarioLike,
    backend: Backend,
    golden_root: Path,
    implementation: str = REFERENCE,
) -> Result:
    """Observe, compare with the golden, check expectations: always one Result, never an exception."""
    started = time.perf_counter()
    base: dict[str, Any] = {
        "scenario": scenario.id,
        "implementation": implementation,
        "title": scenario.title,
        "tags": tuple(sorted(scenario.tags)),
    }

    def done(**fields: Any) -> Result:
        return Result(**base, **fields, duration_s=time.perf_counter() - started)

    reason = _skip_reason(scenario)
    if reason is not None:
        return done(status=Status.SKIPPED, skip_reason=reason)
    try:
        observation = dict(backend.observe(scenario))
    except Exception as exc:
        return done(status=Status.ERRORED, harness_error=_failure(exc), summary=f"observe failed: {exc}")
    try:
        golden = backend.read_golden(scenario.id, golden_root)
        failed = tuple(backend.check_expectations(scenario, observation))
    except Exception as exc:
        return done(
            status=Status.ERRORED, observation=observation, harness_error=_failure(exc), summary=str(exc)
        )
    if golden is None:
        return done(
            status=Status.ERRORED,
            observation=observation,
            failed_expectations=failed,
            harness_error=HarnessFailure(type="MissingGolden", message=NO_GOLDEN),
            summary=NO_GOLDEN,
        )
    golden = dict(golden)
    try:
        comparison = backend.compare(golden, observation)
    except Exception as exc:
        return done(
            status=Status.ERRORED,
            observation=observation,
            golden=golden,
            failed_expectations=failed,
            harness_error=_failure(exc),
            summary=f"compare failed: {exc}",
        )
    status, summary = verdict(comparison.agrees, comparison.summary, failed)
    return done(
        status=status,
        agrees=comparison.agrees,
        observation=observation,
        golden=golden,
        summary=summary,
        diff="" if comparison.agrees else comparison.unified_diff,
        failed_expectations=failed,
    )


def _parallel_map(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    workers: int,
    on_done: Callable[[Any], None] | None,
) -> list[Any]:
    """Map in a thread pool (observe waits on subprocesses, so threads suffice); keep input order."""
    out: list[Any] = [None] * len(items)
    if workers <= 1:
        for index, item in enumerate(items):
            out[index] = fn(item)
            if on_done is not None:
                on_done(out[index])
        return out
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="harness") as pool:
        futures = {pool.submit(fn, item): index for index, item in enumerate(items)}
        for future in as_completed(futures):
            out[futures[future]] = future.result()
            if on_done is not None:
                on_done(out[futures[future]])
    return out


def run_parity(
    scenarios: Sequence[ScenarioLike],
    backend: Backend,
    *,
    golden_root: Path,
    header: Header,
    workers: int = 1,
    on_result: Callable[[Result], None] | None = None,
) -> Report:
    """Evaluate every scenario against the reference implementation and build the complete Report."""
    results = _parallel_map(lambda s: evaluate(s, backend, golden_root), scenarios, workers, on_result)
    return Report.build(header, results, finished_at=utc_now())


@dataclass(frozen=True)
class GoldenChange:
    """One scenario's freshly built golden document next to the stored one, as a refresh sees it."""

    scenario: Any
    old: dict[str, Any] | None
    new: dict[str, Any]
    diff: str
    failed_expectations: tuple[str, ...]

    @property
    def kind(self) -> str:
        """``new`` (no golden yet), ``changed`` (the file would change) or ``unchanged``."""
        if self.old is None:
            return "new"
        return "changed" if self.diff else "unchanged"


def observe_all(
    scenarios: Sequence[Any],
    backend: Backend,
    *,
    workers: int = 1,
    on_done: Callable[[Any], None] | None = None,
) -> list[dict[str, Any]]:
    """Observe every scenario (in parallel with ``workers``); any failure aborts the whole batch."""

    def one(scenario: Any) -> dict[str, Any]:
        try:
            return backend.observe(scenario)
        except HarnessError:
            raise
        except Exception as exc:
            raise HarnessError(f"{scenario.id}: observing failed: {type(exc).__name__}: {exc}") from exc

    return _parallel_map(one, scenarios, workers, on_done)


def plan_refresh(
    scenarios: Sequence[Any],
    backend: Backend,
    *,
    golden_root: Path,
    workers: int = 1,
    on_done: Callable[[Any], None] | None = None,
) -> list[GoldenChange]:
    """What ``harness golden refresh`` would write: one :class:`GoldenChange` per scenario, in input order.

    Unlike a parity run, an observation failure aborts: a golden must never be recorded from a broken run.
    Change is judged on the rendered files, not on :func:`compare`, so stale metadata (CLI versions,
    fixtures) is refreshed too, and the diff shown is exactly what accepting would change on disk.
    """
    import difflib

    observations = observe_all(scenarios, backend, workers=workers, on_done=on_done)
    changes = []
    for scenario, observed in zip(scenarios, observations, strict=True):
        old = backend.read_golden(scenario.id, golden_root)
        new = backend.golden_document(scenario, observed)
        failed = tuple(backend.check_expectations(scenario, observed))
        before = "" if old is None else backend.render_golden(old)
        diff = "".join(
            difflib.unified_diff(
                before.splitlines(keepends=True),
                backend.render_golden(new).splitlines(keepends=True),
                fromfile=f"golden/{scenario.id}.json (stored)" if old is not None else "/dev/null",
                tofile=f"golden/{scenario.id}.json (observed)",
            )
        )
        changes.append(GoldenChange(scenario, old, new, diff, failed))
    return changes
