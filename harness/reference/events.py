"""Typed ``codex exec --json`` events with byte-exact ``parse`` / ``serialize`` and a bounded-memory reader.

One frozen ``msgspec.Struct`` per event type (``exec-protocol.md`` §2), a msgspec tagged union on ``"type"``
(which msgspec, like serde, writes first). Items live in :mod:`harness.reference.items` and are re-exported
here.

**Contract.** For every line the real CLI printed, ``serialize(parse(line)) == line``; and an event built in
code serializes to exactly what the CLI would print (Rust struct key order, ``null`` for always-printed
``None`` fields, absent ``UNSET`` fields omitted). Events never keep their source text.

**How.** ``parse`` first takes the fast path: a msgspec typed decode (unknown fields forbidden) of the
``str`` or ``bytes`` as given, then a re-encode that must reproduce the input bytes; if it does, the result is
provably exact. Item events are generic in their item type (``ItemCompletedEvent[CommandExecutionItem]``) so
that msgspec decodes them directly, once ``parse`` has peeked at the item's ``"type"``. Anything else —
unknown types or fields, another key order, duplicate keys, non-canonical escapes or numbers, missing fields,
web_search's duplicate ``id`` — goes to the slow path: an exact JSON reader (:mod:`._jsoncodec`) and a
type-directed builder (:mod:`._node`) that records the key layout and unknown fields on the same classes.
``serialize`` uses ``msgspec.json.encode`` unless the tree holds such records (msgspec then raises
``TypeError`` on the unencodable record types), in which case a pure-Python writer honours them.

**Equality** ignores the recorded layout (two events with the same data are equal whatever their key order)
but includes ``extra_fields`` (unknown fields are data).

**Strictness.** Non-JSON (and non-object JSON) always raises :class:`EventParseError`. With ``strict=True``,
unknown event/item types, missing always-printed fields, wrongly typed fields and unknown enum values raise it
too, with ``reason`` naming the JSON path; unknown *extra* fields are still accepted and preserved. Without
``strict``, an unknown type becomes :class:`UnknownEvent` / :class:`UnknownItem`, a misfit value is kept as an
extra field, and an event whose required field is unusable becomes an :class:`UnknownEvent`, so nothing is
ever lost.

A typical use, on a line the real CLI printed:

>>> line = '{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"Hello"}}'
>>> event = parse(line)
>>> event
ItemCompletedEvent(item=AgentMessageItem(id='item_0', text='Hello'))
>>> event.item.text, serialize(event) == line
('Hello', True)

An unknown type is kept, not lost; ``strict=True`` rejects it, with the reason:

>>> type(parse('{"type":"future.event","x":1}')).__name__
'UnknownEvent'
>>> parse('{"type":"future.event","x":1}', strict=True)
Traceback (most recent call last):
    ...
harness.reference.errors.EventParseError: Failed to parse item: {"type":"future.event","x":1}
"""

from __future__ import annotations

import enum
import json
import typing
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Generic, Literal, TypeAlias, Union

import msgspec
from msgspec import UNSET, UnsetType

from harness.reference._jsoncodec import ExtraFields, JsonSyntaxError, read_json
from harness.reference._node import Invalid, Node, build, dispatch_table, write_node
from harness.reference.errors import EventParseError, LineTooLongError
from harness.reference.items import (
    KNOWN_ITEM_CLASSES,
    AgentMessageItem,
    CollabAgentState,
    CollabAgentStatus,
    CollabTool,
    CollabToolCallItem,
    CollabToolCallStatus,
    CommandExecutionItem,
    CommandExecutionStatus,
    ErrorItem,
    FileChangeItem,
    FileUpdateChange,
    ItemType,
    McpToolCallError,
    McpToolCallItem,
    McpToolCallResult,
    McpToolCallStatus,
    PatchApplyStatus,
    PatchChangeKind,
    PlanItem,
    ReasoningItem,
    ThreadItem,
    TodoItem,
    TodoListItem,
    UnknownItem,
    WebSearchAction,
    WebSearchActionFindInPage,
    WebSearchActionOpenPage,
    WebSearchActionOther,
    WebSearchActionSearch,
    WebSearchItem,
)

