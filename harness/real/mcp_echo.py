"""A minimal stdio MCP server for the MCP cases: run as a script (stdlib only, no harness imports).

Newline-delimited JSON-RPC 2.0. Tools: ``echo {text}`` → ``echo: <text>`` plus ``structuredContent {echoed}``;
``fail {}`` → ``isError: true``. Every message in and out is appended to ``$MCP_LOG`` (``{"dir", "msg"}``).
Standalone so codex can spawn it with a bare interpreter and one path argument.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

__all__ = ["handle", "main"]

TOOLS = [
    {
        "name": "echo",
        "description": "Echo the given text back.",
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string", "description": "text to echo"}},
            "required": ["text"],
            "additionalProperties": False,
        },
    },
    {
        "name": "fail",
        "description": "A tool that always reports an error.",
        "inputSchema": {"type": "object", "properties": {}, "additionalProperties": False},
    },
]


def _log(direction: str, msg: Any) -> None:
    path = os.environ.get("MCP_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"dir": direction, "msg": msg}) + "\n")


def handle(msg: dict[str, Any]) -> dict[str, Any] | None:
    """The response to one request (``None`` for a notification)."""
    method, rid = msg.get("method"), msg.get("id")
    if rid is None:
        return None
    params = msg.get("params") or {}
    result: dict[str, Any]
    if method == "initialize":
        result = {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "echo", "version": "1.0.0"},
        }
    elif method == "ping":
        result = {}
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        name, args = params.get("name"), params.get("arguments") or {}
        if name == "echo":
            text = str(args.get("text", ""))
            result = {"content": [{"type": "text", "text": f"echo: {text}"}], "structuredContent": {"echoed": text}}
        elif name == "fail":
            result = {"content": [{"type": "text", "text": "fail tool always fails"}], "isError": True}
        else:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": f"unknown tool {name}"}}
    elif method in ("resources/list", "resources/templates/list", "prompts/list"):
        key = {"resources/list": "resources", "resources/templates/list": "resourceTemplates"}.get(method, "prompts")
        result = {key: []}
    else:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": f"method not found: {method}"}}
    return {"jsonrpc": "2.0", "id": rid, "result": result}


def main() -> int:
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        _log("in", msg)
        reply = handle(msg) if isinstance(msg, dict) else None
        if reply is not None:
            _log("out", reply)
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
