"""A deliberately leaky app-server "SDK" behind the adapter protocol (tests/test_appserver_leak.py).

It speaks JSON-RPC to the fake app-server itself (``initialize``, ``initialized``, ``thread/start``, ``turn/start``)
and, at the case's ``close_client`` moment (``turn/started`` arrived, or a server request is pending), it returns
its observation **without closing anything**: the child and its pipes stay referenced in :data:`_LEFT`, so the
fake app-server neither sees EOF nor a signal -- the bug issue #17 is about. The harness must report it as a
``leftover_process`` and kill it. Stdlib only; run as a script (``python appserver_leaky.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

#: Every child ever spawned, kept alive on purpose (never closed, never waited for).
_LEFT: list[subprocess.Popen[bytes]] = []


def _send(proc: subprocess.Popen[bytes], message: dict[str, Any]) -> None:
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(message).encode() + b"\n")
    proc.stdin.flush()


def _read(proc: subprocess.Popen[bytes]) -> dict[str, Any] | None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return json.loads(line) if line else None


def _until(proc: subprocess.Popen[bytes], done: Any, events: list[dict[str, Any]]) -> dict[str, Any] | None:
    while (msg := _read(proc)) is not None:
        if "method" in msg and "id" not in msg and "threadId" in json.dumps(msg.get("params")):
            events.append({"method": msg["method"], "params": msg.get("params")})
        if done(msg):
            return msg
    return None


def run_case(case: dict[str, Any], codex_path: str, workdir: str) -> dict[str, Any]:
    turn = case["turns"][-1]
    when = (turn.get("close_client") or {}).get("when", "turn_started")
    proc = subprocess.Popen([codex_path, "app-server", "--listen", "stdio://"], cwd=workdir,
                            env=dict(case["codex_options"]["env"]), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    _LEFT.append(proc)
    events: list[dict[str, Any]] = []
    _send(proc, {"id": 1, "method": "initialize", "params": {
        "clientInfo": {"name": "leaky", "title": "Leaky", "version": "0"}, "capabilities": {"experimentalApi": True}}})
    _until(proc, lambda m: m.get("id") == 1, [])
    _send(proc, {"method": "initialized"})
    _send(proc, {"id": 2, "method": "thread/start", "params": case["thread_params"]})
    started = _until(proc, lambda m: m.get("id") == 2, [])
    thread_id = ((started or {}).get("result") or {}).get("thread", {}).get("id")
    text = turn["input"] if isinstance(turn["input"], str) else turn["input"][0]["text"]
    _send(proc, {"id": 3, "method": "turn/start",
                 "params": {"threadId": thread_id, "input": [{"type": "text", "text": text}]}})
    if when == "approval_pending":
        _until(proc, lambda m: "method" in m and "id" in m, events)
    else:
        _until(proc, lambda m: m.get("method") == "turn/started", events)
    # walk away: no close, no kill; the child keeps its pipes (and this process keeps them open)
    return {"events": events, "result": None, "error": None, "earlier_turns": []}


def main() -> int:
    out = sys.stdout
    for raw in sys.stdin:
        request = json.loads(raw)
        cmd = request.get("cmd")
        if cmd == "start":
            reply: dict[str, Any] = {"implementation": {
                "name": "leaky-appserver", "version": "0", "language": "python", "sdk": "leaky", "homepage": None,
                "capabilities": ["run", "streamed", "transport:app-server", "close_client"]}}
        elif cmd == "run":
            observation = run_case(request["case"], str(request["codex_path"]), str(request["workdir"]))
            reply = {"seq": request.get("seq"), "observation": observation}
        elif cmd == "stop":
            out.write(json.dumps({"ok": True}) + "\n")
            out.flush()
            return 0
        else:
            reply = {"seq": request.get("seq"), "errored": {"message": f"unknown {cmd}", "traceback": "", "stderr": ""}}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
