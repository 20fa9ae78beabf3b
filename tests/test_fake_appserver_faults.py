"""Each fault of the fake app-server yields its documented outcome (synthetic sessions in
fixtures/synthetic/appserver/, whose README says what each one models)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.fake.appserver import (
    FaultError,
    Faults,
    ScriptedClient,
    load_recording,
    parse_faults,
    replay_recording,
)
from harness.fake.appserver.faults import CRASH_EXIT_CODE

SYNTHETIC = Path(__file__).resolve().parent.parent / "fixtures" / "synthetic" / "appserver"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "appserver"


def _sent_methods(report_messages: tuple[object, ...]) -> list[str | None]:
    return [m["msg"].get("method") for m in report_messages  # type: ignore[index]
            if m["dir"] == "s2c" and "msg" in m]  # type: ignore[index,operator]


def test_every_synthetic_session_has_a_readme_row_and_parses() -> None:
    readme = (SYNTHETIC / "README.md").read_text()
    rows = set(re.findall(r"^\| `([^`]+\.jsonl)`", readme, re.M))
    files = {p.name for p in SYNTHETIC.glob("*.jsonl")}
    assert rows == files
    for path in SYNTHETIC.glob("*.jsonl"):
        load_recording(path)


def test_hang_on_turn_start(no_leaks: str) -> None:
    result = replay_recording(SYNTHETIC / "hang_on_turn_start.jsonl", ScriptedClient(timeout=1.0), timeout=5)
    assert result.outcome.error == "timeout" and not result.outcome.completed
    report = result.report
    assert report.ok and not report.complete
    assert [e["fault"] for e in report.fault_events] == ["hang_on"]
    sent = _sent_methods(report.messages)
    assert "turn/started" not in sent and sent[-1] == "thread/started"


def test_never_answer_initialize(no_leaks: str) -> None:
    result = replay_recording(SYNTHETIC / "never_answer_initialize.jsonl", ScriptedClient(timeout=0.5), timeout=5)
    assert result.outcome.error == "timeout"
    assert [m["dir"] for m in result.report.messages] == ["c2s"]  # only the client's initialize
    assert result.report.fault_events[0]["method"] == "initialize"


def test_malformed_frame_then_the_session_continues(no_leaks: str) -> None:
    result = replay_recording(SYNTHETIC / "malformed_frame.jsonl", ScriptedClient(timeout=5), timeout=5)
    assert result.outcome.malformed == 1 and result.outcome.completed
    assert result.report.ok and result.report.complete
    raws = [m for m in result.report.messages if "raw" in m]
    assert len(raws) == 1 and raws[0]["dir"] == "s2c"


@pytest.mark.parametrize(("name", "last_sent"), [("crash_mid_turn", "turn/started"), ("crash_after", None)])
def test_crash_faults_exit_101_with_the_report_written(no_leaks: str, name: str, last_sent: str | None) -> None:
    result = replay_recording(SYNTHETIC / f"{name}.jsonl", ScriptedClient(timeout=5), timeout=5)
    assert result.outcome.exit_code == CRASH_EXIT_CODE and not result.outcome.completed
    assert "panicked" in result.outcome.stderr_tail
    assert result.report.end == "crash" and result.report.ok and not result.report.complete
    sent = _sent_methods(result.report.messages)
    if last_sent is None:
        assert len(sent) == 2  # the initialize and thread/start responses
    else:
        assert sent[-1] == last_sent


def test_unknown_notification_is_sent_once_and_the_session_completes(no_leaks: str) -> None:
    result = replay_recording(SYNTHETIC / "unknown_notification.jsonl", ScriptedClient(timeout=5), timeout=5)
    assert result.ok and result.report.complete
    sent = _sent_methods(result.report.messages)
    assert sent.count("codex/futureNotification") == 1
    assert sent.index("codex/futureNotification") == sent.index("turn/started") + 1


def test_unknown_request_gets_the_next_server_id_and_the_clients_answer_is_recorded(no_leaks: str) -> None:
    result = replay_recording(SYNTHETIC / "unknown_request.jsonl", ScriptedClient(timeout=5), timeout=5)
    assert result.ok and result.report.complete
    events = {e["fault"]: e for e in result.report.fault_events}
    assert events["unknown_method"]["message"]["id"] == 0
    assert events["unknown_method_reply"]["kind"] == "error"


def test_unknown_request_shifts_the_ids_of_recorded_server_requests(no_leaks: str) -> None:
    faults = {"unknown_method": {"method": "codex/futureRequest", "kind": "request", "after": "turn/started"}}
    path = FIXTURES / "0.163.0" / "approval_cmd_accept_twice.jsonl"
    result = replay_recording(path, ScriptedClient(timeout=5), timeout=5, faults=faults)
    assert result.ok and result.report.complete
    assert [r["id"] for r in result.report.replies] == [1, 2]  # recorded as 0 and 1
    resolved = [m["msg"]["params"]["requestId"] for m in result.report.messages
                if m["dir"] == "s2c" and m.get("msg", {}).get("method") == "serverRequest/resolved"]
    assert resolved == [1, 2]


def test_error_response_on_thread_start(no_leaks: str) -> None:
    result = replay_recording(SYNTHETIC / "error_response_thread_start.jsonl", ScriptedClient(timeout=0.5),
                              timeout=5)
    report = result.report
    assert report.ok and not report.complete
    errors = [m["msg"] for m in report.messages if m["dir"] == "s2c" and "error" in m.get("msg", {})]
    assert errors == [{"id": 2, "error": {"code": -32600, "message": "invalid thread/start (fake)"}}]
    assert "thread/started" not in _sent_methods(report.messages)


def test_faults_given_to_the_builder_override_the_recordings_own(no_leaks: str) -> None:
    result = replay_recording(SYNTHETIC / "hang_on_turn_start.jsonl", ScriptedClient(timeout=5), timeout=5,
                              faults={})
    assert result.ok and result.report.complete and result.report.fault_events == ()


def test_sessions_without_faults_replay_as_recorded(no_leaks: str) -> None:
    for name in ("two_turns_string_ids", "recorded_unknown_request"):
        result = replay_recording(SYNTHETIC / f"{name}.jsonl", ScriptedClient(timeout=5), timeout=5)
        assert result.ok and result.report.complete, result.report.divergence
    rec = load_recording(SYNTHETIC / "recorded_unknown_request.jsonl")
    req = rec.server_requests()[0].index
    other = replay_recording(rec, ScriptedClient(timeout=5, reply_overrides={req: {"ok": True}}), timeout=5)
    assert other.report.divergence is not None and other.report.divergence.reason == "reply_kind_differs"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"hang_on": 3}, "faults.hang_on"),
        ({"bogus": 1}, "faults"),
        ({"crash_after": -1}, "faults.crash_after"),
        ({"crash_mid_turn": "yes"}, "faults.crash_mid_turn"),
        ({"error_response": {"turn/start": {"code": "x"}}}, "faults.error_response.turn/start"),
        ({"unknown_method": {"kind": "telegram"}}, "faults.unknown_method"),
        ({"never_answer_initialize": True, "hang_on": "turn/start"}, "faults.never_answer_initialize"),
    ],
)
def test_bad_faults_are_located_errors(data: dict[str, object], field: str) -> None:
    with pytest.raises(FaultError) as info:
        parse_faults(data, path="x.jsonl", line=1)
    assert info.value.field == field and str(info.value).startswith("x.jsonl:1: ")


def test_fault_round_trip() -> None:
    faults = parse_faults({"never_answer_initialize": True, "malformed_frame_after": 2, "unknown_method": "a/b",
                           "error_response": {"turn/start": {"code": -1, "message": "m"}}})
    assert parse_faults(faults.to_dict()) == faults
    assert faults.hang_on == "initialize" and faults.any and not Faults().any


@pytest.mark.parametrize(
    ("name", "kind"),
    [("crash_mid_turn", "appserver_exited"), ("hang_on_turn_start", "appserver_timeout"),
     ("never_answer_initialize", "appserver_timeout"), ("error_response_thread_start", "jsonrpc_error"),
     ("unknown_request", None), ("unknown_notification", None)],
)
def test_the_reference_client_surfaces_each_fault_as_a_typed_error(no_leaks: str, name: str,
                                                                   kind: str | None) -> None:
    from harness.fake.appserver.reference_driver import ReferenceClientDriver

    result = replay_recording(SYNTHETIC / f"{name}.jsonl", ReferenceClientDriver(timeout=10, request_timeout=0.5),
                              timeout=5)
    assert result.outcome.error == kind
    assert result.outcome.completed is (kind is None)
    assert result.report.ok