__all__ = [
    "AgentMessageDeltaEvent",
    "AgentMessageItem",
    "CollabAgentState",
    "CollabAgentStatus",
    "CollabTool",
    "CollabToolCallItem",
    "CollabToolCallStatus",
    "CommandExecutionItem",
    "CommandExecutionStatus",
    "ErrorItem",
    "EventType",
    "ExtraFields",
    "FileChangeItem",
    "FileUpdateChange",
    "InputTextDeltaEvent",
    "ItemCompletedEvent",
    "ItemPlanDeltaEvent",
    "ItemStartedEvent",
    "ItemType",
    "ItemUpdatedEvent",
    "McpToolCallError",
    "McpToolCallItem",
    "McpToolCallResult",
    "McpToolCallStatus",
    "PatchApplyStatus",
    "PatchChangeKind",
    "PlanItem",
    "ReasoningItem",
    "RequestUserInputEvent",
    "ThreadErrorEvent",
    "ThreadEvent",
    "ThreadItem",
    "ThreadStartedEvent",
    "ThreadTokenUsage",
    "ThreadTokenUsageUpdatedEvent",
    "TodoItem",
    "TodoListItem",
    "TokenUsageBreakdown",
    "ToolCallCompletedEvent",
    "ToolCallRequiredEvent",
    "TurnCompactionCompletedEvent",
    "TurnCompletedEvent",
    "TurnContinuationEvent",
    "TurnDiffUpdatedEvent",
    "TurnError",
    "TurnFailedEvent",
    "TurnStartedEvent",
    "UnknownEvent",
    "UnknownItem",
    "Usage",
    "WebSearchAction",
    "WebSearchActionFindInPage",
    "WebSearchActionOpenPage",
    "WebSearchActionOther",
    "WebSearchActionSearch",
    "WebSearchItem",
    "iter_events",
    "parse",
    "parse_item",
    "serialize",
    "serialize_item",
    "to_builtins",
    "to_json",
]


class EventType(enum.StrEnum):
    """Every event ``type`` string this module models (mainline, branch-only and SDK-port extensions)."""

    THREAD_STARTED = "thread.started"
    TURN_STARTED = "turn.started"
    TURN_COMPLETED = "turn.completed"
    TURN_FAILED = "turn.failed"
    ITEM_STARTED = "item.started"
    ITEM_UPDATED = "item.updated"
    ITEM_COMPLETED = "item.completed"
    ERROR = "error"
    # Branch-only (exec_events.rs@08a1f30).
    ITEM_PLAN_DELTA = "item.plan.delta"
    REQUEST_USER_INPUT = "request_user_input"
    # Extensions used by SDK ports; never printed by codex exec.
    TURN_CONTINUATION = "turn.continuation"
    TOOL_CALL_REQUIRED = "tool.call.required"
    TOOL_CALL_COMPLETED = "tool.call.completed"
    ITEM_AGENT_MESSAGE_DELTA = "item.agent_message.delta"
    ITEM_INPUT_TEXT_DELTA = "item.input_text.delta"
    THREAD_TOKEN_USAGE_UPDATED = "thread/tokenUsage/updated"
    THREAD_TOKEN_USAGE_UPDATED_DOTTED = "thread.tokenUsage.updated"
    TURN_DIFF_UPDATED = "turn/diff/updated"
    TURN_COMPACTION_COMPLETED = "turn/compaction/completed"


# --------------------------------------------------------------------------------------------- nested objects


class Usage(Node, frozen=True, kw_only=True):
    """``turn.completed.usage``: the thread's *cumulative* token totals (not the turn's; exec-protocol.md §4).

    A ``Usage`` built in code prints all five fields, as current CLIs (0.163, 0.169) do. A line from an older CLI
    that lacks ``cache_write_input_tokens`` or ``reasoning_output_tokens`` (0.47 prints only three fields) parses
    with those fields ``UNSET``, so it round-trips without them.
    """

    __optional_fields__: ClassVar[frozenset[str]] = frozenset({"cache_write_input_tokens", "reasoning_output_tokens"})

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_input_tokens: int | UnsetType = 0
    output_tokens: int = 0
    reasoning_output_tokens: int | UnsetType = 0


class TurnError(Node, frozen=True, kw_only=True):
    """``turn.failed.error``."""

    message: str = ""


class TokenUsageBreakdown(Node, frozen=True, kw_only=True):
    """Extension shape: one breakdown of ``thread/tokenUsage/updated`` (app-server ``TokenUsageBreakdown`` in
    snake_case). Every field is optional; camelCase spellings some ports forward are kept as extra fields."""

    total_tokens: int | UnsetType = UNSET
    input_tokens: int | UnsetType = UNSET
    cached_input_tokens: int | UnsetType = UNSET
    cache_write_input_tokens: int | UnsetType = UNSET
    output_tokens: int | UnsetType = UNSET
    reasoning_output_tokens: int | UnsetType = UNSET


