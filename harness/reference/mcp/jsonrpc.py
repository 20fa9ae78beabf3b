"""JSON-RPC 2.0 framing for MCP over stdio: one compact JSON object per ``\\n``-terminated line.

Unlike codex's app-server protocol, MCP requires ``"jsonrpc": "2.0"`` on every message; a line without it, or one
that is not a JSON object at all (a server that ``print()``s to stdout), is a protocol error, not something to
skip: the next line could be half of a message. Batches (JSON arrays) were removed from MCP in 2025-06-18.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.reference.mcp.errors import McpProtocolError

__all__ = ["Message", "decode", "encode", "error_reply", "notification", "request", "result_reply"]

RequestId = int | str


@dataclass(frozen=True, slots=True)
class Message:
    """A classified incoming message: ``kind`` is ``request``, ``notification``, ``result`` or ``error``."""

    kind: str
    id: RequestId | None
    method: str | None
    params: Any
    result: Any
    error: Mapping[str, Any] | None


def encode(message: Mapping[str, Any]) -> bytes:
    """One line of compact UTF-8 JSON (non-ASCII kept as is; newlines inside strings are escaped by JSON)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def request(request_id: RequestId, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        msg["params"] = dict(params)
    return msg


def notification(method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = dict(params)
    return msg


def result_reply(request_id: RequestId, result: Mapping[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": dict(result)}


def error_reply(request_id: RequestId, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def _is_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def decode(line: bytes) -> tuple[Message, Mapping[str, Any]]:
    """Classify one line; returns the message and the raw object. Raises :class:`McpProtocolError`."""
    text = line.decode("utf-8", errors="replace")
    try:
        raw = json.loads(text)
    except ValueError:
        raise McpProtocolError("server wrote a line that is not JSON", raw=text) from None
    if not isinstance(raw, dict):
        raise McpProtocolError("server wrote JSON that is not a JSON-RPC object", raw=text)
    if raw.get("jsonrpc") != "2.0":
        raise McpProtocolError('message lacks "jsonrpc": "2.0"', raw=text)
    method = raw.get("method")
    has_id = "id" in raw
    if method is not None:
        if not isinstance(method, str):
            raise McpProtocolError("method must be a string", raw=text)
        if has_id:
            if not _is_id(raw["id"]):
                raise McpProtocolError("request id must be a string or an integer", raw=text)
            return Message("request", raw["id"], method, raw.get("params"), None, None), raw
        return Message("notification", None, method, raw.get("params"), None, None), raw
    if not has_id or not (_is_id(raw["id"]) or raw["id"] is None):
        raise McpProtocolError("response without a valid id", raw=text)
    if "error" in raw:
        error = raw["error"]
        if not isinstance(error, dict) or not isinstance(error.get("code"), int):
            raise McpProtocolError("error reply without an integer code", raw=text)
        return Message("error", raw["id"], None, None, None, error), raw
    if "result" not in raw:
        raise McpProtocolError("response has neither result nor error", raw=text)
    return Message("result", raw["id"], None, None, raw["result"], None), raw
