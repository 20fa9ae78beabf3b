"""pytest plugin (``pytest11`` entry point ``codex_harness``): every ``scenarios/<area>/<name>.yaml`` is one
test.

Loaded in *every* pytest run, so importing it costs nothing beyond pytest itself: the scenario machinery is
imported only when a scenario file is collected, and only YAML files below a directory named ``scenarios`` are
collected.

* Node ids are ``<path>::<id>`` (``scenarios/errors/fail_500.yaml::errors/fail_500``); tags become markers,
  registered on the fly so ``--strict-markers`` passes; ``-k`` matches ids and tags.
* A malformed scenario is a collection error naming ``file:line:column`` and the field, without a traceback.
* Running an item: observe (run + normalize), check the ``expect`` entries, compare the golden document
through
  syrupy (:class:`~harness.golden.extension.GoldenExtension`); ``--snapshot-update`` writes it. A failure
  shows a
  short deepdiff summary, the unified diff golden -> observed, and the failed expectations.
* Unused goldens (a ``golden/**.json`` whose scenario file does not exist) are listed at the end and fail the
run;
  with ``--snapshot-update`` they are deleted (and listed). This bookkeeping is ours, not syrupy's (syrupy
  tracks
  only ``pytest.Function`` items), and works under pytest-xdist: workers report the scenario roots they
  collected
  and the controller, which runs no tests, checks them once at the end.

State lives in ``config.stash[STATE]``.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr

    from harness.scenario.model import Scenario

__all__ = ["STATE", "HarnessState", "ScenarioFailure", "ScenarioFile", "ScenarioItem"]

#: Tags that would change how pytest runs an item if they became markers.
_FORBIDDEN_TAGS = frozenset({"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings"})
_DIFF_LINES = 200
_WORKER_KEY = "codex_harness"


@dataclasses.dataclass
class HarnessState:
    """What the plugin remembers during one session (per process; merged on the xdist controller)."""

    roots: set[str] = dataclasses.field(default_factory=set)
    ids: dict[str, str] = dataclasses.field(default_factory=dict)
    created: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    unused: list[str] = dataclasses.field(default_factory=list)
    deleted: list[str] = dataclasses.field(default_factory=list)
    golden_session: Any = None


STATE = pytest.StashKey[HarnessState]()


def _scenarios_root(path: Path) -> Path | None:
    for parent in path.parents:
        if parent.name == "scenarios":
            return parent
    return None


def _updating(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "update_snapshots", False))


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


# ------------------------------------------------------------------------------------------------------------
# hooks


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--live [--live-cli V]``: run the recorded scenarios against the real codex instead of their replay."""
    group = parser.getgroup("codex_harness", "codex harness scenarios")
    group.addoption("--live", action="store_true", default=False,
                    help="run the scenarios generated from recorded cases against the real codex (sandboxed); "
                    "other scenarios are deselected; goldens are compared, never written")
    group.addoption("--live-cli", metavar="V", default=None,
                    help="the codex version for --live (default: the newest in codex.lock)")


