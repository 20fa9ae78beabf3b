"""The MCP client against real servers built with the official ``mcp`` package, and an in-memory server."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

import harness.reference.mcp as mcp_pkg
from harness.reference.mcp import CallToolResult, McpClient, McpProtocolError, McpRpcError, MemoryTransport

SERVERS = Path(__file__).resolve().parent / "mcp_servers"


def test_public_names_sorted_and_resolve() -> None:
    assert mcp_pkg.__all__ == sorted(mcp_pkg.__all__)
    for name in mcp_pkg.__all__:
        assert getattr(mcp_pkg, name) is not None


def test_official_server_tools_results_and_list_changed(no_leaks: str) -> None:
    changes: list[int] = []

    async def run() -> dict[str, Any]:
        argv = [sys.executable, str(SERVERS / "official_server.py")]
        async with McpClient.stdio(argv, timeout=20, on_tools_changed=changes.append) as client:
            first = await client.list_tools()
            cached = await client.list_tools()
            echo = await client.call_tool("echo", {"text": "hi"})
            added = await client.call_tool("add", {"a": 2, "b": 40})
            failed = await client.call_tool("fail", {"reason": "nope"})
            mutated = await client.call_tool("mutate", {"name": "fresh_tool"})
            counter = client.tools_changed
            after = await client.list_tools()
            return {"first": first, "cached": cached, "echo": echo, "add": added, "fail": failed,
                    "mutate": mutated, "counter": counter, "after": after, "version": client.protocol_version,
                    "server": dict(client.server_info)}

    got = asyncio.run(run())
    assert got["version"] == "2025-06-18"
    assert got["server"]["name"] == "harness-test-server"
    assert [t.name for t in got["first"]] == ["echo", "add", "fail", "mutate"]
    assert got["cached"] is got["first"]  # served from the cache until list_changed
    assert got["first"][0].input_schema["required"] == ["text"]
    assert got["echo"] == CallToolResult(({"type": "text", "text": "echo: hi"},), False, {"result": "echo: hi"})
    assert got["add"].structured_content == {"result": 42}
    assert got["fail"].is_error is True and "fail: nope" in got["fail"].text
    assert got["mutate"].is_error is False
    assert got["counter"] == 1 and changes == [1]
    assert [t.name for t in got["after"]] == ["echo", "add", "fail", "mutate", "fresh_tool"]


def test_pagination_follows_every_cursor(no_leaks: str) -> None:
    async def run() -> list[str]:
        async with McpClient.stdio([sys.executable, str(SERVERS / "paged_server.py")], timeout=20) as client:
            return [t.name for t in await client.list_tools()]

    assert asyncio.run(run()) == [f"tool_{i:02d}" for i in range(25)]


def test_server_requests_ping_answered_others_method_not_found(tmp_path: Path, no_leaks: str) -> None:
    log = tmp_path / "received.jsonl"
    plan = {"server_requests": ["ping", "sampling/createMessage", "roots/list"], "record": str(log)}

    async def run() -> list[str]:
        argv = [sys.executable, str(SERVERS / "fault_server.py"), json.dumps(plan)]
        async with McpClient.stdio(argv, timeout=5) as client:
            await client.list_tools()  # by now the three server requests were answered
            return list(client.unsupported_requests)

    assert asyncio.run(run()) == ["sampling/createMessage", "roots/list"]
    replies = {m["id"]: m for m in map(json.loads, log.read_text(encoding="utf-8").splitlines()) if "id" in m
               and "method" not in m}
    assert replies["srv-0"] == {"jsonrpc": "2.0", "id": "srv-0", "result": {}}
    assert replies["srv-1"]["error"]["code"] == -32601
    assert replies["srv-2"]["error"] == {"code": -32601, "message": "Method not found: roots/list"}


def test_list_changed_invalidates_the_cache(no_leaks: str) -> None:
    plan = {"list_changed_on_call": True, "tools": [{"name": f"t{i}", "inputSchema": {"type": "object"}}
                                                    for i in range(5)], "page_size": 2}

    async def run() -> tuple[int, int, bool]:
        argv = [sys.executable, str(SERVERS / "fault_server.py"), json.dumps(plan)]
        async with McpClient.stdio(argv, timeout=5) as client:
            first = await client.list_tools()
            await client.call_tool("t0")
            second = await client.list_tools()
            return len(first), client.tools_changed, first is second

    assert asyncio.run(run()) == (5, 1, False)


async def _scripted(inbox: asyncio.Queue[bytes | None], outbox: asyncio.Queue[bytes | None]) -> None:
    """An in-memory server: answers the handshake, one tool page, then a JSON-RPC error for tools/call."""
    while (line := await inbox.get()) is not None:
        msg = json.loads(line)
        if "id" not in msg:
            continue
        if msg["method"] == "initialize":
            result: dict[str, Any] = {"protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {}}
        elif msg["method"] == "tools/list":
            result = {"tools": [{"name": "x", "inputSchema": {"type": "object"}}], "nextCursor": "same"}
        else:
            reply = {"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32602, "message": "bad params"}}
            await outbox.put(json.dumps(reply).encode())
            continue
        await outbox.put(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}).encode())


def test_memory_transport_rpc_error_and_repeated_cursor() -> None:
    async def run() -> None:
        async with McpClient(MemoryTransport(_scripted), timeout=2) as client:
            with pytest.raises(McpRpcError) as info:
                await client.call_tool("x")
            assert (info.value.code, info.value.rpc_message, info.value.method) == (-32602, "bad params",
                                                                                    "tools/call")
            with pytest.raises(McpProtocolError, match="repeated cursor"):
                await client.list_tools()

    asyncio.run(run())
