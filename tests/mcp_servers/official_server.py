"""A real MCP server built with the official ``mcp`` package (2.x: ``mcp.server.mcpserver.MCPServer``).

Tools: ``echo`` (text back, with structured content), ``add`` (two integers), ``fail`` (always an ``isError``
result) and ``mutate`` (adds a tool named by its argument, then sends ``notifications/tools/list_changed``).
"""

from __future__ import annotations

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

app = MCPServer("harness-test-server", version="1.0.0")


@app.tool()
def echo(text: str) -> str:
    """Echo the given text back."""
    return f"echo: {text}"


@app.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@app.tool()
def fail(reason: str = "it always fails") -> str:
    """A tool that always reports an error."""
    raise ToolError(f"fail: {reason}")


@app.tool()
async def mutate(name: str, ctx: Context) -> str:
    """Register a new tool called NAME and tell the client the tool list changed."""
    app.add_tool(lambda: name, name=name, description=f"added at runtime: {name}")
    await ctx.session.send_tool_list_changed()
    return f"added {name}"


if __name__ == "__main__":
    app.run()
