"""Typed, frozen models of the ``codex app-server`` wire messages, parsed tolerantly.

Three layers, each a :class:`~harness.reference.appserver._model.Model` (typed fields + the wire object in
``raw``; ``to_dict()`` gives back the same JSON value, unknown fields included):

* **envelopes** — :class:`Notification` (``{"method","params","emittedAtMs"}``), :class:`ServerRequest`
  (``{"id","method","params"}`` from codex), :class:`ClientRequest`, :class:`ClientNotification`,
  :class:`Response` (``{"id","result"}``) and :class:`ErrorResponse` (``{"id","error"}``). There is no
  ``"jsonrpc"`` field in this protocol; one that appears anyway is preserved like any unknown key.
* **params** — one class per known method (:data:`NOTIFICATION_PARAMS`, :data:`SERVER_REQUEST_PARAMS`);
  an unknown method gets :class:`UnknownParams` (``raw`` only), never an error.
* **items** — :class:`ThreadItem` subclasses chosen by ``type`` (:data:`ITEM_TYPES`); an unknown type is an
  :class:`UnknownItem`.

:func:`parse_message` classifies one decoded JSON object; ``direction`` says who sent it, because a request
from codex (``item/tool/call``) and one from the client (``turn/start``) have the same shape. A value that is
not a JSON-RPC message at all raises :class:`~harness.reference.appserver.errors.AppServerProtocolError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from harness.reference.appserver._model import Model
from harness.reference.appserver.errors import AppServerProtocolError

__all__ = [
    "AccountRateLimitsUpdated",
    "AgentMessageDelta",
    "AgentMessageItem",
    "AutoApprovalReviewCompleted",
    "AutoApprovalReviewStarted",
    "ClientNotification",
    "ClientRequest",
    "CommandExecutionApprovalParams",
    "CommandExecutionItem",
    "CommandExecutionOutputDelta",
    "ConfigWarning",
    "ContextCompactionItem",
    "Direction",
    "DynamicToolCallItem",
    "DynamicToolCallParams",
    "ErrorNotification",
    "ErrorResponse",
    "FileChangeApprovalParams",
    "FileChangeItem",
    "FileUpdateChange",
    "GuardianWarning",
    "ITEM_TYPES",
    "ImageViewItem",
    "InitializeResult",
    "ItemCompleted",
    "ItemStarted",
    "McpServerElicitationParams",
    "McpServerStartupStatusUpdated",
    "McpToolCallItem",
    "Message",
    "NOTIFICATION_PARAMS",
    "Notification",
    "Params",
    "PermissionsApprovalParams",
    "PlanItem",
    "ReasoningDelta",
    "ReasoningItem",
    "RemoteControlStatusChanged",
    "RequestId",
    "Response",
    "RpcErrorBody",
    "SERVER_REQUEST_PARAMS",
    "ServerRequest",
    "ServerRequestResolved",
    "ThreadInfo",
    "ThreadItem",
    "ThreadReadStateChanged",
    "ThreadSettingsUpdated",
    "ThreadStartResult",
    "ThreadStarted",
    "ThreadStatus",
    "ThreadStatusChanged",
    "ThreadTokenUsageUpdated",
    "TokenUsageBreakdown",
    "ToolRequestUserInputParams",
    "TurnCompleted",
    "TurnDiffUpdated",
    "TurnError",
    "TurnInfo",
    "TurnStartResult",
    "TurnStarted",
    "UnknownItem",
    "UnknownParams",
    "UserMessageItem",
    "WebSearchItem",
    "parse_item",
    "parse_message",
    "parse_notification_params",
    "parse_server_request_params",
]

#: A JSON-RPC id: codex echoes the client's ids with their type; its own are integers 0, 1, 2, ...
RequestId = int | str
Direction = Literal["s2c", "c2s"]


def _key(name: str) -> Any:
    """A field whose wire key is not the camelCase of its name (``_meta``)."""
    return dataclasses.field(default=None, metadata={"key": name})


# ---------------------------------------------------------------------------------------------------- items


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThreadItem(Model):
    """Base of the items in ``item/started`` / ``item/completed`` / ``turn.items``; dispatches on ``type``."""

    type: str | None = None
    id: str | None = None
    started_at_ms: int | None = None
    completed_at_ms: int | None = None

    @classmethod
    def dispatch(cls, data: Mapping[str, Any]) -> Model:
        tag = data.get("type")
        item_cls = ITEM_TYPES.get(tag, UnknownItem) if isinstance(tag, str) else UnknownItem
        return item_cls.from_dict(data)


@dataclasses.dataclass(frozen=True, kw_only=True)
class UserMessageItem(ThreadItem):
    """What the user sent: ``content`` is the list of input parts (``text``, ``localImage``, ...)."""

    client_id: str | None = None
    content: tuple[Any, ...] | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentMessageItem(ThreadItem):
    """A message of the agent; the last one's ``text`` is the turn's final response."""

    text: str | None = None
    phase: str | None = None
    moderation: Any = None
    memory_citation: Any = None
    delivery: Any = None
    questions: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReasoningItem(ThreadItem):
    """The model's reasoning summary and (when exposed) its raw content."""

    summary: tuple[Any, ...] | None = None
    content: tuple[Any, ...] | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class PlanItem(ThreadItem):
    """A plan written by the agent (plan collaboration mode)."""

    text: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CommandExecutionItem(ThreadItem):
    """A shell command; ``status`` is ``inProgress`` | ``completed`` | ``failed`` | ``declined``."""

    command: str | None = None
    cwd: str | None = None
    process_id: str | None = None
    source: str | None = None
    status: str | None = None
    command_actions: tuple[Any, ...] | None = None
    aggregated_output: str | None = None
    exit_code: int | None = None
    duration_ms: int | None = None
    plugin_id: str | None = None
    script_path: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class FileUpdateChange(Model):
    """One file of a ``fileChange`` item: ``kind`` is ``{"type": "add" | "delete" | "update", ...}``."""

    path: str | None = None
    kind: Any = None
    diff: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class FileChangeItem(ThreadItem):
    """An ``apply_patch``; the diff of an approval request comes from here (the request carries none)."""

    changes: tuple[FileUpdateChange, ...] | None = None
    status: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class McpToolCallItem(ThreadItem):
    """A call of a tool of an MCP server configured in codex."""

    server: str | None = None
    tool: str | None = None
    status: str | None = None
    arguments: Any = None
    result: Any = None
    error: Any = None
    duration_ms: int | None = None
    environment_id: str | None = None
    plugin_id: str | None = None
    read_only_hint: bool | None = None
    app_context: Any = None
    mcp_app_ui: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class DynamicToolCallItem(ThreadItem):
    """A call of a client-side dynamic tool (answered through the ``item/tool/call`` server request)."""

    namespace: str | None = None
    tool: str | None = None
    arguments: Any = None
    status: str | None = None
    content_items: tuple[Any, ...] | None = None
    success: bool | None = None
    duration_ms: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class WebSearchItem(ThreadItem):
    """A web search by the model (not in the offline recordings: schema only)."""

    query: str | None = None
    action: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageViewItem(ThreadItem):
    """The model looked at a local image (schema only)."""

    path: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContextCompactionItem(ThreadItem):
    """The context was compacted (schema only)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class UnknownItem(ThreadItem):
    """An item type this client does not know; everything is in ``raw``."""

    UNKNOWN: ClassVar[bool] = True


ITEM_TYPES: Mapping[str, type[ThreadItem]] = {
    "userMessage": UserMessageItem,
    "agentMessage": AgentMessageItem,
    "reasoning": ReasoningItem,
    "plan": PlanItem,
    "commandExecution": CommandExecutionItem,
    "fileChange": FileChangeItem,
    "mcpToolCall": McpToolCallItem,
    "dynamicToolCall": DynamicToolCallItem,
    "webSearch": WebSearchItem,
    "imageView": ImageViewItem,
    "contextCompaction": ContextCompactionItem,
}


def parse_item(data: Mapping[str, Any]) -> ThreadItem:
    """The typed item for one wire item object (an :class:`UnknownItem` for an unknown ``type``)."""
    item = ThreadItem.dispatch(data)
    assert isinstance(item, ThreadItem)
    return item


# ------------------------------------------------------------------------------------- shared nested objects


@dataclasses.dataclass(frozen=True, kw_only=True)
class TurnError(Model):
    """``turn.error`` / ``error.error``: codex's failure text and classification."""

    message: str | None = None
    codex_error_info: Any = None
    additional_details: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TurnInfo(Model):
    """A turn as codex describes it; ``status``: ``inProgress`` | ``completed`` | ``interrupted`` | ``failed``."""

    id: str | None = None
    root_turn_id: str | None = None
    items: tuple[ThreadItem, ...] | None = None
    items_view: str | None = None
    status: str | None = None
    error: TurnError | None = None
    started_at: int | None = None
    completed_at: int | None = None
    duration_ms: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThreadStatus(Model):
    """``{"type": "idle"}`` or ``{"type": "active", "activeFlags": [...]}`` (``waitingOnApproval``, ...)."""

    type: str | None = None
    active_flags: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThreadInfo(Model):
    """A thread as codex describes it (``thread/start`` result, ``thread/started``)."""

    id: str | None = None
    session_id: str | None = None
    cwd: str | None = None
    model: str | None = None
    model_provider: str | None = None
    status: ThreadStatus | None = None
    path: str | None = None
    cli_version: str | None = None
    preview: str | None = None
    ephemeral: bool | None = None
    turns: tuple[TurnInfo, ...] | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TokenUsageBreakdown(Model):
    """One set of counters of ``thread/tokenUsage/updated`` (``total`` is cumulative, ``last`` one call)."""

    total_tokens: int | None = None
    input_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_output_tokens: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class _TokenUsage(Model):
    total: TokenUsageBreakdown | None = None
    last: TokenUsageBreakdown | None = None
    model_context_window: int | None = None


