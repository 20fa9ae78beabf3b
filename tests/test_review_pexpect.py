"""``harness golden refresh --review`` through a real pseudo-terminal: single keypresses a, r, s.

The review reads raw keys (cbreak mode) when stdin is a TTY, which only a real pty exercises. The first
test drives the CLI over the stand-in backend (a tiny driver script swaps the seam, then calls the real
``main``); the second spawns the installed ``harness`` on real scenarios when the corpus has some.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from test_report_support import write_scenario

pexpect = pytest.importorskip("pexpect")

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
OBS = {"events": [{"type": "turn.completed"}], "error": None}
PROMPT = "quit > "

DRIVER = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
import harness.cli as cli
from test_report_support import standin_backend
cli.backend_factory = standin_backend
cli.main()
"""


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm"}


def _spawn(argv: list[str], cwd: Path) -> pexpect.spawn:
    child = pexpect.spawn(argv[0], argv[1:], cwd=str(cwd), env=_env(), encoding="utf-8", timeout=60)
    child.logfile_read = sys.stdout  # shown by pytest on failure
    return child


def _answer(child: pexpect.spawn, scenario_id: str, key: str, outcome: str) -> None:
    child.expect_exact(scenario_id)
    child.expect_exact(PROMPT)
    child.send(key)  # one key, no Enter: the terminal is in cbreak mode
    child.expect_exact(outcome)


def _golden(root: Path, scenario_id: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((root / f"{scenario_id}.json").read_text())
    return data


def test_review_accept_reject_skip_over_a_tty(tmp_path: Path) -> None:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    ids = ["area/one", "area/three", "area/two"]
    for scenario_id in ids:
        write_scenario(tmp_path / "scenarios", scenario_id, OBS)
    first = _spawn([sys.executable, str(driver), "golden", "refresh"], tmp_path)
    first.expect(pexpect.EOF)
    first.close()
    assert first.exitstatus == 0
    for scenario_id in ids:
        write_scenario(tmp_path / "scenarios", scenario_id, {**OBS, "result": f"new {scenario_id}"})

    child = _spawn([sys.executable, str(driver), "golden", "refresh", "--review"], tmp_path)
    child.expect_exact("area/one")
    child.expect_exact('+  "result": "new area/one"')  # the coloured diff is shown before the question
    child.expect_exact(PROMPT)
    child.send("x")  # an unknown key asks again
    child.expect_exact("press a, r, s or q")
    child.expect_exact(PROMPT)
    child.send("a")
    child.expect_exact("accepted: wrote golden for area/one")
    _answer(child, "area/three", "r", "rejected: kept the stored golden for area/three")
    _answer(child, "area/two", "s", "skipped: area/two left for later")
    child.expect(r"accepted\s*│\s*1")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    golden = tmp_path / "golden"
    assert _golden(golden, "area/one")["result"] == "new area/one"
    assert "result" not in _golden(golden, "area/three")
    assert "result" not in _golden(golden, "area/two")


def test_review_quit_leaves_the_rest(tmp_path: Path) -> None:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    for scenario_id in ("a/one", "a/two"):
        write_scenario(tmp_path / "scenarios", scenario_id, OBS)
    child = _spawn([sys.executable, str(driver), "golden", "refresh", "--review"], tmp_path)
    _answer(child, "a/one", "q", "quit: remaining goldens left untouched")
    child.expect(r"not reviewed\s*│\s*2")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert not (tmp_path / "golden").exists()


def _real_scenarios() -> list[Path]:
    root = REPO / "scenarios"
    return sorted(root.rglob("*.yaml"))[:3] if root.is_dir() else []


@pytest.mark.slow
def test_review_on_the_real_corpus(tmp_path: Path) -> None:
    """End to end with the real loader, runner and golden store: record, tamper, then review a / r / s."""
    # the console script of the interpreter running the tests (a venv's bin/ need not be on PATH)
    beside = Path(sys.executable).parent / "harness"
    harness_exe = str(beside) if beside.exists() else shutil.which("harness")
    files = _real_scenarios()
    assert harness_exe is not None, "the harness console script is installed with the package"
    assert len(files) >= 3, "the corpus has scenarios"
    # the project shape the loader expects: scenarios/ beside fixtures/ (fixture paths are relative to it)
    for file in files:
        target = tmp_path / "scenarios" / file.relative_to(REPO / "scenarios")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(file, target)
    (tmp_path / "fixtures").symlink_to(REPO / "fixtures", target_is_directory=True)
    args = ["golden", "refresh", "--scenarios", "scenarios", "--golden", "golden"]
    first = _spawn([harness_exe, *args], tmp_path)
    first.expect(pexpect.EOF, timeout=300)
    first.close()
    assert first.exitstatus == 0
    golden = tmp_path / "golden"
    ids = sorted(str(p.relative_to(golden).with_suffix("")) for p in golden.rglob("*.json"))
    assert len(ids) == 3
    for scenario_id in ids:
        path = golden / f"{scenario_id}.json"
        data = json.loads(path.read_text())
        data["observation"]["tampered"] = True
        path.write_text(json.dumps(data))
    tampered = {i: (golden / f"{i}.json").read_text() for i in ids}

    child = _spawn([harness_exe, *args, "--review"], tmp_path)
    _answer(child, ids[0], "a", f"accepted: wrote golden for {ids[0]}")
    _answer(child, ids[1], "r", f"rejected: kept the stored golden for {ids[1]}")
    _answer(child, ids[2], "s", f"skipped: {ids[2]} left for later")
    child.expect(pexpect.EOF, timeout=300)
    child.close()
    assert child.exitstatus == 0
    assert "tampered" not in json.loads((golden / f"{ids[0]}.json").read_text())["observation"]
    assert (golden / f"{ids[1]}.json").read_text() == tampered[ids[1]]
    assert (golden / f"{ids[2]}.json").read_text() == tampered[ids[2]]
