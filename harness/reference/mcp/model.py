"""Frozen values of the MCP client: the server's handshake answer, its tools and a tool call's result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.reference.mcp.errors import McpProtocolError

__all__ = ["CallToolResult", "InitializeResult", "McpTool"]


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise McpProtocolError(f"{what} must be an object, not {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class InitializeResult:
    """The ``initialize`` answer: the negotiated protocol version, capabilities and who the server is."""

    protocol_version: str
    capabilities: Mapping[str, Any]
    server_info: Mapping[str, Any]
    instructions: str | None = None

    @classmethod
    def from_result(cls, result: Any) -> InitializeResult:
        data = _mapping(result, "initialize result")
        version = data.get("protocolVersion")
        if not isinstance(version, str):
            raise McpProtocolError("initialize result has no protocolVersion string")
        instructions = data.get("instructions")
        return cls(
            version,
            dict(_mapping(data.get("capabilities", {}), "capabilities")),
            dict(_mapping(data.get("serverInfo", {}), "serverInfo")),
            instructions if isinstance(instructions, str) else None,
        )


@dataclass(frozen=True, slots=True)
class McpTool:
    """One entry of ``tools/list``; ``raw`` keeps every field (annotations, outputSchema, ``_meta``)."""

    name: str
    description: str
    input_schema: Mapping[str, Any]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, value: Any) -> McpTool:
        data = _mapping(value, "a tools/list entry")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise McpProtocolError("a tools/list entry has no name")
        description = data.get("description", "")
        schema = data.get("inputSchema")
        return cls(
            name,
            description if isinstance(description, str) else "",
            dict(_mapping(schema, f"inputSchema of tool {name!r}")),
            dict(data),
        )


@dataclass(frozen=True, slots=True)
class CallToolResult:
    """A ``tools/call`` result. ``is_error`` is the tool's own failure (a normal result, not an exception)."""

    content: tuple[Mapping[str, Any], ...]
    is_error: bool = False
    structured_content: Mapping[str, Any] | None = None

    @classmethod
    def from_result(cls, result: Any) -> CallToolResult:
        data = _mapping(result, "tools/call result")
        content = data.get("content", [])
        if not isinstance(content, list) or not all(isinstance(item, Mapping) for item in content):
            raise McpProtocolError("tools/call result content must be a list of objects")
        is_error = data.get("isError", False)
        if not isinstance(is_error, bool):
            raise McpProtocolError("tools/call result isError must be a boolean")
        structured = data.get("structuredContent")
        if structured is not None:
            structured = dict(_mapping(structured, "structuredContent"))
        return cls(tuple(dict(item) for item in content), is_error, structured)

    @property
    def text(self) -> str:
        """The text content items joined by newlines."""
        return "\n".join(str(item.get("text", "")) for item in self.content if item.get("type") == "text")
