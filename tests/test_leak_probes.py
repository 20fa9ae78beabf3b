"""Leak probes (issue #17, docs/leak-probes.md): the fake codex's own pid and end records, the harness's
leftover observation, the reference leaving nothing in any probe, and a deliberately leaky adapter caught in
every probe (and its leftovers killed: ``no_leaks``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.fake.codex import build_fake, load_plan
from harness.fake.codex.log import ProcessRecord, read_ends, read_log
from harness.scenario import load_all
from harness.scenario.leftover import alive, observe_processes, process_part

ROOT = Path(__file__).resolve().parents[1]
LEAKY = ROOT / "tests" / "leaky_adapters" / "exec_leaky.py"
EVENTS = [{"type": "thread.started", "thread_id": "t-1"}, {"type": "turn.started"},
          {"type": "turn.completed", "usage": {"input_tokens": 1, "cached_input_tokens": 0, "output_tokens": 1}}]


def _fake(tmp_path: Path, faults: dict[str, object] | None = None) -> tuple[Path, Path]:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps({"steps": [{"events": EVENTS, "faults": faults or {}}]}))
    log = tmp_path / "log.jsonl"
    return build_fake(load_plan(plan_file), tmp_path / "fake", log_path=log), log


def _spawn(exe: Path) -> subprocess.Popen[bytes]:
    child = subprocess.Popen([str(exe), "exec", "--json", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    child.stdin.close()
    child.stdout.readline()  # the fake has written its invocation record once its first line is out
    return child


def _reap(child: subprocess.Popen[bytes]) -> None:
    if child.stdout is not None:
        child.stdout.close()


def _record(log: Path) -> ProcessRecord:
    (invocation,) = read_log(log)
    assert invocation.process is not None
    return invocation.process


def test_a_normal_end_is_recorded_as_exit_with_the_fakes_own_pid(tmp_path: Path, no_leaks: str) -> None:
    exe, log = _fake(tmp_path)
    child = _spawn(exe)
    assert child.stdout is not None
    child.stdout.read()
    assert child.wait(timeout=10) == 0
    child.stdout.close()
    process = _record(log)
    assert process.pid == child.pid and process.starttime is not None
    assert read_ends(log) == {(child.pid, process.starttime): "exit"}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_is_recorded_and_the_exit_status_is_unchanged(tmp_path: Path, no_leaks: str, sig: int) -> None:
    exe, log = _fake(tmp_path, {"hang_after_line": 1})
    child = _spawn(exe)
    child.send_signal(sig)
    assert child.wait(timeout=10) == -sig
    _reap(child)
    process = _record(log)
    assert read_ends(log) == {(child.pid, process.starttime): signal.Signals(sig).name}


def test_sigkill_leaves_no_end_record_and_reads_as_sigkill(tmp_path: Path, no_leaks: str) -> None:
    exe, log = _fake(tmp_path, {"hang_after_line": 1, "ignore_sigterm": True})
    child = _spawn(exe)
    child.send_signal(signal.SIGTERM)  # ignored
    time.sleep(0.1)
    assert child.poll() is None
    child.kill()
    child.wait(timeout=10)
    _reap(child)
    (fate,) = observe_processes([_record(log)], read_ends(log), returned_at=time.monotonic())
    assert (fate.leftover, fate.ended_by) == (False, "SIGKILL")
    assert process_part([fate]) == [{"leftover": False, "signal": "SIGKILL"}]


def test_a_leftover_is_detected_after_the_grace_and_killed(tmp_path: Path, no_leaks: str) -> None:
    exe, log = _fake(tmp_path, {"hang_after_line": 1})
    child = _spawn(exe)
    process = _record(log)
    (fate,) = observe_processes([process], {}, returned_at=time.monotonic(), grace=0.2)
    assert fate.leftover and fate.ended_by == "harness" and fate.alive_ms >= 200
    assert process_part([fate]) == [{"leftover": True, "signal": None}]
    assert child.wait(timeout=10) == -signal.SIGKILL
    _reap(child)
    assert not alive(process.pid, process.starttime)


def test_a_reused_pid_is_never_taken_for_the_fake_nor_killed(no_leaks: str) -> None:
    stranger = ProcessRecord(pid=os.getpid(), pgid=os.getpgrp(), starttime=1)  # our pid, another start time
    assert not alive(stranger.pid, stranger.starttime)
    (fate,) = observe_processes([stranger], {}, returned_at=time.monotonic(), grace=0.05)
    assert not fate.leftover  # and we are still here


def _parity(tmp_path: Path, *args: str) -> list[dict[str, object]]:
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "harness", "parity", "-k", "leak and not appserver", "--out", str(out),
                    *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    rows = [json.loads(line) for line in (out / "parity.json").read_text().splitlines() if line.strip()]
    return [r for r in rows if "scenario" in r]


def test_the_reference_leaves_nothing_in_any_probe(tmp_path: Path, no_leaks: str) -> None:
    probes = [s.id for s in load_all(ROOT / "scenarios", tags=("leak",)) if not s.id.startswith("appserver/")]
    assert len(probes) >= 8
    results = _parity(tmp_path)
    assert sorted(r["scenario"] for r in results) == sorted(probes)
    for result in results:
        observation = result["observation"]
        assert isinstance(observation, dict)
        assert observation["leftover_process"] and not any(p["leftover"] for p in observation["leftover_process"])
        assert result["status"] == "passed", result["scenario"]


def test_a_leaky_adapter_is_caught_in_every_probe_and_its_codex_killed(tmp_path: Path, no_leaks: str) -> None:
    results = _parity(tmp_path, "--adapter", f"leaky={sys.executable} {LEAKY}", "--impl", "leaky")
    assert len(results) >= 8
    for result in results:
        assert result["status"] == "diverged", result["scenario"]
        paths = {leaf["path"] for leaf in result["leaves"]}  # type: ignore[union-attr]
        assert "leftover_process/0/leftover" in paths, (result["scenario"], paths)
        evidence = result["observation"]["process_evidence"]  # type: ignore[index]
        assert [e["ended_by"] for e in evidence] == ["harness"]
    md = (tmp_path / "out" / "parity.md").read_text()
    assert "## Leak probes" in md and "| leaky | leak/abort_hang, " in md