# -------------------------------------------------------------------------------------------- params: base


@dataclasses.dataclass(frozen=True, kw_only=True)
class Params(Model):
    """Base of every ``params`` model; ``METHOD`` is the method it belongs to."""

    METHOD: ClassVar[str] = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class UnknownParams(Params):
    """``params`` of a method this client does not know (or absent/non-object params): ``raw`` only."""

    UNKNOWN: ClassVar[bool] = True


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Scoped(Params):
    thread_id: str | None = None
    turn_id: str | None = None


# ----------------------------------------------------------------------------------- params: notifications


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThreadStarted(Params):
    METHOD: ClassVar[str] = "thread/started"
    thread: ThreadInfo | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThreadStatusChanged(Params):
    METHOD: ClassVar[str] = "thread/status/changed"
    thread_id: str | None = None
    status: ThreadStatus | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TurnStarted(Params):
    METHOD: ClassVar[str] = "turn/started"
    thread_id: str | None = None
    turn: TurnInfo | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TurnCompleted(Params):
    METHOD: ClassVar[str] = "turn/completed"
    thread_id: str | None = None
    turn: TurnInfo | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ItemStarted(_Scoped):
    METHOD: ClassVar[str] = "item/started"
    item: ThreadItem | None = None
    started_at_ms: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ItemCompleted(_Scoped):
    METHOD: ClassVar[str] = "item/completed"
    item: ThreadItem | None = None
    completed_at_ms: int | None = None
    content_token_count: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentMessageDelta(_Scoped):
    METHOD: ClassVar[str] = "item/agentMessage/delta"
    item_id: str | None = None
    delta: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CommandExecutionOutputDelta(_Scoped):
    METHOD: ClassVar[str] = "item/commandExecution/outputDelta"
    item_id: str | None = None
    delta: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReasoningDelta(_Scoped):
    """``item/reasoning/summaryTextDelta`` and ``item/reasoning/textDelta`` (schema; not recorded offline)."""

    METHOD: ClassVar[str] = "item/reasoning/summaryTextDelta"
    item_id: str | None = None
    delta: str | None = None
    summary_index: int | None = None
    content_index: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServerRequestResolved(Params):
    METHOD: ClassVar[str] = "serverRequest/resolved"
    thread_id: str | None = None
    request_id: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ErrorNotification(_Scoped):
    """A turn error; ``will_retry: False`` means the turn fails (``turn/completed failed`` follows)."""

    METHOD: ClassVar[str] = "error"
    error: TurnError | None = None
    will_retry: bool | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TurnDiffUpdated(_Scoped):
    METHOD: ClassVar[str] = "turn/diff/updated"
    diff: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThreadTokenUsageUpdated(_Scoped):
    METHOD: ClassVar[str] = "thread/tokenUsage/updated"
    token_usage: _TokenUsage | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConfigWarning(Params):
    METHOD: ClassVar[str] = "configWarning"
    summary: str | None = None
    details: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class RemoteControlStatusChanged(Params):
    METHOD: ClassVar[str] = "remoteControl/status/changed"
    status: str | None = None
    server_name: str | None = None
    installation_id: str | None = None
    environment_id: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccountRateLimitsUpdated(Params):
    METHOD: ClassVar[str] = "account/rateLimits/updated"
    rate_limits: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThreadReadStateChanged(Params):
    METHOD: ClassVar[str] = "thread/readState/changed"
    thread_id: str | None = None
    read_state: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThreadSettingsUpdated(Params):
    METHOD: ClassVar[str] = "thread/settings/updated"
    thread_id: str | None = None
    thread_settings: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class McpServerStartupStatusUpdated(Params):
    METHOD: ClassVar[str] = "mcpServer/startupStatus/updated"
    thread_id: str | None = None
    name: str | None = None
    status: str | None = None
    error: Any = None
    failure_reason: Any = None
    environment_id: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class AutoApprovalReviewStarted(_Scoped):
    METHOD: ClassVar[str] = "item/autoApprovalReview/started"
    review_id: str | None = None
    target_item_id: str | None = None
    review: Any = None
    action: Any = None
    started_at_ms: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class AutoApprovalReviewCompleted(AutoApprovalReviewStarted):
    METHOD: ClassVar[str] = "item/autoApprovalReview/completed"
    decision_source: str | None = None
    completed_at_ms: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class GuardianWarning(Params):
    METHOD: ClassVar[str] = "guardianWarning"
    thread_id: str | None = None
    message: str | None = None


