"""The parity report as frozen values: a header, one result per (scenario, implementation), a footer.

Two axes are kept apart on purpose (Bowtie#58 rendered "what happened" and "was it expected" with one
icon and confused its users): :attr:`Result.observation` / :attr:`Result.observed_error_kind` say what the
implementation *did*; :attr:`Result.agrees` says whether that matches the golden. :attr:`Result.status` is
the verdict derived from both plus the scenario's own expectations.

Results are keyed by ``(scenario, implementation)`` rather than by scenario alone so that a later matrix
run (many SDKs through adapters) and per-implementation baselines extend the format instead of breaking it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

__all__ = [
    "FORMAT_VERSION",
    "PARTS",
    "PORTABLE_PARTS",
    "REFERENCE",
    "BaselineNote",
    "BaselineProblem",
    "Counts",
    "Footer",
    "HarnessFailure",
    "Header",
    "Implementation",
    "LeafDiff",
    "Report",
    "Result",
    "Selection",
    "Status",
]

#: Bumped only on a change an older reader would misread (a removed or retyped field, a new status).
#: Additive changes (new keys, new record types) keep the number: readers ignore what they do not know.
#: 2: the statuses ``known_divergence`` and ``stale`` (baselines), ``baseline`` records.
#: 3: baselines of findings: results carry their differing ``leaves`` (each with the finding that explains it),
#: stale findings are ``baseline_problem`` records (no result is ``stale`` any more), the status ``flaky``.
FORMAT_VERSION: Final = 3

#: The implementation id of the reference SDK (:mod:`harness.reference`), whose behaviour the goldens record.
REFERENCE: Final = "reference"

#: The top-level observation keys: the *parts* a comparison (and a baseline entry ``scenario:part``) names.
PARTS: Final = ("invocations", "leftover_process", "events", "result", "error", "earlier_turns", "telemetry", "logs")

#: The parts every SDK reports through an adapter; ``telemetry`` and ``logs`` are the reference's own.
PORTABLE_PARTS: Final = ("invocations", "leftover_process", "events", "result", "error", "earlier_turns")


class Status(StrEnum):
    """The verdict for one (scenario, implementation) pair."""

    #: observed, agrees with the golden, and every expectation of the scenario holds
    PASSED = "passed"
    #: observed, but differs from the golden or fails an expectation
    DIVERGED = "diverged"
    #: no verdict: the harness could not observe or compare (see ``harness_error``), e.g. no golden
    ERRORED = "errored"
    #: deliberately not run (the scenario or the implementation says so)
    SKIPPED = "skipped"
    #: observed and differs from the golden, but every differing part is listed in the implementation's
    #: baseline (a known, explained divergence): reported, does not fail the run
    KNOWN_DIVERGENCE = "known_divergence"
    #: format 2 only (read, never written): a baseline entry whose part agreed again
    STALE = "stale"
    #: re-run (``--retries``) with outcomes that differ between attempts; the outcomes are in ``attempts``.
    #: Declared like a known divergence (it does not fail the run), and listed apart in every view.
    FLAKY = "flaky"

    @property
    def failing(self) -> bool:
        """Whether this verdict fails a run: skips and known divergences are declared, so they do not."""
        return self in (Status.DIVERGED, Status.ERRORED, Status.STALE)


@dataclass(frozen=True)
class Implementation:
    """One implementation under test: the reference SDK, or another SDK driven through its adapter.

    ``sdk`` is the package or module driven; ``compared`` the observation parts compared with the golden
    (all of :data:`PARTS` for the reference, :data:`PORTABLE_PARTS` for the others); ``problem`` says why an
    implementation that was asked for could not be run (not installed, would not start), else ``None``.
    """

    id: str
    name: str
    version: str
    language: str = "python"
    sdk: str = ""
    homepage: str | None = None
    capabilities: tuple[str, ...] = ()
    compared: tuple[str, ...] = PARTS
    problem: str | None = None
    #: how the cases reached it: ``in-process`` (the reference runner) or ``adapter``
    driver: str = "in-process"


@dataclass(frozen=True)
class Selection:
    """How the scenarios of a run were chosen, so a report can be reproduced."""

    keyword: str | None = None
    tags: tuple[str, ...] = ()
    scenarios: str = "scenarios"
    golden: str = "golden"
    #: ``K/N`` when the run was one shard of N (``harness parity --shard``), else None
    shard: str | None = None


@dataclass(frozen=True)
class Header:
    """Run metadata, the first line of ``parity.json``."""

    harness_version: str
    python: str
    platform: str
    started_at: str
    cli_versions: tuple[str, ...] = ()
    implementations: tuple[Implementation, ...] = ()
    argv: tuple[str, ...] = ()
    selection: Selection = field(default_factory=Selection)
    format_version: int = FORMAT_VERSION


@dataclass(frozen=True)
class HarnessFailure:
    """Why the harness, not the implementation, failed to reach a verdict (blame is data, not a crash)."""

    type: str
    message: str
    traceback: str | None = None


@dataclass(frozen=True)
class BaselineNote:
    """One baseline entry as it applied to a result: ``entry`` is ``scenario`` or ``scenario:part``;
    ``stale`` is True when the entry lists a divergence that did not happen."""

    entry: str
    reason: str
    issue: str | None = None
    stale: bool = False


@dataclass(frozen=True)
class LeafDiff:
    """One differing leaf of a compared result (:mod:`harness.parity.leaves`): its JSON pointer from the
    observation's root, how it differs, both values, and the finding that explains it (``None``: nobody does,
    the result diverged because of it)."""

    path: str
    change: str
    expected: Any = None
    observed: Any = None
    finding: str | None = None

    @property
    def part(self) -> str:
        return self.path.split("/", 1)[0]


@dataclass(frozen=True)
class BaselineProblem:
    """A baseline entry that fails the run without belonging to a result (it names no known scenario)."""

    implementation: str
    location: str
    entry: str
    message: str


@dataclass(frozen=True)
class Result:
    """One (scenario, implementation) outcome with everything needed to understand it offline."""

    scenario: str
    implementation: str
    status: Status
    title: str = ""
    tags: tuple[str, ...] = ()
    #: axis 2: True/False once compared with a golden, None when no comparison happened
    agrees: bool | None = None
    #: axis 1: the normalized observation (None if the harness could not observe)
    observation: Mapping[str, Any] | None = None
    golden: Mapping[str, Any] | None = None
    summary: str = ""
    diff: str = ""
    failed_expectations: tuple[str, ...] = ()
    harness_error: HarnessFailure | None = None
    skip_reason: str | None = None
    duration_s: float = 0.0
    #: the observation parts compared with the golden (see :data:`PARTS`), and those that differ
    compared_parts: tuple[str, ...] = ()
    diverging_parts: tuple[str, ...] = ()
    #: baseline entries that concern this result (known divergences, or stale ones)
    baseline: tuple[BaselineNote, ...] = ()
    #: what the adapter process wrote to stderr while running the case (captured data, never a verdict)
    adapter_stderr: str = ""
    #: a known bug the skip or divergence is tracked by
    issue_url: str | None = None
    #: every differing leaf, unexplained ones first (empty when the result agrees or was not compared)
    leaves: tuple[LeafDiff, ...] = ()
    #: with ``--retries``: the status of each attempt, in order (empty for a single attempt)
    attempts: tuple[str, ...] = ()

    @property
    def explained_by(self) -> tuple[str, ...]:
        """The findings that explain at least one of this result's leaves, in first-use order."""
        return tuple(dict.fromkeys(leaf.finding for leaf in self.leaves if leaf.finding is not None))

    @property
    def unexplained(self) -> tuple[LeafDiff, ...]:
        """The leaves no finding explains."""
        return tuple(leaf for leaf in self.leaves if leaf.finding is None)

    @property
    def key(self) -> tuple[str, str]:
        """The stable identity used for sorting, duplicate detection and report diffs."""
        return (self.scenario, self.implementation)

    @property
    def observed_error_kind(self) -> str | None:
        """The canonical error kind the implementation surfaced, or None if it completed normally."""
        if self.observation is None:
            return None
        error = self.observation.get("error")
        if isinstance(error, Mapping):
            kind = error.get("kind")
            return str(kind) if kind is not None else "unknown"
        return None

    @property
    def observed(self) -> str:
        """A one-word rendering of axis 1 for tables: ``ok``, ``error:<kind>`` or ``-``."""
        if self.observation is None:
            return "-"
        kind = self.observed_error_kind
        return "ok" if kind is None else f"error:{kind}"

    @property
    def agreement(self) -> str:
        """A one-word rendering of axis 2 for tables."""
        return {True: "agrees", False: "differs", None: "-"}[self.agrees]


