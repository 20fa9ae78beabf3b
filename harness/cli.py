"""The ``harness`` command line: thin subcommands, each handing off to one core function.

Exit statuses are the contract with CI: 0 all good, 1 the SDK under test failed (a scenario diverged or
errored, a report diff shows something newly broken), 2 the harness itself failed (a bad scenario file,
an unreadable report). A :class:`~harness.errors.HarnessError` is printed as one line, ``error: <message>``,
on stderr with status 2 and no traceback: it is a diagnosis, not a bug. Anything else keeps its traceback.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from harness import __version__
from harness.commands import register_all
from harness.commands.adapters_extra import register_adapters
from harness.errors import HarnessError
from harness.parity.baseline import (
    TODO_REASON,
    Baseline,
    baseline_parts,
    baseline_path,
    load_baselines,
    propose_findings,
    write_baseline,
)
from harness.parity.matrix import MatrixRun, driver_for, run_matrix
from harness.parity.shard import parse_shard
from harness.redact import redact_text
from harness.report.diff import diff_reports, diff_table
from harness.report.model import REFERENCE, Selection
from harness.report.parity import (
    Backend,
    GoldenChange,
    default_backend,
    make_header,
    plan_refresh,
)
from harness.report.reader import read_report
from harness.report.render import findings_table, leaks_table, matrix_table, results_table, summary_table
from harness.report.writer import write_reports

if TYPE_CHECKING:
    from harness.adapters.registry import AdhocAdapter
    from harness.config import ParityConfig
    from harness.corpus import RunDirs
    from harness.parity.matrix import AdapterDriver

__all__ = ["app", "main"]


class _HarnessGroup(TyperGroup):
    """Root group that turns a HarnessError from any subcommand into ``error: ...`` and exit status 2.

    Catching here (rather than around ``app()``) covers every way the app is invoked: the console
    script, ``python -m harness`` and ``typer.testing.CliRunner``.
    """

    def invoke(self, ctx: Any) -> Any:  # Any: typer vendors its own click Context type
        try:
            return super().invoke(ctx)
        except HarnessError as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(exc.exit_status) from None


app = typer.Typer(
    name="harness",
    cls=_HarnessGroup,
    help="Parity and conformance harness for Codex SDKs.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
golden_app = typer.Typer(
    name="golden",
    help="Record and review golden observations (one JSON file per scenario under [bold]golden/[/]).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(golden_app, name="golden")

#: The seam to the scenario/golden layers; tests replace it with stand-ins.
backend_factory: Callable[[], Backend] = default_backend


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"harness {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Parity and conformance harness for Codex SDKs."""


# --- shared options --------------------------------------------------------------------------------

KeywordOpt = Annotated[
    str | None,
    typer.Option(
        "-k",
        "--keyword",
        metavar="EXPR",
        help="Select scenarios whose id, title or tags match a pytest-style expression "
        "([i]shell and not fail[/]).",
    ),
]
TagOpt = Annotated[
    list[str] | None,
    typer.Option("--tag", metavar="TAG", help="Select scenarios with this tag (repeatable: any of them)."),
]
WorkersOpt = Annotated[
    int, typer.Option("-n", "--workers", min=1, help="Observe this many scenarios at once (threads).")
]
ScenariosOpt = Annotated[
    Path, typer.Option("--scenarios", metavar="DIR", help="The scenario corpus to load.")
]
GoldenOpt = Annotated[Path, typer.Option("--golden", metavar="DIR", help="Where the golden files live.")]


def _stdout() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _load(backend: Backend, scenarios_dir: Path, keyword: str | None, tags: Sequence[str]) -> list[Any]:
    """Load and select scenarios; selecting nothing is a harness error, never a silent green run."""
    if not scenarios_dir.exists():
        raise HarnessError(f"{scenarios_dir}: no such scenarios directory")
    scenarios = list(backend.load_all(scenarios_dir, keyword=keyword, tags=tuple(tags)))
    if not scenarios:
        selection = (
            " ".join([*([f"-k {keyword!r}"] if keyword else []), *(f"--tag {t}" for t in tags)])
            or "(no filter)"
        )
        raise HarnessError(f"no scenarios selected under {scenarios_dir} by {selection}")
    return scenarios