class ThreadTokenUsage(Node, frozen=True, kw_only=True):
    """Extension shape: ``token_usage`` of ``thread/tokenUsage/updated`` (app-server ``ThreadTokenUsage``)."""

    total: TokenUsageBreakdown | UnsetType = UNSET
    last: TokenUsageBreakdown | UnsetType = UNSET
    model_context_window: int | None | UnsetType = UNSET


# --------------------------------------------------------------------------------------------------- events

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    _ItemT = TypeVar("_ItemT", bound=ThreadItem, default=ThreadItem)
else:  # typing.TypeVar has no ``default`` before 3.13, and only the type checker needs it
    _ItemT = typing.TypeVar("_ItemT", bound=ThreadItem)
"""The item type of an item event. ``ItemCompletedEvent`` alone means ``ItemCompletedEvent[ThreadItem]``;
``ItemCompletedEvent[CommandExecutionItem]`` narrows it. Generic so that msgspec can decode an item event of
one known item type *directly* into the public class (``parse`` picks the item type, see the fast path):
msgspec cannot decode the untagged item union itself."""


class _Event(Node, frozen=True, kw_only=True, tag_field="type"):
    """Tagged events: msgspec writes ``"type"`` first, as serde's ``tag = "type"`` does."""


class ThreadStartedEvent(_Event, frozen=True, kw_only=True, tag="thread.started"):
    """First event of every run; ``exec resume`` prints the same ``thread_id`` again."""

    type: ClassVar[Literal["thread.started"]] = "thread.started"
    thread_id: str


class TurnStartedEvent(_Event, frozen=True, kw_only=True, tag="turn.started"):
    """Printed exactly as ``{"type":"turn.started"}``."""

    type: ClassVar[Literal["turn.started"]] = "turn.started"


class TurnCompletedEvent(_Event, frozen=True, kw_only=True, tag="turn.completed"):
    """The turn finished; ``usage`` is cumulative over the thread."""

    type: ClassVar[Literal["turn.completed"]] = "turn.completed"
    usage: Usage


class TurnFailedEvent(_Event, frozen=True, kw_only=True, tag="turn.failed"):
    """The turn failed (exit code 1). Usually preceded by a top-level ``error`` event."""

    type: ClassVar[Literal["turn.failed"]] = "turn.failed"
    error: TurnError


class ItemStartedEvent(_Event, Generic[_ItemT], frozen=True, kw_only=True, tag="item.started"):
    """An item began (commands, file changes, MCP/collab calls, web searches, todo lists)."""

    type: ClassVar[Literal["item.started"]] = "item.started"
    item: _ItemT


class ItemUpdatedEvent(_Event, Generic[_ItemT], frozen=True, kw_only=True, tag="item.updated"):
    """An item changed (todo list progress, a re-started file change, legacy command output)."""

    type: ClassVar[Literal["item.updated"]] = "item.updated"
    item: _ItemT


class ItemCompletedEvent(_Event, Generic[_ItemT], frozen=True, kw_only=True, tag="item.completed"):
    """An item finished; ``agent_message``/``reasoning``/warning ``error`` items only ever appear here."""

    type: ClassVar[Literal["item.completed"]] = "item.completed"
    item: _ItemT


class ThreadErrorEvent(_Event, frozen=True, kw_only=True, tag="error"):
    """Top-level stream error. Not necessarily fatal: every retry prints one (``Reconnecting... n/5``)."""

    type: ClassVar[Literal["error"]] = "error"
    message: str


class ItemPlanDeltaEvent(_Event, frozen=True, kw_only=True, tag="item.plan.delta"):
    """Branch-only shape (``exec_events.rs@08a1f30``): streamed text of a ``plan`` item."""

    type: ClassVar[Literal["item.plan.delta"]] = "item.plan.delta"
    item_id: str = ""
    delta: str = ""


class RequestUserInputEvent(_Event, frozen=True, kw_only=True, tag="request_user_input"):
    """Branch-only shape (``@08a1f30``): the agent asks the user; the TS SDK answers with
    ``user_input_answer`` on stdin. ``questions`` is kept as plain JSON (its item shape is not pinned
    down)."""

    type: ClassVar[Literal["request_user_input"]] = "request_user_input"
    id: str = ""
    call_id: str = ""
    questions: list[Any] = msgspec.field(default_factory=list)


class TurnContinuationEvent(_Event, frozen=True, kw_only=True, tag="turn.continuation"):
    """Extension shape (SDK ports, never printed by codex exec): a turn continues after client-side tool
    output. Only the ids are modelled; anything else a port sends is kept in ``extra_fields``."""

    type: ClassVar[Literal["turn.continuation"]] = "turn.continuation"
    thread_id: str | UnsetType = UNSET
    turn_id: str | UnsetType = UNSET


