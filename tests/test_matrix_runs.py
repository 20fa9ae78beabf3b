"""Runs of the matrix beyond one pass: a hang observed as behaviour, ``--retries`` and flaky results, shards
(``--shard K/N``) and ``harness report merge``."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import harness.cli as cli
from harness.adapters.connection import in_process_connection
from harness.adapters.protocol import dispatch
from harness.adapters.reference_adapter import ReferenceAdapter, handler
from harness.errors import HarnessError
from harness.parity.baseline import Baseline, Finding, Matcher
from harness.parity.leaves import Change
from harness.parity.matrix import HANG_KIND, AdapterDriver, ReferenceDriver, run_matrix
from harness.parity.shard import Shard, parse_shard
from harness.report.merge import MergeError, merge_reports
from harness.report.model import Selection, Status
from harness.report.parity import default_backend, make_header
from harness.report.writer import write_json
from harness.scenario import load_all

ROOT = Path(__file__).resolve().parents[1]
IDS = (
    "turns/agent_message_run",
    "parity/exit_error_text",
    "faults/signal_run",
    "turns/reasoning_then_message_run",
    "items/shell_ok",
    "auto/max_turns",
)


@pytest.fixture(scope="module")
def scenarios() -> list[Any]:
    loaded = {s.id: s for s in load_all(ROOT / "scenarios")}
    return [loaded[i] for i in IDS]


def _run(scenarios: list[Any], drivers: list[Any], **kwargs: Any) -> Any:
    header = make_header(scenarios, argv=["test"], selection=kwargs.pop("selection", Selection()))
    try:
        return run_matrix(
            scenarios, drivers, backend=default_backend(), golden_root=ROOT / "golden", header=header, **kwargs
        )
    finally:
        for driver in drivers:
            driver.close()


def _hanging(times: int) -> Any:
    """The reference adapter, except that its first ``times`` runs never answer (after running codex)."""
    adapter = ReferenceAdapter()
    calls = {"run": 0}

    async def handle(message: Mapping[str, Any]) -> dict[str, Any]:
        reply = await dispatch(adapter, message)  # codex runs; the SDK then never returns
        if message.get("cmd") == "run":
            calls["run"] += 1
            if calls["run"] <= times:
                await asyncio.sleep(3600)
        return reply

    return handle


def _quick(scenario: Any) -> Any:
    return dataclasses.replace(scenario, timeout=0.5)


def test_a_hang_is_an_observation_a_finding_can_explain(scenarios: list[Any]) -> None:
    scenario = _quick(scenarios[0])
    driver = AdapterDriver("slow", functools.partial(in_process_connection, _hanging(1)), case_margin=0.5)
    run = _run([scenario], [driver])
    (result,) = run.report.results
    assert result.status is Status.DIVERGED, "a hang is behaviour, compared like any other"
    assert result.observed_error_kind == HANG_KIND and result.observation is not None
    assert result.observation["invocations"], "what the fake saw before the hang is kept"
    assert ("error/kind", "added", HANG_KIND) in {(leaf.path, leaf.change, leaf.observed) for leaf in result.leaves}

    finding = Finding(
        "stops-answering",
        "the SDK hangs on this case",
        (
            Matcher("error/**", Change.ADDED),
            Matcher("result/**", Change.REMOVED),
            Matcher("events/*", Change.REMOVED),
        ),
    )
    driver = AdapterDriver("slow", functools.partial(in_process_connection, _hanging(1)), case_margin=0.5)
    run = _run([scenario], [driver], baselines={"slow": Baseline("slow", Path("slow.yaml"), (finding,))})
    assert run.report.results[0].status is Status.KNOWN_DIVERGENCE
    assert run.report.ok


def test_retries_make_a_case_flaky_when_its_outcomes_differ(scenarios: list[Any]) -> None:
    scenario = _quick(scenarios[0])
    driver = AdapterDriver("slow", functools.partial(in_process_connection, _hanging(1)), case_margin=0.5)
    run = _run([scenario], [driver], retries=2)
    (result,) = run.report.results
    assert result.status is Status.FLAKY and not result.status.failing
    assert result.attempts == ("diverged", "passed"), "stops at the first attempt that does not fail"
    assert "attempts: diverged, passed" in result.summary
    assert run.report.counts.flaky == 1

    # the same failure every time is that failure, with its attempts listed
    always = AdapterDriver("slow", functools.partial(in_process_connection, _hanging(9)), case_margin=0.3)
    run = _run([scenario], [always], retries=1)
    assert run.report.results[0].status is Status.DIVERGED
    assert run.report.results[0].attempts == ("diverged", "diverged")


def test_shards_partition_the_selection_stably() -> None:
    ids = [s.id for s in load_all(ROOT / "scenarios")]

    class S:
        def __init__(self, i: str) -> None:
            self.id = i

    for count in (1, 2, 3, 7):
        parts = [[s.id for s in Shard(k, count).select(S(i) for i in ids)] for k in range(1, count + 1)]
        assert sorted(i for part in parts for i in part) == sorted(ids), "every scenario in exactly one shard"
    assert Shard(1, 2).select([S("a/b")]) == Shard(1, 2).select([S("a/b")])
    assert str(parse_shard("2/5")) == "2/5"
    for bad in ("0/2", "3/2", "x", "1/0", "1-2"):
        with pytest.raises(HarnessError):
            parse_shard(bad)


def _comparable(path: Path) -> list[Any]:
    """A report's records without what differs between runs of the same work: timings, argv, the shard, the fake
    processes' evidence (pids, lifetimes)."""
    out = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line:
            continue
        record = json.loads(line)
        for key in ("duration_s", "started_at", "finished_at", "argv"):
            record.pop(key, None)
        if "selection" in record:
            record["selection"].pop("shard", None)
        if isinstance(record.get("observation"), dict):
            record["observation"].pop("process_evidence", None)
        out.append(record)
    return out


