"""Typed app-server messages: every recorded message parses and re-serializes to the same JSON value; unknown
methods, item types and fields are preserved; malformed values are tolerated where the protocol may grow and
rejected where the frame is no JSON-RPC message at all."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import harness.reference.appserver as appserver
from harness.reference.appserver import AppServerProtocolError, build_input, parse_item, parse_message
from harness.reference.appserver.messages import (
    ITEM_TYPES,
    AgentMessageItem,
    ClientNotification,
    ClientRequest,
    ErrorResponse,
    ItemCompleted,
    Notification,
    Response,
    ServerRequest,
    TurnCompleted,
    UnknownItem,
    UnknownParams,
)
from harness.reference.errors import InvalidOptionsError

CORPUS = (Path(__file__).resolve().parents[1] / "fixtures" / "appserver")
RECORDINGS = sorted(
    [*CORPUS.glob("0.171.0/*.jsonl"), *CORPUS.glob("0.171.0/sdk/*.jsonl")]
    + [*CORPUS.glob("0.163.0/*.jsonl"), *CORPUS.glob("0.163.0/sdk/*.jsonl")]
)


def test_the_corpus_is_there() -> None:
    assert len(RECORDINGS) >= 27 + 33 + 24


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_recorded_message_round_trips(path: Path) -> None:
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["dir"] == "note":
            continue
        message = parse_message(record["msg"], record["dir"])
        assert message.to_dict() == record["msg"], f"seq {record['seq']}"
        params = getattr(message, "params", None)
        if isinstance(message, Notification | ServerRequest):
            # every method the recordings contain is modelled, and no recorded value was mistyped
            assert not isinstance(params, UnknownParams), message.method
            assert params is not None and params.invalid == frozenset()
        item = getattr(params, "item", None)
        if item is not None:
            assert not isinstance(item, UnknownItem) and item.invalid == frozenset()


def test_envelope_kinds_follow_direction() -> None:
    request = {"id": 0, "method": "item/tool/call", "params": {"tool": "t"}}
    assert isinstance(parse_message(request, "s2c"), ServerRequest)
    assert isinstance(parse_message(request, "c2s"), ClientRequest)
    assert isinstance(parse_message({"method": "initialized"}, "c2s"), ClientNotification)
    assert isinstance(parse_message({"id": "a", "result": {}}), Response)
    error = parse_message({"id": 3, "error": {"code": -32000, "message": "no"}})
    assert isinstance(error, ErrorResponse) and (error.error.code, error.error.message) == (-32000, "no")


def test_notification_fields_are_typed() -> None:
    wire = {
        "method": "turn/completed",
        "params": {"threadId": "T", "turn": {"id": "U", "status": "failed", "error": {"message": "boom"}, "items": []}},
        "emittedAtMs": 17,
    }
    message = parse_message(wire)
    assert isinstance(message, Notification) and isinstance(message.params, TurnCompleted)
    assert message.emitted_at_ms == 17 and (message.thread_id, message.turn_id) == ("T", "U")
    turn = message.params.turn
    assert turn is not None and turn.status == "failed" and turn.error is not None and turn.error.message == "boom"


def test_unknown_method_item_type_and_fields_are_preserved() -> None:
    wire = {"method": "future/thing", "params": {"a": [1, {"b": None}]}, "emittedAtMs": 1, "extra": True}
    message = parse_message(wire)
    assert isinstance(message, Notification) and isinstance(message.params, UnknownParams)
    assert message.to_dict() == wire
    item_wire = {"type": "hologram", "id": "i", "depth": 3}
    item = parse_item(item_wire)
    assert isinstance(item, UnknownItem) and item.UNKNOWN and item.to_dict() == item_wire
    known = {"type": "agentMessage", "id": "m", "text": "hi", "newField": {"x": 1}}
    parsed = parse_item(known)
    assert isinstance(parsed, AgentMessageItem) and parsed.text == "hi" and parsed.to_dict() == known


def test_mistyped_values_are_kept_verbatim() -> None:
    wire = {"method": "item/completed", "params": {"threadId": 5, "item": {"type": "agentMessage", "text": ["x"]}}}
    message = parse_message(wire)
    assert isinstance(message, Notification) and isinstance(message.params, ItemCompleted)
    assert message.params.thread_id is None and message.params.invalid == {"threadId"}
    item = message.params.item
    assert isinstance(item, AgentMessageItem) and item.text is None and item.invalid == {"text"}
    assert message.to_dict() == wire


def test_a_model_built_in_code_serializes_its_fields() -> None:
    item = AgentMessageItem(type="agentMessage", id="m", text="hi")
    assert item.to_dict() == {"type": "agentMessage", "id": "m", "text": "hi"}


@pytest.mark.parametrize(
    "frame",
    [
        [],
        "x",
        3,
        {"id": 1},
        {"method": 7},
        {"id": True, "result": 1},
        {"id": 1.5, "method": "m"},
        {"id": 1, "error": 2},
    ],
)
def test_non_messages_are_protocol_errors(frame: Any) -> None:
    with pytest.raises(AppServerProtocolError) as info:
        parse_message(frame)
    assert info.value.kind == "appserver_protocol"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["threadId", "turnId", "item", "turn", "status", "text", "id", "items", "error", "changes", "exitCode", "x"]
)


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["item/completed", "item/started", "turn/completed", "error", "thread/started", "zzz"]),
    params=st.dictionaries(field_names, json_values | st.dictionaries(field_names, json_values), max_size=6),
    item_type=st.sampled_from([*ITEM_TYPES, "unknown"]),
)
def test_any_params_round_trip(method: str, params: dict[str, Any], item_type: str) -> None:
    if isinstance(params.get("item"), dict):
        params["item"] = {**params["item"], "type": item_type}
    wire = {"method": method, "params": params, "emittedAtMs": 0}
    assert parse_message(wire).to_dict() == wire


def test_build_input_accepts_text_and_local_images(tmp_path: Path) -> None:
    image = tmp_path / "cat.png"
    assert build_input("hi") == [{"type": "text", "text": "hi"}]
    parts = build_input([{"type": "text", "text": "look"}, {"type": "local_image", "path": image}])
    assert parts == [{"type": "text", "text": "look"}, {"type": "localImage", "path": str(image)}]
    assert build_input([{"type": "localImage", "path": image}]) == [{"type": "localImage", "path": str(image)}]
    assert build_input([{"type": "image", "url": "u"}]) == [{"type": "image", "url": "u"}]


@pytest.mark.parametrize(
    ("value", "field"),
    [([{"type": "text"}], "input[0].text"), ([{"type": "localImage"}], "input[0].path"), (["x"], "input[0]")],
)
def test_build_input_rejects_malformed_parts(value: Any, field: str) -> None:
    with pytest.raises(InvalidOptionsError, match=field.replace("[", r"\[").replace("]", r"\]")):
        build_input(value)


@pytest.mark.parametrize(
    "module", ["", ".client", ".connection", ".errors", ".inputs", ".messages", ".thread", ".transport"]
)
def test_all_is_sorted_and_resolves(module: str) -> None:
    mod = importlib.import_module("harness.reference.appserver" + module)
    assert mod.__all__ == sorted(mod.__all__)
    assert [name for name in mod.__all__ if not hasattr(mod, name)] == []


def test_package_exports_the_client_surface() -> None:
    assert {"AppServerClient", "AppServerThread", "Connection", "NoReply", "RpcErrorReply", "Transport"} <= set(
        appserver.__all__
    )