NOTIFICATION_PARAMS: Mapping[str, type[Params]] = {
    cls.METHOD: cls
    for cls in (
        ThreadStarted,
        ThreadStatusChanged,
        TurnStarted,
        TurnCompleted,
        ItemStarted,
        ItemCompleted,
        AgentMessageDelta,
        CommandExecutionOutputDelta,
        ReasoningDelta,
        ServerRequestResolved,
        ErrorNotification,
        TurnDiffUpdated,
        ThreadTokenUsageUpdated,
        ConfigWarning,
        RemoteControlStatusChanged,
        AccountRateLimitsUpdated,
        ThreadReadStateChanged,
        ThreadSettingsUpdated,
        McpServerStartupStatusUpdated,
        AutoApprovalReviewStarted,
        AutoApprovalReviewCompleted,
        GuardianWarning,
    )
} | {"item/reasoning/textDelta": ReasoningDelta}


# ------------------------------------------------------------------------------------ params: server requests


@dataclasses.dataclass(frozen=True, kw_only=True)
class CommandExecutionApprovalParams(_Scoped):
    """``item/commandExecution/requestApproval``; ``available_decisions`` is advisory (§4.3)."""

    METHOD: ClassVar[str] = "item/commandExecution/requestApproval"
    item_id: str | None = None
    kind: str | None = None
    command: str | None = None
    cwd: str | None = None
    reason: str | None = None
    command_actions: tuple[Any, ...] | None = None
    proposed_execpolicy_amendment: tuple[Any, ...] | None = None
    available_decisions: tuple[Any, ...] | None = None
    environment_id: str | None = None
    started_at_ms: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class FileChangeApprovalParams(_Scoped):
    """``item/fileChange/requestApproval``: no diff here, it is in the preceding ``item/started``."""

    METHOD: ClassVar[str] = "item/fileChange/requestApproval"
    item_id: str | None = None
    reason: str | None = None
    grant_root: str | None = None
    started_at_ms: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class DynamicToolCallParams(_Scoped):
    METHOD: ClassVar[str] = "item/tool/call"
    call_id: str | None = None
    namespace: str | None = None
    tool: str | None = None
    arguments: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ToolRequestUserInputParams(_Scoped):
    METHOD: ClassVar[str] = "item/tool/requestUserInput"
    item_id: str | None = None
    questions: tuple[Any, ...] | None = None
    is_blocking: bool | None = None
    auto_resolution_ms: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class McpServerElicitationParams(_Scoped):
    METHOD: ClassVar[str] = "mcpServer/elicitation/request"
    server_name: str | None = None
    mode: str | None = None
    message: str | None = None
    requested_schema: Any = None
    meta: Any = _key("_meta")
    environment_id: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class PermissionsApprovalParams(_Scoped):
    """``item/permissions/requestApproval`` (schema only, untested against codex)."""

    METHOD: ClassVar[str] = "item/permissions/requestApproval"
    item_id: str | None = None
    reason: str | None = None
    permissions: Any = None


