"""The fake app-server's checks of the client side, through the real process: decisions, reply kinds, ids,
params, paths, ordering, interrupts, endings, redaction."""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.fake.appserver import (
    NO_REPLY,
    ErrorReply,
    Recording,
    ReplayReport,
    ScriptedClient,
    build_fake_appserver,
    load_recording,
    read_report,
    replay_recording,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "appserver"
SYNTHETIC = Path(__file__).resolve().parent.parent / "fixtures" / "synthetic" / "appserver"
ACCEPT = FIXTURES / "0.171.0" / "approval_cmd_untrusted_accept.jsonl"


def _request_index(rec: Recording, method: str, n: int = 0) -> int:
    return [m.index for m in rec.server_requests() if m.method == method][n]


def _replay(path: Path, *, timeout: float = 5.0, **client: Any) -> ReplayReport:
    result = replay_recording(path, ScriptedClient(timeout=20, **client), timeout=timeout)
    return result.report


# ---------------------------------------------------------------------------------------------- decisions
def test_a_different_decision_is_reported_at_the_reply_and_the_replay_stops_there(no_leaks: str) -> None:
    rec = load_recording(ACCEPT)
    req = _request_index(rec, "item/commandExecution/requestApproval")
    report = _replay(ACCEPT, reply_overrides={req: {"decision": "decline"}})
    div = report.divergence
    assert div is not None and div.reason == "reply_differs"
    reply = rec.reply_to(rec.messages[req])
    assert reply is not None and (div.index, div.seq) == (reply.index, reply.seq)
    assert div.method == "item/commandExecution/requestApproval"
    assert div.expected["result"] == {"decision": "accept"} and div.got["result"] == {"decision": "decline"}
    assert "decision" in div.detail
    # codex's reaction to another decision cannot be invented: nothing after the reply was sent
    sent = [m["msg"].get("method") for m in report.messages if m["dir"] == "s2c" and "msg" in m]
    assert sent[-1] == "item/commandExecution/requestApproval"
    assert "serverRequest/resolved" not in sent and "turn/completed" not in sent


def test_decision_is_validated_against_the_schema_enum_not_available_decisions(no_leaks: str) -> None:
    rec = load_recording(ACCEPT)
    req = _request_index(rec, "item/commandExecution/requestApproval")
    assert "acceptForSession" not in json.dumps(rec.messages[req].params["availableDecisions"])
    advisory = _replay(ACCEPT, reply_overrides={req: {"decision": "acceptForSession"}})
    assert advisory.divergence is not None and advisory.divergence.reason == "reply_differs"  # valid, just different
    invalid = _replay(ACCEPT, reply_overrides={req: {"decision": "approve"}})
    assert invalid.divergence is not None and invalid.divergence.reason == "invalid_reply"
    assert "decision" in invalid.divergence.detail
    assert invalid.replies[0]["valid"] is False and invalid.replies[0]["problems"]


@pytest.mark.parametrize(
    ("override", "reason", "got_kind"),
    [
        ({}, "reply_kind_differs", "empty"),
        (ErrorReply(-32000, "nope"), "reply_kind_differs", "error"),
        (NO_REPLY, "no_reply", "no_reply"),
    ],
)
def test_empty_error_and_no_reply_are_distinct_outcomes(no_leaks: str, override: Any, reason: str,
                                                        got_kind: str) -> None:
    rec = load_recording(ACCEPT)
    req = _request_index(rec, "item/commandExecution/requestApproval")
    report = _replay(ACCEPT, reply_overrides={req: override}, timeout=0.5)
    assert report.divergence is not None and report.divergence.reason == reason
    assert report.replies[0]["expected"] == "result" and report.replies[0]["got"] == got_kind
    if override is NO_REPLY:
        assert report.end == "timeout" and report.divergence.got is None


@pytest.mark.parametrize(
    ("name", "expected_kind"),
    [("approval_cmd_invalid_reply", "empty"), ("approval_cmd_error_reply", "error"),
     ("approval_cmd_no_reply_then_interrupt", "no_reply")],
)
def test_recorded_reply_kinds_replay_as_recorded(no_leaks: str, name: str, expected_kind: str) -> None:
    report = _replay(FIXTURES / "0.171.0" / f"{name}.jsonl")
    assert report.ok and report.complete
    assert [(r["expected"], r["got"]) for r in report.replies] == [(expected_kind, expected_kind)]


def test_error_replies_compare_by_code_not_by_message(no_leaks: str) -> None:
    path = FIXTURES / "0.171.0" / "approval_cmd_error_reply.jsonl"
    rec = load_recording(path)
    req = _request_index(rec, "item/commandExecution/requestApproval")
    assert _replay(path, reply_overrides={req: ErrorReply(-32000, "other words")}).ok
    other = _replay(path, reply_overrides={req: ErrorReply(-32601, "other code")})
    assert other.divergence is not None and other.divergence.reason == "reply_differs"


def test_dynamic_tool_result_where_the_recording_has_empty(no_leaks: str) -> None:
    path = FIXTURES / "0.171.0" / "dynamic_tool_empty_result.jsonl"
    rec = load_recording(path)
    req = _request_index(rec, "item/tool/call")
    report = _replay(path, reply_overrides={req: {"contentItems": [{"type": "inputText", "text": "x"}],
                                                  "success": True}})
    assert report.divergence is not None and report.divergence.reason == "reply_kind_differs"
    bad = _replay(path, reply_overrides={req: {"contentItems": "x"}})
    assert bad.divergence is not None and bad.replies[0]["problems"]


def test_a_reply_where_the_recording_never_replies(no_leaks: str) -> None:
    path = FIXTURES / "0.171.0" / "sdk" / "sdk_handler_raises.jsonl"
    rec = load_recording(path)
    assert _replay(path).ok  # the SDK never replied, then SIGTERMed codex: replays as recorded
    # a client that answers is not what was recorded (and codex's reaction is unknown)
    report = _replay_raw(path, lambda s: s.reply_to_first_request({"decision": "accept"}))
    assert report.divergence is not None and report.divergence.reason == "reply_kind_differs"
    assert "never answers" in report.divergence.detail
    del rec


# ---------------------------------------------------------------------------------------------- raw client
class RawSession:
    """A hand-driven client for cases the scripted client cannot express."""

    def __init__(self, codex: Path, cwd: Path) -> None:
        self.proc = subprocess.Popen([str(codex), "app-server", "--listen", "stdio://"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=cwd)
        self.cwd = cwd
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.received: list[dict[str, Any]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(b"")

    def send(self, obj: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(obj).encode() + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass

    def until(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any] | None:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                return None
            if not line:
                return None
            msg: dict[str, Any] = json.loads(line)
            self.received.append(msg)
            if pred(msg):
                return msg

    def handshake(self, rec: Recording, thread_params: dict[str, Any] | None = None) -> None:
        self.send({"id": 1, "method": "initialize", "params": rec.meta.initialize_params})
        self.until(lambda m: m.get("id") == 1)
        self.send({"method": "initialized"})
        params = dict(thread_params or rec.meta.thread_start_params or {})
        params["cwd"] = str(self.cwd)
        self.send({"id": 2, "method": "thread/start", "params": params})
        self.until(lambda m: m.get("id") == 2)

    def start_turn(self, rec: Recording) -> None:
        self.send({"id": 3, "method": "turn/start", "params": rec.meta.turn_start_params[0]})

    def reply_to_first_request(self, result: dict[str, Any]) -> None:
        rec = self.recording
        self.handshake(rec)
        self.start_turn(rec)
        req = self.until(lambda m: "method" in m and "id" in m)
        assert req is not None
        self.send({"id": req["id"], "result": result})

    recording: Recording

    def close(self) -> int:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        try:
            return self.proc.wait(5)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.reader.join(5)
            assert self.proc.stdout is not None
            self.proc.stdout.close()


@pytest.fixture
def raw(tmp_path: Path) -> Iterator[Callable[[Path, float], RawSession]]:
    sessions: list[RawSession] = []

    def make(path: Path, timeout: float = 5.0) -> RawSession:
        rec = load_recording(path)
        codex = build_fake_appserver(rec, tmp_path / f"fake{len(sessions)}", timeout=timeout,
                                     report_path=tmp_path / f"report{len(sessions)}.json")
        ws = tmp_path / f"ws{len(sessions)}"
        ws.mkdir()
        session = RawSession(codex, ws)
        session.recording = rec
        sessions.append(session)
        return session

    yield make
    for s in sessions:
        s.close()


def _report(session: RawSession) -> ReplayReport:
    return read_report(session.cwd.parent / f"report{session.cwd.name.removeprefix('ws')}.json")


def _replay_raw(path: Path, script: Callable[[RawSession], None]) -> ReplayReport:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rec = load_recording(path)
        codex = build_fake_appserver(rec, root / "fake", timeout=5, report_path=root / "r.json")
        (root / "ws").mkdir()
        session = RawSession(codex, root / "ws")
        session.recording = rec
        try:
            script(session)
        finally:
            session.close()
        return read_report(root / "r.json")


def test_unknown_and_duplicate_reply_ids_are_flagged(no_leaks: str, raw: Any) -> None:
    s = raw(ACCEPT)
    s.handshake(s.recording)
    s.start_turn(s.recording)
    req = s.until(lambda m: m.get("method") == "item/commandExecution/requestApproval")
    assert req is not None and req["id"] == 0  # server-request ids start at 0 per connection
    s.send({"id": 7, "result": {"decision": "accept"}})
    assert s.close() == 0
    report = _report(s)
    assert report.divergence is not None and report.divergence.reason == "unknown_reply_id"

    s2 = raw(ACCEPT)
    s2.handshake(s2.recording)
    s2.start_turn(s2.recording)
    s2.until(lambda m: m.get("method") == "item/commandExecution/requestApproval")
    s2.send({"id": 0, "result": {"decision": "accept"}})
    s2.until(lambda m: m.get("method") == "serverRequest/resolved")
    s2.send({"id": 0, "result": {"decision": "accept"}})
    assert s2.close() == 0
    report2 = _report(s2)
    assert report2.divergence is not None and report2.divergence.reason == "duplicate_reply"


def test_params_are_compared_loosely_but_not_ignored(no_leaks: str, raw: Any) -> None:
    s = raw(ACCEPT)
    rec = s.recording
    # clientInfo is volatile; the workspace path is the client's own
    s.send({"id": "x", "method": "initialize", "params": {"clientInfo": {"name": "other", "version": "9"},
                                                          "capabilities": {"experimentalApi": True}}})
    resp = s.until(lambda m: "id" in m and "method" not in m)
    assert resp is not None and resp["id"] == "x"  # echoed with its type
    s.send({"method": "initialized"})
    s.send({"id": 2, "method": "thread/start", "params": {**rec.meta.thread_start_params, "cwd": str(s.cwd),
                                                          "approvalPolicy": "never", "apiKey": "sk-secret1234567"}})
    assert s.close() == 0
    report = _report(s)
    div = report.divergence
    assert div is not None and div.reason == "params_differ" and div.method == "thread/start"
    assert "/approvalPolicy" in div.detail or "/apiKey" in div.detail
    assert "sk-secret1234567" not in json.dumps(report.to_dict())  # secrets never reach a report


def test_paths_are_rewritten_to_the_clients_workspace(no_leaks: str, raw: Any) -> None:
    s = raw(FIXTURES / "0.171.0" / "approval_patch_accept.jsonl")
    s.handshake(s.recording)
    s.start_turn(s.recording)
    s.until(lambda m: m.get("method") == "item/fileChange/requestApproval")
    s.close()
    text = json.dumps(s.received)
    assert "/srv/rec/ws" not in text and str(s.cwd) in text


def test_a_client_waiting_for_thread_started_before_turn_start_does_not_deadlock(no_leaks: str, raw: Any) -> None:
    """In 0.163.0 minimal_turn thread/started was recorded after the client's turn/start (§9 race)."""
    path = FIXTURES / "0.163.0" / "minimal_turn.jsonl"
    s = raw(path)
    rec = s.recording
    methods = [m.method for m in rec.messages]
    assert methods.index("thread/started") > methods.index("turn/start")
    s.handshake(rec)
    assert s.until(lambda m: m.get("method") == "thread/started", timeout=3) is not None
    s.start_turn(rec)
    assert s.until(lambda m: m.get("method") == "turn/completed") is not None
    assert s.close() == 0
    report = _report(s)
    assert report.ok and report.complete


def test_interrupt_while_a_request_is_pending_not_in_the_recording(no_leaks: str, raw: Any) -> None:
    s = raw(ACCEPT)
    rec = s.recording
    s.handshake(rec)
    s.start_turn(rec)
    req = s.until(lambda m: m.get("method") == "item/commandExecution/requestApproval")
    assert req is not None
    s.send({"id": 9, "method": "turn/interrupt", "params": {"threadId": req["params"]["threadId"],
                                                             "turnId": req["params"]["turnId"]}})
    done = s.until(lambda m: m.get("method") == "turn/completed")
    assert done is not None and done["params"]["turn"]["status"] == "interrupted"
    resolved = s.until(lambda m: m.get("method") == "serverRequest/resolved")  # after turn/completed (§4.3)
    assert resolved is not None and resolved["params"]["requestId"] == 0
    s.close()
    report = _report(s)
    assert report.divergence is not None and report.divergence.reason == "unrecorded_interrupt"


def test_eof_before_the_session_ends_and_sigterm_after_it(no_leaks: str, raw: Any) -> None:
    s = raw(ACCEPT)
    s.handshake(s.recording)
    assert s.close() == 0
    report = _report(s)
    assert report.divergence is not None and report.divergence.reason == "missing_message"
    assert report.divergence.method == "turn/start" and report.end == "eof"

    path = FIXTURES / "0.171.0" / "minimal_turn.jsonl"
    s2 = raw(path)
    s2.handshake(s2.recording)
    s2.start_turn(s2.recording)
    s2.until(lambda m: m.get("method") == "turn/completed")
    s2.proc.send_signal(signal.SIGTERM)
    assert s2.proc.wait(5) == 0
    report2 = _report(s2)
    assert report2.ok and report2.complete and report2.end == "sigterm"


def test_extra_and_malformed_client_messages(no_leaks: str, raw: Any) -> None:
    path = FIXTURES / "0.171.0" / "minimal_turn.jsonl"
    s = raw(path)
    s.handshake(s.recording)
    s.start_turn(s.recording)
    s.until(lambda m: m.get("method") == "turn/completed")
    s.send({"id": 99, "method": "thread/list", "params": {}})
    answer = s.until(lambda m: m.get("id") == 99)
    assert answer is not None and "error" in answer  # the offending request is answered, then the fake stops
    s.close()
    assert _report(s).divergence is not None and _report(s).divergence.reason == "extra_message"  # type: ignore[union-attr]

    s2 = raw(path)
    assert s2.proc.stdin is not None
    s2.proc.stdin.write(b"{not json\n")
    s2.proc.stdin.flush()
    s2.close()
    div = _report(s2).divergence
    assert div is not None and div.reason == "malformed_frame" and div.method == "initialize"


def test_the_report_lists_every_message_exchanged(no_leaks: str) -> None:
    report = _replay(ACCEPT)
    rec = load_recording(ACCEPT)
    assert report.ok and report.complete and report.end == "eof"
    assert len(report.messages) == len(rec.messages)
    assert [m["index"] for m in report.messages if m["dir"] == "c2s"] == [m.index for m in rec.client_messages()]
    assert report.scenario == "approval_cmd_untrusted_accept" and report.cli_version == "0.171.0"


def test_long_recorded_waits_are_not_waited_for(no_leaks: str) -> None:
    """approval_cmd_no_reply_long has a 180 s gap before the interrupt; replay is event-driven, so a 2 s client
    budget is plenty."""
    path = FIXTURES / "0.171.0" / "approval_cmd_no_reply_long.jsonl"
    rec = load_recording(path)
    assert rec.messages[-1].t - rec.messages[0].t > 100
    result = replay_recording(path, ScriptedClient(timeout=2.0), timeout=1.0)
    assert result.ok and result.outcome.completed


def test_the_fake_accepts_codex_argv_and_rejects_other_commands(no_leaks: str, tmp_path: Path) -> None:
    report_path = tmp_path / "r.json"
    codex = build_fake_appserver(ACCEPT, tmp_path / "fake", report_path=report_path)
    argv = [str(codex), "app-server", "--listen", "stdio://", "--config", 'model="gpt-5.5"', "-c", "x=1"]
    done = subprocess.run(argv, input=b"", capture_output=True, timeout=10, check=False)
    assert done.returncode == 0
    report = read_report(report_path)
    assert report.argv[-4:] == ("--config", 'model="gpt-5.5"', "-c", "x=1")
    assert report.divergence is not None and report.divergence.reason == "missing_message"
    wrong = subprocess.run([str(codex), "exec", "--json"], input=b"", capture_output=True, timeout=10, check=False)
    assert wrong.returncode == 2 and b"only serves `app-server`" in wrong.stderr
