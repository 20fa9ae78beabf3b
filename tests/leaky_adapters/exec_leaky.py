"""A deliberately leaky exec adapter: it runs codex itself and walks away without ever killing it.

For every probe shape -- ``walk_away`` (break / raise / drop after N events), ``abort_after_ms``, a turn
``idle_timeout`` -- it stops reading at the point the user would walk away (N events, the abort time, the idle
timeout) and replies, leaving the child running. The leak-probe tests run it as ``--adapter leaky=...`` to prove
the harness sees each leftover process and kills it afterwards. Standalone: stdlib only."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from typing import Any

CHILDREN: list[subprocess.Popen[bytes]] = []  # kept referenced: nothing here ever waits for or kills them


def observe(case: dict[str, Any], codex_path: str) -> dict[str, Any]:
    turn = case["turns"][0]
    env = dict(case["codex_options"].get("env") or {})
    argv = [codex_path, "exec", "--experimental-json", "--skip-git-repo-check", "-"]
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    CHILDREN.append(child)
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(str(turn["input"]).encode())
    child.stdin.close()
    walk = turn.get("walk_away") or {}
    limit = walk.get("after_events")
    idle = float((turn.get("turn_options") or {}).get("idle_timeout") or 0)
    wait_s = (turn.get("abort_after_ms") or 0) / 1000 or idle
    events: list[str] = []
    selector = selectors.DefaultSelector()
    selector.register(child.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + (wait_s or 5.0)
    buffer = b""
    while (limit is None or len(events) < limit) and time.monotonic() < deadline:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        chunk = os.read(child.stdout.fileno(), 65536)
        if not chunk:
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        events += [line.decode() for line in lines if line]
    if limit is not None:
        events = events[:limit]
    error = None if limit is not None else {"kind": "abort" if turn.get("abort_after_ms") else "idle_timeout",
                                            "class": "Walked", "message": "walked away"}
    return {"events": events, "result": None, "error": error, "earlier_turns": []}


def main() -> None:
    for line in sys.stdin:
        message = json.loads(line)
        if message["cmd"] == "start":
            reply: dict[str, Any] = {"implementation": {
                "name": "leaky", "version": "0", "language": "python", "sdk": "leaky", "homepage": None,
                "capabilities": ["run", "streamed", "abort", "idle_timeout", "walk_away"]}}
        elif message["cmd"] == "run":
            reply = {"seq": message["seq"], "observation": observe(message["case"], message["codex_path"])}
        else:
            reply = {"ok": True}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if message["cmd"] == "stop":
            break


if __name__ == "__main__":
    main()