SERVER_REQUEST_PARAMS: Mapping[str, type[Params]] = {
    cls.METHOD: cls
    for cls in (
        CommandExecutionApprovalParams,
        FileChangeApprovalParams,
        DynamicToolCallParams,
        ToolRequestUserInputParams,
        McpServerElicitationParams,
        PermissionsApprovalParams,
    )
}


# ------------------------------------------------------------------------------------------------- results


@dataclasses.dataclass(frozen=True, kw_only=True)
class InitializeResult(Model):
    user_agent: str | None = None
    codex_home: str | None = None
    platform_family: str | None = None
    platform_os: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThreadStartResult(Model):
    """``thread/start`` (and ``thread/resume``) result: the thread and its effective settings."""

    thread: ThreadInfo | None = None
    model: str | None = None
    model_provider: str | None = None
    cwd: str | None = None
    approval_policy: Any = None
    approvals_reviewer: str | None = None
    sandbox: Any = None
    reasoning_effort: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TurnStartResult(Model):
    turn: TurnInfo | None = None


# ----------------------------------------------------------------------------------------------- envelopes


def _params(table: Mapping[str, type[Params]], method: str, params: Any) -> Params:
    cls = table.get(method, UnknownParams)
    if not isinstance(params, Mapping):
        return UnknownParams()
    return cls.from_dict(params)