@dataclass(frozen=True)
class Counts:
    """How many results have each status; the footer repeats them so a reader can cross-check."""

    passed: int = 0
    diverged: int = 0
    errored: int = 0
    skipped: int = 0
    known_divergence: int = 0
    stale: int = 0
    flaky: int = 0

    @property
    def total(self) -> int:
        """All results, whatever their status."""
        return (
            self.passed + self.diverged + self.errored + self.skipped + self.known_divergence + self.stale
            + self.flaky
        )

    @property
    def failing(self) -> int:
        """Results that fail a run."""
        return self.diverged + self.errored + self.stale

    @classmethod
    def of(cls, results: Iterable[Result]) -> Counts:
        """Count statuses; used when building a footer and when validating one that was read."""
        tally = dict.fromkeys((s.value for s in Status), 0)
        for result in results:
            tally[result.status.value] += 1
        return cls(**tally)

    def as_dict(self) -> dict[str, int]:
        """The JSON form, with ``total`` included for readers that do not add up."""
        return {
            "passed": self.passed,
            "diverged": self.diverged,
            "errored": self.errored,
            "skipped": self.skipped,
            "known_divergence": self.known_divergence,
            "stale": self.stale,
            "flaky": self.flaky,
            "total": self.total,
        }


@dataclass(frozen=True)
class Footer:
    """The last line of ``parity.json``; its absence marks a run that did not finish."""

    counts: Counts
    finished_at: str
    complete: bool = True


