"""A fault-injecting fake MCP server (stdlib only), driven by a JSON plan in ``argv[1]``.

It answers the handshake like a well-behaved server and then misbehaves on purpose. Plan keys (all optional):

``protocol_version``   the version its ``initialize`` answer names (default: the client's)
``tools``              the ``tools/list`` entries (default: one ``echo`` tool); ``page_size`` splits them in pages
``record``             a file to which every received message is appended as one JSON line
``crash_after``        exit with ``crash_code`` (default 3), after writing ``crash_stderr``, once this many
                       messages were received
``hang_on``            methods it never answers (``late_reply_s`` answers them after that many seconds anyway)
``garbage_on``         methods answered by a line that is not JSON (``garbage`` text)
``no_jsonrpc_on``      methods answered without ``"jsonrpc": "2.0"``
``error_on``           ``{method: [code, message]}``: JSON-RPC error replies
``malformed_on``       methods answered with ``result`` of the wrong shape
``server_requests``    methods it sends to the client after ``notifications/initialized`` (replies are recorded)
``list_changed_on_call``  send ``notifications/tools/list_changed`` before answering ``tools/call``
``call_result``        the ``tools/call`` result (default: echo of the arguments as text)
``ignore_eof``         keep running after stdin closes (until killed)
``ignore_sigterm``     ignore SIGTERM (so only SIGKILL ends it)
``stderr``             text written to stderr at start
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from typing import Any

PLAN: dict[str, Any] = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
_WRITE = threading.Lock()


def send(obj: Any) -> None:
    with _WRITE:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def record(msg: Any) -> None:
    path = PLAN.get("record")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(msg) + "\n")


def reply(msg: dict[str, Any], result: Any) -> None:
    send({"jsonrpc": "2.0", "id": msg["id"], "result": result})


def tools_page(cursor: str | None) -> dict[str, Any]:
    tools = PLAN.get("tools", [{"name": "echo", "description": "Echo.", "inputSchema": {"type": "object"}}])
    size = PLAN.get("page_size") or len(tools) or 1
    start = int(cursor or 0)
    page: dict[str, Any] = {"tools": tools[start : start + size]}
    if start + size < len(tools):
        page["nextCursor"] = str(start + size)
    return page


def answer(msg: dict[str, Any]) -> None:
    method = msg.get("method")
    params = msg.get("params") or {}
    if method in PLAN.get("hang_on", []):
        delay = PLAN.get("late_reply_s")
        if delay is not None:
            threading.Timer(delay, reply, (msg, {"late": True, "tools": [], "content": []})).start()
        return
    if method in PLAN.get("garbage_on", []):
        with _WRITE:
            sys.stdout.write(PLAN.get("garbage", "Traceback (most recent call last): oops") + "\n")
            sys.stdout.flush()
        return
    if method in PLAN.get("no_jsonrpc_on", []):
        send({"id": msg["id"], "result": {}})
        return
    if method in PLAN.get("error_on", {}):
        code, text = PLAN["error_on"][method]
        send({"jsonrpc": "2.0", "id": msg["id"], "error": {"code": code, "message": text}})
        return
    if method in PLAN.get("malformed_on", []):
        reply(msg, {"tools": "not a list", "content": "not a list", "isError": "yes", "protocolVersion": 7})
        return
    if method == "initialize":
        reply(msg, {
            "protocolVersion": PLAN.get("protocol_version", params.get("protocolVersion")),
            "capabilities": {"tools": {"listChanged": True}},
            "serverInfo": {"name": "fault-server", "version": "0.0.1"},
        })
    elif method == "tools/list":
        reply(msg, tools_page(params.get("cursor")))
    elif method == "tools/call":
        if PLAN.get("list_changed_on_call"):
            send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        default = {"content": [{"type": "text", "text": json.dumps(params.get("arguments"))}], "isError": False}
        reply(msg, PLAN.get("call_result", default))
    elif "id" in msg:
        send({"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32601, "message": f"Method not found: {method}"}})


def main() -> None:
    if PLAN.get("ignore_sigterm"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if PLAN.get("stderr"):
        sys.stderr.write(PLAN["stderr"] + "\n")
        sys.stderr.flush()
    received = 0
    for line in sys.stdin:
        msg = json.loads(line)
        record(msg)
        received += 1
        if PLAN.get("crash_after") is not None and received >= PLAN["crash_after"]:
            sys.stderr.write(PLAN.get("crash_stderr", "fault server: crashing on purpose") + "\n")
            sys.stderr.flush()
            sys.exit(PLAN.get("crash_code", 3))
        if msg.get("method") == "notifications/initialized":
            for index, method in enumerate(PLAN.get("server_requests", [])):
                send({"jsonrpc": "2.0", "id": f"srv-{index}", "method": method, "params": {}})
            continue
        if "method" in msg:
            answer(msg)
    if PLAN.get("ignore_eof"):
        while True:
            time.sleep(1)


if __name__ == "__main__":
    main()