def parse_notification_params(method: str, params: Any) -> Params:
    """Typed ``params`` of a server notification (:class:`UnknownParams` for an unknown method)."""
    return _params(NOTIFICATION_PARAMS, method, params)


def parse_server_request_params(method: str, params: Any) -> Params:
    """Typed ``params`` of a server request (:class:`UnknownParams` for an unknown method)."""
    return _params(SERVER_REQUEST_PARAMS, method, params)


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Envelope:
    """Common part of the envelopes: the wire object, re-serialized with typed params."""

    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.raw)
        params = getattr(self, "params", None)
        if isinstance(params, Model) and "params" in out and isinstance(out["params"], Mapping):
            out["params"] = params.to_dict()
        return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class Notification(_Envelope):
    """A server notification; ``emitted_at_ms`` is codex's top-level ``emittedAtMs`` (not JSON-RPC)."""

    method: str
    params: Params
    emitted_at_ms: int | None = None

    @property
    def thread_id(self) -> str | None:
        """The thread this notification is about (``params.threadId`` or ``params.thread.id``)."""
        return _scope(self.params.raw)[0]

    @property
    def turn_id(self) -> str | None:
        """The turn this notification is about (``params.turnId`` or ``params.turn.id``), if it names one."""
        return _scope(self.params.raw)[1]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServerRequest(_Envelope):
    """A request from codex (approvals, dynamic tool calls, ...); reply with exactly this ``id``."""

    id: RequestId
    method: str
    params: Params


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClientRequest(_Envelope):
    id: RequestId
    method: str
    params: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClientNotification(_Envelope):
    method: str
    params: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Response(_Envelope):
    id: RequestId
    result: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class RpcErrorBody(Model):
    code: int | None = None
    message: str | None = None
    data: Any = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ErrorResponse(_Envelope):
    id: RequestId | None
    error: RpcErrorBody

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.raw)
        if isinstance(out.get("error"), Mapping):
            out["error"] = self.error.to_dict()
        return out


