"""Leak probes on the app-server transport (issue #17): does an SDK leave ``codex app-server`` running when its
user closes the client mid-turn or with an approval pending?

- the fake app-server's own records (:mod:`harness.fake.appserver.lifecycle`): pid, process group, /proc
  starttime, and how it ended -- stdin closed, SIGTERM / SIGINT / SIGHUP (exit status as before), none for SIGKILL;
- ``close_client`` in the scenario loader and the portable case;
- the reference client leaves nothing in both probes (streamed and run mode);
- a deliberately leaky client behind the adapter protocol (``tests/leaky_adapters/appserver_leaky.py``) is
  reported as a ``leftover_process`` and the leftover is killed by the harness;
- each installed app-server peer in both probes: *measured* and printed, not asserted (it is the SDK's behaviour);
  only the harness's own promise -- nothing survives the observation -- is asserted.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import harness.fake.appserver as fake_appserver
from harness.adapters.connection import subprocess_connection
from harness.adapters.install import APPSERVER_PEERS, find_installed
from harness.adapters.registry import connector_for
from harness.errors import ScenarioError
from harness.fake.appserver import build_fake_appserver, read_process_log, read_report
from harness.fake.appserver.lifecycle import STDIN_CLOSED, proc_starttime
from harness.parity.matrix import AdapterDriver
from harness.scenario.leftover import alive
from harness.scenario.load import load_scenario
from harness.scenario.model import Mode, Scenario
from harness.scenario.runner import run_and_normalize
from harness.scenario.transports import transport_for

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = ROOT / "fixtures" / "synthetic" / "appserver" / "leak_probes"
PROBES = ("leak_close_turn", "leak_close_approval")
LEAKY = Path(__file__).resolve().parent / "leaky_adapters" / "appserver_leaky.py"
#: the last event each probe's client saw before it closed (the session ends there)
LAST_EVENT = {"leak_close_turn": "turn/started", "leak_close_approval": "item/started"}


def _scenario(name: str) -> Scenario:
    return load_scenario(ROOT / "scenarios" / "appserver" / f"{name}.yaml", root=ROOT / "scenarios")


# ------------------------------------------------------------------------------------------ the fake's records


def _spawn(codex: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([str(codex), "app-server", "--listen", "stdio://"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    assert proc.stderr is not None
    assert b"replaying" in proc.stderr.readline()  # written once its signal handlers are in place
    return proc


def _finish(proc: subprocess.Popen[bytes]) -> int:
    code = proc.wait(10)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    return code


@pytest.mark.parametrize(
    ("ending", "ended_by", "status"),
    [("eof", STDIN_CLOSED, 0), ("SIGTERM", "SIGTERM", 0), ("SIGINT", "SIGINT", -signal.SIGINT),
     ("SIGHUP", "SIGHUP", -signal.SIGHUP), ("SIGKILL", None, -signal.SIGKILL)],
)
def test_the_fake_records_who_it_is_and_how_it_ended(
    no_leaks: str, tmp_path: Path, ending: str, ended_by: str | None, status: int
) -> None:
    codex = build_fake_appserver(SESSIONS / "leak_close_turn.jsonl", tmp_path / "fake")
    proc = _spawn(codex)
    starttime = proc_starttime(proc.pid)
    if ending == "eof":
        assert proc.stdin is not None
        proc.stdin.close()
    else:
        proc.send_signal(getattr(signal, ending))
    assert _finish(proc) == status  # recording the ending does not change the exit status
    (life,) = read_process_log(tmp_path / "fake" / "process.jsonl")
    assert (life.process.pid, life.process.pgid, life.process.starttime) == (proc.pid, proc.pid, starttime)
    assert starttime is not None and life.ended_by == ended_by
    report_end = {"eof": "eof", "SIGTERM": "sigterm", "SIGINT": "sigint", "SIGHUP": "sighup"}.get(ending)
    if report_end is not None:
        assert read_report(tmp_path / "fake" / "report.json").end == report_end


def test_a_fake_left_waiting_has_written_its_report_so_far(no_leaks: str, tmp_path: Path) -> None:
    codex = build_fake_appserver(SESSIONS / "leak_close_turn.jsonl", tmp_path / "fake")
    recording = fake_appserver.load_recording(SESSIONS / "leak_close_turn.jsonl")
    proc = _spawn(codex)
    assert proc.stdin is not None and proc.stdout is not None
    for message in recording.messages:  # the client side, verbatim: the fake then has nothing left to do
        if message.kind.from_client:
            proc.stdin.write(json.dumps(message.msg).encode() + b"\n")
            proc.stdin.flush()
    while b"turn/started" not in proc.stdout.readline():
        pass
    report = tmp_path / "fake" / "report.json"
    deadline = time.monotonic() + 5
    while not report.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    provisional = read_report(report)
    assert provisional.end == "running" and provisional.complete and provisional.divergence is None
    proc.kill()
    assert _finish(proc) == -signal.SIGKILL
    assert read_process_log(tmp_path / "fake" / "process.jsonl")[0].ended_by is None
    assert read_report(report).complete  # what a killed fake leaves: the report as it was when it began to wait


def test_a_reused_pid_is_not_the_recorded_process(no_leaks: str, tmp_path: Path) -> None:
    codex = build_fake_appserver(SESSIONS / "leak_close_turn.jsonl", tmp_path / "fake")
    proc = _spawn(codex)
    (life,) = read_process_log(tmp_path / "fake" / "process.jsonl")
    assert alive(life.process.pid, life.process.starttime)
    assert life.process.starttime is not None
    assert not alive(life.process.pid, life.process.starttime + 1)  # same pid, another start: a stranger
    assert proc.stdin is not None
    proc.stdin.close()
    assert _finish(proc) == 0
    assert not alive(life.process.pid, life.process.starttime)


def test_the_sessions_are_prefixes_of_their_recordings() -> None:
    sources = {"leak_close_turn": "minimal_turn", "leak_close_approval": "approval_cmd_no_reply_then_interrupt"}
    for name, source in sources.items():
        cut = (SESSIONS / f"{name}.jsonl").read_text().splitlines()
        full = (ROOT / "fixtures" / "appserver" / "0.171.0" / f"{source}.jsonl").read_text().splitlines()
        assert 0 < len(cut) < len(full) and full[: len(cut)] == cut
        assert f"`{name}.jsonl`" in (SESSIONS / "README.md").read_text()


def test_public_names_are_sorted_and_resolve() -> None:
    from harness.fake.appserver import lifecycle
    from harness.scenario.transports import appserver_close

    for module in (fake_appserver, lifecycle, appserver_close):
        assert list(module.__all__) == sorted(module.__all__), module.__name__
        for name in module.__all__:
            assert getattr(module, name) is not None


# ------------------------------------------------------------------------------------------ loader and case


def _write(tmp_path: Path, body: str) -> Path:
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir(exist_ok=True)
    shutil.copy(SESSIONS / "leak_close_turn.jsonl", fixtures / "leak.jsonl")
    area = tmp_path / "scenarios" / "appserver"
    area.mkdir(parents=True, exist_ok=True)
    path = area / "probe.yaml"
    path.write_text(body)
    return path


_APPSERVER = "title: t\ntransport: app-server\nplan:\n  recording: fixtures/leak.jsonl\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("title: t\nplan:\n  steps:\n    - events: []\ninput: hi\nclose_client:\n  when: turn_started\n",
         "applies only to transport: app-server"),
        (_APPSERVER + "input: hi\nclose_client:\n  when: later\n", "close_client"),
        (_APPSERVER + "turns:\n  - input: a\n    close_client: {when: turn_started}\n  - input: b\n",
         "no turn can follow"),
        (_APPSERVER + "input: hi\ninterrupt: on_request\nclose_client:\n  when: approval_pending\n", "choose one"),
    ],
)
def test_bad_close_client_is_a_located_error(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, root=path.parent.parent)
    assert message in str(caught.value) and "probe.yaml" in str(caught.value)


def test_close_client_reaches_the_portable_case(tmp_path: Path) -> None:
    path = _write(tmp_path, _APPSERVER + "input: hi\nmode: streamed\nclose_client:\n  when: approval_pending\n")
    scenario = load_scenario(path, root=path.parent.parent)
    assert scenario.turns[0].close_client == "approval_pending"
    transport = transport_for(scenario)
    prepared = transport.prepare(scenario, tmp_path / "run")
    case = transport.case(scenario, prepared)
    assert case["turns"][0]["close_client"] == {"when": "approval_pending"}
    assert "leftover_process" in transport.parts


# ------------------------------------------------------------------------------------------ the reference


@pytest.mark.parametrize("mode", [Mode.STREAMED, Mode.RUN])
@pytest.mark.parametrize("name", PROBES)
def test_the_reference_leaves_nothing(no_leaks: str, tmp_path: Path, name: str, mode: Mode) -> None:
    scenario = _scenario(name)
    scenario = dataclasses.replace(scenario, turns=tuple(dataclasses.replace(t, mode=mode) for t in scenario.turns))
    observation = run_and_normalize(scenario, workdir=tmp_path)
    assert observation["leftover_process"] == [{"leftover": False, "signal": None}]
    (evidence,) = observation["process_evidence"]
    assert evidence["fake_ended_by"] == STDIN_CLOSED  # closed the pipe: no signal was needed
    assert observation["result"] is None and observation["error"] is None and observation["divergence"] is None
    methods = [event["method"] for event in observation["events"]]
    assert methods[-1:] == ([LAST_EVENT[name]] if mode is Mode.STREAMED else [])
    if name == "leak_close_approval":
        assert observation["replies"] == [{"method": "item/commandExecution/requestApproval", "kind": "no_reply"}]


# ------------------------------------------------------------------------------------------ adapters


def _observe_all(driver: AdapterDriver) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    try:
        for name in PROBES:
            got = driver.observe(_scenario(name))
            assert got.failure is None and got.observation is not None, (name, got)
            out[name] = got.observation
    finally:
        driver.close()
    return out


def _gone(observation: dict[str, Any]) -> bool:
    return all(not os.path.exists(f"/proc/{e['pid']}") or not alive(e["pid"], None)
               for e in observation["process_evidence"])


def test_a_leaky_client_is_detected_and_its_codex_killed(no_leaks: str) -> None:
    connect = functools.partial(subprocess_connection, [sys.executable, str(LEAKY)])
    observations = _observe_all(AdapterDriver("leaky-appserver", connect))
    for name, observation in observations.items():
        assert observation["leftover_process"] == [{"leftover": True, "signal": None}], name
        (evidence,) = observation["process_evidence"]
        assert evidence["ended_by"] == "harness" and evidence["fake_ended_by"] is None
        assert _gone(observation), name
        # what the fake saw up to then is intact: the leak shows as a leak, not as a lost report
        assert observation["divergence"] is None and observation["requests"][-1]["method"] == "turn/start"


def test_measure_the_app_server_peers(no_leaks: str, capsys: pytest.CaptureFixture[str]) -> None:
    rows: list[str] = []
    for peer_id in APPSERVER_PEERS:
        if find_installed(peer_id) is None:
            rows.append(f"| {peer_id} | not installed | |")
            continue
        observations = _observe_all(AdapterDriver(peer_id, connector_for(peer_id)))
        cells = []
        for name in PROBES:
            observation = observations[name]
            assert _gone(observation), (peer_id, name)  # whatever the SDK did, the harness leaves nothing
            cells.append("; ".join(
                f"{'LEAK' if e['leftover'] else 'ok'} ({e['fake_ended_by'] or e['ended_by']}, {e['alive_ms']:g} ms)"
                for e in observation["process_evidence"]) or "no codex started")
        rows.append(f"| {peer_id} | {cells[0]} | {cells[1]} |")
    with capsys.disabled():
        print("\n| app-server peer | close_client: turn_started | close_client: approval_pending |")
        print("|---|---|---|")
        print("\n".join(rows))
    assert len(rows) == len(APPSERVER_PEERS)
