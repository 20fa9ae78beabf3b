"""Typed thread items (the ``item`` of ``item.started`` / ``item.updated`` / ``item.completed``).

One frozen ``msgspec.Struct`` per item kind, mirroring ``codex-rs/exec/src/exec_events.rs`` (see
``exec-protocol.md`` §3). Field definition order *is* the serialization order (``id``, ``type``, then the
payload in Rust struct order), because the byte-exact contract requires ``serialize`` to print exactly what
the CLI prints.

Conventions, chosen so that absent and ``null`` stay distinguishable and tolerant parsing always has a value:

* every field has a default, so an item missing a field still parses (strict mode reports it instead);
* fields the CLI always prints (``exit_code``, ``result``, ``error``, ``prompt``, ``structured_content``)
  default to ``None`` and print ``null``; fields that are skipped when absent (``_meta``, web_search's
  provider ``id`` and ``action``, ``results``) default to ``msgspec.UNSET`` and print nothing;
* enum-typed fields hold enum members for known values; in tolerant mode an unknown value (a newer CLI) is
  kept as a plain ``str`` (the enums are ``StrEnum``\\ s, so comparisons with members still work);
* items are *not* a msgspec tagged union: msgspec writes a tag first, but the CLI writes ``id`` before
  ``type``. ``type`` is therefore an ordinary ``Literal`` field, and ``parse`` dispatches on it itself.

Unknown item types become :class:`UnknownItem`; unknown fields of known items land in ``extra_fields``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeAlias

import msgspec
from msgspec import UNSET, UnsetType

from harness.reference._jsoncodec import ExtraFields
from harness.reference._node import Node

__all__ = [
    "AgentMessageItem",
    "CollabAgentState",
    "CollabAgentStatus",
    "CollabTool",
    "CollabToolCallItem",
    "CollabToolCallStatus",
    "CommandExecutionItem",
    "CommandExecutionStatus",
    "ErrorItem",
    "ExtraFields",
    "FileChangeItem",
    "FileUpdateChange",
    "ItemType",
    "McpToolCallError",
    "McpToolCallItem",
    "McpToolCallResult",
    "McpToolCallStatus",
    "PatchApplyStatus",
    "PatchChangeKind",
    "PlanItem",
    "ReasoningItem",
    "ThreadItem",
    "TodoItem",
    "TodoListItem",
    "UnknownItem",
    "WebSearchAction",
    "WebSearchActionFindInPage",
    "WebSearchActionOpenPage",
    "WebSearchActionOther",
    "WebSearchActionSearch",
    "WebSearchItem",
]


class ItemType(enum.StrEnum):
    """Every item ``type`` this module models (``plan`` is a branch-only shape)."""

    AGENT_MESSAGE = "agent_message"
    REASONING = "reasoning"
    COMMAND_EXECUTION = "command_execution"
    FILE_CHANGE = "file_change"
    MCP_TOOL_CALL = "mcp_tool_call"
    COLLAB_TOOL_CALL = "collab_tool_call"
    WEB_SEARCH = "web_search"
    TODO_LIST = "todo_list"
    ERROR = "error"
    PLAN = "plan"


class CommandExecutionStatus(enum.StrEnum):
    """``command_execution.status``; ``declined`` is newer than the published TS types."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    DECLINED = "declined"


class PatchApplyStatus(enum.StrEnum):
    """``file_change.status`` (app-server ``declined`` is mapped to ``failed`` by exec)."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


class PatchChangeKind(enum.StrEnum):
    """``file_change.changes[].kind``."""

    ADD = "add"
    DELETE = "delete"
    UPDATE = "update"


class McpToolCallStatus(enum.StrEnum):
    """``mcp_tool_call.status``."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


