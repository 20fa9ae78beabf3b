"""Harness failures reach the user as one ``error:`` line on stderr, exit status 2, never a traceback.

These run the real console entry point in a subprocess, since the point is what a shell user sees.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_report_support import make_report, make_result

from harness.report.writer import to_jsonl


def harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "error: bad.json: empty report: no header, no results"),
        ("not json\n", "error: bad.json:1:1: not a JSON line: Expecting value"),
        (None, "error: bad.json:2: missing footer: the run that wrote this report did not finish"),
    ],
)
def test_bad_report_is_one_line_exit_2(tmp_path: Path, content: str | None, message: str) -> None:
    good = to_jsonl(make_report([make_result("a")]))
    (tmp_path / "good.json").write_text(good)
    (tmp_path / "bad.json").write_text(
        good.splitlines()[0] + "\n" + good.splitlines()[1] + "\n" if content is None else content
    )
    proc = harness("diff", "good.json", "bad.json", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == message + "\n"
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout == ""


def test_missing_report_file(tmp_path: Path) -> None:
    proc = harness("diff", "a.json", "b.json", cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (2, "error: a.json: no such report file\n")


def test_usage_error_is_not_exit_2_from_harness_but_click(tmp_path: Path) -> None:
    proc = harness("diff", cwd=tmp_path)
    assert proc.returncode == 2  # click's usage error status
    assert "Traceback" not in proc.stderr


def test_version_via_module(tmp_path: Path) -> None:
    proc = harness("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("harness ")