@contextmanager
def _progress(description: str, total: int) -> Iterator[Callable[[Any], None]]:
    """A progress bar on stderr (only on a terminal, so logs stay clean); yields the per-item tick."""
    console = _stderr()
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda _item: progress.advance(task)


# --- parity ----------------------------------------------------------------------------------------


def _implementations(raw: Sequence[str] | None, adhoc: Sequence[str] = ()) -> list[str]:
    """``--impl a,b --impl c`` -> ``[a, b, c]`` (order kept, duplicates dropped); ``all`` = every built-in adapter.

    The ``adhoc`` ids (``--adapter``, the config file's ``[adapters]``) are known too, and each one ``--impl`` does
    not name is appended: declaring an adapter means running it, next to the default ``reference`` (or to what
    ``--impl`` chose -- ``--impl mine`` runs the ad-hoc adapter alone)."""
    from harness.adapters.registry import ADAPTERS

    ids: list[str] = []
    for value in raw or [REFERENCE]:
        for name in (part.strip() for part in value.split(",")):
            if not name:
                continue
            for each in [spec.id for spec in ADAPTERS] if name == "all" else [name]:
                if each not in ids:
                    ids.append(each)
    known = {spec.id for spec in ADAPTERS} | set(adhoc)
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise HarnessError(f"unknown implementation {unknown[0]!r} (known: {', '.join(sorted(known))}, all)")
    if not ids:
        raise HarnessError("--impl names no implementation")
    ids.extend(a for a in adhoc if a not in ids)
    return ids


def _adhoc_adapters(options: Sequence[str], config: ParityConfig | None) -> list[AdhocAdapter]:
    """The run's ad-hoc adapters: the config file's ``[adapters]``, then each
    ``--adapter ID=COMMAND`` (a flag replaces the file's adapter of the same id; a repeated flag id is an error)."""
    from harness.adapters.registry import AdhocAdapterError, adhoc_adapter, parse_adapter_option

    chosen: dict[str, AdhocAdapter] = {}
    if config is not None:
        for adapter_id, argv in config.adapters.items():
            chosen[adapter_id] = adhoc_adapter(adapter_id, argv, source=f"{config.path}: adapters.{adapter_id}")
    flagged: set[str] = set()
    for option in options:
        adapter = parse_adapter_option(option)
        if adapter.id in flagged:
            raise AdhocAdapterError(f"--adapter {adapter.id}: given twice")
        flagged.add(adapter.id)
        chosen[adapter.id] = adapter
    return list(chosen.values())


def _adhoc_driver(adapter: AdhocAdapter, *, workers: int = 1) -> AdapterDriver:
    """The matrix driver of an ad-hoc adapter: the same adapter driver as a built-in peer's, over its command
    (one that cannot be started is reported, like a peer that cannot)."""
    from harness.parity.matrix import AdapterDriver

    return AdapterDriver(adapter.id, adapter.connector(), workers=workers)


@dataclass(frozen=True)
class _ParityInputs:
    """What one ``harness parity`` run reads and writes, after the command line, the config file and the
    defaults (:func:`harness.corpus.resolve_run_dirs`) were merged: flags win over the file."""

    dirs: RunDirs
    out: Path
    keyword: str | None
    tags: list[str]
    impl: list[str] | None
    adhoc: list[AdhocAdapter]


def _parity_inputs(
    config_file: Path | None,
    *,
    scenarios: Path | None,
    golden: Path | None,
    baselines: Path | None,
    out: Path | None,
    keyword: str | None,
    tags: list[str] | None,
    impl: list[str] | None,
    adapters: Sequence[str],
) -> _ParityInputs:
    from harness.config import discover_config
    from harness.corpus import resolve_run_dirs

    config = discover_config(config_file)

    def pick(flag: Any, key: str) -> Any:
        return flag if flag is not None or config is None else getattr(config, key)

    dirs = resolve_run_dirs(
        scenarios=pick(scenarios, "scenarios"), golden=pick(golden, "golden"), baselines=pick(baselines, "baselines")
    )
    file_tags, file_impl = pick(tags, "tags"), pick(impl, "impl")
    return _ParityInputs(
        dirs=dirs,
        out=pick(out, "out") or Path("reports"),
        keyword=pick(keyword, "keyword"),
        tags=list(file_tags or []),
        impl=list(file_impl) if file_impl is not None else None,
        adhoc=_adhoc_adapters(adapters, config),
    )


