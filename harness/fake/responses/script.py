"""The script of a fake model: one scripted :class:`Response` per expected model request, as data.

A :class:`Response` is either a stream of output items (:class:`Stream`) or a failure (:class:`HttpError`,
:class:`StreamFailed`, :class:`Cut`, :class:`Hang`). Items are *intentions* ("run this shell command", "call the MCP
tool echo") that :mod:`.render` resolves against the request at answer time: which shell tool the request offers,
whether ``apply_patch`` is a custom or a function tool, which namespace an MCP tool lives in, what the last tool
output said. That keeps a case's script portable across CLI versions whose tool sets differ.

:func:`parse_script` builds a script from plain YAML/JSON data (the case catalogue) with one-line errors naming
the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError

__all__ = [
    "Cut",
    "Hang",
    "HttpError",
    "Item",
    "Message",
    "PatchCall",
    "PlanUpdate",
    "RawItem",
    "Reasoning",
    "Response",
    "SchemaMessage",
    "Script",
    "ScriptError",
    "ShellCall",
    "Stream",
    "StreamFailed",
    "ToolCall",
    "ToolSearch",
    "Usage",
    "WebSearch",
    "parse_script",
]

#: ``{tool_output}`` in a message text becomes the last tool output of the turn (first 200 characters).
TOOL_OUTPUT = "{tool_output}"


class ScriptError(HarnessError):
    """A fake-model script that cannot be parsed."""


@dataclass(frozen=True)
class Usage:
    """Token usage of one response (``response.completed.usage``)."""

    input: int = 10
    output: int = 5
    cached: int = 0
    reasoning: int = 0


@dataclass(frozen=True)
class Message:
    """An assistant message; ``phase`` is the Responses ``phase`` field ("commentary", "final_answer")."""

    text: str
    phase: str | None = None


@dataclass(frozen=True)
class SchemaMessage:
    """An assistant message whose text is a JSON object following the request's ``text.format`` schema."""


@dataclass(frozen=True)
class Reasoning:
    """A reasoning item with one summary part."""

    summary: str


@dataclass(frozen=True)
class ShellCall:
    """A shell command, sent through whichever shell tool the request offers (exec_command, shell_command, shell)."""

    command: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PatchCall:
    """An ``apply_patch`` call (custom/freeform tool, or function tool if that is what the request offers)."""

    patch: str


@dataclass(frozen=True)
class PlanUpdate:
    """An ``update_plan`` function call."""

    plan: Sequence[Mapping[str, str]]
    explanation: str | None = None


@dataclass(frozen=True)
class WebSearch:
    """A ``web_search_call`` output item (server-side tool: no output comes back)."""

    query: str


@dataclass(frozen=True)
class ToolSearch:
    """A client-executed ``tool_search_call`` (how codex reveals deferred MCP tools)."""

    query: str
    limit: int = 8


@dataclass(frozen=True)
class ToolCall:
    """A function call of an MCP or dynamic tool named ``name`` (or ``*__name``); the namespace is looked up in
    the request's tools and in tool_search outputs."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RawItem:
    """A Responses output item sent as is."""

    item: Mapping[str, Any]


Item = (
    Message
    | SchemaMessage
    | Reasoning
    | ShellCall
    | PatchCall
    | PlanUpdate
    | WebSearch
    | ToolSearch
    | ToolCall
    | RawItem
)


@dataclass(frozen=True)
class Stream:
    """A 200 SSE stream: the items, then ``response.completed`` with ``usage``."""

    items: tuple[Item, ...]
    usage: Usage = Usage()
    times: int = 1


@dataclass(frozen=True)
class HttpError:
    """An HTTP error answer (400, 429, 500, ...) with a JSON body."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    times: int = 1


@dataclass(frozen=True)
class StreamFailed:
    """``response.created`` then ``response.failed`` with this error."""

    code: str = "server_error"
    message: str = "fake response.failed"
    times: int = 1


@dataclass(frozen=True)
class Cut:
    """``response.created``, then the connection is closed without ``response.completed``."""

    times: int = 1


@dataclass(frozen=True)
class Hang:
    """``response.created``, then silence for ``seconds`` (idle timeout and interrupt cases)."""

    seconds: float = 30.0
    times: int = 1


Response = Stream | HttpError | StreamFailed | Cut | Hang


@dataclass(frozen=True)
class Script:
    """The responses in request order; a response with ``times: n`` answers ``n`` consecutive requests."""

    responses: tuple[Response, ...]

    def expanded(self) -> tuple[Response, ...]:
        return tuple(r for r in self.responses for _ in range(r.times))


# -- parsing


def parse_script(data: Any, where: str = "script") -> Script:
    """A :class:`Script` from plain data: a list of responses (see docs/real-codex.md, "Scripted answers")."""
    if not isinstance(data, list):
        raise ScriptError(f"{where}: must be a list of responses")
    return Script(tuple(_response(raw, f"{where}[{i}]") for i, raw in enumerate(data)))