class CollabToolCallStatus(enum.StrEnum):
    """``collab_tool_call.status``."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


class CollabTool(enum.StrEnum):
    """``collab_tool_call.tool``."""

    SPAWN_AGENT = "spawn_agent"
    SEND_INPUT = "send_input"
    WAIT = "wait"
    CLOSE_AGENT = "close_agent"


class CollabAgentStatus(enum.StrEnum):
    """State of one agent in ``collab_tool_call.agents_states`` (older CLIs lack ``interrupted``)."""

    PENDING_INIT = "pending_init"
    RUNNING = "running"
    INTERRUPTED = "interrupted"
    COMPLETED = "completed"
    ERRORED = "errored"
    SHUTDOWN = "shutdown"
    NOT_FOUND = "not_found"


# --------------------------------------------------------------------------------------------- nested objects


class FileUpdateChange(Node, frozen=True, kw_only=True):
    """One entry of ``file_change.changes``; ``path`` is absolute in real output."""

    path: str = ""
    kind: PatchChangeKind = PatchChangeKind.UPDATE


class McpToolCallResult(Node, frozen=True, kw_only=True):
    """``mcp_tool_call.result``. ``meta`` is the JSON ``_meta`` key, skipped when absent
    (``skip_serializing_if``)."""

    content: list[Any] = msgspec.field(default_factory=list)
    meta: Any | UnsetType = msgspec.field(default=UNSET, name="_meta")
    structured_content: Any = None


class McpToolCallError(Node, frozen=True, kw_only=True):
    """``mcp_tool_call.error``."""

    message: str = ""


class TodoItem(Node, frozen=True, kw_only=True):
    """One step of a ``todo_list`` (``completed`` is true when the plan step status is ``completed``)."""

    text: str = ""
    completed: bool = False


class CollabAgentState(Node, frozen=True, kw_only=True):
    """The state of one agent thread in ``collab_tool_call.agents_states``."""

    status: CollabAgentStatus = CollabAgentStatus.PENDING_INIT
    message: str | None = None


class _Action(Node, frozen=True, kw_only=True, tag_field="type"):
    """``WebSearchAction`` (``codex_protocol::models``): serde ``tag = "type"``, which msgspec
    writes first too."""


class WebSearchActionSearch(_Action, frozen=True, kw_only=True, tag="search"):
    """``{"type":"search","query":…}``."""

    type: ClassVar[str] = "search"
    query: str | None | UnsetType = UNSET


class WebSearchActionOpenPage(_Action, frozen=True, kw_only=True, tag="open_page"):
    """``{"type":"open_page","url":…}``."""

    type: ClassVar[str] = "open_page"
    url: str | None | UnsetType = UNSET


class WebSearchActionFindInPage(_Action, frozen=True, kw_only=True, tag="find_in_page"):
    """``{"type":"find_in_page","url":…,"pattern":…}``."""

    type: ClassVar[str] = "find_in_page"
    url: str | None | UnsetType = UNSET
    pattern: str | None | UnsetType = UNSET


class WebSearchActionOther(_Action, frozen=True, kw_only=True, tag="other"):
    """``{"type":"other"}`` (the default when the provider gives no action)."""

    type: ClassVar[str] = "other"


WebSearchAction: TypeAlias = (
    WebSearchActionSearch
    | WebSearchActionOpenPage
    | WebSearchActionFindInPage
    | WebSearchActionOther
)


# --------------------------------------------------------------------------------------------------- items


class _Item(Node, frozen=True, kw_only=True):
    """Shared head of every item: the synthetic per-process id (``item_0``, ``item_1``, …)."""

    id: str = ""


class AgentMessageItem(_Item, frozen=True, kw_only=True):
    """The agent's reply (or, with ``--output-schema``, the JSON text). Only ever ``item.completed``."""

    type: Literal["agent_message"] = "agent_message"
    text: str = ""


class ReasoningItem(_Item, frozen=True, kw_only=True):
    """Reasoning summary parts joined with ``"\\n"``. Only ever ``item.completed``."""

    type: Literal["reasoning"] = "reasoning"
    text: str = ""


class CommandExecutionItem(_Item, frozen=True, kw_only=True):
    """A shell command. ``exit_code`` prints ``null`` while running (Rust ``Option`` without skip)."""

    type: Literal["command_execution"] = "command_execution"
    command: str = ""
    aggregated_output: str = ""
    exit_code: int | None = None
    status: CommandExecutionStatus = CommandExecutionStatus.IN_PROGRESS


