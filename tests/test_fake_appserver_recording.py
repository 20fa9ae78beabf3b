"""The recording model: classification, derived meta, located errors; the package's public surface."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import harness.fake.appserver as pkg
from harness.fake.appserver import (
    MessageKind,
    RecordingError,
    causal_gates,
    discover_recordings,
    load_recording,
    parse_recording,
)

CORPUS = (Path(__file__).resolve().parents[1] / "fixtures" / "appserver")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "appserver"


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert pkg.__all__ == sorted(pkg.__all__)
    for name in pkg.__all__:
        assert getattr(pkg, name) is not None
    with pytest.raises(AttributeError):
        pkg.does_not_exist  # noqa: B018


def _line(seq: int, direction: str, msg: object) -> str:
    return json.dumps({"seq": seq, "t": seq / 10, "dir": direction, "msg": msg})


def test_every_message_kind_is_classified() -> None:
    rec = load_recording(FIXTURES / "0.171.0" / "approval_cmd_untrusted_accept.jsonl")
    kinds = {m.kind for m in rec.messages}
    assert kinds == set(MessageKind)
    reply = next(m for m in rec.messages if m.kind is MessageKind.CLIENT_REPLY)
    assert reply.method == "item/commandExecution/requestApproval"
    assert rec.messages[reply.answers].kind is MessageKind.SERVER_REQUEST  # type: ignore[index]
    response = next(m for m in rec.messages if m.kind is MessageKind.SERVER_RESPONSE)
    assert response.method == "initialize" and response.answers == 0
    assert rec.meta.cli_version == "0.171.0" and rec.name == "approval_cmd_untrusted_accept"
    assert rec.workspace == "/srv/rec/ws"


def test_meta_is_derived_from_the_messages_when_the_meta_file_lacks_it() -> None:
    rec = load_recording(FIXTURES / "0.171.0" / "sdk" / "sdk_handler_raises.jsonl")
    assert rec.meta.initialize_params is not None
    assert rec.meta.initialize_params["clientInfo"]["name"] == "codex_python_sdk"
    assert rec.meta.thread_start_params == {"cwd": "/srv/rec/ws", "approvalPolicy": "untrusted",
                                            "sandbox": "workspace-write"}
    assert rec.meta.turn_start_params[0]["input"][0]["text"] == "RUN: touch raise.txt"
    assert rec.meta.client_replies == ()  # the handler raised: no reply
    assert rec.notes and "argv" in rec.notes[0]
    assert rec.reply_to(rec.server_requests()[0]) is None


def test_corpus_meta_client_replies_agree_with_the_messages() -> None:
    for path in discover_recordings([CORPUS / "0.171.0", CORPUS / "0.163.0"]):
        rec = load_recording(path)
        recorded = rec.meta.raw.get("client_replies")
        if recorded is None:
            continue
        derived = [(r["request_id"], r["method"]) for r in rec.meta.client_replies]
        replied = [(r["request_id"], r["method"]) for r in recorded if "result" in r["action"] or
                   "error" in r["action"]]
        assert derived == replied, path


def test_thread_started_is_loose_but_responses_and_post_reply_messages_are_causal() -> None:
    rec = load_recording(FIXTURES / "0.163.0" / "minimal_turn.jsonl")
    gates = causal_gates(rec)
    by_method = {m.method: m for m in rec.messages if m.kind is MessageKind.CLIENT_REQUEST}
    started = next(m for m in rec.messages if m.method == "thread/started")
    assert started.index > by_method["turn/start"].index
    assert gates[started.index] == by_method["thread/start"].index  # not gated on turn/start
    turn_response = next(m for m in rec.messages if m.kind is MessageKind.SERVER_RESPONSE and m.method == "turn/start")
    assert gates[turn_response.index] == by_method["turn/start"].index
    accept = load_recording(FIXTURES / "0.171.0" / "approval_cmd_untrusted_accept.jsonl")
    reply = next(m for m in accept.messages if m.kind is MessageKind.CLIENT_REPLY)
    after = [m for m in accept.messages if m.index > reply.index]
    assert after and all(causal_gates(accept)[m.index] == reply.index for m in after)


@pytest.mark.parametrize(
    ("lines", "where"),
    [
        (["{nope"], "x.jsonl:1:2: invalid JSON"),
        (["[1]"], "x.jsonl:1: each line must be"),
        ([_line(0, "up", {"method": "a"})], "x.jsonl:1: dir: expected"),
        ([_line(0, "c2s", [])], "x.jsonl:1: msg: must be a JSON object"),
        ([_line(0, "c2s", {"params": {}})], "x.jsonl:1: msg: neither a request"),
        ([_line(0, "s2c", {"id": 1, "result": {}})], "x.jsonl:1: msg.id: response to id 1"),
        ([_line(0, "c2s", {"id": 1, "method": "a"}), _line(1, "c2s", {"id": 1, "method": "b"})],
         "x.jsonl:2: msg.id: duplicate request id 1"),
        ([_line(0, "c2s", {"id": 1.5, "method": "a"})], "x.jsonl:1: msg.id: must be an integer or a string"),
        ([_line(0, "c2s", {"id": 1, "method": "a"}), _line(1, "s2c", {"id": 1, "result": {}, "error": {}})],
         "x.jsonl:2: msg: a response needs exactly one"),
        ([_line(0, "c2s", {"id": 1, "method": "a"}), _line(1, "s2c", {"id": 1, "error": {"code": "x"}})],
         "x.jsonl:2: msg.error: must be an object"),
        ([json.dumps({"seq": "a", "dir": "c2s", "msg": {"method": "a"}})], "x.jsonl:1: seq: must be an integer"),
        ([json.dumps({"dir": "note", "msg": {"x": 1}})], "x.jsonl: no c2s/s2c messages"),
        ([json.dumps({"dir": "note", "msg": {"faults": 3}}), _line(0, "c2s", {"method": "a"})],
         "x.jsonl: note.faults: must be an object"),
    ],
)
def test_malformed_recordings_fail_with_a_located_error(lines: list[str], where: str) -> None:
    with pytest.raises(RecordingError) as info:
        parse_recording("\n".join(lines) + "\n", path="x.jsonl")
    assert str(info.value).startswith(where)


def test_unreadable_files_and_bad_meta(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot read recording"):
        load_recording(tmp_path / "missing.jsonl")
    (tmp_path / "a.jsonl").write_text(_line(0, "c2s", {"method": "initialized"}) + "\n")
    (tmp_path / "a.meta.json").write_text("{\n  bad")
    with pytest.raises(RecordingError) as info:
        load_recording(tmp_path / "a.jsonl")
    assert str(info.value).startswith(f"{tmp_path / 'a.meta.json'}:2: invalid meta JSON")
    (tmp_path / "a.meta.json").write_text('{"scenario": "named", "cli_version": "9.9.9"}')
    rec = load_recording(tmp_path / "a.jsonl")
    assert rec.name == "named" and rec.meta.cli_version == "9.9.9"
    with pytest.raises(RecordingError, match="no such file"):
        discover_recordings([tmp_path / "nowhere"])
