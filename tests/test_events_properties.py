"""Property tests: a strategy per event and item type.

* ``parse(serialize(e)) == e`` for generated events (including unknown types and arbitrary unicode);
* ``serialize(parse(s)) == s`` for the canonical lines those events print;
* non-canonical renderings of the same data (shuffled keys, extra fields, ``\\uXXXX`` escapes) round-trip
  byte-exactly too, and still equal the original event when only the form changed.
"""

from __future__ import annotations

import json
import os
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.reference import events as ev

SETTINGS = settings(
    max_examples=int(os.environ.get("EVENTS_MAX_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
UNSET = msgspec.UNSET

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
ids = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
counts = st.integers(min_value=0, max_value=2**40)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | ints | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.just(UNSET) | strategy


def nullable(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


actions = st.one_of(
    st.builds(ev.WebSearchActionSearch, query=maybe(nullable(text))),
    st.builds(ev.WebSearchActionOpenPage, url=maybe(nullable(text))),
    st.builds(ev.WebSearchActionFindInPage, url=maybe(nullable(text)), pattern=maybe(nullable(text))),
    st.builds(ev.WebSearchActionOther),
)
KNOWN_ITEM_TYPES = {t.value for t in ev.ItemType}
KNOWN_EVENT_TYPES = {t.value for t in ev.EventType}

items: st.SearchStrategy[Any] = st.one_of(
    st.builds(ev.AgentMessageItem, id=ids, text=text),
    st.builds(ev.ReasoningItem, id=ids, text=text),
    st.builds(
        ev.CommandExecutionItem,
        id=ids,
        command=text,
        aggregated_output=text,
        exit_code=nullable(ints),
        status=st.sampled_from(ev.CommandExecutionStatus),
    ),
    st.builds(
        ev.FileChangeItem,
        id=ids,
        status=st.sampled_from(ev.PatchApplyStatus),
        changes=st.lists(
            st.builds(ev.FileUpdateChange, path=text, kind=st.sampled_from(ev.PatchChangeKind)), max_size=3
        ).map(tuple),
    ),
    st.builds(
        ev.McpToolCallItem,
        id=ids,
        server=text,
        tool=text,
        arguments=json_values,
        result=nullable(
            st.builds(
                ev.McpToolCallResult,
                content=st.lists(json_values, max_size=2),
                meta=maybe(json_values),
                structured_content=json_values,
            )
        ),
        error=nullable(st.builds(ev.McpToolCallError, message=text)),
        status=st.sampled_from(ev.McpToolCallStatus),
    ),
    st.builds(
        ev.CollabToolCallItem,
        id=ids,
        tool=st.sampled_from(ev.CollabTool),
        sender_thread_id=text,
        receiver_thread_ids=st.lists(text, max_size=2).map(tuple),
        prompt=nullable(text),
        agents_states=st.dictionaries(
            text,
            st.builds(
                ev.CollabAgentState, status=st.sampled_from(ev.CollabAgentStatus), message=nullable(text)
            ),
            max_size=2,
        ),
        status=st.sampled_from(ev.CollabToolCallStatus),
    ),
    st.builds(
        ev.WebSearchItem,
        id=ids,
        provider_id=maybe(text),
        query=text,
        action=maybe(actions),
        results=maybe(st.lists(json_values, max_size=2)),
    ),
    st.builds(
        ev.TodoListItem,
        id=ids,
        items=st.lists(st.builds(ev.TodoItem, text=text, completed=st.booleans()), max_size=3).map(tuple),
    ),
    st.builds(ev.ErrorItem, id=ids, message=text),
    st.builds(ev.PlanItem, id=ids, text=text),
    st.builds(
        ev.UnknownItem,
        id=ids,
        type=text.filter(lambda t: t not in KNOWN_ITEM_TYPES),
        fields=st.dictionaries(text.filter(lambda k: k not in ("id", "type")), json_values, max_size=3).map(
            ev.ExtraFields
        ),
    ),
)

breakdowns = st.builds(
    ev.TokenUsageBreakdown,
    total_tokens=maybe(counts),
    input_tokens=maybe(counts),
    cached_input_tokens=maybe(counts),
    cache_write_input_tokens=maybe(counts),
    output_tokens=maybe(counts),
    reasoning_output_tokens=maybe(counts),
)

events: st.SearchStrategy[Any] = st.one_of(
    st.builds(ev.ThreadStartedEvent, thread_id=text),
    st.builds(ev.TurnStartedEvent),
    st.builds(
        ev.TurnCompletedEvent,
        usage=st.builds(
            ev.Usage,
            input_tokens=counts,
            cached_input_tokens=counts,
            cache_write_input_tokens=maybe(counts),
            output_tokens=counts,
            reasoning_output_tokens=maybe(counts),
        ),
    ),
    st.builds(ev.TurnFailedEvent, error=st.builds(ev.TurnError, message=text)),
    st.builds(ev.ItemStartedEvent, item=items),
    st.builds(ev.ItemUpdatedEvent, item=items),
    st.builds(ev.ItemCompletedEvent, item=items),
    st.builds(ev.ThreadErrorEvent, message=text),
    st.builds(ev.ItemPlanDeltaEvent, item_id=text, delta=text),
    st.builds(ev.RequestUserInputEvent, id=text, call_id=text, questions=st.lists(json_values, max_size=2)),
    st.builds(ev.TurnContinuationEvent, thread_id=maybe(text), turn_id=maybe(text)),
    st.builds(ev.ToolCallRequiredEvent, call_id=text, name=text, arguments=json_values),
    st.builds(ev.ToolCallCompletedEvent, call_id=text, output=json_values),
    st.builds(ev.AgentMessageDeltaEvent, item_id=text, delta=text),
    st.builds(ev.InputTextDeltaEvent, item_id=text, delta=text),
    st.builds(
        ev.ThreadTokenUsageUpdatedEvent,
        type=st.sampled_from(["thread/tokenUsage/updated", "thread.tokenUsage.updated"]),
        thread_id=maybe(text),
        turn_id=maybe(text),
        token_usage=maybe(
            st.builds(
                ev.ThreadTokenUsage,
                total=maybe(breakdowns),
                last=maybe(breakdowns),
                model_context_window=maybe(nullable(counts)),
            )
        ),
    ),
    st.builds(ev.TurnDiffUpdatedEvent, thread_id=maybe(text), turn_id=maybe(text), diff=text),
    st.builds(ev.TurnCompactionCompletedEvent, thread_id=maybe(text), turn_id=maybe(text)),
    st.builds(
        ev.UnknownEvent,
        type=text.filter(lambda t: t not in KNOWN_EVENT_TYPES),
        fields=st.dictionaries(text.filter(lambda k: k != "type"), json_values, max_size=3).map(
            ev.ExtraFields
        ),
    ),
)


@SETTINGS
@given(events)
def test_generated_events_round_trip(event: ev.ThreadEvent) -> None:
    line = ev.serialize(event)
    assert "\n" not in line
    parsed = ev.parse(line, strict=not isinstance(event, ev.UnknownEvent) and not _has_unknown_item(event))
    assert parsed == event
    assert ev.serialize(parsed) == line  # canonical lines are reproduced byte for byte
    assert ev.parse(line.encode()) == event


def _has_unknown_item(event: ev.ThreadEvent) -> bool:
    return isinstance(getattr(event, "item", None), ev.UnknownItem)


class _Obj(list[tuple[str, Any]]):
    """A JSON object as its ordered pairs (so duplicate keys and order survive json.loads)."""


def _dump(value: Any, ascii_escapes: bool) -> str:
    if isinstance(value, _Obj):
        body = ",".join(f"{_dump(k, ascii_escapes)}:{_dump(v, ascii_escapes)}" for k, v in value)
        return "{" + body + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v, ascii_escapes) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=ascii_escapes)
    return msgspec.json.encode(value).decode()  # numbers and literals exactly as msgspec prints them


@st.composite
def noncanonical(draw: st.DrawFn) -> tuple[ev.ThreadEvent, str, bool]:
    """(event, a non-canonical rendering of it, whether the rendering added fields)."""
    event = draw(events)
    tree = json.loads(ev.serialize(event), object_pairs_hook=_Obj)
    added = False

    def mangle(node: Any) -> Any:
        nonlocal added
        if isinstance(node, _Obj):
            pairs = [(k, mangle(v)) for k, v in node]
            if len({k for k, _ in pairs}) == len(pairs):  # keep web_search's duplicate ids in order
                pairs = draw(st.permutations(pairs))
            if draw(st.booleans()):
                added = True
                pairs.insert(draw(st.integers(0, len(pairs))), ("x-extra\u2028", draw(json_values)))
            return _Obj(pairs)
        if isinstance(node, list):
            return [mangle(v) for v in node]
        return node

    line = _dump(mangle(tree), ascii_escapes=draw(st.booleans()))
    return event, line, added


@SETTINGS
@given(noncanonical())
def test_noncanonical_renderings_round_trip(case: tuple[ev.ThreadEvent, str, bool]) -> None:
    event, line, added = case
    parsed = ev.parse(line)
    assert ev.serialize(parsed) == line
    assert ev.parse(ev.serialize(parsed)) == parsed
    if not added:
        assert parsed == event  # only the form changed: same data, same event


@SETTINGS
@given(st.dictionaries(text, json_values, max_size=4), text)
def test_arbitrary_objects_with_a_type_round_trip(fields: dict[str, Any], kind: str) -> None:
    line = json.dumps({"type": kind, **fields}, ensure_ascii=False, separators=(",", ":"))
    assert ev.serialize(ev.parse(line)) == line


@SETTINGS
@given(events)
def test_fast_path_agrees_with_the_exact_reader(event: ev.ThreadEvent) -> None:
    # Whatever path parse took for a canonical line, the exact reader (the slow path, which never trusts
    # msgspec) reads the same data from it, and both input types give the same class and value.
    line = ev.serialize(event)
    exact = ev._parse_exact(line, False)
    for given_line in (line, line.encode(), line + "\n"):
        parsed = ev.parse(given_line)
        assert type(parsed) is type(exact) and parsed == exact
        assert ev.serialize(parsed) == line


@SETTINGS
@given(noncanonical())
def test_noncanonical_renderings_agree_with_the_exact_reader(case: tuple[ev.ThreadEvent, str, bool]) -> None:
    _, line, _ = case
    for given_line in (line, line.encode()):
        parsed = ev.parse(given_line)
        assert parsed == ev._parse_exact(line, False)
        assert ev.serialize(parsed) == line
