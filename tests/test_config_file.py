"""``codex-parity.toml`` / ``[tool.codex-parity]``: parsing, discovery, located errors, and flags winning."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import harness.cli as cli
from harness.config import ConfigError, ParityConfig, discover_config, load_config, parse_config
from harness.report.model import Status
from harness.report.reader import read_report

SELECTION = "agent_message_run"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.app, list(args), terminal_width=200)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def test_every_key_parses_and_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sdk" / "codex-parity.toml"
    table = {
        "scenarios": "corpus/scenarios",
        "golden": "corpus/golden",
        "baselines": "parity",
        "out": "../reports",
        "keyword": "not appserver",
        "tags": ["exec", "smoke"],
        "impl": "reference, ts",
        "adapters": {"mine": "node 'my adapter.mjs'", "other": ["./bin/adapter", "--json"]},
    }
    config = parse_config(table, path)
    assert config == ParityConfig(
        path=path,
        scenarios=tmp_path / "sdk" / "corpus" / "scenarios",
        golden=tmp_path / "sdk" / "corpus" / "golden",
        baselines=tmp_path / "sdk" / "parity",
        out=tmp_path / "sdk" / ".." / "reports",
        keyword="not appserver",
        tags=("exec", "smoke"),
        impl=("reference", "ts"),
        adapters={"mine": ("node", "my adapter.mjs"), "other": (str(tmp_path / "sdk" / "bin" / "adapter"), "--json")},
    )
    assert config.folder == tmp_path / "sdk"
    assert parse_config({"impl": ["mine"]}, path).impl == ("mine",)
    assert parse_config({}, path) == ParityConfig(path=path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[adapters]\nmine = 3\n", "codex-parity.toml: adapters.mine: expected a string or a list of strings"),
        ("[adapters]\nmine = ['node', 1]\n", "codex-parity.toml: adapters.mine: expected a string or a list of"),
        ("[adapters]\nmine = ''\n", "codex-parity.toml: adapters.mine: empty command"),
        ("[adapters]\nmine = \"node 'x\"\n", "codex-parity.toml: adapters.mine: cannot split the command: No closing"),
        ("[adapters]\nts = 'node a.mjs'\n", "codex-parity.toml: adapters.ts: 'ts' is a built-in adapter id"),
        ("[adapters]\n'My SDK' = 'x'\n", "codex-parity.toml: adapters.My SDK: 'My SDK' is not a valid adapter id"),
        ("adapters = 'node a.mjs'\n", "codex-parity.toml: adapters: expected a table of id = command, got str"),
        ("scenario = 'x'\n", "codex-parity.toml: scenario: unknown key (expected one of: scenarios, golden,"),
        ("tags = 'exec'\n", "codex-parity.toml: tags: expected a list of strings, got str"),
        ("impl = 3\n", "codex-parity.toml: impl: expected a list of strings or a comma-separated string, got an"),
        ("keyword = true\n", "codex-parity.toml: keyword: expected a string, got a boolean"),
        ("out = ''\n", "codex-parity.toml: out: expected a path, got an empty string"),
        ("baselines = ['a']\n", "codex-parity.toml: baselines: expected a string, got a list"),
        ("keyword = 'a'\nimpl = [\n", "codex-parity.toml: invalid TOML: Invalid value (at end of document)"),
        ("keyword = 'a'\nimpl = [}\n", "codex-parity.toml:2:9: invalid TOML: Invalid value"),
    ],
)
def test_each_problem_is_one_located_line_and_exit_2(scratch: Path, text: str, message: str) -> None:
    (scratch / "codex-parity.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        discover_config()
    assert str(caught.value).startswith(message), str(caught.value)
    code, out, err = run("parity", "-k", SELECTION)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {message}") and err.count("\n") == 1, err


def test_pyproject_problems_name_the_tool_table(scratch: Path) -> None:
    (scratch / "pyproject.toml").write_text("[tool.codex-parity.adapters]\nmine = 1\n", encoding="utf-8")
    code, _, err = run("parity", "-k", SELECTION)
    assert (code, err) == (
        2,
        "error: pyproject.toml: tool.codex-parity.adapters.mine: expected a string or a list of strings\n",
    )
    (scratch / "pyproject.toml").write_text("[tool]\ncodex-parity = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^pyproject.toml: tool.codex-parity: expected a table, got str$"):
        discover_config()


def test_discovery_order(scratch: Path) -> None:
    assert discover_config() is None
    (scratch / "pyproject.toml").write_text("[project]\nname = 'sdk'\n", encoding="utf-8")
    assert discover_config() is None, "a pyproject.toml without the table is not a configuration"
    (scratch / "pyproject.toml").write_text("[tool.codex-parity]\nkeyword = 'from-pyproject'\n", encoding="utf-8")
    found = discover_config()
    assert found is not None and found.keyword == "from-pyproject" and found.path == scratch / "pyproject.toml"
    (scratch / "codex-parity.toml").write_text("keyword = 'from-own-file'\n", encoding="utf-8")
    found = discover_config()
    assert found is not None and found.keyword == "from-own-file" and found.path == scratch / "codex-parity.toml"
    (scratch / "elsewhere.toml").write_text("keyword = 'explicit'\n", encoding="utf-8")
    found = discover_config(scratch / "elsewhere.toml")
    assert found is not None and found.keyword == "explicit"


def test_an_explicit_file_must_exist_and_a_named_pyproject_must_have_the_table(scratch: Path) -> None:
    code, _, err = run("parity", "--config", "missing.toml")
    assert (code, err) == (2, "error: missing.toml: no such configuration file\n")
    (scratch / "sub").mkdir()
    (scratch / "sub" / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^sub/pyproject.toml: no \[tool.codex-parity\] table$"):
        load_config(Path("sub/pyproject.toml"))


def test_the_file_drives_the_run_and_flags_win(scratch: Path, no_leaks: str) -> None:
    adapter = [sys.executable, "-m", "harness.adapters.reference_adapter"]
    (scratch / "sdk").mkdir()
    (scratch / "sdk" / "codex-parity.toml").write_text(
        "keyword = 'no-such-scenario-anywhere'\n"
        "out = 'parity-out'\n"
        "impl = ['mine']\n"
        f"[adapters]\nmine = {adapter!r}\n".replace("'", '"'),
        encoding="utf-8",
    )
    code, _, err = run("parity", "--config", "sdk/codex-parity.toml")
    assert code == 2 and err.startswith("error: no scenarios selected"), "the file's keyword applies"

    code, out, err = run("parity", "--config", "sdk/codex-parity.toml", "-k", SELECTION)
    assert code == 0, out + err
    report = read_report(scratch / "sdk" / "parity-out" / "parity.json")  # out is relative to the file
    assert {r.implementation for r in report.results} == {"mine"}, "impl from the file: mine alone"
    assert report.results and {r.status for r in report.results} == {Status.PASSED}

    flagged = f"mine={shlex.join(['/nonexistent/other-adapter'])}"
    code, out, _ = run(
        "parity", "--config", "sdk/codex-parity.toml", "-k", SELECTION, "--adapter", flagged, "--out", "flag-out"
    )
    assert code == 1, "the flag's command replaced the file's adapter of the same id"
    report = read_report(scratch / "flag-out" / "parity.json")
    assert "cannot spawn" in (report.header.implementations[0].problem or "")
