"""``harness appserver replay``: exit statuses 0 / 1 / 2, text and JSON output, both drivers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.fake.appserver import DRIVERS, ScriptedClient, load_recording

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "appserver"
SYNTHETIC = Path(__file__).resolve().parent.parent / "fixtures" / "synthetic" / "appserver"
ACCEPT = FIXTURES / "0.171.0" / "approval_cmd_untrusted_accept.jsonl"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_exit_0_when_the_client_behaves_as_recorded(runner: CliRunner, no_leaks: str) -> None:
    from harness.fake.appserver import discover_recordings

    count = len(discover_recordings([FIXTURES / "0.163.0"]))
    assert count >= 30, "every 0.163.0 session of the corpus is copied into the fixtures"
    result = runner.invoke(app, ["appserver", "replay", str(FIXTURES / "0.163.0"), "--impl", "scripted"])
    assert result.exit_code == 0, result.output
    assert f"{count}/{count} recordings replayed as recorded (scripted)" in result.output


def test_reference_client_replays_the_fixtures(runner: CliRunner, no_leaks: str) -> None:
    paths = [FIXTURES / "0.171.0" / f"{n}.jsonl" for n in
             ("approval_cmd_untrusted_accept", "approval_cmd_no_reply_then_interrupt",
              "approval_cmd_reply_after_interrupt", "dynamic_tool_ok", "mcp_tool_call_onrequest_accept")]
    paths += [FIXTURES / "0.171.0" / "sdk" / "sdk_minimal.jsonl", SYNTHETIC / "two_turns_string_ids.jsonl",
              FIXTURES / "0.163.0" / "request_user_input_plan_mode.jsonl"]
    result = runner.invoke(app, ["appserver", "replay", *map(str, paths), "--impl", "reference", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and [r["ok"] for r in data["results"]] == [True] * len(paths)


def test_exit_1_with_the_first_differing_message(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                                 no_leaks: str) -> None:
    rec = load_recording(ACCEPT)
    req = rec.server_requests()[0].index
    monkeypatch.setitem(DRIVERS, "decliner",
                        lambda timeout: ScriptedClient(timeout=timeout, reply_overrides={req: {"decision": "decline"}}))
    result = runner.invoke(app, ["appserver", "replay", str(ACCEPT), str(FIXTURES / "0.171.0" / "minimal_turn.jsonl"),
                                 "--impl", "decliner", "--timeout", "2"])
    assert result.exit_code == 1, result.output
    reply = rec.reply_to(rec.server_requests()[0])
    assert reply is not None
    assert f"at message {reply.index} (seq {reply.seq}) item/commandExecution/requestApproval: reply_differs" \
        in result.output
    assert '"decision": "accept"' in result.output and '"decision": "decline"' in result.output
    assert "1/2 recordings replayed as recorded" in result.output
    as_json = runner.invoke(app, ["appserver", "replay", str(ACCEPT), "--impl", "decliner", "--json"])
    assert as_json.exit_code == 1
    div = json.loads(as_json.output)["results"][0]["divergence"]
    assert (div["index"], div["method"], div["reason"]) == (reply.index, reply.method, "reply_differs")


def test_exit_2_for_a_bad_recording_or_an_unknown_impl(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"seq": 0, "dir": "c2s", "msg": {"id": 1, "method": "initialize"}}\n{"dir": "s2c"}\n')
    result = runner.invoke(app, ["appserver", "replay", str(ACCEPT), str(bad), "--impl", "scripted"])
    assert result.exit_code == 2
    assert f"error: {bad}:2: msg: must be a JSON object" in result.output
    assert "Traceback" not in result.output
    unknown = runner.invoke(app, ["appserver", "replay", str(ACCEPT), "--impl", "nope"])
    assert unknown.exit_code == 2 and "unknown implementation 'nope'" in unknown.output
    missing = runner.invoke(app, ["appserver", "replay", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    empty = tmp_path / "empty"
    empty.mkdir()
    assert runner.invoke(app, ["appserver", "replay", str(empty)]).exit_code == 2