class ToolCallRequiredEvent(_Event, frozen=True, kw_only=True, tag="tool.call.required"):
    """Extension shape (SDK ports' client-side/dynamic tools): the agent wants ``name`` called with
    ``arguments``. Port-specific fields (``thread_id``, ``requires_approval``, …) are kept in
    ``extra_fields``."""

    type: ClassVar[Literal["tool.call.required"]] = "tool.call.required"
    call_id: str = ""
    name: str = ""
    arguments: Any = None


class ToolCallCompletedEvent(_Event, frozen=True, kw_only=True, tag="tool.call.completed"):
    """Extension shape (SDK ports): the client-side tool ``call_id`` produced ``output`` (any JSON)."""

    type: ClassVar[Literal["tool.call.completed"]] = "tool.call.completed"
    call_id: str = ""
    output: Any = None


class AgentMessageDeltaEvent(_Event, frozen=True, kw_only=True, tag="item.agent_message.delta"):
    """Extension shape (ports streaming app-server ``item/agentMessage/delta``; exec JSONL never streams
    text)."""

    type: ClassVar[Literal["item.agent_message.delta"]] = "item.agent_message.delta"
    item_id: str = ""
    delta: str = ""


class InputTextDeltaEvent(_Event, frozen=True, kw_only=True, tag="item.input_text.delta"):
    """Extension shape (SDK ports): streamed input text for an item."""

    type: ClassVar[Literal["item.input_text.delta"]] = "item.input_text.delta"
    item_id: str = ""
    delta: str = ""


class TurnDiffUpdatedEvent(_Event, frozen=True, kw_only=True, tag="turn/diff/updated"):
    """Extension shape: app-server ``turn/diff/updated`` (``{threadId, turnId, diff}``) as ports forward it,
    in snake_case; the camelCase spelling, if a port sends it, is kept in ``extra_fields``."""

    type: ClassVar[Literal["turn/diff/updated"]] = "turn/diff/updated"
    thread_id: str | UnsetType = UNSET
    turn_id: str | UnsetType = UNSET
    diff: str = ""


class TurnCompactionCompletedEvent(_Event, frozen=True, kw_only=True, tag="turn/compaction/completed"):
    """Extension shape: app-server ``turn/compaction/completed`` as ports forward it (ids only, rest
    extra)."""

    type: ClassVar[Literal["turn/compaction/completed"]] = "turn/compaction/completed"
    thread_id: str | UnsetType = UNSET
    turn_id: str | UnsetType = UNSET


class ThreadTokenUsageUpdatedEvent(Node, frozen=True, kw_only=True):
    """Extension shape: app-server ``thread/tokenUsage/updated`` as SDK ports forward it.

    Ports spell the type ``thread/tokenUsage/updated`` or ``thread.tokenUsage.updated``; both are this class,
    and ``type`` is an ordinary field so the spelling round-trips (hence no msgspec tag). Fields in snake_case
    (``thread_id``, ``turn_id``, ``token_usage: {total, last, model_context_window}``); anything else, such as
    the app-server's camelCase ``threadId``/``tokenUsage``, is kept in ``extra_fields``.
    """

    type: Literal["thread/tokenUsage/updated", "thread.tokenUsage.updated"] = "thread/tokenUsage/updated"
    thread_id: str | UnsetType = UNSET
    turn_id: str | UnsetType = UNSET
    token_usage: ThreadTokenUsage | UnsetType = UNSET


class UnknownEvent(Node, frozen=True, kw_only=True):
    """An event whose ``type`` this module does not model (forks: ``turn.progress``, ``stateful.*``; older or
    newer CLIs). ``fields`` holds every other pair in source order, duplicates included; it round-trips
    byte-exactly. ``type`` is ``""`` when the line had no string ``type`` at all (tolerant mode only)."""

    __payload_field__: ClassVar[str | None] = "fields"

    type: str = ""
    fields: ExtraFields = msgspec.field(default_factory=ExtraFields)


