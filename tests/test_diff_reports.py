"""``harness diff``: alignment by (scenario, implementation), change kinds, exit status and ``--json``."""

from __future__ import annotations

import json
from pathlib import Path

from test_report_support import make_report, make_result
from typer.testing import CliRunner

from harness.cli import app
from harness.report.diff import Change, diff_reports
from harness.report.model import Status
from harness.report.writer import write_json

BEFORE = make_report(
    [
        make_result("a/fixed", Status.DIVERGED),
        make_result("b/broken"),
        make_result("c/still", Status.ERRORED),
        make_result("d/removed"),
        make_result("e/same"),
        make_result("f/obs", observation={"events": [1]}),
        make_result("g/skip_then_pass", Status.SKIPPED),
    ]
)
AFTER = make_report(
    [
        # order differs on purpose: alignment must not depend on it
        make_result("z/added", Status.DIVERGED),
        make_result("f/obs", observation={"events": [2]}),
        make_result("e/same"),
        make_result("c/still", Status.DIVERGED),
        make_result("b/broken", Status.DIVERGED),
        make_result("a/fixed"),
        make_result("g/skip_then_pass"),
    ]
)


def test_change_kinds() -> None:
    diff = diff_reports(BEFORE, AFTER)
    kinds = {e.scenario: e.change for e in diff.entries}
    assert kinds == {
        "a/fixed": Change.FIXED,
        "b/broken": Change.BROKEN,
        "c/still": Change.STILL_FAILING,
        "d/removed": Change.REMOVED,
        "f/obs": Change.CHANGED_OBSERVATION,
        "g/skip_then_pass": Change.STATUS_CHANGED,
        "z/added": Change.ADDED,
    }
    assert diff.unchanged == 1
    assert diff.broke
    still = next(e for e in diff.entries if e.scenario == "c/still")
    assert (still.before, still.after) == (Status.ERRORED, Status.DIVERGED)


def test_implementations_are_part_of_the_key() -> None:
    a = make_report([make_result("s")])
    b = make_report([make_result("s"), make_result("s", Status.DIVERGED, implementation="typescript")])
    diff = diff_reports(a, b)
    assert [(e.implementation, e.change) for e in diff.entries] == [("typescript", Change.ADDED)]
    assert not diff.broke
    assert diff_reports(b, a).entries[0].change is Change.REMOVED


def test_identical_reports_list_only_what_still_fails() -> None:
    diff = diff_reports(BEFORE, BEFORE)
    assert {e.change for e in diff.entries} == {Change.STILL_FAILING}
    assert diff.unchanged == len(BEFORE.results) - len(diff.entries)
    assert not diff.broke


def _write(tmp_path: Path) -> tuple[Path, Path]:
    return write_json(BEFORE, tmp_path / "a.json"), write_json(AFTER, tmp_path / "b.json")


def test_cli_diff_exit_1_when_something_broke(tmp_path: Path) -> None:
    a, b = _write(tmp_path)
    result = CliRunner().invoke(app, ["diff", str(a), str(b)], terminal_width=200)
    assert result.exit_code == 1, result.output
    assert "broken" in result.output and "b/broken" in result.output
    assert "fixed: 1" in result.output


def test_cli_diff_exit_0_when_nothing_broke(tmp_path: Path) -> None:
    a, b = _write(tmp_path)
    fixed = write_json(
        make_report([make_result("a/fixed"), make_result("c/still", Status.ERRORED)]), tmp_path / "c.json"
    )
    result = CliRunner().invoke(app, ["diff", str(a), str(fixed)])
    assert result.exit_code == 0, result.output
    assert "fixed: 1" in result.output and "removed: 5" in result.output


def test_cli_diff_json(tmp_path: Path) -> None:
    a, b = _write(tmp_path)
    result = CliRunner().invoke(app, ["diff", "--json", str(a), str(b)])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["broke"] is True
    assert data["counts"]["fixed"] == 1 and data["counts"]["unchanged"] == 1
    assert {"scenario": "b/broken", "change": "broken"}.items() <= data["entries"][1].items()