def test_sharded_and_merged_equals_unsharded(scenarios: list[Any], tmp_path: Path) -> None:
    def drivers() -> list[Any]:
        return [
            ReferenceDriver(default_backend()),
            AdapterDriver("faithful", functools.partial(in_process_connection, handler())),
        ]

    whole = _run(scenarios, drivers()).report
    write_json(whole, tmp_path / "whole.json")
    shard_paths = []
    for k in (1, 2):
        shard = Shard(k, 2)
        part = _run(shard.select(scenarios), drivers(), selection=Selection(shard=str(shard))).report
        shard_paths.append(write_json(part, tmp_path / f"shard{k}.json"))
    assert all(0 < len(_comparable(p)) - 2 < len(_comparable(tmp_path / "whole.json")) - 2 for p in shard_paths)
    merged = merge_reports(shard_paths)
    write_json(merged, tmp_path / "merged.json")
    assert _comparable(tmp_path / "merged.json") == _comparable(tmp_path / "whole.json")

    # a shard that disagrees with another about the same case is an error naming both files
    other = _run(
        [_quick(scenarios[0])],
        [AdapterDriver("faithful", functools.partial(in_process_connection, _hanging(1)), case_margin=0.3)],
    ).report
    bad = write_json(dataclasses.replace(other), tmp_path / "bad.json")
    with pytest.raises(MergeError) as info:
        merge_reports([*shard_paths, bad])
    assert "shard" in str(info.value) and "bad.json" in str(info.value)


def test_cli_merge_rebuilds_every_view_and_judges_stale_findings(scenarios: list[Any], tmp_path: Path) -> None:
    paths = []
    for k in (1, 2):
        shard = Shard(k, 2)
        report = _run(shard.select(scenarios[:3]), [ReferenceDriver(default_backend())]).report
        paths.append(write_json(report, tmp_path / f"s{k}" / "parity.json"))
    runner = CliRunner()
    result = runner.invoke(
        cli.app, ["report", "merge", *map(str, paths), "-o", str(tmp_path / "m"), "--baselines", str(tmp_path / "none")]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "badges",
        "junit.xml",
        "parity.html",
        "parity.json",
        "parity.md",
    ]
    assert "merged 2 report(s): 3 results" in result.output

    missing = runner.invoke(cli.app, ["report", "merge", str(tmp_path / "nope.json"), "-o", str(tmp_path / "m2")])
    assert missing.exit_code == 2 and "no such report file" in missing.stderr


def test_cli_rejects_a_bad_shard_and_an_out_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    bad = runner.invoke(cli.app, ["parity", "--shard", "3/2"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --shard '3/2'")
    target = tmp_path / "a-file"
    target.write_text("x")
    out = runner.invoke(cli.app, ["parity", "-k", "agent_message_run", "--out", str(target)])
    assert out.exit_code == 2 and "not a directory" in out.stderr and "Traceback" not in out.output
    assert target.read_text() == "x"
