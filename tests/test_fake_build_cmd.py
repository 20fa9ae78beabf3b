"""``harness fake-codex build|launcher|ARGS…``: compile once from a shell, write the launcher, or pass through."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.fake import read_log
from harness.fake.testing import wait_no_leftovers


@pytest.fixture(autouse=True)
def no_leftovers(tmp_path: Path) -> Iterator[None]:
    yield
    assert not wait_no_leftovers(tmp_path)


def harness(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_FAKE_")}
    base["HARNESS_FAKE_CACHE"] = str(tmp_path / "cache")
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=base | env, cwd=tmp_path,
        timeout=60,
    )  # fmt: skip


def test_build_prints_the_executable_and_it_logs_beside_it(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text("steps:\n  - lines: [one]\n  - lines: [two]\n")
    result = harness(tmp_path, "fake-codex", "build", "plan.yaml", "-o", "out")
    assert result.returncode == 0, result.stderr
    exe = Path(result.stdout.strip())
    assert result.stdout == f"{tmp_path / 'out' / 'codex'}\n" and exe.is_absolute()
    outs = [subprocess.run([str(exe), "exec"], input=b"p", capture_output=True, env={}).stdout for _ in range(2)]
    assert outs == [b"one\n", b"two\n"]
    assert [i.step for i in read_log(tmp_path / "out" / "log.jsonl")] == [0, 1]
    again = harness(tmp_path, "fake-codex", "build", "plan.yaml", "-o", "out", "--log", "other.jsonl")
    assert again.returncode == 0, again.stderr
    subprocess.run([str(exe)], input=b"", capture_output=True, env={}, check=True)
    assert [i.step for i in read_log(tmp_path / "other.jsonl")] == [0]


def test_build_with_a_bad_plan_is_one_located_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text("description: x\nsteps: []\n")
    result = harness(tmp_path, "fake-codex", "build", "plan.yaml", "-o", "out")
    assert result.returncode == 2
    assert result.stderr == "error: plan.yaml:2:8: steps: a plan needs at least one step\n"
    assert result.stdout == "" and not (tmp_path / "out").exists()


def test_launcher_subcommand_writes_a_working_launcher(tmp_path: Path) -> None:
    result = harness(tmp_path, "fake-codex", "launcher", "-o", "bin/harness-fake-codex")
    assert result.returncode == 0, result.stderr
    launcher = Path(result.stdout.strip())
    assert launcher == tmp_path / "bin" / "harness-fake-codex"
    (tmp_path / "plan.yaml").write_text("steps:\n  - lines: [launched]\n")
    env = {"PATH": "/usr/bin:/bin", "HARNESS_FAKE_PLAN": str(tmp_path / "plan.yaml"),
           "HARNESS_FAKE_CACHE": str(tmp_path / "cache")}  # fmt: skip
    run = subprocess.run([str(launcher), "exec"], input=b"", capture_output=True, env=env, timeout=30)
    assert (run.returncode, run.stdout) == (0, b"launched\n")
    default = harness(tmp_path, "fake-codex", "launcher")
    assert default.stdout == f"{tmp_path / 'cache' / 'bin' / 'harness-fake-codex'}\n"


def test_other_arguments_pass_through_to_the_fake(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text("steps:\n  - lines: [passed]\n")
    log = tmp_path / "log.jsonl"
    result = harness(
        tmp_path, "fake-codex", "exec", "--json", "-o", "out", HARNESS_FAKE_PLAN="plan.yaml", HARNESS_FAKE_LOG=str(log)
    )
    assert (result.returncode, result.stdout) == (0, "passed\n")
    assert [i.argv for i in read_log(log)] == [("exec", "--json", "-o", "out")]
