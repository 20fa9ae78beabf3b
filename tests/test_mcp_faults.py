"""The MCP client's fault matrix: each server fault is one typed error of the right kind, and no process is left."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from harness.reference.mcp import (
    McpClient,
    McpClientError,
    McpClosedError,
    McpProtocolError,
    McpRpcError,
    McpServerExitedError,
    McpSpawnError,
    McpTimeoutError,
)

FAULT = str(Path(__file__).resolve().parent / "mcp_servers" / "fault_server.py")


def _client(plan: dict[str, Any], **kwargs: Any) -> McpClient:
    kwargs.setdefault("timeout", 2.0)
    kwargs.setdefault("close_grace", 0.2)
    return McpClient.stdio([sys.executable, FAULT, json.dumps(plan)], **kwargs)


async def _list(client: McpClient) -> Any:
    return await client.list_tools()


async def _call(client: McpClient) -> Any:
    return await client.call_tool("echo", {"text": "hi"})


Action = Callable[[McpClient], Awaitable[Any]]

#: id -> (plan, client options, action after the handshake (None: the handshake itself fails), error class, kind)
MATRIX: dict[str, tuple[dict[str, Any], dict[str, Any], Action | None, type[McpClientError], str]] = {
    "crash_on_initialize": ({"crash_after": 1}, {}, None, McpServerExitedError, "mcp_server_exited"),
    "crash_on_tools_call": ({"crash_after": 3}, {}, _call, McpServerExitedError, "mcp_server_exited"),
    "hang_on_initialize": ({"hang_on": ["initialize"]}, {"timeout": 0.3}, None, McpTimeoutError, "mcp_timeout"),
    "hang_on_tools_call": ({"hang_on": ["tools/call"]}, {"timeout": 0.3}, _call, McpTimeoutError, "mcp_timeout"),
    "hang_ignoring_eof_and_sigterm": (
        {"hang_on": ["tools/list"], "ignore_eof": True, "ignore_sigterm": True},
        {"timeout": 0.3},
        _list,
        McpTimeoutError,
        "mcp_timeout",
    ),
    "garbage_line": ({"garbage_on": ["tools/list"]}, {}, _list, McpProtocolError, "mcp_protocol"),
    "no_jsonrpc_field": ({"no_jsonrpc_on": ["tools/call"]}, {}, _call, McpProtocolError, "mcp_protocol"),
    "malformed_result": ({"malformed_on": ["tools/call"]}, {}, _call, McpProtocolError, "mcp_protocol"),
    "unsupported_protocol_version": ({"protocol_version": "1999-01-01"}, {}, None, McpProtocolError,
                                     "mcp_protocol"),
    "error_reply": ({"error_on": {"tools/call": [-32602, "Unknown tool: echo"]}}, {}, _call, McpRpcError,
                    "mcp_error"),
    "error_reply_to_initialize": ({"error_on": {"initialize": [-32603, "boom"]}}, {}, None, McpRpcError,
                                  "mcp_error"),
}


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_fault_is_a_typed_error_and_no_process_is_left(case: str, no_leaks: str) -> None:
    plan, options, action, error_class, kind = MATRIX[case]

    async def run() -> None:
        client = _client(plan, **options)
        if action is None:
            with pytest.raises(error_class) as info:
                async with client:
                    pass
        else:
            async with client:
                with pytest.raises(error_class) as info:
                    await action(client)
        assert info.value.kind == kind
        assert info.value.to_dict()["kind"] == kind

    asyncio.run(run())


def test_crash_reports_exit_code_and_redacted_stderr(no_leaks: str) -> None:
    plan = {"crash_after": 3, "crash_code": 7, "crash_stderr": "fatal: api_key=sk-abcdefgh12345678 rejected"}

    async def run() -> McpServerExitedError:
        async with _client(plan) as client:
            with pytest.raises(McpServerExitedError) as info:
                await client.list_tools()
            with pytest.raises(McpServerExitedError):  # the connection stays broken, same error
                await client.call_tool("echo")
            return info.value

    error = asyncio.run(run())
    assert error.exit_code == 7 and error.details()["exit_code"] == 7
    assert "fatal" in str(error) and "sk-abcdefgh12345678" not in str(error)


def test_timeout_sends_cancelled_and_a_late_answer_is_dropped(tmp_path: Path, no_leaks: str) -> None:
    log = tmp_path / "received.jsonl"
    plan = {"hang_on": ["tools/call"], "late_reply_s": 0.2, "record": str(log)}

    async def run() -> int:
        async with _client(plan) as client:
            with pytest.raises(McpTimeoutError) as info:
                await client.call_tool("echo", timeout=0.1)
            assert info.value.details() == {"retryable": True, "method": "tools/call", "seconds": 0.1}
            await asyncio.sleep(0.3)  # the late reply arrives and must not be taken for the next answer
            tools = await client.list_tools()
            return len(tools)

    assert asyncio.run(run()) == 1
    received = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    cancelled = [m for m in received if m.get("method") == "notifications/cancelled"]
    assert cancelled == [{"jsonrpc": "2.0", "method": "notifications/cancelled",
                          "params": {"requestId": 1, "reason": "timed out after 0.1 s"}}]


def test_spawn_failure(no_leaks: str) -> None:
    async def run() -> None:
        with pytest.raises(McpSpawnError) as info:
            async with McpClient.stdio([str(Path(no_leaks) / "no-such-server")]):
                pass
        assert info.value.kind == "mcp_spawn"

    asyncio.run(run())


def test_close_with_a_pending_request_and_use_after_close(no_leaks: str) -> None:
    async def run() -> None:
        client = _client({"hang_on": ["tools/call"]}, timeout=30)
        await client.start()
        pending = asyncio.create_task(client.call_tool("echo"))
        await asyncio.sleep(0.1)
        await client.aclose()
        with pytest.raises(McpClosedError):
            await pending
        with pytest.raises(McpClosedError):
            await client.list_tools()
        await client.aclose()  # idempotent

    asyncio.run(run())
