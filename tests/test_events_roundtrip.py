"""Byte-exact round trip and typed access over every real and synthetic transcript line.

Real lines are the contract (``serialize(parse(line)) == line``, and an event rebuilt in code from the same
values prints the same line); synthetic lines cover shapes the corpus lacks, including non-canonical ones that
only the exact slow path can reproduce.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from json_support import has_duplicate_keys

from harness.reference import events as ev
from harness.reference._node import Node

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _lines(kind: str, pattern: str) -> list[tuple[str, bytes]]:
    cases = []
    for path in sorted((FIXTURES / kind).glob(pattern)):
        for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
            if line:
                cases.append((f"{path.relative_to(FIXTURES / kind)}:{number}", line))
    return cases


REAL = _lines("real", "*/*.jsonl")  # transcripts only, not the wire/ request logs
SYNTHETIC = _lines("synthetic", "*.jsonl")


def _rebuild(value: Any) -> Any:
    """The same data constructed in code: every node re-created from its field values, without a layout."""
    if isinstance(value, Node):
        names = [n for n in type(value).__struct_fields__ if n != "_layout"]
        return type(value)(**{n: _rebuild(getattr(value, n)) for n in names})
    if isinstance(value, tuple):
        return tuple(_rebuild(v) for v in value)
    if isinstance(value, dict) and value and all(isinstance(v, Node) for v in value.values()):
        return {k: _rebuild(v) for k, v in value.items()}
    return value


def test_corpus_is_not_empty() -> None:
    assert len(REAL) > 150
    assert len(SYNTHETIC) > 50


@pytest.mark.parametrize(("where", "line"), REAL, ids=[w for w, _ in REAL])
def test_real_line_round_trips_and_rebuilds(where: str, line: bytes) -> None:
    event = ev.parse(line)
    assert not isinstance(event, ev.UnknownEvent)
    assert ev.serialize(event).encode() == line
    assert ev.parse(line.decode()) == event  # str input, same result
    if has_duplicate_keys(line):
        # web_search items carry two "id" keys (item id, then the call id): only the exact layout kept by
        # parse() can print that line again; a value built in code has one id, as any JSON writer would.
        assert msgspec.json.encode(_rebuild(event)) != line
        return
    rebuilt = _rebuild(event)
    assert rebuilt == event
    assert ev.serialize(rebuilt).encode() == line
    assert msgspec.json.encode(rebuilt) == line  # real lines never need the exact writer


@pytest.mark.parametrize(("where", "line"), SYNTHETIC, ids=[w for w, _ in SYNTHETIC])
def test_synthetic_line_round_trips(where: str, line: bytes) -> None:
    event = ev.parse(line)
    assert ev.serialize(event).encode() == line
    assert ev.parse(ev.serialize(event)) == event


def test_typed_access_on_real_shell_transcript() -> None:
    lines = (FIXTURES / "real" / "0.169.0" / "shell_ok.jsonl").read_bytes().splitlines()
    events = [ev.parse(line) for line in lines]
    assert isinstance(events[0], ev.ThreadStartedEvent) and events[0].thread_id
    started = events[2]
    assert isinstance(started, ev.ItemStartedEvent)
    assert isinstance(started.item, ev.CommandExecutionItem)
    assert started.item.status is ev.CommandExecutionStatus.IN_PROGRESS
    assert started.item.exit_code is None
    done = next(e for e in events if isinstance(e, ev.TurnCompletedEvent))
    assert done.usage.input_tokens == 30 and done.usage.output_tokens == 12
    assert done.usage.reasoning_output_tokens == 0 and done.usage.cache_write_input_tokens == 0


def test_typed_access_on_real_mcp_and_patch_transcripts() -> None:
    mcp = [ev.parse(x) for x in (FIXTURES / "real/0.169.0/mcp_tool_call.jsonl").read_bytes().splitlines()]
    item = mcp[3].item  # type: ignore[union-attr]
    assert isinstance(item, ev.McpToolCallItem)
    assert item.status is ev.McpToolCallStatus.COMPLETED
    assert item.result is not None and item.result.structured_content == {"echoed": "hi from the model"}
    assert item.result.meta is msgspec.UNSET and item.arguments == {"text": "hi from the model"}
    patch = [ev.parse(x) for x in (FIXTURES / "real/0.169.0/apply_patch_add.jsonl").read_bytes().splitlines()]
    change = next(
        e.item for e in patch if isinstance(e, ev.ItemCompletedEvent) and isinstance(e.item, ev.FileChangeItem)
    )
    assert isinstance(change, ev.FileChangeItem)
    assert change.changes[0].kind is ev.PatchChangeKind.ADD and change.changes[0].path.endswith("hello.txt")


def test_typed_access_on_synthetic_shapes() -> None:
    web = [ev.parse(x) for x in (FIXTURES / "synthetic/web_search.jsonl").read_bytes().splitlines()]
    item = web[3].item  # type: ignore[union-attr]
    assert isinstance(item, ev.WebSearchItem)
    assert (item.id, item.provider_id, item.query) == ("item_0", "ws_1", "codex cli")
    assert isinstance(item.action, ev.WebSearchActionSearch) and item.action.query == "codex cli"
    old = web[7].item  # type: ignore[union-attr]
    assert isinstance(old, ev.WebSearchItem) and old.provider_id is msgspec.UNSET and old.action is msgspec.UNSET

    collab = ev.parse((FIXTURES / "synthetic/collab_tool_call.jsonl").read_bytes().splitlines()[2])
    assert isinstance(collab, ev.ItemCompletedEvent) and isinstance(collab.item, ev.CollabToolCallItem)
    assert collab.item.tool is ev.CollabTool.WAIT
    assert collab.item.agents_states["thr_child"].status is ev.CollabAgentStatus.COMPLETED

    legacy = ev.parse((FIXTURES / "synthetic/legacy_usage_0.47.jsonl").read_bytes().splitlines()[3])
    assert isinstance(legacy, ev.TurnCompletedEvent)
    assert legacy.usage.reasoning_output_tokens is msgspec.UNSET
    assert legacy.usage.cache_write_input_tokens is msgspec.UNSET

    meta = ev.parse((FIXTURES / "synthetic/mcp_meta.jsonl").read_bytes().splitlines()[0])
    assert isinstance(meta, ev.ItemCompletedEvent) and isinstance(meta.item, ev.McpToolCallItem)
    assert meta.item.result is not None and meta.item.result.meta == {
        "progressToken": 7,
        "trace": {"id": "abc"},
    }


def test_unknown_shapes_are_kept() -> None:
    lines = (FIXTURES / "synthetic/unknown.jsonl").read_bytes().splitlines()
    fork = ev.parse(lines[0])
    assert isinstance(fork, ev.UnknownEvent)
    assert fork.type == "turn.progress" and dict(fork.fields) == {"percent": 40, "note": "fork-only event"}
    item_event = ev.parse(lines[2])
    assert isinstance(item_event, ev.ItemCompletedEvent) and isinstance(item_event.item, ev.UnknownItem)
    assert item_event.item.type == "image_view" and item_event.item.fields["size"] == [1, 1]
    done = ev.parse(lines[3])
    assert isinstance(done, ev.TurnCompletedEvent) and done.usage.input_tokens == 10
    assert done.extra_fields == ev.ExtraFields({"turn_id": "turn_1", "status": "completed", "duration_ms": 1234})
    patch = ev.parse(lines[4])
    assert isinstance(patch, ev.ItemCompletedEvent) and isinstance(patch.item, ev.FileChangeItem)
    assert patch.item.changes[0].extra_fields == ev.ExtraFields({"diff": "+hello\n"})


def test_extension_events() -> None:
    lines = (FIXTURES / "synthetic/extensions.jsonl").read_bytes().splitlines()
    parsed = [ev.parse(x) for x in lines]
    kinds = [type(e) for e in parsed]
    assert kinds[:5] == [
        ev.TurnContinuationEvent,
        ev.ToolCallRequiredEvent,
        ev.ToolCallCompletedEvent,
        ev.AgentMessageDeltaEvent,
        ev.InputTextDeltaEvent,
    ]
    slash, dotted, camel = parsed[5], parsed[6], parsed[7]
    assert isinstance(slash, ev.ThreadTokenUsageUpdatedEvent) and isinstance(dotted, ev.ThreadTokenUsageUpdatedEvent)
    assert slash.type == "thread/tokenUsage/updated" and dotted.type == "thread.tokenUsage.updated"
    assert isinstance(slash.token_usage, ev.ThreadTokenUsage)
    assert isinstance(slash.token_usage.total, ev.TokenUsageBreakdown) and slash.token_usage.total.total_tokens == 15
    assert isinstance(camel, ev.ThreadTokenUsageUpdatedEvent) and camel.extra_fields is not msgspec.UNSET
    assert camel.extra_fields["threadId"] == "thr_1"
    assert isinstance(parsed[8], ev.TurnDiffUpdatedEvent) and parsed[8].diff.startswith("--- a/x")
    required = parsed[1]
    assert isinstance(required, ev.ToolCallRequiredEvent) and required.arguments == {"city": "Paris"}


def test_noncanonical_values_keep_their_tokens_but_compare_as_values() -> None:
    line = '{"type":"error","message":"caf\\u00e9 \\/"}'
    event = ev.parse(line)
    assert isinstance(event, ev.ThreadErrorEvent) and event.message == "café /"
    assert ev.serialize(event) == line
    assert event == ev.ThreadErrorEvent(message="café /")  # layout and raw tokens do not affect equality
    assert ev.serialize(ev.ThreadErrorEvent(message="café /")) == '{"type":"error","message":"café /"}'
    reordered = ev.parse('{"thread_id":"t","type":"thread.started"}')
    assert reordered == ev.ThreadStartedEvent(thread_id="t")
    assert ev.serialize(reordered) == '{"thread_id":"t","type":"thread.started"}'


def test_replace_on_a_slow_path_event_keeps_layout_and_writes_changes() -> None:
    event = ev.parse('{"thread_id":"t","type":"thread.started","x":1}')
    assert isinstance(event, ev.ThreadStartedEvent)
    changed = msgspec.structs.replace(event, thread_id="u")
    assert ev.serialize(changed) == '{"thread_id":"u","type":"thread.started","x":1}'
    item_line = '{"type":"item.completed","item":{"type":"agent_message","id":"i"}}'
    item_event = ev.parse(item_line)
    assert isinstance(item_event, ev.ItemCompletedEvent)
    assert ev.serialize(item_event) == item_line  # the missing text stays missing
    with_text = msgspec.structs.replace(item_event, item=msgspec.structs.replace(item_event.item, text="hi"))
    assert ev.serialize(with_text) == '{"type":"item.completed","item":{"type":"agent_message","id":"i","text":"hi"}}'


def test_events_built_in_code_print_what_the_cli_prints() -> None:
    cases: list[tuple[ev.ThreadEvent, str]] = [
        (ev.TurnStartedEvent(), '{"type":"turn.started"}'),
        (
            ev.ItemStartedEvent(item=ev.CommandExecutionItem(id="item_0", command="ls")),
            '{"type":"item.started","item":{"id":"item_0","type":"command_execution","command":"ls",'
            '"aggregated_output":"","exit_code":null,"status":"in_progress"}}',
        ),
        (
            ev.ItemCompletedEvent(
                item=ev.McpToolCallItem(
                    id="item_1",
                    server="s",
                    tool="t",
                    result=ev.McpToolCallResult(content=[], meta={"a": 1}),
                    status=ev.McpToolCallStatus.COMPLETED,
                )
            ),
            '{"type":"item.completed","item":{"id":"item_1","type":"mcp_tool_call","server":"s","tool":"t",'
            '"arguments":null,"result":{"content":[],"_meta":{"a":1},"structured_content":null},"error":null,'
            '"status":"completed"}}',
        ),
        (
            ev.ItemCompletedEvent(
                item=ev.WebSearchItem(
                    id="item_3", provider_id="ws_1", query="q", action=ev.WebSearchActionSearch(query="q")
                )
            ),
            '{"type":"item.completed","item":{"id":"item_3","type":"web_search","id":"ws_1","query":"q",'
            '"action":{"type":"search","query":"q"}}}',
        ),
        (
            ev.TurnCompletedEvent(usage=ev.Usage(input_tokens=10, cached_input_tokens=0, output_tokens=5)),
            '{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":0,'
            '"cache_write_input_tokens":0,"output_tokens":5,"reasoning_output_tokens":0}}',
        ),
        (
            ev.TurnCompletedEvent(
                usage=ev.Usage(
                    input_tokens=10,
                    cached_input_tokens=0,
                    output_tokens=5,
                    cache_write_input_tokens=msgspec.UNSET,
                    reasoning_output_tokens=msgspec.UNSET,
                )
            ),
            '{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":0,"output_tokens":5}}',
        ),
        (
            ev.UnknownEvent(type="x.y", fields=ev.ExtraFields([("a", 1), ("a", 2)])),
            '{"type":"x.y","a":1,"a":2}',
        ),
        (
            ev.ThreadTokenUsageUpdatedEvent(type="thread.tokenUsage.updated", thread_id="t"),
            '{"type":"thread.tokenUsage.updated","thread_id":"t"}',
        ),
    ]
    for event, line in cases:
        assert ev.serialize(event) == line
        assert ev.parse(line) == event


def test_item_helpers() -> None:
    line = '{"id":"item_3","type":"web_search","id":"ws_1","query":"q","action":{"type":"other"}}'
    item = ev.parse_item(line)
    assert isinstance(item, ev.WebSearchItem) and item.provider_id == "ws_1"
    assert ev.serialize_item(item) == line
    message = ev.parse_item(b'{"id":"item_0","type":"agent_message","text":"hi"}')
    assert message == ev.AgentMessageItem(id="item_0", text="hi")
    assert ev.serialize_item(message) == '{"id":"item_0","type":"agent_message","text":"hi"}'


def test_huge_command_execution_line() -> None:
    output = "".join(f"{n}\n" for n in range(1, 40001))
    item = ev.CommandExecutionItem(
        id="item_0",
        command="/bin/bash -lc 'seq 1 40000'",
        aggregated_output=output,
        exit_code=0,
        status=ev.CommandExecutionStatus.COMPLETED,
    )
    line = ev.serialize(ev.ItemCompletedEvent(item=item))
    assert len(line.encode()) > 260_000  # the 269,124-byte line of exec-protocol.md §1, give or take the command
    event = ev.parse(line.encode())
    assert isinstance(event, ev.ItemCompletedEvent) and event.item == item
    assert ev.serialize(event) == line


def test_line_terminators_are_ignored() -> None:
    line = b'{"type":"turn.started"}'
    assert ev.parse(line + b"\n") == ev.parse(line + b"\r\n") == ev.parse(line.decode() + "\r\n")
    assert ev.serialize(ev.parse(line + b"\r\n")) == line.decode()


def test_lone_surrogate_escape_round_trips() -> None:
    line = '{"type":"error","message":"\\ud800 half"}'
    event = ev.parse(line)
    assert isinstance(event, ev.ThreadErrorEvent) and event.message == "\ud800 half"
    assert ev.serialize(event) == line


def test_to_builtins_gives_plain_data_of_any_typed_value() -> None:
    legacy = ev.parse('{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":2}}')
    assert isinstance(legacy, ev.TurnCompletedEvent)
    assert ev.to_builtins(legacy.usage) == {"input_tokens": 1, "cached_input_tokens": 0, "output_tokens": 2}
    web = ev.parse(
        '{"type":"item.completed","item":{"id":"item_3","type":"web_search","id":"ws_1","query":"q",'
        '"action":{"type":"search","query":"q"}}}'
    )
    assert isinstance(web, ev.ItemCompletedEvent)
    assert (
        ev.to_json(web.item)
        == '{"id":"item_3","type":"web_search","id":"ws_1","query":"q","action":{"type":"search","query":"q"}}'
    )
    assert ev.to_builtins(web.item)["id"] == "ws_1"  # json.loads semantics: the last duplicate wins
    assert ev.to_builtins(None) is None