Message = Notification | ServerRequest | ClientRequest | ClientNotification | Response | ErrorResponse


def _scope(params: Mapping[str, Any]) -> tuple[str | None, str | None]:
    thread_id = params.get("threadId")
    turn_id = params.get("turnId")
    thread = params.get("thread")
    if thread_id is None and isinstance(thread, Mapping):
        thread_id = thread.get("id")
    turn = params.get("turn")
    if turn_id is None and isinstance(turn, Mapping):
        turn_id = turn.get("id")
    return (
        thread_id if isinstance(thread_id, str) else None,
        turn_id if isinstance(turn_id, str) else None,
    )


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def parse_message(obj: Any, direction: Direction = "s2c") -> Message:
    """Classify one decoded JSON-RPC object sent in ``direction``; raises :class:`AppServerProtocolError` for a
    value that is no message of this protocol (not an object, bad id, method not a string, ...)."""
    if not isinstance(obj, Mapping):
        raise AppServerProtocolError(f"a frame must be a JSON object, got {type(obj).__name__}")
    raw = dict(obj)
    method = obj.get("method")
    has_id = "id" in obj
    if method is not None:
        if not isinstance(method, str):
            raise AppServerProtocolError("'method' must be a string")
        params = obj.get("params")
        if has_id:
            if not _valid_id(obj["id"]):
                raise AppServerProtocolError(f"request id must be an integer or a string, got {obj['id']!r}")
            if direction == "s2c":
                return ServerRequest(
                    id=obj["id"], method=method, params=parse_server_request_params(method, params), raw=raw
                )
            return ClientRequest(id=obj["id"], method=method, params=params, raw=raw)
        if direction == "s2c":
            emitted = obj.get("emittedAtMs")
            return Notification(
                method=method,
                params=parse_notification_params(method, params),
                emitted_at_ms=emitted if _valid_id(emitted) and isinstance(emitted, int) else None,
                raw=raw,
            )
        return ClientNotification(method=method, params=params, raw=raw)
    if "error" in obj:
        error = obj["error"]
        if not isinstance(error, Mapping):
            raise AppServerProtocolError("'error' must be an object")
        rid = obj.get("id")
        if rid is not None and not _valid_id(rid):
            raise AppServerProtocolError(f"response id must be an integer or a string, got {rid!r}")
        return ErrorResponse(id=rid, error=RpcErrorBody.from_dict(error), raw=raw)
    if has_id and "result" in obj:
        if not _valid_id(obj["id"]):
            raise AppServerProtocolError(f"response id must be an integer or a string, got {obj['id']!r}")
        return Response(id=obj["id"], result=obj["result"], raw=raw)
    raise AppServerProtocolError("not a request, response or notification (no 'method', 'result' or 'error')")
