"""``harness parity --adapter ID=COMMAND``: parsing, id rules, joining the run, and a real adapter command (the
reference adapter as a subprocess) run against the built-in corpus from a folder that has none."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import harness.cli as cli
from harness.adapters.registry import (
    ADAPTERS,
    AdhocAdapter,
    AdhocAdapterError,
    adhoc_adapter,
    adhoc_id_problem,
    parse_adapter_option,
)
from harness.corpus import RunDirs, builtin_corpus
from harness.errors import HarnessError
from harness.parity.baseline import load_baseline
from harness.report.model import Status
from harness.report.reader import read_report

REFERENCE_ADAPTER = f"{shlex.quote(sys.executable)} -m harness.adapters.reference_adapter"
SELECTION = "agent_message_run"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.app, list(args), terminal_width=200)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with no corpus of its own (so the built-in one is used), as the cwd."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


# ------------------------------------------------------------------------------------------ parsing


def test_the_command_is_split_like_a_shell_would() -> None:
    adapter = parse_adapter_option("my-sdk=node 'dir with space/adapter.mjs' --flag=x")
    assert adapter == AdhocAdapter("my-sdk", ("node", "dir with space/adapter.mjs", "--flag=x"), None, adapter.source)
    assert parse_adapter_option("go.v2=./bin/adapter").command == ("./bin/adapter",)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("mine", "--adapter 'mine': expected ID=COMMAND"),
        ("mine=", "--adapter 'mine=': adapter 'mine' has an empty command"),
        ("mine=node 'open", "--adapter \"mine=node 'open\": cannot split the command: No closing quotation"),
        ("=node a.mjs", "--adapter '=node a.mjs': '' is not a valid adapter id"),
        ("My SDK=x", "--adapter 'My SDK=x': 'My SDK' is not a valid adapter id"),
        ("../evil=x", "--adapter '../evil=x': '../evil' is not a valid adapter id"),
        ("all=x", "--adapter 'all=x': 'all' is reserved"),
        ("reference=x", "--adapter 'reference=x': 'reference' is a built-in adapter id; choose another id"),
        ("ts=node a.mjs", "--adapter 'ts=node a.mjs': 'ts' is a built-in adapter id"),
    ],
)
def test_bad_options_are_one_line_errors(option: str, message: str) -> None:
    with pytest.raises(AdhocAdapterError) as caught:
        parse_adapter_option(option)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_every_builtin_id_clashes() -> None:
    for spec in ADAPTERS:
        problem = adhoc_id_problem(spec.id)
        assert problem is not None and "built-in" in problem
    assert adhoc_id_problem("my-sdk") is None
    with pytest.raises(AdhocAdapterError, match=r"^codex-parity.toml: adapters.ts: 'ts' is a built-in"):
        adhoc_adapter("ts", ["x"], source="codex-parity.toml: adapters.ts")


def test_adhoc_ids_join_the_run() -> None:
    assert cli._implementations(None, ["mine"]) == ["reference", "mine"]
    assert cli._implementations(["ts,mine"], ["mine", "other"]) == ["ts", "mine", "other"]
    assert cli._implementations(["mine"], ["mine"]) == ["mine"], "--impl mine runs the ad-hoc adapter alone"
    with pytest.raises(HarnessError, match=r"unknown implementation 'rust'.*mine"):
        cli._implementations(["rust"], ["mine"])


def test_a_flag_given_twice_and_a_clash_exit_2_without_a_traceback(scratch: Path) -> None:
    code, _, err = run("parity", "-k", SELECTION, "--adapter", "mine=a", "--adapter", "mine=b")
    assert (code, err) == (2, "error: --adapter mine: given twice\n")
    code, _, err = run("parity", "-k", SELECTION, "--adapter", "reference=x")
    assert code == 2 and err.startswith("error: --adapter 'reference=x': 'reference' is a built-in adapter id")
    assert not (scratch / "reports").exists(), "nothing ran"


# ------------------------------------------------------------------------------------------ baselines


def _baseline(folder: Path, implementation: str, findings: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{implementation}.yaml"
    path.write_text(f"format: 2\nimplementation: {implementation}\nfindings:{findings or ' {}'}\n", encoding="utf-8")
    return path


def test_builtins_keep_their_packaged_baselines_unless_the_user_has_one(tmp_path: Path) -> None:
    corpus = builtin_corpus()
    peer = "openai-agents"
    packaged = load_baseline(corpus.baselines / f"{peer}.yaml", implementation=peer, parts=cli.baseline_parts(peer))
    assert packaged.findings, "the packaged baseline has findings to inherit"
    user = tmp_path / "mine-baselines"
    dirs = RunDirs(corpus.scenarios, corpus.golden, user, corpus.baselines)

    loaded = cli._load_run_baselines(dirs, ["reference", peer, "mine"])
    assert list(loaded) == ["reference", peer, "mine"]
    assert loaded[peer].findings == packaged.findings
    assert loaded[peer].path == user / f"{peer}.yaml", "--update-baseline writes the user's copy, not the package"
    assert loaded["mine"].findings == () and loaded["mine"].path == user / "mine.yaml"

    _baseline(user, peer)
    _baseline(user, "mine")
    loaded = cli._load_run_baselines(dirs, [peer, "mine"])
    assert loaded[peer].findings == () and loaded[peer].path == user / f"{peer}.yaml"


def test_the_adhoc_baseline_is_read_from_the_users_folder(scratch: Path) -> None:
    (scratch / "baselines").mkdir()
    (scratch / "baselines" / "mine.yaml").write_text("format: 2\nimplementation: mine\nbogus: 1\n", encoding="utf-8")
    code, _, err = run("parity", "-k", SELECTION, "--adapter", f"mine={REFERENCE_ADAPTER}")
    assert code == 2
    assert err.startswith("error: baselines/mine.yaml:3:1: unknown key 'bogus'"), err


# ------------------------------------------------------------------------------------------ running


def test_an_adhoc_adapter_runs_against_the_builtin_corpus(scratch: Path, no_leaks: str) -> None:
    code, out, err = run("parity", "-k", SELECTION, "--adapter", f"mine={REFERENCE_ADAPTER}", "--out", "out")
    assert code == 0, out + err
    report = read_report(scratch / "out" / "parity.json")
    mine = [r for r in report.results if r.implementation == "mine"]
    assert mine and {r.status for r in mine} == {Status.PASSED}
    assert {r.implementation for r in report.results} == {"reference", "mine"}
    assert report.header.selection.scenarios == str(builtin_corpus().scenarios)
    info = {i.id: i for i in report.header.implementations}["mine"]
    assert (info.name, info.driver, info.problem) == ("harness.reference", "adapter", None)


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ("/nonexistent/sdk-adapter --serve", "cannot spawn"),
        ("sh -c 'echo boom >&2; exit 3'", "exit status 3"),
    ],
)
def test_a_missing_or_crashing_command_is_data_not_a_traceback(
    scratch: Path, no_leaks: str, command: str, problem: str
) -> None:
    code, out, _ = run("parity", "-k", SELECTION, "--impl", "mine", "--adapter", f"mine={command}")
    assert code == 1, out
    report = read_report(scratch / "reports" / "parity.json")
    assert report.results and {r.status for r in report.results} == {Status.ERRORED}
    info = report.header.implementations[0]
    assert info.id == "mine" and info.problem is not None and problem in info.problem
    assert "warning: mine: cannot be started" in out


def test_a_secret_in_the_command_reaches_no_report_and_no_output(scratch: Path, no_leaks: str) -> None:
    token = "sk-proj-" + "Q" * 40
    code, out, err = run(
        "parity", "-k", SELECTION, "--impl", "mine", "--adapter", f"mine=/nonexistent/adapter OPENAI_API_KEY={token}"
    )
    assert code == 1 and "cannot be started" in out
    written = [p.read_text(encoding="utf-8") for p in (scratch / "reports").rglob("*") if p.is_file()]
    assert len(written) >= 4 and "<redacted>" in written[0] + out
    for text in (*written, out, err):
        assert token not in text
