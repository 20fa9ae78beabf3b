"""Turn a scripted :class:`~.script.Response` into the SSE events (or HTTP error) for one concrete request.

The Responses wire shapes follow real-codex-offline.md §7 and codex's own test helpers
(``codex-rs/core/tests/common/responses.rs``): ``output_item.done`` per item, ``response.completed`` with usage.
Resolution against the request is the part that is not data: the shell tool the request offers
(``exec_command`` → ``shell_command`` → ``shell``), apply_patch as custom or function tool, the namespace of an
MCP/dynamic tool (offered directly or revealed by a ``tool_search_output``), the last tool output for
``{tool_output}``, and the ``text.format`` schema for :class:`~.script.SchemaMessage`.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.fake.responses.script import (
    TOOL_OUTPUT,
    Cut,
    Hang,
    HttpError,
    Item,
    Message,
    PatchCall,
    PlanUpdate,
    RawItem,
    Reasoning,
    Response,
    SchemaMessage,
    ShellCall,
    Stream,
    StreamFailed,
    ToolCall,
    ToolSearch,
    Usage,
    WebSearch,
)

__all__ = ["Answer", "IdSource", "RequestView", "render"]

_OUTPUT_TYPES = ("function_call_output", "custom_tool_call_output", "tool_search_output", "mcp_tool_call_output")


@dataclass(frozen=True)
class Answer:
    """What the server sends: an HTTP error (``status != 200``, JSON ``body``) or SSE ``events``, then either
    close the stream (``complete``/cut) or stay silent ``hang_seconds`` first."""

    status: int = 200
    events: tuple[Mapping[str, Any], ...] = ()
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    hang_seconds: float = 0.0

    def to_log(self) -> dict[str, Any]:
        """The JSON the request log records as ``answer``."""
        if self.status != 200:
            return {"status": self.status, "body": self.body, "headers": dict(self.headers)}
        out: dict[str, Any] = {"status": 200, "sse": list(self.events)}
        if self.hang_seconds:
            out["hang_seconds"] = self.hang_seconds
        return out


class IdSource:
    """Deterministic ids per server (``resp_1``, ``msg_2``, ``call_3``): recordings diff cleanly."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._responses = itertools.count(1)
        self._lock = threading.Lock()

    def next(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}{next(self._counter)}"

    def response(self) -> str:
        with self._lock:
            return f"resp_{next(self._responses)}"


@dataclass(frozen=True)
class RequestView:
    """Read-only questions about one ``POST /v1/responses`` body."""

    body: Mapping[str, Any]

    def _input(self) -> list[Mapping[str, Any]]:
        raw = self.body.get("input")
        return [i for i in raw if isinstance(i, Mapping)] if isinstance(raw, list) else []

    def last_user_index(self) -> int:
        items = self._input()
        for index in range(len(items) - 1, -1, -1):
            if items[index].get("type") == "message" and items[index].get("role") == "user":
                return index
        return -1

    def user_text(self) -> str:
        """The text of the latest user message."""
        index = self.last_user_index()
        if index < 0:
            return ""
        content = self._input()[index].get("content") or []
        return "\n".join(
            str(c.get("text", ""))
            for c in content
            if isinstance(c, Mapping) and c.get("type") in ("input_text", "text")
        )

    def outputs(self) -> list[Mapping[str, Any]]:
        """Tool outputs after the latest user message (how far this turn got)."""
        return [i for i in self._input()[self.last_user_index() + 1 :] if i.get("type") in _OUTPUT_TYPES]

    def last_output_text(self) -> str:
        outputs = [o for o in self.outputs() if o.get("type") != "tool_search_output"]
        if not outputs:
            return "done"
        out = outputs[-1].get("output")
        if isinstance(out, Mapping):
            out = out.get("content") or json.dumps(out)
        elif isinstance(out, list):
            out = " ".join(str(x.get("text", "")) for x in out if isinstance(x, Mapping))
        return str(out)

    def tools(self) -> list[Mapping[str, Any]]:
        raw = self.body.get("tools")
        return [t for t in raw if isinstance(t, Mapping)] if isinstance(raw, list) else []

    def tool(self, name: str) -> Mapping[str, Any] | None:
        return next((t for t in self.tools() if t.get("name") == name), None)

    def schema(self) -> Mapping[str, Any]:
        text = self.body.get("text")
        fmt = text.get("format") if isinstance(text, Mapping) else None
        schema = fmt.get("schema") if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema" else None
        return schema if isinstance(schema, Mapping) else {}

    def find_named_tool(self, query: str) -> tuple[str | None, str] | None:
        """``(namespace, name)`` of a tool called ``query`` or ``*__query``, offered directly or by a tool search."""
        searched = [o.get("tools") for o in reversed(self.outputs()) if o.get("type") == "tool_search_output"]
        for tools in [*searched, [t for t in self.tools() if t.get("type") in ("function", "namespace")]]:
            found = _scan(tools, query, None)
            if found is not None:
                return found
        return None


def _scan(tools: Any, query: str, namespace: str | None) -> tuple[str | None, str] | None:
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, Mapping):
            continue
        if tool.get("type") == "namespace" or tool.get("tools"):
            found = _scan(tool.get("tools"), query, str(tool.get("name")))
            if found is not None:
                return found
            continue
        name = tool.get("name")
        if isinstance(name, str) and (name == query or name.endswith("__" + query)):
            return namespace, name
    return None