def _live(config: pytest.Config) -> bool:
    return bool(config.getoption("--live", default=False))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--live``, keep only the scenarios live mode can run (recorded, and the SDK's invocation is the
    recorded one); the rest are deselected, not skipped."""
    if not _live(config):
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        recorded = getattr(getattr(item, "scenario", None), "recorded", None)
        (keep if recorded is not None and recorded.live else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


_LIVE_TRANSPORT = pytest.StashKey[Any]()


def _live_transport(config: pytest.Config) -> Any:
    """One :class:`~harness.scenario.transports.live.LiveExecTransport` per session (installs the binary once)."""
    if _LIVE_TRANSPORT not in config.stash:
        from harness.real.install import ensure_installed
        from harness.real.lock import LockFile, default_lock_path
        from harness.scenario.transports.live import LiveExecTransport

        version = config.getoption("--live-cli") or LockFile.load(default_lock_path()).newest()
        config.stash[_LIVE_TRANSPORT] = LiveExecTransport(ensure_installed(str(version)))
    return config.stash[_LIVE_TRANSPORT]


def pytest_configure(config: pytest.Config) -> None:
    """Set up the session state; defer xdist-only hooks to an object registered only when xdist is present."""
    config.stash[STATE] = HarnessState()
    config.addinivalue_line("markers", "scenario: a YAML scenario collected from scenarios/ (codex harness)")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(), "codex_harness_xdist")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """``*.yaml``/``*.yml`` below a ``scenarios`` directory -> :class:`ScenarioFile`."""
    if file_path.suffix in (".yaml", ".yml") and _scenarios_root(file_path) is not None:
        file: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
        return file
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Workers hand their bookkeeping to the controller; the controller (or a plain run) checks unused
    goldens."""
    config = session.config
    state = config.stash[STATE]
    if _is_worker(config):
        output: dict[str, Any] = config.workeroutput  # type: ignore[attr-defined]
        output[_WORKER_KEY] = {
            "roots": sorted(state.roots),
            "created": state.created,
            "updated": state.updated,
        }
        return
    if not state.roots:
        return
    from harness.golden.store import delete_golden, golden_path, unused_goldens
    from harness.scenario.load import find_scenario_files, scenario_ids

    for root_text in sorted(state.roots):
        root = Path(root_text)
        golden_root = root.parent / "golden"
        ids = {sid for f in find_scenario_files([root]) for sid in scenario_ids(f, root)}
        for sid in unused_goldens(golden_root, ids):
            shown = _relative(golden_path(sid, golden_root), config.rootpath)
            if _updating(config):
                delete_golden(sid, golden_root)
                state.deleted.append(shown)
            else:
                state.unused.append(shown)
    if state.unused and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """One section listing goldens written, updated, unused and deleted."""
    if _is_worker(config):
        return
    state = config.stash[STATE]
    lines: list[str] = []
    for label, entries in (
        ("written", state.created),
        ("updated", state.updated),
        ("deleted unused", state.deleted),
    ):
        if entries:
            lines.append(f"{len(entries)} golden(s) {label}: " + ", ".join(sorted(entries)))
    if state.unused:
        lines.append(f"{len(state.unused)} unused golden(s) (no scenario file); run with --snapshot-update to delete:")
        lines.extend(f"  {entry}" for entry in sorted(state.unused))
    if lines:
        terminalreporter.write_sep("-", "codex harness goldens")
        for line in lines:
            terminalreporter.write_line(line)


class _XdistHooks:
    """Hooks that exist only with pytest-xdist (registering them without it would be an unknown-hook
    error)."""

    @pytest.hookimpl
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        data = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
        if not data:
            return
        state = node.config.stash[STATE]
        state.roots.update(data["roots"])
        state.created.extend(data["created"])
        state.updated.extend(data["updated"])


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


# ------------------------------------------------------------------------------------------------------------
# nodes


