"""The GitHub Action (action.yml): its inputs and steps, and its parity step's shell run locally with every
``${{ }}`` expression substituted -- against the reference adapter given as an ad-hoc ``ID=COMMAND``."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
REFERENCE = f"reference-adhoc={shlex.join([sys.executable, '-m', 'harness.adapters.reference_adapter'])}"
BROKEN = f"broken={shlex.join([sys.executable, str(ROOT / 'tests' / 'broken_adapters' / 'errored_healthy.py')])}"


def action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return data


def step(data: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in data["runs"]["steps"] if s.get("id") == step_id)


def substitute(text: str, context: dict[str, str]) -> str:
    """Replace each ``${{ expr }}``; an expression the test does not know is an error (the action changed)."""

    def one(match: re.Match[str]) -> str:
        if match.group(1) not in context:
            raise KeyError(f"unknown expression in action.yml: {match.group(0)}")
        return context[match.group(1)]

    return EXPRESSION.sub(one, text)


def test_inputs_and_defaults() -> None:
    data = action()
    inputs = data["inputs"]
    assert {"adapters", "baselines", "args", "python-version", "harness-source"} <= set(inputs)
    assert inputs["adapters"]["required"] is True
    assert inputs["harness-source"]["default"] == "${{ github.action_path }}"
    assert inputs["baselines"]["default"] == "baselines"
    assert inputs["reports"]["default"] == "reports"
    assert all(spec.get("description") for spec in inputs.values())


def test_steps_shape() -> None:
    data = action()
    assert data["runs"]["using"] == "composite"
    steps = data["runs"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert uses[0].startswith("actions/setup-python@")
    assert steps[0]["with"]["python-version"] == "${{ inputs.python-version }}"
    install = step(data, "install")
    assert "python -m venv" in install["run"] and 'pip install --quiet "$HARNESS_SOURCE"' in install["run"]
    parity = step(data, "parity")
    assert "parity" in parity["run"] and "--adapter" in parity["run"] and "--baselines" in parity["run"]
    upload = steps[-1]
    assert upload["uses"].startswith("actions/upload-artifact@") and upload["if"] == "always()"
    assert upload["with"]["path"].startswith("${{ inputs.reports }}")
    for s in steps:
        if "run" in s:
            assert s["shell"] == "bash"
            assert "${{" not in s["run"], "inputs reach the shell through env: only (no injection)"


def run_parity_step(tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run the parity step's shell as a runner would: expressions substituted, env as the step declares it."""
    data = action()
    parity = step(data, "parity")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "harness").symlink_to(Path(sys.executable).parent / "harness")
    (venv / "bin" / "python").symlink_to(sys.executable)
    defaults = {name: str(spec.get("default", "")) for name, spec in data["inputs"].items()}
    values = {**defaults, **inputs}
    context = {f"inputs.{name}": value for name, value in values.items()}
    context |= {"github.action_path": str(ROOT), "runner.temp": str(tmp_path), "steps.install.outputs.venv": str(venv)}
    context["inputs.harness-source"] = substitute(context["inputs.harness-source"], context)
    env = {key: substitute(str(value), context) for key, value in parity["env"].items()}
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    output.touch()
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "HARNESS_LEAK_TOKEN", "TMPDIR")}
    done = subprocess.run(["bash", "-e", "-c", substitute(parity["run"], context)], cwd=workspace, text=True,
                          capture_output=True, check=False,
                          env={**base, **env, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)})
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return done, outputs


def test_parity_step_runs_the_reference_adapter(tmp_path: Path, no_leaks: str) -> None:
    done, outputs = run_parity_step(tmp_path, adapters=f"\n  {REFERENCE}\n\n# a comment\n",
                                    args='-k "items/shell_ok and not streamed"')
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs["exit-code"] == "0"
    reports = tmp_path / "workspace" / "reports"
    assert (reports / "parity.json").is_file() and (reports / "junit.xml").is_file()
    assert list((reports / "badges").glob("*.svg"))
    assert "reference-adhoc" in (reports / "parity.json").read_text()
    assert (tmp_path / "step_summary").read_text().strip()


def test_parity_step_fails_on_unexplained_divergence(tmp_path: Path, no_leaks: str) -> None:
    done, outputs = run_parity_step(tmp_path, adapters=BROKEN, args="-k items/shell_ok")
    assert done.returncode == 1, done.stdout + done.stderr
    assert outputs["exit-code"] == "1"
    assert (tmp_path / "workspace" / "reports" / "parity.json").is_file()  # still there for the upload step


@pytest.mark.parametrize(("adapters", "message"), [("", "no ID=COMMAND line"), ("just-a-command", "not ID=COMMAND")])
def test_parity_step_rejects_bad_adapter_lines(adapters: str, message: str, tmp_path: Path) -> None:
    done, _ = run_parity_step(tmp_path, adapters=adapters)
    assert done.returncode == 2
    assert message in done.stdout


def test_docs_workflow_example_uses_the_action() -> None:
    doc = (ROOT / "docs" / "github-action.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", doc, flags=re.S)
    workflow = next(yaml.safe_load(b) for b in blocks if "jobs:" in b)
    steps = next(iter(workflow["jobs"].values()))["steps"]
    ours = [s for s in steps if "codex-parity-harness" in str(s.get("uses", ""))]
    assert ours and "adapters" in ours[0]["with"]
    assert set(ours[0]["with"]) <= set(action()["inputs"])