@dataclass(frozen=True)
class Report:
    """A complete parity run. Build it with :meth:`build` so results are sorted and counted."""

    header: Header
    results: tuple[Result, ...]
    footer: Footer
    #: baseline entries that fail the run on their own (an entry naming a scenario that does not exist)
    baseline_problems: tuple[BaselineProblem, ...] = ()

    def __post_init__(self) -> None:
        seen: set[tuple[str, str]] = set()
        for result in self.results:
            if result.key in seen:
                raise ValueError(f"duplicate result for {result.scenario} ({result.implementation})")
            seen.add(result.key)

    @classmethod
    def build(
        cls,
        header: Header,
        results: Iterable[Result],
        *,
        finished_at: str,
        baseline_problems: Iterable[BaselineProblem] = (),
    ) -> Report:
        """Sort results by stable key (never by completion order, which varies with ``-n``) and count them."""
        ordered = tuple(sorted(results, key=lambda r: r.key))
        problems = tuple(sorted(baseline_problems, key=lambda p: (p.implementation, p.entry, p.location)))
        return cls(header, ordered, Footer(Counts.of(ordered), finished_at), problems)

    @property
    def counts(self) -> Counts:
        """Counts recomputed from the results (equal to the footer's for a valid report)."""
        return Counts.of(self.results)

    @property
    def ok(self) -> bool:
        """True when no result fails the run and every baseline entry names a scenario."""
        return self.counts.failing == 0 and not self.baseline_problems

    @property
    def implementation_ids(self) -> tuple[str, ...]:
        """The implementations in header order, then any that only appear in results."""
        ids = [i.id for i in self.header.implementations]
        for result in self.results:
            if result.implementation not in ids:
                ids.append(result.implementation)
        return tuple(ids)

    @property
    def scenario_ids(self) -> tuple[str, ...]:
        """Every scenario with a result, sorted."""
        return tuple(sorted({r.scenario for r in self.results}))

    def by_key(self) -> dict[tuple[str, str], Result]:
        """Results indexed by ``(scenario, implementation)``, for alignment in diffs."""
        return {r.key: r for r in self.results}