ThreadEvent: TypeAlias = (
    ThreadStartedEvent
    | TurnStartedEvent
    | TurnCompletedEvent
    | TurnFailedEvent
    | ItemStartedEvent
    | ItemUpdatedEvent
    | ItemCompletedEvent
    | ThreadErrorEvent
    | ItemPlanDeltaEvent
    | RequestUserInputEvent
    | TurnContinuationEvent
    | ToolCallRequiredEvent
    | ToolCallCompletedEvent
    | AgentMessageDeltaEvent
    | InputTextDeltaEvent
    | ThreadTokenUsageUpdatedEvent
    | TurnDiffUpdatedEvent
    | TurnCompactionCompletedEvent
    | UnknownEvent
)
"""Any event; :class:`UnknownEvent` catches types this module does not model."""

# ------------------------------------------------------------------------------------------------ fast path
#
# ``parse`` is the hot loop of every SDK run and of the harness itself, so its fast path is written for
# CPython's cost model, where every C call counts (~50 ns on a small machine). The common case is five of
# them: msgspec's typed decode, straight from the ``str`` or ``bytes`` it was given; the re-encode; for a
# ``str`` line, its ``encode()``; the ``==`` of the two byte strings; and, for item events only, a ``find`` and
# a slice that pick the decoder for the item's type. No helper calls, no copies, no rewrapping: an item event
# decodes directly into the public (generic) class. The line terminator is not stripped up front: msgspec
# accepts trailing whitespace, and the terminator only costs a slice when the first compare fails.
#
# The verify step is what makes the fast path exact, so it is never skipped: a successful typed decode does
# not prove that the line was in canonical form (another key order, defaults the line lacked, ``\u00e9``,
# ``1.50``, a repeated key, whitespace: all decode fine), and no check cheaper than the re-encode proves it.
# Whatever fails goes to the exact slow path, which still reproduces the line.

_TAGGED_PLAIN: tuple[type[_Event], ...] = (
    ThreadStartedEvent,
    TurnStartedEvent,
    TurnCompletedEvent,
    TurnFailedEvent,
    ThreadErrorEvent,
    ItemPlanDeltaEvent,
    RequestUserInputEvent,
    TurnContinuationEvent,
    ToolCallRequiredEvent,
    ToolCallCompletedEvent,
    AgentMessageDeltaEvent,
    InputTextDeltaEvent,
    TurnDiffUpdatedEvent,
    TurnCompactionCompletedEvent,
)
_ITEM_EVENTS: tuple[type[_Event], ...] = (ItemStartedEvent, ItemUpdatedEvent, ItemCompletedEvent)
_FAST_ITEM_CLASSES: tuple[type, ...] = tuple(cls for cls in KNOWN_ITEM_CLASSES if cls is not WebSearchItem)
"""Items the fast path decodes. web_search is left out: its duplicate ``id`` key always needs the slow path,
and decoding it here could mistake a literal ``provider_id`` key for the second ``id``."""


def _union(members: tuple[type, ...]) -> Any:
    """``Union[members]`` for a runtime tuple (what msgspec's decoder wants)."""
    return Union[members]  # noqa: UP007 - a runtime tuple of classes cannot be spelled with ``|``


def _item_type(cls: type) -> str:
    """The ``type`` of an item class (its ``type`` field's default)."""
    for info in msgspec.structs.fields(cls):
        if info.name == "type":
            return str(info.default)
    raise TypeError(f"{cls.__name__} has no type field")


def _unique_prefix_length(names: list[str]) -> int:
    """The shortest prefix length that still tells every name apart (so a fixed-width slice can pick a
    decoder instead of a second ``find`` for the closing quote)."""
    for length in range(1, max(map(len, names)) + 1):
        if len({name[:length] for name in names}) == len(names):
            return length
    raise TypeError(f"item types are not distinguishable by prefix: {names}")  # a modelling bug


def _item_event_decoder(item_cls: type) -> msgspec.json.Decoder[Any]:
    """A decoder over the plain events plus the three item events parametrized with ``item_cls``.

    msgspec cannot decode the item union (it is untagged, see items.py: the CLI prints ``id`` before
    ``type``, while msgspec would print a tag first), but it decodes ``ItemCompletedEvent[CommandExecutionItem]``
    straight into a public ``ItemCompletedEvent``; ``parse`` picks the decoder by peeking at the item's
    ``"type"``.
    """
    parametrized = tuple(event_cls[item_cls] for event_cls in _ITEM_EVENTS)  # type: ignore[index]
    return msgspec.json.Decoder(_union((*_TAGGED_PLAIN, *parametrized)))


