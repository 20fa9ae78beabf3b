"""Strict mode rejects what does not fit the typed model, with a reason naming the JSON path; tolerant mode
keeps everything. Non-JSON is an error in both."""

from __future__ import annotations

import pytest

from harness.reference import events as ev
from harness.reference.errors import EventParseError

STRICT_FAILURES = [
    ('{"type":"turn.progress"}', "unknown event type 'turn.progress'"),
    (
        '{"type":"item.completed","item":{"id":"i","type":"image_view"}}',
        "unknown `type` 'image_view' at `$.item`",
    ),
    ('{"type":"thread.started"}', "missing required field `$.thread_id`"),
    (
        '{"type":"item.completed","item":{"id":"i","type":"command_execution","command":"x"}}',
        "missing required field `$.item.aggregated_output`",
    ),
    ('{"type":"thread.started","thread_id":5}', "expected string at `$.thread_id`, got int"),
    (
        '{"type":"turn.completed","usage":{"input_tokens":"10","cached_input_tokens":0,"output_tokens":1}}',
        "expected int at `$.usage.input_tokens`, got str",
    ),
    (
        '{"type":"item.completed","item":{"id":"i","type":"file_change","changes":[{"path":"p","kind":"move"}],'
        '"status":"completed"}}',
        "unknown PatchChangeKind value 'move' at `$.item.changes[0].kind`",
    ),
    ('{"message":"no type"}', "missing or non-string `type`"),
]


@pytest.mark.parametrize(("line", "reason"), STRICT_FAILURES)
def test_strict_rejects_with_reason(line: str, reason: str) -> None:
    with pytest.raises(EventParseError) as info:
        ev.parse(line, strict=True)
    assert info.value.reason == reason
    assert str(info.value) == f"Failed to parse item: {line}"
    tolerant = ev.parse(line)  # tolerant mode keeps the line
    assert ev.serialize(tolerant) == line


@pytest.mark.parametrize(
    "line",
    [
        '{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1},"x":1}',
        '{"thread_id":"t","type":"thread.started"}',
        '{"type":"item.completed","item":{"id":"i","type":"web_search","id":"ws","query":"q"}}',
    ],
)
def test_strict_accepts_extra_fields_order_and_duplicate_id(line: str) -> None:
    assert ev.serialize(ev.parse(line, strict=True)) == line


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize(
    "line", ["", "not json", '{"type":"turn.started"', "[1,2]", '"text"', "NaN", '{"a":1} x']
)
def test_non_json_always_raises(line: str, strict: bool) -> None:
    with pytest.raises(EventParseError) as info:
        ev.parse(line, strict=strict)
    assert info.value.raw_line == line
    assert info.value.reason


def test_invalid_utf8_raises() -> None:
    with pytest.raises(EventParseError, match="Failed to parse item") as info:
        ev.parse(b'{"type":"error","message":"\xff"}')
    assert "UTF-8" in info.value.reason


def test_tolerant_misfits_are_kept_as_extra_fields() -> None:
    line = (
        '{"type":"item.completed","item":{"id":"i","type":"command_execution","exit_code":"3","status":"new"}}'
    )
    event = ev.parse(line)
    assert isinstance(event, ev.ItemCompletedEvent) and isinstance(event.item, ev.CommandExecutionItem)
    assert event.item.status == "new" and event.item.exit_code is None
    assert event.item.extra_fields == ev.ExtraFields({"exit_code": "3"})
    broken = ev.parse('{"type":"turn.failed","error":"boom"}')
    assert isinstance(broken, ev.UnknownEvent) and broken.type == "turn.failed"