def _load_run_baselines(dirs: RunDirs, implementations: Sequence[str]) -> dict[str, Baseline]:
    """Each implementation's baseline from where :func:`harness.corpus.baseline_sources` finds it (the user's
    folder first; the packaged one for built-ins). One taken from the packaged folder is retargeted at the user's
    folder, so ``--update-baseline`` writes the user's copy, never into the installed package."""
    from harness.adapters.registry import ADAPTERS
    from harness.corpus import baseline_sources

    sources = baseline_sources(implementations, dirs, {spec.id for spec in ADAPTERS})
    loaded: dict[str, Baseline] = {}
    for folder in dict.fromkeys([dirs.baselines, *sources.values()]):
        mine = {i: baseline_parts(i) for i in implementations if sources[i] == folder}
        loaded.update(load_baselines(folder, mine))
    return {
        i: loaded[i]
        if sources[i] == dirs.baselines
        else dataclasses.replace(loaded[i], path=baseline_path(dirs.baselines, i))
        for i in implementations
    }


#: The seam to the matrix drivers (one per implementation); tests replace it.
driver_factory: Callable[..., Any] = driver_for

#: The seam to the drivers of ad-hoc adapters (``--adapter``, ``[adapters]``); tests replace it.
adhoc_driver_factory: Callable[..., Any] = _adhoc_driver


