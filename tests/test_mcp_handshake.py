"""The MCP client opens a session the way codex does, compared with codex's recorded MCP traffic.

The recordings (``fixtures/real/mcp/wire/<version>/``, copied verbatim from the corpus) show what codex 0.163,
0.169 and 0.171 sent to a stdio MCP server; a recording fake server captures what our client sends for the same
session (list the tools, call ``echo``). Same protocol version, same messages in the same order and of the same
kind (request / notification), integer ids from 0, ``"jsonrpc": "2.0"`` everywhere, same initialize fields.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.reference.mcp import PROTOCOL_VERSION, McpClient

REPO = Path(__file__).resolve().parent.parent
WIRE = REPO / "fixtures" / "real" / "mcp"
FAULT = Path(__file__).resolve().parent / "mcp_servers" / "fault_server.py"
RECORDINGS = sorted(WIRE.glob("wire/*/*.mcp.jsonl"))


def _shape(message: dict[str, Any]) -> tuple[str, str | None, Any]:
    kind = "request" if "id" in message and "method" in message else "notification" if "method" in message else "reply"
    return kind, message.get("method"), message.get("id")


def _sent_by_codex(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [entry["msg"] for entry in lines if entry["dir"] == "in"]


def test_recordings_are_verbatim_copies() -> None:
    readme = (WIRE / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"\| `(wire/[^`]+)` \|.*\| `([0-9a-f]{64})` \|", readme))
    assert len(RECORDINGS) >= 3
    assert {p.relative_to(WIRE).as_posix() for p in RECORDINGS} == set(listed)
    for path in RECORDINGS:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[path.relative_to(WIRE).as_posix()]


def _our_session(tmp_path: Path) -> list[dict[str, Any]]:
    log = tmp_path / "received.jsonl"
    plan = {"record": str(log), "tools": [{"name": "echo", "description": "Echo.", "inputSchema": {
        "type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}]}

    async def run() -> None:
        async with McpClient.stdio([sys.executable, str(FAULT), json.dumps(plan)], timeout=5) as client:
            await client.list_tools()
            await client.call_tool("echo", {"text": "hi from the model"})

    asyncio.run(run())
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_handshake_matches_codex(recording: Path, tmp_path: Path, no_leaks: str) -> None:
    codex = _sent_by_codex(recording)
    ours = _our_session(tmp_path)
    assert [_shape(m) for m in ours] == [_shape(m) for m in codex]
    assert [_shape(m)[:2] for m in ours] == [
        ("request", "initialize"), ("notification", "notifications/initialized"),
        ("request", "tools/list"), ("request", "tools/call"),
    ]
    assert all(m["jsonrpc"] == "2.0" for m in ours + codex)
    codex_init, our_init = codex[0]["params"], ours[0]["params"]
    assert our_init["protocolVersion"] == codex_init["protocolVersion"] == PROTOCOL_VERSION
    assert set(our_init) == set(codex_init) == {"protocolVersion", "capabilities", "clientInfo"}
    assert {"name", "version"} <= set(our_init["clientInfo"])
    assert "params" not in ours[1] and "params" not in codex[1]
    call_ours, call_codex = ours[3]["params"], codex[3]["params"]
    assert call_ours["name"] == call_codex["name"] == "echo"
    assert set(call_codex) - {"_meta"} == set(call_ours) == {"name", "arguments"}
