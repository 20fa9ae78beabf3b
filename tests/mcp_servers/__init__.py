"""MCP servers the MCP client tests start as subprocesses (official ``mcp`` package servers and stdlib fakes)."""
