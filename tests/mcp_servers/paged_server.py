"""A real MCP server (official ``mcp`` package, low-level ``Server``) whose ``tools/list`` is paginated.

``MCPServer`` lists every tool in one page, so pagination needs the low-level handler: 25 tools ``tool_00`` …
``tool_24`` in pages of 10, the cursor being the index of the next tool.
"""

from __future__ import annotations

from typing import Any

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

TOOLS = [
    types.Tool(name=f"tool_{i:02d}", description=f"Tool number {i}.", input_schema={"type": "object"})
    for i in range(25)
]
PAGE = 10


async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    start = int(params.cursor) if params is not None and params.cursor else 0
    end = start + PAGE
    return types.ListToolsResult(tools=TOOLS[start:end], next_cursor=str(end) if end < len(TOOLS) else None)


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=f"called {params.name}")])


server = Server("harness-paged-server", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def main() -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