@app.command()
def parity(
    keyword: KeywordOpt = None,
    tags: TagOpt = None,
    workers: WorkersOpt = 1,
    scenarios_dir: Annotated[
        Path | None,
        typer.Option(
            "--scenarios",
            metavar="DIR",
            help="The scenario corpus to load (default: [bold]./scenarios[/] if there is one, else the corpus "
            "that ships with the harness: [i]harness corpus path[/]).",
            show_default=False,
        ),
    ] = None,
    golden_dir: Annotated[
        Path | None,
        typer.Option(
            "--golden", metavar="DIR", help="Where the golden files live (default: beside the scenarios).",
            show_default=False,
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="DIR", help="Where to write parity.{json,md,html} and junit.xml (default: reports).",
            show_default=False,
        ),
    ] = None,
    impl: Annotated[
        list[str] | None,
        typer.Option(
            "--impl",
            metavar="IDS",
            help="Implementations to run, comma-separated or repeated: [i]reference[/] (default), "
            "[i]openai-agents[/], [i]ts[/], [i]codex-sdk-python[/], [i]openai-codex-sdk[/], or [i]all[/].",
        ),
    ] = None,
    baselines_dir: Annotated[
        Path | None,
        typer.Option(
            "--baselines",
            metavar="DIR",
            help="Your baselines of known divergences, <impl>.yaml (default: ./baselines); a built-in "
            "implementation without a file there uses the one beside the scenarios.",
            show_default=False,
        ),
    ] = None,
    adapter: Annotated[
        list[str] | None,
        typer.Option(
            "--adapter",
            metavar="ID=COMMAND",
            help="Also run the command COMMAND (split like a shell would) as the adapter ID: any program speaking "
            "the adapter protocol (docs/adapters.md). Repeatable. Its baseline is <baselines>/ID.yaml.",
        ),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            help="Read settings from FILE (default: ./codex-parity.toml, else \\[tool.codex-parity] in "
            "./pyproject.toml); flags win over it.",
            show_default=False,
        ),
    ] = None,
    update_baseline: Annotated[
        bool,
        typer.Option(
            "--update-baseline",
            help="Rewrite the baselines of the run implementations to list exactly the divergences observed "
            "(existing reasons kept, new entries [i]TODO: explain[/]). The run is still judged against the "
            "baselines as they were.",
        ),
    ] = False,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="K/N",
            help="Run only shard K of N (a stable partition by scenario id); merge the shards' reports with "
            "[i]harness report merge[/].",
        ),
    ] = None,
    retries: Annotated[
        int,
        typer.Option(
            "--retries",
            min=0,
            metavar="N",
            help="Re-run a case whose verdict fails up to N times; differing outcomes make it [i]flaky[/].",
        ),
    ] = 0,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Run the scenarios generated from recorded cases against the [i]real[/] codex (installed on "
            "demand, inside the loopback-only sandbox) with the reference SDK, and compare with the goldens.",
        ),
    ] = False,
    cli_version: Annotated[
        str | None,
        typer.Option("--cli", metavar="V", help="With --live: the codex version (default: the newest in codex.lock)."),
    ] = None,
) -> None:
    """Run the selected scenarios against each implementation and compare each with its golden.

    The golden is the reference SDK's behaviour; other SDKs run through their adapters, compared on the
    portable parts. Divergences listed in [bold]baselines/<impl>.yaml[/] are [i]known_divergence[/] (they
    do not fail the run); unlisted ones and stale entries do. Writes [bold]parity.json[/] (the record),
    [bold]parity.md[/], [bold]parity.html[/] and [bold]junit.xml[/].
    Exit status: 0 if nothing diverged, errored or went stale, 1 otherwise, 2 if the harness failed.
    """
    inputs = _parity_inputs(
        config_file,
        scenarios=scenarios_dir,
        golden=golden_dir,
        baselines=baselines_dir,
        out=out_dir,
        keyword=keyword,
        tags=tags,
        impl=impl,
        adapters=adapter or [],
    )
    scenarios_dir, golden_dir, out_dir, keyword = inputs.dirs.scenarios, inputs.dirs.golden, inputs.out, inputs.keyword
    _check_out_dir(out_dir)
    if live:
        _parity_live(scenarios_dir, keyword, inputs.tags, cli_version, workers, out_dir)
        return
    if cli_version is not None:
        raise HarnessError("--cli applies only with --live")
    part = parse_shard(shard) if shard is not None else None
    backend = backend_factory()
    tag_list = inputs.tags
    adhoc = {a.id: a for a in inputs.adhoc}
    implementations = _implementations(inputs.impl, list(adhoc))
    scenarios = _load(backend, scenarios_dir, keyword, tag_list)
    all_ids = _all_ids(backend, scenarios_dir, scenarios, keyword, tag_list)
    if part is not None:
        scenarios = part.select(scenarios)
    baselines = _load_run_baselines(inputs.dirs, implementations)
    header = make_header(
        scenarios,
        argv=["harness", *sys.argv[1:]],
        selection=Selection(
            keyword=keyword,
            tags=tuple(tag_list),
            scenarios=str(scenarios_dir),
            golden=str(golden_dir),
            shard=str(part) if part is not None else None,
        ),
    )
    drivers: list[Any] = []
    try:
        for implementation in implementations:
            if implementation in adhoc:
                drivers.append(adhoc_driver_factory(adhoc[implementation], workers=workers))
            else:
                drivers.append(driver_factory(implementation, backend, workers=workers))
        with _progress("parity", len(scenarios) * len(drivers)) as tick:
            run = run_matrix(
                scenarios,
                drivers,
                backend=backend,
                golden_root=golden_dir,
                header=header,
                workers=workers,
                baselines=baselines,
                scenario_ids=all_ids,
                on_result=tick,
                retries=retries,
            )
    finally:
        for driver in drivers:
            driver.close()
    report = run.report
    paths = write_reports(report, out_dir)
    out = _stdout()
    out.print(summary_table(report))
    if len(implementations) > 1:
        out.print(matrix_table(report))
        out.print(findings_table(report))
    leaks = leaks_table(report)
    if leaks is not None:
        out.print(leaks)
    if not report.ok:
        if report.counts.failing:
            out.print(results_table(report, failing_only=True))
        for problem in report.baseline_problems:
            out.print(f"baseline problem: {problem.location}: {problem.entry}: {problem.message}", style="red")
    for info in report.header.implementations:
        if info.problem:
            # redacted: an ad-hoc adapter's command (quoted in a spawn failure) may carry a token
            out.print(f"warning: {info.id}: {redact_text(info.problem)}", style="yellow")
    todo = sorted({(i, f.name) for i, b in baselines.items() for f in b.findings if f.reason == TODO_REASON})
    if todo:
        out.print(f"warning: {len(todo)} finding{' has' if len(todo) == 1 else 's have'} no reason yet "
                  f"({TODO_REASON!r}): {', '.join(f'{i}: {e}' for i, e in todo[:5])}"
                  f"{' ...' if len(todo) > 5 else ''}", style="yellow")
    if update_baseline:
        _write_baselines(out, baselines, run)
    out.print("reports: " + ", ".join(str(p) for p in paths.all()), soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


def _parity_live(
    scenarios_dir: Path, keyword: str | None, tags: Sequence[str], version: str | None, workers: int, out_dir: Path
) -> None:
    """``harness parity --live``: the recorded scenarios live mode can run, against the real codex; one line per
    scenario, ``<out>/live.json``; exit 1 when any diverges from its golden."""
    from concurrent.futures import ThreadPoolExecutor

    from harness._atomic import write_text_atomic
    from harness.golden.store import read_golden
    from harness.real.install import ensure_installed
    from harness.real.lock import LockFile, default_lock_path
    from harness.scenario import load_all
    from harness.scenario.transports.live import LiveExecTransport, compare_live, observe_live

    beside = scenarios_dir.parent / "codex.lock"  # the corpus's own lock (packaged or checkout), not cwd's
    chosen = version or LockFile.load(beside if beside.is_file() else default_lock_path()).newest()
    if chosen is None:
        raise HarnessError("codex.lock pins no version; give --cli V")
    transport = LiveExecTransport(ensure_installed(chosen))
    scenarios = [s for s in load_all(scenarios_dir, keyword=keyword, tags=tuple(tags))
                 if s.recorded is not None and s.recorded.live]
    if not scenarios:
        raise HarnessError("no recorded scenario selected for --live (see scenarios/recorded.yaml)")

    def one(scenario: Any) -> dict[str, Any]:
        golden = read_golden(scenario.id, scenario.golden_root)
        if golden is None:
            return {"id": scenario.id, "ok": False, "leaves": ["no golden"]}
        leaves = compare_live(golden.get("observation", {}), observe_live(scenario, transport))
        return {"id": scenario.id, "ok": not leaves, "leaves": leaves}

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(one, scenarios))
    out = _stdout()
    for result in results:
        out.print(f"{'ok  ' if result['ok'] else 'FAIL'} {result['id']}", style=None if result["ok"] else "red")
        for leaf in result["leaves"][:5]:
            out.print(f"     {leaf}", soft_wrap=True)
    failed = sum(not r["ok"] for r in results)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "live.json", json.dumps({"cli": chosen, "results": results}, indent=2) + "\n")
    out.print(f"live codex {chosen}: {len(results) - failed} of {len(results)} recorded scenarios agree with "
              f"their goldens; report: {out_dir / 'live.json'}")
    if failed:
        raise typer.Exit(1)


