"""A reference MCP (Model Context Protocol) client over stdio, to compare SDKs' MCP handling with.

``async with McpClient.stdio(["python", "server.py"], timeout=10) as client:`` then ``await client.list_tools()``
and ``await client.call_tool("echo", {"text": "hi"})``. Failures are typed (:mod:`.errors`, canonical kinds
``mcp_error``, ``mcp_timeout``, ``mcp_protocol``, ``mcp_server_exited``, ``mcp_spawn``, ``mcp_closed``).
"""

from __future__ import annotations

from harness.reference.mcp.client import MAX_PAGES, PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, McpClient
from harness.reference.mcp.errors import (
    McpClientError,
    McpClosedError,
    McpProtocolError,
    McpRpcError,
    McpServerExitedError,
    McpSpawnError,
    McpTimeoutError,
)
from harness.reference.mcp.model import CallToolResult, InitializeResult, McpTool
from harness.reference.mcp.transport import DEFAULT_LINE_LIMIT, MemoryTransport, StdioTransport, Transport

__all__ = [
    "CallToolResult",
    "DEFAULT_LINE_LIMIT",
    "InitializeResult",
    "MAX_PAGES",
    "McpClient",
    "McpClientError",
    "McpClosedError",
    "McpProtocolError",
    "McpRpcError",
    "McpServerExitedError",
    "McpSpawnError",
    "McpTimeoutError",
    "McpTool",
    "MemoryTransport",
    "PROTOCOL_VERSION",
    "SUPPORTED_PROTOCOL_VERSIONS",
    "StdioTransport",
    "Transport",
]
