"""Typed failures of the reference MCP client, in the reference SDK's CodexError tree.

An SDK reports these to its user (an MCP server the user configured crashed, hung or spoke nonsense), so they are
:class:`~harness.reference.errors.CodexError`\\ s with stable canonical kinds, compared by parity reports::

    CodexError
    └── McpClientError            kind "mcp"                base, never raised itself
        ├── McpRpcError           kind "mcp_error"          the server answered a request with a JSON-RPC error
        ├── McpTimeoutError       kind "mcp_timeout"        no answer within the request's timeout
        ├── McpProtocolError      kind "mcp_protocol"       not JSON-RPC 2.0, a malformed result, a version we do
        │                                                   not speak, garbage on stdout, an over-long line
        ├── McpServerExitedError  kind "mcp_server_exited"  the server closed stdout / exited (code, stderr tail)
        ├── McpSpawnError         kind "mcp_spawn"          the server command cannot be started
        └── McpClosedError        kind "mcp_closed"         the client was closed (by its user) before the answer

A tool that *fails* is not an error here: ``tools/call`` answering ``isError: true`` is a normal result
(:class:`~harness.reference.mcp.model.CallToolResult`), as the MCP specification says.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.reference.errors import CodexError
from harness.reference.tools._redact import redact, shorten

__all__ = [
    "McpClientError",
    "McpClosedError",
    "McpProtocolError",
    "McpRpcError",
    "McpServerExitedError",
    "McpSpawnError",
    "McpTimeoutError",
]


class McpClientError(CodexError):
    """Base of every MCP client failure."""

    kind: ClassVar[str] = "mcp"


class McpRpcError(McpClientError):
    """A JSON-RPC error reply: ``code``, ``message`` and optional ``data`` as the server sent them."""

    kind: ClassVar[str] = "mcp_error"

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"MCP {method} failed: {message} (JSON-RPC error {code})")
        self.method = method
        self.code = code
        self.rpc_message = message
        self.data = data

    def details(self) -> dict[str, Any]:
        """The method and the JSON-RPC error code."""
        return {**super().details(), "method": self.method, "code": self.code}


class McpTimeoutError(McpClientError):
    """A request got no answer within ``seconds``; the client sent ``notifications/cancelled`` for it."""

    kind: ClassVar[str] = "mcp_timeout"

    def __init__(self, method: str, seconds: float) -> None:
        super().__init__(f"MCP {method} timed out after {seconds:g} s", retryable=True)
        self.method = method
        self.seconds = seconds

    def details(self) -> dict[str, Any]:
        """The method and the timeout that expired."""
        return {**super().details(), "method": self.method, "seconds": self.seconds}


class McpProtocolError(McpClientError):
    """The server broke the protocol; the connection is unusable afterwards."""

    kind: ClassVar[str] = "mcp_protocol"

    def __init__(self, reason: str, *, raw: str | None = None) -> None:
        shown = f": {shorten(redact(raw), 200)}" if raw is not None else ""
        super().__init__(f"MCP protocol error: {reason}{shown}")
        self.reason = reason


class McpServerExitedError(McpClientError):
    """The server process ended (or closed stdout) while the client still needed it."""

    kind: ClassVar[str] = "mcp_server_exited"

    def __init__(self, exit_code: int | None, stderr: str = "") -> None:
        status = "closed its stdout" if exit_code is None else f"exited with code {exit_code}"
        tail = shorten(redact(stderr.strip()), 500)
        super().__init__(f"MCP server {status}" + (f": {tail}" if tail else ""))
        self.exit_code = exit_code
        self.stderr = tail

    def details(self) -> dict[str, Any]:
        """The exit code (``None`` when the process had not exited yet)."""
        return {**super().details(), "exit_code": self.exit_code}


class McpSpawnError(McpClientError):
    """The server command could not be started (not found, not executable)."""

    kind: ClassVar[str] = "mcp_spawn"

    def __init__(self, command: str, detail: str) -> None:
        super().__init__(f"cannot start MCP server {command!r}: {detail}")
        self.command = command


class McpClosedError(McpClientError):
    """The client was closed while a request was pending, or used after close."""

    kind: ClassVar[str] = "mcp_closed"

    def __init__(self, message: str = "MCP client is closed") -> None:
        super().__init__(message)
