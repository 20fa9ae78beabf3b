"""``harness parity --impl`` with baselines, ``harness adapters list`` and ``harness adapters install``, over
stand-ins (the stand-in backend, a scripted second implementation, fake adapter statuses and installers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_report_support import standin_backend, write_scenario
from typer.testing import CliRunner

import harness.cli as cli
from harness.adapters.install import InstalledAdapter
from harness.adapters.registry import AdapterStatus
from harness.errors import AdapterError
from harness.parity.matrix import Driver, Observation, ReferenceDriver
from harness.report.model import PORTABLE_PARTS, Implementation, Status
from harness.report.reader import read_report

OBS = {"events": [{"type": "turn.completed"}], "error": None}


class ScriptedDriver(Driver):
    """A second implementation whose observations the test sets per scenario (default: the golden's)."""

    def __init__(self, implementation_id: str, script: dict[str, dict[str, Any]]) -> None:
        self.id = implementation_id
        self.script = script

    def implementation(self) -> Implementation:
        return Implementation(
            self.id, "scripted-sdk", "9.9.9", "rust", sdk="scripted", compared=PORTABLE_PARTS, driver="adapter"
        )

    def observe(self, scenario: Any) -> Observation:
        return Observation(observation=dict(self.script.get(scenario.id, OBS)))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    monkeypatch.setattr(cli, "backend_factory", standin_backend)
    monkeypatch.setenv("COLUMNS", "200")
    script: dict[str, dict[str, Any]] = {}

    def factory(implementation: str, backend: Any, *, workers: int = 1) -> Driver:
        return ReferenceDriver(backend) if implementation == "reference" else ScriptedDriver(implementation, script)

    monkeypatch.setattr(cli, "driver_factory", factory)
    monkeypatch.chdir(tmp_path)
    write_scenario(tmp_path / "scenarios", "basic/agent_message", OBS)
    write_scenario(tmp_path / "scenarios", "basic/two_turns", OBS)
    assert run("golden", "refresh")[0] == 0
    return script


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.app, list(args), terminal_width=200)
    return result.exit_code, result.stdout, result.stderr