_FAILURES = {"http", "sse_failed", "cut", "hang"}


def _response(raw: Any, where: str) -> Response:
    if isinstance(raw, list):
        raw = {"items": raw}
    if not isinstance(raw, dict):
        raise ScriptError(f"{where}: a response is a mapping (items/usage/times, or http/sse_failed/cut/hang)")
    times = _int(raw.get("times", 1), f"{where}.times")
    kinds = _FAILURES & set(raw)
    if len(kinds) > 1 or (kinds and "items" in raw):
        raise ScriptError(f"{where}: one of items, http, sse_failed, cut, hang")
    _only(raw, {"items", "usage", "times", "http", "body", "headers", "sse_failed", "cut", "hang"}, where)
    if "http" in raw:
        body = raw.get("body", {"error": {"message": "fake error"}})
        headers = raw.get("headers", {})
        if not isinstance(body, dict) or not isinstance(headers, dict):
            raise ScriptError(f"{where}: body and headers must be mappings")
        return HttpError(_int(raw["http"], f"{where}.http"), body, {str(k): str(v) for k, v in headers.items()}, times)
    if "sse_failed" in raw:
        spec = raw["sse_failed"] or {}
        if not isinstance(spec, dict):
            raise ScriptError(f"{where}.sse_failed: a mapping with code/message")
        return StreamFailed(
            str(spec.get("code", "server_error")), str(spec.get("message", "fake response.failed")), times
        )
    if "cut" in raw:
        return Cut(times)
    if "hang" in raw:
        seconds = raw["hang"]
        if not isinstance(seconds, int | float) or isinstance(seconds, bool):
            raise ScriptError(f"{where}.hang: seconds (a number)")
        return Hang(float(seconds), times)
    items = raw.get("items")
    if not isinstance(items, list) or not items:
        raise ScriptError(f"{where}.items: a non-empty list of output items")
    return Stream(
        tuple(_item(it, f"{where}.items[{i}]") for i, it in enumerate(items)), _usage(raw.get("usage"), where), times
    )


def _usage(raw: Any, where: str) -> Usage:
    if raw is None:
        return Usage()
    if not isinstance(raw, dict):
        raise ScriptError(f"{where}.usage: a mapping input/output/cached/reasoning")
    _only(raw, {"input", "output", "cached", "reasoning"}, f"{where}.usage")
    return Usage(**{k: _int(v, f"{where}.usage.{k}") for k, v in raw.items()})


def _item(raw: Any, where: str) -> Item:
    if not isinstance(raw, dict) or len(raw) < 1:
        raise ScriptError(f"{where}: an item is a one-key mapping such as {{message: text}} or {{shell: cmd}}")
    kind = next(iter(raw))
    value = raw[kind]
    extra = {k: v for k, v in raw.items() if k != kind}
    if kind == "message":
        _only(extra, {"phase"}, where)
        return Message(_str(value, f"{where}.message"), extra.get("phase"))
    if kind == "schema_message":
        return SchemaMessage()
    if kind == "reasoning":
        return Reasoning(_str(value, f"{where}.reasoning"))
    if kind == "shell":
        _only(extra, {"extra"}, where)
        return ShellCall(_str(value, f"{where}.shell"), dict(extra.get("extra") or {}))
    if kind == "patch":
        return PatchCall(_str(value, f"{where}.patch"))
    if kind == "plan":
        _only(extra, {"explanation"}, where)
        if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
            raise ScriptError(f"{where}.plan: a list of {{step, status}}")
        return PlanUpdate(tuple({str(k): str(v) for k, v in s.items()} for s in value), extra.get("explanation"))
    if kind == "web_search":
        return WebSearch(_str(value, f"{where}.web_search"))
    if kind == "tool_search":
        return ToolSearch(_str(value, f"{where}.tool_search"))
    if kind == "tool_call":
        _only(extra, {"arguments"}, where)
        arguments = extra.get("arguments") or {}
        if not isinstance(arguments, dict):
            raise ScriptError(f"{where}.arguments: a mapping")
        return ToolCall(_str(value, f"{where}.tool_call"), arguments)
    if kind == "raw":
        if not isinstance(value, dict) or "type" not in value:
            raise ScriptError(f"{where}.raw: a Responses item mapping with a type")
        return RawItem(value)
    raise ScriptError(
        f"{where}: unknown item kind {kind!r} (message, schema_message, reasoning, shell, patch, plan, web_search, "
        "tool_search, tool_call, raw)"
    )


def _only(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ScriptError(f"{where}: unknown field {unknown[0]!r}")


def _int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ScriptError(f"{where}: a non-negative integer")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ScriptError(f"{where}: a string")
    return value