class ScenarioFile(pytest.File):
    """One scenario file: one :class:`ScenarioItem`, or one per generated scenario of a manifest
    (``scenarios/recorded.yaml``); a malformed file fails collection with file:line:column."""

    def collect(self) -> list[pytest.Item]:
        from harness.errors import ScenarioError
        from harness.scenario.load import load_file

        try:
            scenarios = load_file(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        state = self.config.stash[STATE]
        items: list[pytest.Item] = []
        for scenario in scenarios:
            other = state.ids.get(scenario.id)
            if other is not None and other != str(self.path):
                raise self.CollectError(
                    f"{self.path}:1:1: duplicate scenario id {scenario.id!r} (also defined in {other})"
                )
            state.ids[scenario.id] = str(self.path)
            state.roots.add(str(scenario.root.resolve()))
            for tag in scenario.tags:
                if tag in _FORBIDDEN_TAGS:
                    raise self.CollectError(
                        f"{self.path}: tags: {tag!r} is a pytest marker with meaning; rename the tag"
                    )
                if not any(line.split(":")[0].strip() == tag for line in self.config.getini("markers")):
                    self.config.addinivalue_line("markers", f"{tag}: scenario tag (codex harness)")
            items.append(ScenarioItem.from_parent(self, name=scenario.id, scenario=scenario))
        return items


def _scenario_test() -> None:
    """Stand-in ``obj`` for syrupy's ``PyTestLocation`` (which reads ``__module__``/``__name__``)."""


class ScenarioFailure(Exception):
    """A scenario whose observation diverges from its golden and/or fails its expectations."""

    def __init__(
        self, item: ScenarioItem, *, golden_problem: str | None, summary: str, diff: str, failures: list[str]
    ) -> None:
        super().__init__(golden_problem or "; ".join(failures))
        self.item = item
        self.golden_problem = golden_problem
        self.summary = summary
        self.diff = diff
        self.failures = failures


class ScenarioItem(pytest.Item):
    """One scenario, run against the reference SDK and compared with its golden."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.golden_file = scenario.golden_root / f"{scenario.id}.json"
        self.obj = _scenario_test
        self.add_marker("scenario")
        for tag in scenario.tags:
            self.add_marker(tag)

    def runtest(self) -> None:
        if _live(self.config):
            self._runtest_live()
            return
        from harness.golden.store import render_golden
        from harness.scenario.compare import check_expectations
        from harness.scenario.runner import golden_document, observe

        observed = observe(self.scenario)
        document = golden_document(self.scenario, observed)
        failures = check_expectations(self.scenario, observed)
        problem, summary, diff = self._check_golden(document, render_golden(document))
        if problem is not None or failures:
            raise ScenarioFailure(self, golden_problem=problem, summary=summary, diff=diff, failures=failures)

    def _runtest_live(self) -> None:
        """The real codex instead of the replay; the live view of the observation must equal the golden's."""
        from harness.golden.store import read_golden
        from harness.scenario.compare import check_expectations
        from harness.scenario.transports.live import compare_live, observe_live

        observed = observe_live(self.scenario, _live_transport(self.config))
        golden = read_golden(self.scenario.id, self.scenario.golden_root)
        shown = _relative(self.golden_file, self.config.rootpath)
        failures = check_expectations(self.scenario, observed)
        if golden is None:
            raise ScenarioFailure(self, golden_problem=f"no golden at {shown}", summary="", diff="",
                                  failures=failures)
        leaves = compare_live(golden.get("observation", {}), observed)
        if leaves or failures:
            problem = f"the real codex diverges from the golden {shown} ({len(leaves)} leaves)" if leaves else None
            raise ScenarioFailure(self, golden_problem=problem, summary="\n".join(leaves), diff="",
                                  failures=failures)

    def _check_golden(self, document: dict[str, Any], text: str) -> tuple[str | None, str, str]:
        """Assert the golden through syrupy; (problem or None, summary, diff)."""
        from syrupy.assertion import SnapshotAssertion
        from syrupy.location import PyTestLocation

        from harness.golden.extension import GoldenExtension
        from harness.golden.session import GoldenSession
        from harness.golden.store import read_golden
        from harness.scenario.compare import compare

        state = self.config.stash[STATE]
        if state.golden_session is None:
            state.golden_session = GoldenSession(pytest_session=self.session)
        assertion = SnapshotAssertion(
            session=state.golden_session,
            extension_class=GoldenExtension,
            test_location=PyTestLocation(self),
            update_snapshots=_updating(self.config),
        )
        matched = assertion == text
        result = assertion.executions[0]
        shown = _relative(self.golden_file, self.config.rootpath)
        if matched:
            if result.created:
                state.created.append(shown)
            elif result.updated:
                state.updated.append(shown)
            return None, "", ""
        if result.exception is not None and type(result.exception).__name__ != "SnapshotDoesNotExist":
            raise result.exception
        golden = read_golden(self.scenario.id, self.scenario.golden_root)
        if golden is None:
            problem = f"no golden at {shown}; record it with: pytest {self.path.name} --snapshot-update"
            comparison = compare(None, document)
            return problem, comparison.summary, comparison.unified_diff
        comparison = compare(golden, document)
        old = str(result.recalled_data or "").splitlines(keepends=True)
        diff = "".join(difflib.unified_diff(old, text.splitlines(keepends=True), f"golden {shown}", "observed"))
        summary = comparison.summary or "the golden's metadata (meta) differs"
        return f"observation diverges from the golden {shown}", summary, diff

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        """Domain failures as text (summary, diff, expectations); harness errors as one line; bugs in full."""
        from harness.errors import HarnessError

        value = excinfo.value
        if isinstance(value, ScenarioFailure):
            return _render_failure(value)
        if isinstance(value, HarnessError):
            return f"harness error: {value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"scenario: {self.scenario.id}"


def _render_failure(failure: ScenarioFailure) -> str:
    scenario = failure.item.scenario
    out = [f"scenario {scenario.id}: {scenario.title}"]
    if failure.golden_problem:
        out.append(failure.golden_problem)
        if failure.summary:
            out.append("summary:")
            out.extend(f"  {line}" for line in failure.summary.splitlines())
        if failure.diff:
            lines = failure.diff.splitlines()
            out.append("diff (golden -> observed):")
            out.extend(lines[:_DIFF_LINES])
            if len(lines) > _DIFF_LINES:
                out.append(f"... {len(lines) - _DIFF_LINES} more diff line(s)")
    if failure.failures:
        out.append(f"failed expectations ({len(failure.failures)}):")
        out.extend(f"  {message}" for message in failure.failures)
    return "\n".join(out)