def render(response: Response, request: RequestView, ids: IdSource) -> Answer:
    """The answer to ``request`` that ``response`` scripts."""
    if isinstance(response, HttpError):
        return Answer(status=response.status, body=response.body, headers=response.headers)
    resp_id = ids.response()
    created = {"type": "response.created", "response": {"id": resp_id}}
    if isinstance(response, StreamFailed):
        error = {"code": response.code, "message": response.message}
        failed = {"type": "response.failed", "response": {"id": resp_id, "status": "failed", "error": error}}
        return Answer(events=(created, failed))
    if isinstance(response, Cut):
        return Answer(events=(created,))
    if isinstance(response, Hang):
        return Answer(events=(created,), hang_seconds=response.seconds)
    assert isinstance(response, Stream)
    events: list[Mapping[str, Any]] = [created]
    for index, item in enumerate(response.items):
        rendered = _item(item, request, ids)
        if rendered.get("type") == "message":
            added = {**rendered, "status": "in_progress", "content": []}
            text = rendered["content"][0]["text"]
            events.append({"type": "response.output_item.added", "output_index": index, "item": added})
            events.append(
                {
                    "type": "response.output_text.delta",
                    "item_id": rendered["id"],
                    "output_index": index,
                    "content_index": 0,
                    "delta": text,
                }
            )
        events.append({"type": "response.output_item.done", "output_index": index, "item": rendered})
    completed = {"id": resp_id, "usage": _usage(response.usage), "status": "completed"}
    events.append({"type": "response.completed", "response": completed})
    return Answer(events=tuple(events))


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input,
        "input_tokens_details": {"cached_tokens": usage.cached},
        "output_tokens": usage.output,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning},
        "total_tokens": usage.input + usage.output,
    }


def _message(text: str, ids: IdSource, phase: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "message",
        "id": ids.next("msg_"),
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    if phase is not None:
        item["phase"] = phase
    return item


def _function_call(name: str, arguments: Mapping[str, Any] | str, ids: IdSource) -> dict[str, Any]:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {
        "type": "function_call",
        "id": ids.next("fc_"),
        "call_id": ids.next("call_"),
        "name": name,
        "arguments": args,
        "status": "completed",
    }


def _item(item: Item, request: RequestView, ids: IdSource) -> dict[str, Any]:
    if isinstance(item, Message):
        text = (
            item.text.replace(TOOL_OUTPUT, request.last_output_text()[:200]) if TOOL_OUTPUT in item.text else item.text
        )
        return _message(text, ids, item.phase)
    if isinstance(item, SchemaMessage):
        return _message(json.dumps(_schema_value(request.schema())), ids)
    if isinstance(item, Reasoning):
        summary = [{"type": "summary_text", "text": item.summary}]
        return {
            "type": "reasoning",
            "id": ids.next("rs_"),
            "summary": summary,
            "content": None,
            "encrypted_content": None,
        }
    if isinstance(item, ShellCall):
        return _shell(item, request, ids)
    if isinstance(item, PatchCall):
        tool = request.tool("apply_patch")
        if tool is not None and tool.get("type") == "function":
            return _function_call("apply_patch", {"input": item.patch}, ids)
        return {
            "type": "custom_tool_call",
            "id": ids.next("ctc_"),
            "call_id": ids.next("call_"),
            "name": "apply_patch",
            "input": item.patch,
            "status": "completed",
        }
    if isinstance(item, PlanUpdate):
        args: dict[str, Any] = {"plan": [dict(step) for step in item.plan]}
        if item.explanation is not None:
            args = {"explanation": item.explanation, **args}
        return _function_call("update_plan", args, ids)
    if isinstance(item, WebSearch):
        action = {"type": "search", "query": item.query}
        return {"type": "web_search_call", "id": ids.next("ws_"), "status": "completed", "action": action}
    if isinstance(item, ToolSearch):
        return {
            "type": "tool_search_call",
            "id": ids.next("tsc_"),
            "call_id": ids.next("call_"),
            "execution": "client",
            "status": "completed",
            "arguments": {"query": item.query, "limit": item.limit},
        }
    if isinstance(item, ToolCall):
        found = request.find_named_tool(item.name)
        namespace, name = found if found is not None else (None, item.name)
        call = _function_call(name, item.arguments, ids)
        if namespace:
            call["namespace"] = namespace
        return call
    assert isinstance(item, RawItem)
    return dict(item.item)


def _shell(item: ShellCall, request: RequestView, ids: IdSource) -> dict[str, Any]:
    names = {str(t.get("name")) for t in request.tools()}
    if "exec_command" in names:
        name, args = "exec_command", {"cmd": item.command, **item.extra}
    elif "shell" in names and "shell_command" not in names:
        name, args = "shell", {"command": ["bash", "-lc", item.command], **item.extra}
    else:
        name, args = "shell_command", {"command": item.command, **item.extra}
    return _function_call(name, args, ids)


def _schema_value(schema: Mapping[str, Any]) -> Any:
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: _schema_value(v) for k, v in props.items() if isinstance(v, Mapping)}
    defaults: dict[str, Any] = {"string": "fake", "integer": 42, "number": 1.5, "boolean": True, "array": []}
    return defaults.get(str(kind))