def test_matrix_baseline_lifecycle(project: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    project["basic/two_turns"] = {**OBS, "error": {"kind": "exit", "message": "Codex exec exited with code 1"}}

    # an unexplained difference fails the run; the matrix shows every implementation
    code, out, _ = run("parity", "--impl", "reference,ts")
    assert code == 1, out
    assert "parity matrix" in out and "reference" in out and "DIVERGED" in out
    report = read_report(tmp_path / "reports" / "parity.json")
    cell = {r.key: r for r in report.results}
    assert cell["basic/two_turns", "ts"].status is Status.DIVERGED
    assert cell["basic/two_turns", "ts"].diverging_parts == ("error",)
    assert [leaf.path for leaf in cell["basic/two_turns", "ts"].unexplained] == ["error/kind", "error/message"]
    assert [i.id for i in report.header.implementations] == ["reference", "ts"]
    assert report.header.implementations[1].sdk == "scripted"

    # --update-baseline proposes one finding per group of leaves (TODO reason) and still reports the divergence
    code, out, _ = run("parity", "--impl", "reference,ts", "--update-baseline")
    assert code == 1 and "+ error-kind-added: error/kind (basic/two_turns)" in out, out
    path = tmp_path / "baselines" / "ts.yaml"
    text = path.read_text()
    assert "format: 2" in text and 'reason: "TODO: explain"' in text and 'path: "error/message"' in text
    assert not (tmp_path / "baselines" / "reference.yaml").exists(), "no file for a clean implementation"

    # explained: known divergence, the run passes (with a warning while a reason is a TODO)
    code, out, _ = run("parity", "--impl", "reference,ts")
    assert code == 0, out
    assert "no reason yet" in out and "known" in out
    path.write_text(path.read_text().replace("TODO: explain", "lower-case exec in the exit message"))
    code, out, _ = run("parity", "--impl", "reference", "--impl", "ts", "--update-baseline")
    assert code == 0 and "unchanged (2 findings)" in out
    assert "lower-case exec in the exit message" in path.read_text(), "reasons survive an update"
    report = read_report(tmp_path / "reports" / "parity.json")
    known = {r.key: r for r in report.results}["basic/two_turns", "ts"]
    assert known.status is Status.KNOWN_DIVERGENCE
    assert known.baseline[0].reason == "lower-case exec in the exit message"
    assert {leaf.finding for leaf in known.leaves} == {"error-kind-added", "error-message-added"}

    # fixed upstream: the findings explain nothing, are stale and fail the run until removed
    project.clear()
    code, out, _ = run("parity", "--impl", "reference,ts")
    assert code == 1 and "stale" in out and "error-kind-added" in out
    path.write_text("format: 2\nimplementation: ts\nfindings: {}\n")
    assert run("parity", "--impl", "reference,ts")[0] == 0

    # a finding whose scenario globs match no scenario fails the run, located
    path.write_text(
        "format: 2\nimplementation: ts\nfindings:\n  renamed:\n    reason: old name\n"
        '    scenarios: ["basic/renamed"]\n    match:\n      - path: "error/kind"\n'
    )
    code, out, _ = run("parity", "--impl", "ts")
    assert code == 1 and "baselines/ts.yaml:4:3" in out and "match no scenario" in out


def test_invalid_baseline_is_a_located_harness_error(project: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    (tmp_path / "baselines").mkdir()
    (tmp_path / "baselines" / "ts.yaml").write_text(
        "format: 2\nimplementation: ts\nfindings:\n  x:\n    reason: y\n    match:\n      - path: logs/*\n"
    )
    code, out, err = run("parity", "--impl", "ts")
    assert code == 2
    assert err.startswith("error: baselines/ts.yaml:7:9: x.match[0]: path 'logs/*' names no compared part"), err
    assert not (tmp_path / "reports").exists(), "nothing runs with an invalid baseline"

    (tmp_path / "baselines" / "ts.yaml").write_text("implementation: ts\ndivergences: {}\n")
    code, _, err = run("parity", "--impl", "ts")
    assert code == 2 and "harness baseline migrate" in err


def test_unknown_implementation_is_a_usage_error(project: dict[str, dict[str, Any]]) -> None:
    code, _, err = run("parity", "--impl", "reference,rust-sdk")
    assert code == 2 and "unknown implementation 'rust-sdk'" in err


def test_default_is_reference_only(project: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    code, out, _ = run("parity")
    assert code == 0 and "parity matrix" not in out
    report = read_report(tmp_path / "reports" / "parity.json")
    assert [i.id for i in report.header.implementations] == ["reference"]
    assert {r.implementation for r in report.results} == {"reference"}


# --------------------------------------------------------------------------------------------- adapters


def _statuses() -> list[AdapterStatus]:
    return [
        AdapterStatus("reference", "harness.reference", "python", True, "0.1.0", ("python", "-m", "ref"), "part"),
        AdapterStatus(
            "ts",
            "@openai/codex-sdk",
            "javascript",
            False,
            None,
            (),
            "python -m harness.adapters.install ts",
            problem="@openai/codex-sdk 0.163.0 is not installed",
        ),
    ]


def test_adapters_list_shows_a_missing_implementation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "adapters_lister", _statuses)
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run("adapters", "list")
    assert code == 0
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("│")}
    assert "yes" in lines["reference"] and "0.1.0" in lines["reference"]
    assert "no" in lines["ts"] and "python -m harness.adapters.install ts" in lines["ts"]
    code, out, _ = run("adapters", "list", "--json")
    rows = json.loads(out)
    expected = [("reference", True, "0.1.0"), ("ts", False, None)]
    assert [(r["id"], r["installed"], r["version"]) for r in rows] == expected
    assert rows[1]["install_hint"] == "python -m harness.adapters.install ts" and rows[1]["command"] == []


def test_adapters_list_real_registry_never_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARNESS_ADAPTER_CACHE", str(tmp_path / "nothing-here"))
    code, out, _ = run("adapters", "list", "--json")
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)}
    assert set(rows) == {"reference", "openai-agents", "ts", "codex-sdk-python", "openai-codex-sdk", "ai-sdk-codex",
                         "openai-codex", "codex-python-sdk-unofficial", "codex-python-sdk"}
    assert rows["reference"]["installed"] is True
    assert rows["ts"]["installed"] is False and rows["ts"]["install_hint"].endswith("install ts")


def test_adapters_install_error_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []

    def installer(key: str) -> InstalledAdapter:
        calls.append(key)
        if key == "ts":
            raise AdapterError("cannot install the TS adapter: npm is not on PATH")
        return InstalledAdapter(key, key, "python", "1.0", ("python", "x.py"), tmp_path / key, 0.5)

    monkeypatch.setattr(cli, "adapter_installer", installer)
    code, out, err = run("adapters", "install", "all")
    assert code == 2
    assert calls == [
        "ts",
        "openai-agents",
        "codex-sdk-python",
        "openai-codex-sdk",
        "ai-sdk-codex",
        "openai-codex",
        "codex-python-sdk-unofficial",
        "codex-python-sdk",
    ], "a failure does not stop the rest"
    assert "error: ts: cannot install the TS adapter: npm is not on PATH" in err
    assert "openai-agents: openai-agents 1.0" in out
    code, out, _ = run("adapters", "install", "codex-sdk-python")
    assert code == 0 and calls[-1] == "codex-sdk-python"
    code, _, err = run("adapters", "install", "rust")
    assert code == 2 and "unknown peer 'rust'" in err