def _check_out_dir(out_dir: Path) -> None:
    """Refuse an ``--out`` that cannot hold the reports *before* the run, not after it (exit 2, one line)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise HarnessError(f"--out {out_dir}: not a directory (it names a file); give a folder for the reports")
    existing = out_dir.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise HarnessError(f"--out {out_dir}: {existing} is a file, so the folder cannot be created")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise HarnessError(f"--out {out_dir}: {existing} is not writable")


def _all_ids(
    backend: Backend, scenarios_dir: Path, selected: Sequence[Any], keyword: str | None, tags: Sequence[str]
) -> set[str]:
    """Every scenario id of the corpus (baseline entries are checked against all, not the selection)."""
    if keyword is None and not tags:
        return {s.id for s in selected}
    return {s.id for s in backend.load_all(scenarios_dir, keyword=None, tags=())}


def _write_baselines(out: Console, baselines: Mapping[str, Baseline], run: MatrixRun) -> None:
    """``--update-baseline``: add a proposed finding per group of unexplained leaves (reasons kept)."""
    for implementation, baseline in baselines.items():
        mine = [r for r in run.report.results if r.implementation == implementation]
        new = propose_findings(baseline, mine)
        added = new.findings[len(baseline.findings) :]
        if not added:
            out.print(f"baseline {baseline.path}: unchanged ({len(baseline.findings)} findings)")
            continue
        write_baseline(new)
        out.print(f"baseline {baseline.path}: {len(new.findings)} findings ({len(added)} proposed)")
        for finding in added:
            where = ", ".join(finding.scenarios[:3]) + (" ..." if len(finding.scenarios) > 3 else "")
            out.print(f"  + {finding.name}: {finding.match[0].path} ({where}): {TODO_REASON}", style="yellow")


# --- golden refresh / review -----------------------------------------------------------------------


def _colored_diff(diff: str) -> Text:
    """Unified diff with insta-like colours: additions green, removals red, hunks cyan."""
    text = Text()
    for line in diff.splitlines(keepends=True):
        style = ""
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        text.append(line, style=style)
    return text


def _read_key() -> str:
    """One keypress from a terminal (cbreak mode, like cargo-insta), or one line from a pipe.

    Ctrl-C and Ctrl-D (or end of input) mean quit, so an interrupted review writes nothing more.
    """
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.strip()[:1].lower() if line else "q"
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        data = os.read(fd, 1)
    except KeyboardInterrupt:
        return "q"
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    char = data.decode("utf-8", errors="replace").lower()
    return "q" if char in ("", "\x03", "\x04") else char


@dataclass
class _Tally:
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    unreviewed: int = 0


def review(
    pending: Sequence[GoldenChange],
    accept: Callable[[GoldenChange], None],
    console: Console,
    read_key: Callable[[], str] = _read_key,
) -> _Tally:
    """Walk each new or changed golden: show its diff, ask accept / reject / skip / quit.

    Only ``accept`` writes; reject and skip leave the stored golden as it was (reject is recorded as a
    decision in the summary, skip defers it), and quit leaves every remaining golden untouched.
    """
    tally = _Tally()
    for index, change in enumerate(pending, start=1):
        console.rule(f"[bold]{index}/{len(pending)}[/] {change.scenario.id} ({change.kind})")
        if change.scenario.title:
            console.print(change.scenario.title, style="dim")
        for failed in change.failed_expectations:
            console.print(f"warning: expectation fails on the new observation: {failed}", style="yellow")
        console.print(_colored_diff(change.diff))
        while True:
            console.print(
                "[green]a[/] accept  [red]r[/] reject  [yellow]s[/] skip  [bold]q[/] quit > ", end=""
            )
            key = read_key()
            console.print(key if key.isprintable() else "")
            if key in ("a", "r", "s", "q"):
                break
            console.print("press a, r, s or q", style="yellow")
        if key == "a":
            accept(change)
            tally.accepted += 1
            console.print(f"accepted: wrote golden for {change.scenario.id}", style="green")
        elif key == "r":
            tally.rejected += 1
            console.print(f"rejected: kept the stored golden for {change.scenario.id}", style="red")
        elif key == "s":
            tally.skipped += 1
            console.print(f"skipped: {change.scenario.id} left for later", style="yellow")
        else:
            tally.unreviewed = len(pending) - index + 1
            console.print("quit: remaining goldens left untouched", style="bold")
            break
    return tally


@golden_app.command("refresh")
def golden_refresh(
    keyword: KeywordOpt = None,
    tags: TagOpt = None,
    workers: WorkersOpt = 1,
    scenarios_dir: ScenariosOpt = Path("scenarios"),
    golden_dir: GoldenOpt = Path("golden"),
    review_changes: Annotated[
        bool,
        typer.Option(
            "--review",
            help="Walk each new or changed golden: show the diff, then [b]a[/]ccept / [b]r[/]eject / "
            "[b]s[/]kip / [b]q[/]uit (like [i]cargo insta review[/]). Only accepted goldens are written.",
        ),
    ] = False,
) -> None:
    """Re-record the goldens of the selected scenarios from fresh observations of the reference SDK.

    Without [bold]--review[/] every new or changed golden is written (atomically, one file per scenario).
    If any observation fails, nothing is written.
    """
    backend = backend_factory()
    scenarios = _load(backend, scenarios_dir, keyword, tags or [])
    with _progress("observe", len(scenarios)) as tick:
        changes = plan_refresh(scenarios, backend, golden_root=golden_dir, workers=workers, on_done=tick)
    pending = [c for c in changes if c.kind != "unchanged"]
    unchanged = len(changes) - len(pending)
    out = _stdout()

    def accept(change: GoldenChange) -> None:
        backend.write_golden(change.scenario.id, change.new, golden_dir)

    if not pending:
        out.print(f"all {unchanged} golden(s) up to date")
        return
    table = Table(title="golden refresh", header_style="bold")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    if review_changes:
        tally = review(pending, accept, out)
        rows = [
            ("accepted", tally.accepted),
            ("rejected", tally.rejected),
            ("skipped", tally.skipped),
            ("not reviewed", tally.unreviewed),
        ]
    else:
        for change in pending:
            accept(change)
            out.print(f"{change.kind:>7}: {change.scenario.id}")
            for failed in change.failed_expectations:
                out.print(f"warning: {change.scenario.id}: expectation fails: {failed}", style="yellow")
        rows = [
            ("new", sum(c.kind == "new" for c in pending)),
            ("updated", sum(c.kind == "changed" for c in pending)),
        ]
    for name, count in [*rows, ("unchanged", unchanged)]:
        table.add_row(name, str(count))
    out.print(table)


# --- validate / list -------------------------------------------------------------------------------


@app.command()
def validate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Scenario files or directories (default: [bold]scenarios[/]).", show_default=False
        ),
    ] = None,
) -> None:
    """Check scenario files without running them; print each problem as [i]file:line:col: field: message[/].

    Exit status 2 if any file is invalid.
    """
    from harness.corpus import resolve_run_dirs

    backend = backend_factory()
    targets = paths or [resolve_run_dirs(scenarios=None, golden=None, baselines=None).scenarios]
    missing = [p for p in targets if not p.exists()]
    if missing:
        raise HarnessError(f"{missing[0]}: no such file or directory")
    files = [t for t in targets if t.is_file()] + [
        f for t in targets if t.is_dir() for f in t.rglob("*") if f.suffix in (".yaml", ".yml", ".json")
    ]
    if not files:
        raise HarnessError(f"no scenario files in {', '.join(map(str, targets))}: nothing to validate")
    errors = backend.validate_paths(targets)
    for error in errors:
        typer.echo(str(error))
    if errors:
        typer.echo(f"{len(errors)} problem(s) found", err=True)
        raise typer.Exit(2)
    typer.echo(f"all {len(files)} scenario file(s) valid")


@app.command("list")
def list_scenarios(
    keyword: KeywordOpt = None,
    tags: TagOpt = None,
    scenarios_dir: Annotated[
        Path | None,
        typer.Option("--scenarios", metavar="DIR", help="The scenario corpus to load (default: ./scenarios, "
                     "else the built-in corpus).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array instead of a table.")] = False,
) -> None:
    """List the selected scenarios: id, title and tags."""
    from harness.corpus import resolve_run_dirs

    backend = backend_factory()
    scenarios_dir = resolve_run_dirs(scenarios=scenarios_dir, golden=None, baselines=None).scenarios
    scenarios = _load(backend, scenarios_dir, keyword, tags or [])
    if as_json:
        rows = [
            {"id": s.id, "title": s.title, "tags": sorted(s.tags), "path": str(s.path)} for s in scenarios
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(scenarios)} scenario(s)", header_style="bold")
    table.add_column("id", no_wrap=True)  # ids are copied into -k: never fold them
    table.add_column("title", overflow="fold")
    table.add_column("tags")
    for s in scenarios:
        table.add_row(s.id, s.title, ", ".join(sorted(s.tags)))
    _stdout().print(table)


# --- adapters --------------------------------------------------------------------------------------

adapters_app = typer.Typer(
    name="adapters",
    help="The SDK adapters the matrix can run: list them, install the peer SDKs.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(adapters_app, name="adapters")
register_adapters(adapters_app)


def _list_adapters() -> list[Any]:
    from harness.adapters.registry import list_adapters

    return list(list_adapters())


def _install_adapter(key: str) -> Any:
    from harness.adapters.install import install

    return install(key)


#: Seams for tests: what ``adapters list`` lists and how ``adapters install`` installs one peer.
adapters_lister: Callable[[], list[Any]] = _list_adapters
adapter_installer: Callable[[str], Any] = _install_adapter

_PEER_KEYS = (
    "ts",
    "openai-agents",
    "codex-sdk-python",
    "openai-codex-sdk",
    "ai-sdk-codex",
    # app-server SDKs, driven by `harness appserver replay --impl ID` (docs/adapters-peers.md)
    "openai-codex",
    "codex-python-sdk-unofficial",
    "codex-python-sdk",
)


@adapters_app.command("list")
def adapters_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array instead of a table.")] = False,
) -> None:
    """Every known adapter: id, installed, SDK version, language, and the command that starts it (or the
    command that installs it)."""
    statuses = adapters_lister()
    if as_json:
        rows = [
            {
                "id": s.id,
                "name": s.name,
                "installed": s.installed,
                "version": s.version,
                "language": s.language,
                "command": list(s.command),
                "install_hint": s.install_hint,
                "problem": s.problem,
            }
            for s in statuses
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="adapters", header_style="bold")
    table.add_column("id", no_wrap=True)
    table.add_column("installed")
    table.add_column("version")
    table.add_column("language")
    table.add_column("command / install", overflow="fold")
    for s in statuses:
        table.add_row(
            s.id,
            Text("yes", style="green") if s.installed else Text("no", style="red"),
            s.version or "-",
            s.language,
            " ".join(s.command) if s.installed else f"{s.install_hint}  ({s.problem})",
        )
    _stdout().print(table)


@adapters_app.command("install")
def adapters_install(
    key: Annotated[
        str,
        typer.Argument(
            metavar="PEER",
            help="ts, openai-agents, codex-sdk-python, openai-codex-sdk, ai-sdk-codex (exec); openai-codex, "
            "codex-python-sdk-unofficial, codex-python-sdk (app-server); or all.",
        ),
    ],
) -> None:
    """Install a peer SDK and its adapter into the adapter cache (a venv per Python SDK, an npm folder for
    TS). Idempotent. Exit status 2 if any install fails (the others are still attempted)."""
    if key != "all" and key not in _PEER_KEYS:
        raise HarnessError(f"unknown peer {key!r} (expected one of: {', '.join(_PEER_KEYS)}, all)")
    failed = 0
    for each in _PEER_KEYS if key == "all" else (key,):
        try:
            installed = adapter_installer(each)
        except HarnessError as exc:
            failed += 1
            typer.echo(f"error: {each}: {' '.join(str(exc).split())}", err=True)
            continue
        typer.echo(
            f"{each}: {installed.name} {installed.sdk_version} ({installed.seconds:.1f} s) -> {installed.location}"
        )
    if failed:
        raise typer.Exit(2)


# --- diff ------------------------------------------------------------------------------------------


@app.command()
def diff(
    report_a: Annotated[Path, typer.Argument(metavar="REPORT_A", help="The earlier parity.json (before).")],
    report_b: Annotated[Path, typer.Argument(metavar="REPORT_B", help="The later parity.json (after).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
) -> None:
    """Compare two parity reports aligned by scenario id and implementation, not by run order.

    Lists fixed, broken (newly failing), still failing, added, removed and changed-observation entries.
    Exit status 1 if anything broke, else 0; 2 if a report is invalid or incomplete.
    """
    result = diff_reports(read_report(report_a), read_report(report_b))
    if as_json:
        typer.echo(result.to_json())
    else:
        out = _stdout()
        if result.entries:
            out.print(diff_table(result))
        counts = {k: v for k, v in result.counts().items() if v}
        out.print(", ".join(f"{k}: {v}" for k, v in counts.items()) or "both reports are empty")
    if result.broke:
        raise typer.Exit(1)


# --- lint ------------------------------------------------------------------------------------------


@app.command()
def lint(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Transcript files or directories (default: [bold]fixtures/real[/] and [bold]fixtures/synthetic[/]).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print findings and transcript summaries as JSON.")] = False,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Also print what each transcript shows (one info line each).")
    ] = False,
) -> None:
    """Check the fixture transcripts: valid JSONL that round-trips, event order, item lifecycles, terminal
    event vs. exit code, .meta.json, index.json sha256, synthetic README rows (rules: docs/lint.md).

    Prints one [i]path:line: severity: message \\[code][/] line per finding, then a summary.
    Exit status 0 if clean or warnings only, 1 if any error, 2 if a path cannot be read or holds no transcript.
    """
    from harness.lint import default_lint_paths, lint_paths

    result = lint_paths(paths or default_lint_paths())
    if as_json:
        typer.echo(result.to_json())
    else:
        for line in result.render_lines(verbose=verbose):
            typer.echo(line)
    if result.exit_status:
        raise typer.Exit(result.exit_status)


# --- subsystem commands (harness/commands/) -------------------------------------------------------

register_all(app)


def main() -> None:
    """Console-script entry point."""
    app()