_ITEM_TYPES = [_item_type(cls) for cls in _FAST_ITEM_CLASSES]
_PREFIX = _unique_prefix_length(_ITEM_TYPES)
# Where an item event's item ``type`` is: after this mark (inside a JSON string a quote is escaped, so it only
# matches a real key), which cannot start before the ``id`` value of ``{"type":"item.…","item":{"id":"``.
_MARK = ',"type":"'
_MARK_BYTES = _MARK.encode()
_MARK_FROM = len('{"type":"item.x","item":{"id":"')
_PREFIX_FROM = len(_MARK)
_PREFIX_TO = _PREFIX_FROM + _PREFIX
_decode_plain = msgspec.json.Decoder(_union(_TAGGED_PLAIN)).decode


def _decoders_by_item_prefix() -> dict[str | bytes, Callable[[str | bytes], Any]]:
    """The item type's first ``_PREFIX`` characters → its item-event decoder, keyed by both the ``str`` and the
    ``bytes`` spelling, so one lookup serves either input type."""
    table: dict[str | bytes, Callable[[str | bytes], Any]] = {}
    for name, cls in zip(_ITEM_TYPES, _FAST_ITEM_CLASSES, strict=True):
        decode = _item_event_decoder(cls).decode
        table[name[:_PREFIX]] = table[name[:_PREFIX].encode()] = decode
    return table


_DECODE_BY_ITEM_PREFIX = _decoders_by_item_prefix()
_decode_token_usage = msgspec.json.Decoder(ThreadTokenUsageUpdatedEvent).decode
_ITEM_DECODERS: dict[bytes, Callable[[bytes], Any]] = {
    name.encode(): msgspec.json.Decoder(cls).decode for name, cls in zip(_ITEM_TYPES, _FAST_ITEM_CLASSES, strict=True)
}
_ENCODER = msgspec.json.Encoder()
_encode = _ENCODER.encode
_DecodeError = msgspec.DecodeError

_EVENT_TABLE, _ = dispatch_table((*_TAGGED_PLAIN, *_ITEM_EVENTS, ThreadTokenUsageUpdatedEvent))


def _without_terminator(data: bytes) -> bytes:
    """``data`` without one trailing ``\\n`` or ``\\r\\n``."""
    if data.endswith(b"\n"):
        return data[:-2] if data.endswith(b"\r\n") else data[:-1]
    return data


def _exact(event: Any, expected: bytes) -> bool:
    """The fast path's proof: ``event`` re-encodes to exactly ``expected`` (less one line terminator)."""
    encoded = _encode(event)
    return encoded == expected or (expected.endswith(b"\n") and encoded == _without_terminator(expected))


