"""A correct, dependency-free adapter that the broken adapters in this folder bend, one rule each.

Not a test module and not an adapter of its own: ``python tests/broken_adapters/<name>.py`` runs one broken
variant. The "SDK" is a stub that runs the fake codex (``codex_path exec --experimental-json``) and reads its
JSON lines, like ``harness adapters new`` generates, so each variant starts in milliseconds (no harness import)
and fails *only* the rule its docstring names.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any, TextIO

IMPLEMENTATION = {"name": "broken", "version": "0.0.0", "language": "python", "sdk": "stub", "homepage": None,
                  "capabilities": ["run", "streamed"]}


def observe(message: dict[str, Any]) -> dict[str, Any]:
    """Run the case's first turn against the fake codex; a failing codex is an observation with ``error``."""
    case, codex_path = message["case"], message["codex_path"]
    turn = case["turns"][0]
    done = subprocess.run([codex_path, "exec", "--experimental-json", "--skip-git-repo-check"],
                          input=str(turn["input"]).encode(), capture_output=True,
                          env=case["codex_options"].get("env"), timeout=60, check=False)
    result: dict[str, Any] = {"thread_id": None, "final_response": None, "items": [], "usage": None}
    for line in done.stdout.decode().splitlines():
        event = json.loads(line)
        if event.get("type") == "thread.started":
            result["thread_id"] = event["thread_id"]
        elif event.get("type") == "item.completed":
            result["items"].append(event["item"])
            result["final_response"] = event["item"].get("text")
        elif event.get("type") == "turn.completed":
            result["usage"] = event.get("usage")
    error = None
    if done.returncode != 0:
        error = {"kind": "exit", "class": "ExitError", "message": f"codex exited with code {done.returncode}",
                 "details": {"exit_code": done.returncode, "stderr": done.stderr.decode()}}
        result = None  # type: ignore[assignment]
    return {"events": [], "result": result, "error": error, "earlier_turns": []}


def run_reply(message: dict[str, Any]) -> dict[str, Any]:
    return {"seq": message["seq"], "observation": observe(message)}


Hook = Callable[[dict[str, Any], TextIO], bool]


def send(out: TextIO, reply: Any) -> None:
    out.write((reply if isinstance(reply, str) else json.dumps(reply)) + "\n")
    out.flush()


def serve(
    *,
    start: Callable[[dict[str, Any]], list[Any]] | None = None,
    run: Callable[[dict[str, Any]], list[Any]] | None = None,
    stop_exit: int = 0,
    banner: str | None = None,
) -> int:
    """The protocol loop; ``start``/``run`` return the lines (objects or raw text) to print for a request."""
    out = sys.stdout
    if banner is not None:
        send(out, banner)
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        cmd = message.get("cmd")
        if cmd == "start":
            lines = start(message) if start else [{"implementation": IMPLEMENTATION}]
        elif cmd == "run":
            lines = run(message) if run else [run_reply(message)]
        else:
            send(out, {"ok": True})
            return stop_exit
        for reply in lines:
            send(out, reply)
    return 0
