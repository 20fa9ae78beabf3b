"""The CI workflow runs the README's test command, on Linux and macOS, and says what macOS skips.

The command is read from the README ("Two commands for a fresh machine": the line after ``# the tests``) and from
``.ci/run``; the two must agree, and each job of ``.github/workflows/ci.yml`` must run exactly that line.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _tests_conftest() -> Any:
    """tests/conftest.py by path: ``import conftest`` could find the root conftest instead."""
    spec = importlib.util.spec_from_file_location("_tests_conftest", ROOT / "tests" / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_CONFTEST = _tests_conftest()
LINUX_ONLY: dict[str, str] = _CONFTEST.LINUX_ONLY
linux_only_reason = _CONFTEST.linux_only_reason


def readme_test_command(readme: str) -> str:
    """The README's test command: the command line that follows the ``# the tests`` comment of its bash block."""
    section = readme.split("## Two commands for a fresh machine", 1)[1]
    lines = section.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("# the tests"))
    return next(line.strip() for line in lines[start:] if line.strip() and not line.startswith("#"))


def ci_run_command(script: str) -> str:
    """The command line of ``.ci/run`` that creates the venv and runs pytest."""
    (line,) = [line.strip() for line in script.split("\n") if line.startswith("python3 -m venv") and "pytest" in line]
    return line


def _workflow() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def _runs(job: dict[str, Any]) -> list[str]:
    return [str(step["run"]).strip() for step in job.get("steps", []) if "run" in step]


def test_readme_and_ci_run_agree() -> None:
    command = readme_test_command((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "pytest" in command and command.startswith("python3 -m venv .venv")
    assert ci_run_command((ROOT / ".ci" / "run").read_text(encoding="utf-8")) == command


def test_every_job_runs_the_readme_command() -> None:
    command = readme_test_command((ROOT / "README.md").read_text(encoding="utf-8"))
    jobs = _workflow()["jobs"]
    runners = {name: str(job["runs-on"]) for name, job in jobs.items()}
    assert any(r.startswith("ubuntu") for r in runners.values()), runners
    assert any(r.startswith("macos") for r in runners.values()), runners
    for name, job in jobs.items():
        assert command in _runs(job), f"job {name} does not run the README's test command"


def test_the_workflow_runs_on_push_and_pull_requests() -> None:
    data = _workflow()
    triggers = data["on"] if "on" in data else data[True]  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)


def test_the_macos_job_prints_every_linux_only_reason() -> None:
    (macos,) = [job for job in _workflow()["jobs"].values() if str(job["runs-on"]).startswith("macos")]
    log = "\n".join(_runs(macos))
    for pattern, reason in LINUX_ONLY.items():
        assert pattern in log and reason in log, pattern


def test_a_changed_command_is_noticed(tmp_path: Path) -> None:
    """The check can fail: a README whose test command differs is not what the workflow runs."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8").replace("pytest -n 2", "pytest -n 3", 1)
    command = readme_test_command(readme)
    assert command.endswith("pytest -n 3)")
    assert all(command not in _runs(job) for job in _workflow()["jobs"].values())


@pytest.mark.parametrize("platform", ["darwin", "linux"])
def test_linux_only_files_skip_only_off_linux(platform: str) -> None:
    reasons = {name: linux_only_reason(Path("tests") / name, platform) for name in
               ("test_real_sandbox.py", "test_html_chromium.py", "test_docs_examples.py")}
    if platform == "linux":
        assert set(reasons.values()) == {None}
    else:
        assert reasons["test_docs_examples.py"] is None
        assert reasons["test_real_sandbox.py"] and "network namespace" in reasons["test_real_sandbox.py"]
        assert reasons["test_html_chromium.py"] and "chromium" in reasons["test_html_chromium.py"]


def test_this_platform_skips_nothing_on_linux() -> None:
    """On Linux (this machine and the Linux job) no test is skipped for being Linux-only."""
    if sys.platform.startswith("linux"):
        assert linux_only_reason(Path("tests/test_real_sandbox.py")) is None
    else:
        assert linux_only_reason(Path("tests/test_real_sandbox.py")) is not None
