"""The fast path of ``parse``: taken for every canonical line (real transcripts, every known item type under
every item event, str and bytes, with or without a terminator), refused for every non-canonical form (which the
exact slow path then reproduces), and indistinguishable in result from the slow path.

Which path ran is observable without peeking at timings: only the exact builder records a ``Layout`` on a node,
so a fast-path event has ``_layout`` UNSET everywhere in its tree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from json_support import has_duplicate_keys

from harness.reference import _jsoncodec, _node, events, items
from harness.reference import events as ev

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REAL = sorted(
    {line for path in (FIXTURES / "real").glob("*/*.jsonl") for line in path.read_bytes().split(b"\n") if line}
)
INPUTS = {
    "bytes": lambda line: line,
    "str": lambda line: line.decode("utf-8"),
    "bytes+LF": lambda line: line + b"\n",
    "str+CRLF": lambda line: line.decode("utf-8") + "\r\n",
    "bytearray": bytearray,
    "memoryview": memoryview,
}


class _Str(str):
    """A str subclass: parse must treat it as the text it holds."""


def _fast(value: Any) -> bool:
    """Whether no node in the tree was built by the exact reader (which always records a layout)."""
    if isinstance(value, _node.Node):
        return value._layout is msgspec.UNSET and all(
            _fast(getattr(value, name)) for name in value.__struct_fields__ if name != "_layout"
        )
    if isinstance(value, list | tuple):
        return all(_fast(v) for v in value)
    return True


def _exact(line: str | bytes) -> ev.ThreadEvent:
    return ev._parse_exact(line, False)


def test_real_corpus_is_there() -> None:
    assert len(REAL) > 100


@pytest.mark.parametrize("kind", sorted(INPUTS))
def test_every_real_line_takes_the_fast_path(kind: str) -> None:
    slow = []
    for line in REAL:
        event = ev.parse(INPUTS[kind](line))
        assert ev.serialize(event).encode() == line
        assert type(event).__module__ == ev.__name__  # a public class, never a private decode-only one
        if not _fast(event):
            slow.append(line)
    # Real codex prints one shape no typed decode can keep: web_search items with two "id" keys (the item id,
    # then the call id). Those lines, and only those, must take the exact path that keeps the layout.
    assert slow == [line for line in REAL if has_duplicate_keys(line)]


def test_a_str_subclass_parses_as_its_text() -> None:
    line = REAL[0].decode()
    assert ev.parse(_Str(line)) == ev.parse(line)
    assert ev.serialize(ev.parse(_Str(line))) == line


ITEM_EVENTS = [ev.ItemStartedEvent, ev.ItemUpdatedEvent, ev.ItemCompletedEvent]
FAST_ITEMS = [cls for cls in items.KNOWN_ITEM_CLASSES if cls is not ev.WebSearchItem]


@pytest.mark.parametrize("item_cls", FAST_ITEMS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("event_cls", ITEM_EVENTS, ids=lambda c: c.__name__)
def test_every_known_item_type_takes_the_fast_path_in_every_item_event(event_cls: Any, item_cls: Any) -> None:
    event = event_cls(item=item_cls(id="item_12"))
    line = ev.serialize(event)
    for given in (line, line.encode()):
        parsed = ev.parse(given, strict=True)
        assert type(parsed) is event_cls and type(parsed.item) is item_cls  # type: ignore[union-attr]
        assert parsed == event and _fast(parsed)
        assert ev.serialize(parsed) == line


def test_item_events_are_generic_in_their_item() -> None:
    item = ev.CommandExecutionItem(id="item_0", command="ls", status=ev.CommandExecutionStatus.COMPLETED)
    typed = ev.ItemCompletedEvent[ev.CommandExecutionItem](item=item)
    assert type(typed) is ev.ItemCompletedEvent
    parsed = ev.parse(ev.serialize(typed))
    assert isinstance(parsed, ev.ItemCompletedEvent) and parsed == typed == ev.ItemCompletedEvent(item=item)
    assert hash(parsed) == hash(typed)


NONCANONICAL = {
    "key order": '{"thread_id":"t","type":"thread.started"}',
    "duplicate key": '{"type":"error","message":"a","message":"b"}',
    "escaped letter": '{"type":"error","message":"caf\\u00e9"}',
    "escaped slash": '{"type":"error","message":"a\\/b"}',
    "uppercase hex escape": '{"type":"error","message":"\\u001F"}',
    "escaped tag": '{"type":"turn.starte\\u0064"}',
    "missing defaulted field": '{"type":"item.plan.delta","item_id":"i"}',
    "negative zero": '{"type":"tool.call.completed","call_id":"c","output":-0}',
    "float with trailing zero": '{"type":"tool.call.completed","call_id":"c","output":1.50}',
    "exponent": '{"type":"tool.call.completed","call_id":"c","output":1e5}',
    "duplicate key in any": '{"type":"tool.call.completed","call_id":"c","output":{"a":1,"a":2}}',
    "legacy usage without optional fields": (
        '{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":2}}'
    ),
    "item key order": '{"type":"item.completed","item":{"type":"agent_message","id":"i","text":"x"}}',
    "item without id": '{"type":"item.completed","item":{"type":"agent_message","text":"x"}}',
    "item escaped type": '{"type":"item.completed","item":{"id":"i","type":"agent_messag\\u0065","text":"x"}}',
    "web_search provider id": (
        '{"type":"item.completed","item":{"id":"item_3","type":"web_search","id":"ws_1","query":"q",'
        '"action":{"type":"search","query":"q"}}}'
    ),
    "unknown field": '{"type":"thread.started","thread_id":"t","extra":1}',
    "unknown item type with item-like prefix": '{"type":"item.completed","item":{"id":"i","type":"agenda"}}',
    "raw line separator and lone surrogate escape": '{"type":"error","message":"\u2028\\ud800"}',
}


@pytest.mark.parametrize("line", list(NONCANONICAL.values()), ids=list(NONCANONICAL))
@pytest.mark.parametrize("terminator", ["", "\n", "\r\n"], ids=["none", "LF", "CRLF"])
def test_non_canonical_lines_take_the_exact_path_and_round_trip(line: str, terminator: str) -> None:
    for given in (line + terminator, (line + terminator).encode()):
        event = ev.parse(given)
        assert not _fast(event)
        assert ev.serialize(event) == line
        assert event == _exact(given)


@pytest.mark.parametrize("line", ['{"type": "turn.started"}', ' {"type":"turn.started"}', '{"type":"turn.started"} '])
def test_insignificant_whitespace_takes_the_exact_path_and_is_dropped(line: str) -> None:
    # The CLI never prints any; the exact reader accepts it without preserving it (see _jsoncodec).
    for given in (line, line.encode()):
        event = ev.parse(given)
        assert isinstance(event, ev.TurnStartedEvent) and not _fast(event)
        assert ev.serialize(event) == '{"type":"turn.started"}'


def test_a_raw_lone_surrogate_in_a_str_line_round_trips() -> None:
    line = '{"type":"error","message":"a\ud800b"}'  # not encodable as UTF-8: only the exact reader keeps it
    event = ev.parse(line)
    assert isinstance(event, ev.ThreadErrorEvent) and event.message == "a\ud800b"
    assert ev.serialize(event) == line


def test_fast_and_exact_paths_agree_on_the_real_corpus() -> None:
    for line in REAL:
        fast, exact = ev.parse(line), _exact(line)
        assert fast == exact and type(fast) is type(exact)
        assert ev.serialize(exact).encode() == line


def test_token_usage_extension_takes_the_fast_path_when_canonical() -> None:
    line = '{"type":"thread.tokenUsage.updated","thread_id":"t","token_usage":{"total":{"total_tokens":3}}}'
    for given in (line, line.encode(), line + "\n"):
        event = ev.parse(given)
        assert isinstance(event, ev.ThreadTokenUsageUpdatedEvent) and _fast(event)
        assert ev.serialize(event) == line
    reordered = '{"thread_id":"t","type":"thread/tokenUsage/updated"}'
    event = ev.parse(reordered)
    assert isinstance(event, ev.ThreadTokenUsageUpdatedEvent) and not _fast(event)
    assert ev.serialize(event) == reordered


def test_parse_item_fast_path_and_terminator() -> None:
    text = (
        '{"id":"item_0","type":"command_execution","command":"ls","aggregated_output":"","exit_code":0,'
        '"status":"completed"}'
    )
    for given in (text, text.encode(), text + "\n", text.encode() + b"\r\n"):
        item = ev.parse_item(given)
        assert isinstance(item, ev.CommandExecutionItem) and _fast(item)
        assert ev.serialize_item(item) == text
    escaped = text.replace("ls", "\\u006cs")
    item = ev.parse_item(escaped)
    assert isinstance(item, ev.CommandExecutionItem) and item.command == "ls"
    assert not _fast(item) and ev.serialize_item(item) == escaped


def test_unique_prefix_length() -> None:
    assert ev._unique_prefix_length(["agent_message", "reasoning"]) == 1
    assert ev._unique_prefix_length(["command_execution", "collab_tool_call", "error"]) == 3
    with pytest.raises(TypeError, match="not distinguishable"):
        ev._unique_prefix_length(["plan", "plan"])
    item_types = [t.value for t in ev.ItemType if t is not ev.ItemType.WEB_SEARCH]
    assert ev._unique_prefix_length(item_types) == ev._PREFIX


@pytest.mark.parametrize("module", [events, items, _jsoncodec, _node], ids=lambda m: m.__name__)
def test_all_is_sorted_and_resolves(module: Any) -> None:
    assert module.__all__ == sorted(module.__all__)
    assert [name for name in module.__all__ if not hasattr(module, name)] == []
