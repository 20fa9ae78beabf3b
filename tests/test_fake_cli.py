"""``harness-fake-codex`` driven by the environment alone, and a built fake deferring to it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.fake import build_fake, load_plan, read_log
from harness.fake.testing import wait_no_leftovers


@pytest.fixture(autouse=True)
def no_leftovers(tmp_path: Path) -> Iterator[None]:
    yield
    assert not wait_no_leftovers(tmp_path)


def console(tmp_path: Path) -> list[str]:
    exe = shutil.which("harness-fake-codex")
    return [exe] if exe else [sys.executable, "-m", "harness.fake.cli"]


def env_for(tmp_path: Path, plan: Path | None, log: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_FAKE_")}
    env["HARNESS_FAKE_CACHE"] = str(tmp_path / "cache")
    if plan is not None:
        env["HARNESS_FAKE_PLAN"] = str(plan)
    if log is not None:
        env["HARNESS_FAKE_LOG"] = str(log)
    return env


def test_console_script_runs_plan_from_environment(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text("steps:\n  - lines: [one]\n  - lines: [two]\n    faults: {exit_code: 3}\n")
    log = tmp_path / "log.jsonl"
    env = env_for(tmp_path, plan, log)
    first = subprocess.run([*console(tmp_path), "exec", "--json"], input=b"p1", capture_output=True, env=env)
    second = subprocess.run([*console(tmp_path), "exec", "--json"], input=b"p2", capture_output=True, env=env)
    assert (first.returncode, first.stdout) == (0, b"one\n")
    assert (second.returncode, second.stdout) == (3, b"two\n")
    assert [(i.step, i.argv, i.stdin) for i in read_log(log)] == [
        (0, ("exec", "--json"), "p1"),
        (1, ("exec", "--json"), "p2"),
    ]


def test_console_script_errors(tmp_path: Path) -> None:
    missing = subprocess.run(console(tmp_path), capture_output=True, env=env_for(tmp_path, None, None))
    assert missing.returncode == 2 and b"HARNESS_FAKE_PLAN is not set" in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - lines: [a]\n    faults: {exit_code: x}\n")
    result = subprocess.run(console(tmp_path), capture_output=True, env=env_for(tmp_path, bad, None))
    assert result.returncode == 2
    assert f"{bad}:3:".encode() in result.stderr and b"steps[0].faults.exit_code" in result.stderr


def test_built_fake_defers_to_plan_named_in_environment(tmp_path: Path) -> None:
    baked = tmp_path / "baked.yaml"
    baked.write_text("steps:\n  - lines: [baked]\n")
    other = tmp_path / "other.yaml"
    other.write_text("steps:\n  - lines: [other]\n")
    log = tmp_path / "log.jsonl"
    exe = build_fake(load_plan(baked), tmp_path / "out", log_path=log)
    # an SDK that replaces the environment: the baked plan and log still apply
    assert subprocess.run([str(exe)], input=b"", capture_output=True, env={}).stdout == b"baked\n"
    env = env_for(tmp_path, other, None)
    assert subprocess.run([str(exe)], input=b"", capture_output=True, env=env).stdout == b"other\n"
    assert [i.step for i in read_log(log)] == [0, 0]
    assert json.loads((tmp_path / "out" / "plan.json").read_text())["log"] == str(log)
