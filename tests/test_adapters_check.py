"""`harness adapters check`: a correct adapter passes every rule; each broken adapter in tests/broken_adapters fails
the rule its docstring names (and nothing is left running); the reference adapter passes; usage errors exit 2."""

from __future__ import annotations

import ast
import asyncio
import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.adapters import check as check_module
from harness.adapters.check import (
    RULES,
    CheckOptions,
    CheckReport,
    CheckUsageError,
    check_adapter,
    process_launcher,
    quote,
    scripted_launcher,
)
from harness.cli import app

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ROOT / "tests" / "broken_adapters"
RULE_IDS = [rule.id for rule in RULES]
FAST = CheckOptions(start_timeout=10, run_timeout=10, stop_timeout=5, quiet=0.1)


def breaks(path: Path) -> str | None:
    """The rule a broken adapter's docstring says it breaks (``Breaks ``rule``:``), None for the control."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    if not doc.startswith("Breaks ``"):
        return None
    return doc.split("``")[1]


def run_check(argv: list[str], options: CheckOptions = FAST) -> CheckReport:
    return asyncio.run(check_adapter(process_launcher(argv), options=options, command=argv))


def statuses(report: CheckReport) -> dict[str, str]:
    return {r.id: r.status for r in report.results}


# --------------------------------------------------------------------------------------------- the public API


@pytest.mark.parametrize("module", ["harness.adapters.check", "harness.adapters.skeleton"])
def test_all_is_sorted_and_resolves(module: str) -> None:
    mod = importlib.import_module(module)
    names = list(mod.__all__)

    def group(name: str) -> int:  # isort-style order (ruff RUF022): constants, classes, then functions
        return 0 if name.isupper() else 1 if name[0].isupper() else 2

    assert names == sorted(names, key=lambda name: (group(name), name))
    for name in names:
        assert getattr(mod, name) is not None


def test_rule_ids_are_stable_and_unique() -> None:
    assert RULE_IDS == ["start-reply", "run-reply", "seq-echo", "one-reply", "stdout-clean", "run-timely",
                        "sdk-error-observed", "stop-clean", "restart"]
    for rule_id in RULE_IDS:
        assert rule_id in (check_module.__doc__ or "")


def test_quote_redacts_and_truncates() -> None:
    text = quote(b'{"api_key": "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123"} ' + b"x" * 1000)
    assert "sk-proj-ABCD" not in text and "<redacted>" in text
    assert len(text) < 300 and text.endswith("...'")


# ----------------------------------------------------------------------------- scripted adapters (no process)


def _impl(capabilities: list[str] | None = None) -> dict[str, Any]:
    return {"implementation": {"name": "scripted", "version": "1", "language": "python", "sdk": "scripted",
                               "homepage": None, "capabilities": capabilities or ["run"]}}


def _observation(error: dict[str, Any] | None) -> dict[str, Any]:
    ok: dict[str, Any] = {"thread_id": "t", "final_response": "hi", "items": [], "usage": None}
    result: dict[str, Any] | None = None if error else ok
    return {"events": [], "result": result, "error": error, "earlier_turns": []}


def good_script(message: dict[str, Any]) -> list[bytes] | None:
    if message["cmd"] == "start":
        return [json.dumps(_impl()).encode()]
    if message["cmd"] == "run":
        failing = message["case"]["id"].endswith("/fail")
        error = {"kind": "exit", "class": "ExitError", "message": "exit 1"} if failing else None
        return [json.dumps({"seq": message["seq"], "observation": _observation(error)}).encode()]
    return [b'{"ok":true}']


def test_scripted_good_adapter_passes_every_rule() -> None:
    report = asyncio.run(check_adapter(scripted_launcher(good_script), options=FAST))
    assert statuses(report) == dict.fromkeys(RULE_IDS, "pass")
    assert report.passed and report.transport == "exec"
    assert "9/9 rules pass" in report.to_text()


def test_scripted_app_server_adapter_gets_app_server_probes() -> None:
    seen: list[dict[str, Any]] = []

    def script(message: dict[str, Any]) -> list[bytes] | None:
        if message["cmd"] == "start":
            return [json.dumps(_impl(["run", "transport:app-server"])).encode()]
        if message["cmd"] == "run":
            seen.append(message["case"])
        return good_script(message)

    report = asyncio.run(check_adapter(scripted_launcher(script), options=FAST))
    assert report.passed and report.transport == "app-server"
    assert {case["transport"] for case in seen} == {"app-server"}
    assert all(Path(case["thread_params"]["cwd"]).is_absolute() for case in seen)


def test_scripted_stderr_free_but_stdout_not() -> None:
    def script(message: dict[str, Any]) -> list[bytes] | None:
        lines = good_script(message)
        if message["cmd"] == "run" and lines:
            return [b"DEBUG: running", *lines]
        return lines

    report = asyncio.run(check_adapter(scripted_launcher(script), options=FAST))
    failed = {r.id: r.detail for r in report.results if not r.passed}
    assert list(failed) == ["stdout-clean"]
    assert "DEBUG: running" in (failed["stdout-clean"] or "")


def test_scripted_exit_at_start_fails_start_reply() -> None:
    report = asyncio.run(check_adapter(scripted_launcher(lambda message: None), options=FAST))
    got = statuses(report)
    assert got["start-reply"] == "fail"
    assert {got[r] for r in RULE_IDS if r != "start-reply"} <= {"not_run", "pass"}
    assert not report.passed


def test_scripted_errored_reply_to_failure() -> None:
    def script(message: dict[str, Any]) -> list[bytes] | None:
        if message["cmd"] == "run" and message["case"]["id"].endswith("/fail"):
            return [json.dumps({"seq": message["seq"], "errored": {"message": "ExitError"}}).encode()]
        return good_script(message)

    report = asyncio.run(check_adapter(scripted_launcher(script), options=FAST))
    assert [r.id for r in report.results if not r.passed] == ["sdk-error-observed"]
    assert report.to_dict()["passed"] is False


# ------------------------------------------------------------------------------- broken adapters (processes)


BROKEN_FILES = sorted(p for p in BROKEN.glob("*.py") if not p.name.startswith("_"))


def test_every_rule_has_a_broken_adapter() -> None:
    assert sorted(filter(None, map(breaks, BROKEN_FILES))) == sorted(RULE_IDS)


@pytest.mark.parametrize("path", BROKEN_FILES, ids=lambda p: p.stem)
def test_broken_adapter_fails_its_rule(path: Path, tmp_path: Path, no_leaks: str) -> None:
    rule = breaks(path)
    argv = [sys.executable, str(path)]
    options = FAST
    if path.stem == "no_restart":
        argv.append(str(tmp_path / "started.marker"))
    if rule == "run-timely":
        options = CheckOptions(start_timeout=10, run_timeout=0.5, stop_timeout=2, quiet=0.1)
    report = run_check(argv, options)
    got = statuses(report)
    if rule is None:
        assert got == dict.fromkeys(RULE_IDS, "pass")
        return
    assert got[rule] == "fail", report.to_text()
    detail = next(r.detail for r in report.results if r.id == rule)
    assert detail
    # the rule it breaks is the finding; rules it does not break pass (or could not be reached after it)
    wrong = [r for r, status in got.items() if status == "fail" and r != rule]
    allowed = {"run-timely": {"restart"}, "run-reply": {"sdk-error-observed"}}.get(rule, set())
    assert set(wrong) <= allowed, report.to_text()


def test_banner_secret_is_redacted(no_leaks: str) -> None:
    report = run_check([sys.executable, str(BROKEN / "banner.py")])
    text = report.to_text() + json.dumps(report.to_dict())
    assert "sk-proj-" not in text and "<redacted>" in text


def test_reference_adapter_passes(no_leaks: str) -> None:
    report = run_check([sys.executable, "-m", "harness.adapters.reference_adapter"],
                       CheckOptions(transport="exec", quiet=0.1))
    assert report.passed, report.to_text()
    assert report.implementation is not None and report.implementation["name"] == "harness.reference"


def test_missing_command_is_usage_error() -> None:
    with pytest.raises(CheckUsageError, match="command not found: no-such-adapter-xyz"):
        process_launcher(["no-such-adapter-xyz"])
    with pytest.raises(CheckUsageError, match="no command"):
        process_launcher([])


# ------------------------------------------------------------------------------------------------------ the CLI


def test_cli_json_and_exit_status(no_leaks: str) -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["adapters", "check", "--json", f"{sys.executable} {BROKEN / 'good.py'}"])
    assert good.exit_code == 0, good.output
    data = json.loads(good.stdout)
    assert data["passed"] is True and [r["id"] for r in data["rules"]] == RULE_IDS
    bad = runner.invoke(app, ["adapters", "check", "--", sys.executable, str(BROKEN / "bad_stop.py")])
    assert bad.exit_code == 1
    assert "FAIL  stop-clean" in bad.stdout and "exited with status 3" in bad.stdout


def test_cli_command_not_found_exits_2_without_traceback() -> None:
    done = subprocess.run([sys.executable, "-m", "harness", "adapters", "check", "no-such-adapter-xyz --flag"],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 2
    assert "command not found: no-such-adapter-xyz" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_cli_bad_transport_exits_2() -> None:
    result = CliRunner().invoke(app, ["adapters", "check", "--transport", "smoke", "true"])
    assert result.exit_code == 2