def _read_object(text: str) -> dict[str, Any]:
    try:
        value = read_json(text)
    except JsonSyntaxError as exc:
        raise EventParseError(text, f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise EventParseError(text, "not a JSON object")
    return value


def _as_bytes(line: str | bytes) -> bytes | None:
    """The line as UTF-8 bytes (None for a str that is not valid Unicode text: lone surrogates, which only the
    exact reader can keep)."""
    if type(line) is bytes:
        return line
    try:
        return line.encode("utf-8") if isinstance(line, str) else bytes(line)
    except UnicodeEncodeError:
        return None


def _slow_input(line: str | bytes) -> str:
    """The line as text without its terminator, for the exact reader."""
    if isinstance(line, str):
        text = line
    else:
        try:
            text = bytes(line).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventParseError(bytes(line).decode("utf-8", "replace"), f"invalid UTF-8: {exc}") from None
    if text.endswith("\n"):
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    return text


def parse(line: str | bytes, *, strict: bool = False) -> ThreadEvent:
    """Parse one line of ``codex exec --json`` output (a trailing ``\\n`` or ``\\r\\n`` is ignored).

    Raises :class:`EventParseError` for non-JSON (always) and, with ``strict=True``, for anything that does
    not fit the typed model (see the module docstring). ``serialize(parse(line)) == line`` for every JSON
    object line.

    >>> parse(b'{"type":"thread.started","thread_id":"t-1"}\\r\\n')
    ThreadStartedEvent(thread_id='t-1')
    >>> parse("not json")
    Traceback (most recent call last):
        ...
    harness.reference.errors.EventParseError: Failed to parse item: not json
    """
    # The fast path, inlined (see the section comment): pick a decoder, decode, prove by re-encoding. The str
    # and bytes branches differ only in the types of the mark and of ``"i"``; a shared helper would cost a call
    # per line. ``line[9]`` is the first letter of the event type in the canonical ``{"type":"…``.
    try:
        if type(line) is str:
            if line[9] == "i" and (mark := line.find(_MARK, _MARK_FROM)) != -1:
                event = _DECODE_BY_ITEM_PREFIX.get(line[mark + _PREFIX_FROM : mark + _PREFIX_TO], _decode_plain)(line)
            else:
                event = _decode_plain(line)
            expected = line.encode()
        elif type(line) is bytes:
            if line[9] == 105 and (mark := line.find(_MARK_BYTES, _MARK_FROM)) != -1:  # 105: "i"
                event = _DECODE_BY_ITEM_PREFIX.get(line[mark + _PREFIX_FROM : mark + _PREFIX_TO], _decode_plain)(line)
            else:
                event = _decode_plain(line)
            expected = line
        else:  # a str subclass, or another buffer (bytearray, memoryview): as the exact type
            return parse(str.__str__(line) if isinstance(line, str) else bytes(line), strict=strict)
        encoded = _encode(event)
        if encoded == expected or (expected.endswith(b"\n") and encoded == _without_terminator(expected)):
            return event  # type: ignore[no-any-return]
    except (_DecodeError, IndexError, UnicodeError):  # UnicodeError: lone surrogates in a str, bad UTF-8
        event = _fast_token_usage(line)
        if event is not None:
            return event  # type: ignore[no-any-return]
    return _parse_exact(line, strict)


def _fast_token_usage(line: str | bytes) -> Any:
    """The untagged ``thread/tokenUsage/updated`` extension (its ``type`` is an ordinary field, so the tagged
    decoders reject it), verified like the fast path; None if it is not that or not canonical."""
    if isinstance(line, str):
        if "tokenUsage" not in line[:40]:
            return None
    elif b"tokenUsage" not in line[:40]:
        return None
    try:
        event = _decode_token_usage(line)
        return event if _exact(event, line.encode() if isinstance(line, str) else line) else None
    except (_DecodeError, UnicodeError):
        return None


def _parse_exact(line: str | bytes, strict: bool) -> ThreadEvent:
    """The slow path: the exact reader and the type-directed builder (layout, unknown fields, raw tokens)."""
    text = _slow_input(line)
    obj = _read_object(text)
    try:
        return _build_event(obj, strict)
    except Invalid as exc:
        raise EventParseError(text, exc.reason) from None


def _build_event(obj: dict[str, Any], strict: bool) -> ThreadEvent:
    kind = obj.get("type")
    cls = _EVENT_TABLE.get(kind) if isinstance(kind, str) else None
    if cls is None:
        if strict:
            if isinstance(kind, str):
                raise Invalid(f"unknown event type {kind!r}")
            raise Invalid("missing or non-string `type`")
        return build(UnknownEvent, obj, False)  # type: ignore[no-any-return]
    try:
        return build(cls, obj, strict)  # type: ignore[no-any-return]
    except Invalid:
        if strict:
            raise
        return build(UnknownEvent, obj, False)  # type: ignore[no-any-return]


def _write_exact(node: Node) -> str:
    out: list[str] = []
    write_node(node, out)
    return "".join(out)


def serialize(event: ThreadEvent) -> str:
    """The JSON line for ``event`` (no trailing newline), byte-identical to what the CLI prints.

    >>> serialize(TurnStartedEvent())
    '{"type":"turn.started"}'

    msgspec encodes it directly unless the tree carries a recorded layout, unknown fields or raw tokens
    (msgspec refuses those types) or a web_search provider id (which needs a duplicate ``"id"`` key).
    """
    item = getattr(event, "item", None)
    if type(item) is not WebSearchItem or item.provider_id is UNSET:
        try:
            return _encode(event).decode("utf-8")
        except (TypeError, ValueError):
            pass
    return _write_exact(event)


def parse_item(text: str | bytes, *, strict: bool = False) -> ThreadItem:
    """Parse one item object (the value of an item event's ``"item"``), with ``parse``'s rules."""
    data = _as_bytes(text)
    if data is not None:
        mark = data.find(b'"type":"')
        if mark != -1:
            start = mark + 8
            decode = _ITEM_DECODERS.get(data[start : data.find(b'"', start)])
            if decode is not None:
                try:
                    item = decode(data)
                except (_DecodeError, UnicodeDecodeError):
                    pass
                else:
                    if _exact(item, data):
                        return item  # type: ignore[no-any-return]
    decoded = _slow_input(text)
    obj = _read_object(decoded)
    try:
        return _build_item(obj, strict)
    except Invalid as exc:
        raise EventParseError(decoded, exc.reason) from None


_ITEM_TABLE, _ = dispatch_table(KNOWN_ITEM_CLASSES)


def _build_item(obj: dict[str, Any], strict: bool) -> ThreadItem:
    kind = obj.get("type")
    cls = _ITEM_TABLE.get(kind) if isinstance(kind, str) else None
    if cls is None:
        if strict:
            raise Invalid(f"unknown item type {kind!r} at `$`")
        return build(UnknownItem, obj, False)  # type: ignore[no-any-return]
    return build(cls, obj, strict)  # type: ignore[no-any-return]


def serialize_item(item: ThreadItem) -> str:
    """The JSON text of one item, as it appears inside an item event."""
    return to_json(item)


def to_json(node: Node) -> str:
    """The exact JSON text of any typed value: an event, an item, or a nested value such as :class:`Usage`."""
    if type(node) is not WebSearchItem or node.provider_id is UNSET:
        try:
            return _encode(node).decode("utf-8")
        except (TypeError, ValueError):
            pass
    return _write_exact(node)


def to_builtins(node: Node | None) -> Any:
    """A typed value as plain JSON data (dicts, lists, str, int, ...), as ``json.loads`` of its JSON text gives it
    (so a duplicate key, e.g. web_search's provider ``id``, keeps its last value). ``None`` stays ``None``."""
    return None if node is None else json.loads(to_json(node))


# --------------------------------------------------------------------------------------------------- reading

_CHUNK = 64 * 1024


def iter_events(
    stream: BinaryIO, *, max_line_bytes: int = 64 * 1024 * 1024, strict: bool = False
) -> Iterator[ThreadEvent]:
    """Lazily parse a JSONL byte stream (codex's stdout), one event per line.

    Lines are split on ``b"\\n"`` only — never ``str.splitlines``, because the CLI prints raw U+2028/U+2029
    and other separators inside strings. A ``\\r`` before the ``\\n`` is dropped, blank lines are skipped, and
    the last line needs no newline. Memory is bounded by the longest line: the stream is read in chunks
    (``read1`` when available, so a pipe yields events as they arrive) and never more than ``max_line_bytes``
    + 2 bytes of one line are buffered; a longer line raises :class:`LineTooLongError`. The length limit
    excludes the line terminator. Parse errors carry the 1-based ``line_number``.

    The complete lines of each chunk are cut in one ``bytes.split`` (not one ``find`` and two copies per
    line), so the reader adds little to ``parse``'s own cost.

    >>> import io
    >>> stdout = io.BytesIO(b'{"type":"thread.started","thread_id":"t-1"}\\r\\n\\n{"type":"turn.started"}')
    >>> [type(event).__name__ for event in iter_events(stdout)]
    ['ThreadStartedEvent', 'TurnStartedEvent']
    >>> from harness.reference.errors import EventParseError
    >>> try:
    ...     list(iter_events(io.BytesIO(b'{"type":"turn.started"}\\n{oops}\\n')))
    ... except EventParseError as exc:
    ...     print(exc.kind, exc.line_number)
    parse 2
    """
    read = getattr(stream, "read1", None) or stream.read
    buf = bytearray()
    start = 0
    line_number = 0
    eof = False
    while True:
        last = buf.rfind(b"\n", start)
        if last != -1:
            block = bytes(buf[start:last])
            start = last + 1
            for line in block.split(b"\n"):
                line_number += 1
                if line.endswith(b"\r"):
                    line = line[:-1]
                if len(line) > max_line_bytes:
                    raise LineTooLongError(
                        max_line_bytes, line_number=line_number, prefix=line[:200].decode("utf-8", "replace")
                    )
                event = _parse_stream_line(line, line_number, strict)
                if event is not None:
                    yield event
        pending = len(buf) - start
        if pending > max_line_bytes + 1 or (pending == max_line_bytes + 1 and buf[-1] != 0x0D):
            raise LineTooLongError(
                max_line_bytes,
                line_number=line_number + 1,
                prefix=bytes(buf[start : start + 200]).decode("utf-8", "replace"),
            )
        if eof:
            if pending:
                line_number += 1
                line = bytes(buf[start:])
                event = _parse_stream_line(line[:-1] if line.endswith(b"\r") else line, line_number, strict)
                if event is not None:
                    yield event
            return
        if start:
            del buf[:start]
            start = 0
        chunk = read(max(1, min(_CHUNK, max_line_bytes + 2 - pending)))
        if chunk:
            buf += chunk
        else:
            eof = True


def _parse_stream_line(line: bytes, line_number: int, strict: bool) -> ThreadEvent | None:
    """``parse`` for one line of a stream (terminator already removed): None for a blank line, the line number
    on errors."""
    if not line or line.isspace():
        return None
    try:
        return parse(line, strict=strict)
    except EventParseError as exc:
        exc.line_number = line_number
        raise
