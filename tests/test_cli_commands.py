"""The CLI over a stand-in backend: parity exit statuses and reports, golden refresh, list, validate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_report_support import standin_backend, write_scenario
from typer.testing import CliRunner

import harness.cli as cli
from harness import __version__
from harness.report.model import Status
from harness.report.reader import read_report

OBS = {"events": [{"type": "turn.completed"}], "error": None}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(cli, "backend_factory", standin_backend)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    write_scenario(tmp_path / "scenarios", "basic/agent_message", OBS, tags=["smoke"])
    write_scenario(tmp_path / "scenarios", "basic/two_turns", OBS)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.app, list(args), terminal_width=200)
    return result.exit_code, result.stdout, result.stderr


def test_version() -> None:
    assert run("--version") == (0, f"harness {__version__}\n", "")


@pytest.mark.parametrize(
    "command", [[], ["parity"], ["golden"], ["golden", "refresh"], ["validate"], ["list"], ["diff"]]
)
def test_rich_help_everywhere(command: list[str]) -> None:
    code, out, _ = run(*command, "--help")
    assert code == 0 and "Usage:" in out


def test_parity_without_goldens_fails_with_a_hint(project: Path) -> None:
    code, out, _ = run("parity")
    assert code == 1
    assert "no golden; run harness golden refresh" in out
    report = read_report(project / "reports" / "parity.json")
    assert {r.status for r in report.results} == {Status.ERRORED}
    assert {p.name for p in (project / "reports").iterdir()} == {
        "parity.json",
        "parity.md",
        "parity.html",
        "junit.xml",
        "badges",
    }
    badge = (project / "reports" / "badges" / "reference.svg").read_text()
    assert badge.startswith("<svg") and "reference" in badge and "#cf222e" in badge, "a failing run's badge is red"


def test_refresh_then_parity_passes_in_parallel(project: Path) -> None:
    code, out, _ = run("golden", "refresh")
    assert code == 0, out
    assert (project / "golden" / "basic" / "agent_message.json").exists()
    assert "new" in out
    code, out, _ = run("golden", "refresh")
    assert code == 0 and "all 2 golden(s) up to date" in out
    code, out, _ = run("parity", "-n", "4", "--out", "out")
    assert code == 0, out
    report = read_report(project / "out" / "parity.json")
    assert report.counts.passed == 2
    assert report.header.cli_versions == ("0.169.0",)
    assert report.header.selection.scenarios == "scenarios"


def test_parity_divergence_and_expectations(project: Path) -> None:
    run("golden", "refresh")
    write_scenario(
        project / "scenarios", "basic/agent_message", {**OBS, "error": {"kind": "exit"}}, tags=["smoke"]
    )
    write_scenario(project / "scenarios", "basic/two_turns", OBS, expect_fail=["result.usage exists"])
    code, out, _ = run("parity", "--out", "r")
    assert code == 1
    by_id = {r.scenario: r for r in read_report(project / "r" / "parity.json").results}
    changed = by_id["basic/agent_message"]
    assert (changed.status, changed.agrees, changed.observed_error_kind) == (Status.DIVERGED, False, "exit")
    assert "+" in changed.diff
    expect = by_id["basic/two_turns"]
    assert (expect.status, expect.agrees) == (Status.DIVERGED, True)
    assert expect.failed_expectations == ("result.usage exists",)


def test_observe_crash_is_errored_not_a_traceback(project: Path) -> None:
    run("golden", "refresh")
    write_scenario(project / "scenarios", "basic/two_turns", OBS, raises="spawn failed")
    code, out, _ = run("parity")
    assert code == 1
    result = {r.scenario: r for r in read_report(project / "reports" / "parity.json").results}[
        "basic/two_turns"
    ]
    assert result.status is Status.ERRORED
    assert result.harness_error is not None and result.harness_error.type == "RuntimeError"
    assert "spawn failed" in (result.harness_error.traceback or "")


def test_refresh_aborts_without_writing_when_observe_fails(project: Path) -> None:
    write_scenario(project / "scenarios", "basic/two_turns", OBS, raises="spawn failed")
    code, _, err = run("golden", "refresh")
    assert code == 2
    assert err == "error: basic/two_turns: observing failed: RuntimeError: spawn failed\n"
    assert not (project / "golden").exists()


def test_selection(project: Path) -> None:
    code, out, _ = run("list", "--json", "--tag", "smoke")
    assert code == 0
    assert [row["id"] for row in json.loads(out)] == ["basic/agent_message"]
    code, out, _ = run("list", "-k", "two")
    assert code == 0 and "basic/two_turns" in out and "agent_message" not in out
    code, _, err = run("parity", "-k", "nothing-matches")
    assert code == 2 and err.startswith("error: no scenarios selected")


def test_missing_scenarios_dir(project: Path) -> None:
    code, _, err = run("list", "--scenarios", "nowhere")
    assert (code, err) == (2, "error: nowhere: no such scenarios directory\n")


def test_validate(project: Path) -> None:
    code, out, _ = run("validate")
    assert code == 0 and "scenario file(s) valid" in out
    (project / "empty").mkdir()
    code, _, err = run("validate", "empty")
    assert code == 2 and err.startswith("error: no scenario files in empty"), err
    (project / "scenarios" / "broken.json").write_text("{\n  oops")
    code, out, err = run("validate", "scenarios")
    assert code == 2
    assert out.startswith("scenarios/broken.json:2:3: ")
    assert "1 problem(s) found" in err


def test_review_with_piped_answers(project: Path) -> None:
    run("golden", "refresh")
    for name in ("agent_message", "two_turns"):
        write_scenario(project / "scenarios", f"basic/{name}", {**OBS, "result": name})
    result = CliRunner().invoke(cli.app, ["golden", "refresh", "--review"], input="x\na\nq\n")
    assert result.exit_code == 0, result.output
    assert "press a, r, s or q" in result.output
    assert json.loads((project / "golden/basic/agent_message.json").read_text())["result"] == "agent_message"
    assert "result" not in json.loads((project / "golden/basic/two_turns.json").read_text())
    assert "not reviewed" in result.output


def test_fake_codex_passes_arguments_through(monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.fake.cli as fake_cli

    seen: list[list[str]] = []

    def fake_main(argv: list[str] | None = None) -> int:
        seen.append(list(argv or []))
        return 3

    monkeypatch.setattr(fake_cli, "main", fake_main)
    code, _, _ = run("fake-codex", "exec", "--json", "--help", "-m", "gpt")
    assert code == 3
    assert seen == [["exec", "--json", "--help", "-m", "gpt"]]
