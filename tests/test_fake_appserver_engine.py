"""The replay engine in-process (no subprocess, a fake clock): timeouts, causal holding, endings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.fake.appserver import Faults, MessageKind, ReplayEngine, load_recording

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "appserver"
ACCEPT = FIXTURES / "0.171.0" / "approval_cmd_untrusted_accept.jsonl"


class Wire:
    def __init__(self) -> None:
        self.lines: list[Any] = []

    def send_line(self, data: bytes) -> None:
        try:
            self.lines.append(json.loads(data))
        except json.JSONDecodeError:
            self.lines.append(data)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _engine(path: Path = ACCEPT, **kw: Any) -> tuple[ReplayEngine, Wire, Clock]:
    wire, clock = Wire(), Clock()
    engine = ReplayEngine(load_recording(path), wire, clock=clock, timeout=3.0, **kw)
    engine.start()
    return engine, wire, clock


def _send(engine: ReplayEngine, msg: dict[str, Any]) -> None:
    engine.on_line(json.dumps(msg).encode() + b"\n")


def _client_until_reply(engine: ReplayEngine) -> None:
    rec = engine.recording
    for m in rec.client_messages():
        if m.kind is MessageKind.CLIENT_REPLY:
            return
        _send(engine, dict(m.msg))


def test_nothing_is_sent_before_the_client_speaks_and_responses_wait_for_requests() -> None:
    engine, wire, _ = _engine()
    assert wire.lines == [] and engine.next_deadline() == 100.0 + 3.0
    _send(engine, dict(engine.recording.messages[0].msg))
    # the initialize response, then the notifications recorded before thread/start's response (loose: they
    # wait for nothing the client has not sent); the thread/start response itself waits for its request
    assert wire.lines[0] == {"id": 1, "result": engine.recording.messages[1].msg["result"]}
    assert [m.get("method") for m in wire.lines[1:]] == ["configWarning", "remoteControl/status/changed"]


def test_no_reply_is_reported_at_the_deadline_without_waiting() -> None:
    engine, wire, clock = _engine()
    _client_until_reply(engine)
    assert wire.lines[-1]["method"] == "item/commandExecution/requestApproval"
    deadline = engine.next_deadline()
    assert deadline is not None
    clock.now = deadline - 0.01
    engine.on_tick()
    assert not engine.finished
    clock.now = deadline
    engine.on_tick()
    assert engine.finished and engine.end == "timeout"
    assert engine.divergence is not None and engine.divergence.reason == "no_reply"
    assert engine.report().replies[0]["got"] == "no_reply"


def test_a_silent_client_times_out_on_its_next_request() -> None:
    engine, _, clock = _engine()
    _send(engine, dict(engine.recording.messages[0].msg))
    clock.now += 3.0
    engine.on_tick()
    assert engine.divergence is not None and engine.divergence.reason == "timeout"
    assert engine.divergence.method == "initialized"


def test_hang_has_no_deadline_and_eof_ends_cleanly() -> None:
    engine, wire, _ = _engine(faults=Faults(hang_on="initialize"))
    _send(engine, dict(engine.recording.messages[0].msg))
    assert wire.lines == [] and engine.next_deadline() is None
    engine.on_eof()
    assert engine.finished and engine.exit_code == 0 and engine.divergence is None
    assert not engine.report().complete


def test_ids_of_the_fake_and_the_client_are_kept_apart() -> None:
    engine, wire, _ = _engine()
    rec = engine.recording
    for m in rec.client_messages():
        if m.kind is MessageKind.CLIENT_REPLY:
            request = wire.lines[-1]
            _send(engine, {"id": request["id"], "result": {"decision": "accept"}})
        else:
            msg = dict(m.msg)
            if "id" in msg:
                msg["id"] = f"mine-{msg['id']}"
            _send(engine, msg)
    assert engine.complete
    responses = [m["id"] for m in wire.lines if "method" not in m]
    assert responses == ["mine-1", "mine-2", "mine-3"]
    engine.on_terminate()
    assert engine.end == "sigterm" and engine.report().ok


def test_report_is_redacted_and_json_serialisable() -> None:
    engine, _, _ = _engine()
    _send(engine, {"id": 1, "method": "initialize", "params": {"clientInfo": {}, "capabilities": {},
                                                               "token": "hunter2-hunter2"}})
    text = json.dumps(engine.report().to_dict())
    assert "hunter2" not in text and "params_differ" in text