class FileChangeItem(_Item, frozen=True, kw_only=True):
    """An ``apply_patch``: the files it touches and whether it applied."""

    type: Literal["file_change"] = "file_change"
    changes: tuple[FileUpdateChange, ...] = ()
    status: PatchApplyStatus = PatchApplyStatus.IN_PROGRESS


class McpToolCallItem(_Item, frozen=True, kw_only=True):
    """A call to an MCP server tool; ``arguments`` is any JSON (``null`` by default), ``result``/``error``
    print ``null`` when absent."""

    type: Literal["mcp_tool_call"] = "mcp_tool_call"
    server: str = ""
    tool: str = ""
    arguments: Any = None
    result: McpToolCallResult | None = None
    error: McpToolCallError | None = None
    status: McpToolCallStatus = McpToolCallStatus.IN_PROGRESS


class CollabToolCallItem(_Item, frozen=True, kw_only=True):
    """A multi-agent ("collab") tool call. Field order is the Rust struct order (not yet seen in real
    output)."""

    type: Literal["collab_tool_call"] = "collab_tool_call"
    tool: CollabTool = CollabTool.SPAWN_AGENT
    sender_thread_id: str = ""
    receiver_thread_ids: tuple[str, ...] = ()
    prompt: str | None = None
    agents_states: dict[str, CollabAgentState] = msgspec.field(default_factory=dict)
    status: CollabToolCallStatus = CollabToolCallStatus.IN_PROGRESS


class WebSearchItem(_Item, frozen=True, kw_only=True):
    """A web search. Older CLIs print ``{id, type, query}``; newer ones flatten ``WebSearchItem {id, query,
    action}`` into the item, so the line carries **two** ``"id"`` keys: the item id first, then the provider's
    id. ``provider_id`` models the second one (absent on older lines); ``results`` is 0.159's optional list.
    """

    __json_keys__: ClassVar[Mapping[str, str]] = {"provider_id": "id"}

    type: Literal["web_search"] = "web_search"
    provider_id: str | UnsetType = UNSET
    query: str = ""
    action: WebSearchAction | UnsetType = UNSET
    results: Any | UnsetType = UNSET


class TodoListItem(_Item, frozen=True, kw_only=True):
    """The agent's plan (``turn/plan/updated``): started, then updated (same id), completed at turn end."""

    type: Literal["todo_list"] = "todo_list"
    items: tuple[TodoItem, ...] = ()


class ErrorItem(_Item, frozen=True, kw_only=True):
    """A non-fatal warning (config notices, deprecations, unknown model metadata), often before
    ``turn.started``."""

    type: Literal["error"] = "error"
    message: str = ""


class PlanItem(_Item, frozen=True, kw_only=True):
    """Branch-only shape (``exec_events.rs@08a1f30``, with ``item.plan.delta``); not in published SDK
    types."""

    type: Literal["plan"] = "plan"
    text: str = ""


class UnknownItem(_Item, frozen=True, kw_only=True):
    """An item whose ``type`` this module does not model. ``fields`` holds every other pair in source order
    (duplicates included), so the item round-trips byte-exactly and stays inspectable."""

    __payload_field__: ClassVar[str | None] = "fields"

    type: str = ""
    fields: ExtraFields = msgspec.field(default_factory=ExtraFields)


ThreadItem: TypeAlias = (
    AgentMessageItem
    | ReasoningItem
    | CommandExecutionItem
    | FileChangeItem
    | McpToolCallItem
    | CollabToolCallItem
    | WebSearchItem
    | TodoListItem
    | ErrorItem
    | PlanItem
    | UnknownItem
)
"""Any item; :class:`UnknownItem` catches types this module does not model."""

KNOWN_ITEM_CLASSES: tuple[type[Node], ...] = (
    AgentMessageItem,
    ReasoningItem,
    CommandExecutionItem,
    FileChangeItem,
    McpToolCallItem,
    CollabToolCallItem,
    WebSearchItem,
    TodoListItem,
    ErrorItem,
    PlanItem,
)
