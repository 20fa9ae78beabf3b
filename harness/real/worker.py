"""``python -m harness.real.worker JOB.json``: the part of a recording that runs INSIDE the sandbox.

The recorder (host side, :mod:`.record`) prepares a job (folders, config.toml, seed files, the script) and spawns
this module through :class:`~harness.real.sandbox.NetnsIsolation`. Here, in the loopback-only namespace, we check
the namespace once more, start the fake Responses server on 127.0.0.1 (same namespace, so codex can reach it and
nothing else), run each turn of codex, send the case's signal after ``turn.started``, and write ``result.json``.
Only stdlib + harness.fake.responses: the worker must start fast (it runs once per case).
"""

from __future__ import annotations

import json
import os
import signal as _signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.fake.responses import FakeResponsesServer, ScriptedResponder, parse_script
from harness.real.sandbox import require_loopback_only

__all__ = ["TurnJob", "main", "run_job"]

_STDERR_TAIL = 2048


@dataclass(frozen=True)
class TurnJob:
    """One codex invocation as the worker receives it (argv may hold ``{thread_id}``)."""

    file: str
    argv: list[str]
    stdin: str | None
    env: dict[str, str]
    signal: str | None
    signal_after_s: float
    timeout_s: float


def _read_stream(stream: Any, sink: bytearray, on_line: Any = None) -> None:
    for line in iter(stream.readline, b""):
        sink.extend(line)
        if on_line is not None:
            on_line(line)
    stream.close()


def _run_turn(turn: TurnJob, cwd: Path, thread_id: str | None) -> dict[str, Any]:
    argv = [a.replace("{thread_id}", thread_id or "") for a in turn.argv]
    stdout, stderr = bytearray(), bytearray()
    started = threading.Event()
    signal_sent: dict[str, Any] | None = None
    t0 = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=turn.env,
        stdin=subprocess.PIPE if turn.stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )

    def watch(line: bytes) -> None:
        if b'"type":"turn.started"' in line:
            started.set()

    readers = [
        threading.Thread(target=_read_stream, args=(proc.stdout, stdout, watch), daemon=True),
        threading.Thread(target=_read_stream, args=(proc.stderr, stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    if proc.stdin is not None:
        try:
            proc.stdin.write((turn.stdin or "").encode("utf-8"))
            proc.stdin.close()
        except BrokenPipeError:
            pass
    deadline = t0 + turn.timeout_s
    if turn.signal and started.wait(max(0.0, deadline - time.monotonic())):
        time.sleep(turn.signal_after_s)
        if proc.poll() is None:
            proc.send_signal(getattr(_signal, turn.signal))
            signal_sent = {"signal": turn.signal, "at_s": round(time.monotonic() - t0, 3)}
    killed_after_timeout = False
    try:
        proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        killed_after_timeout = True
        os.killpg(proc.pid, _signal.SIGKILL)
        proc.wait()
    wall = time.monotonic() - t0
    for reader in readers:
        reader.join(timeout=5)
    code = proc.returncode
    return {
        "file": turn.file,
        "argv": argv,
        "stdout": bytes(stdout),
        "stderr": stderr.decode("utf-8", "replace"),
        "stderr_bytes": len(stderr),
        "exit_code": code if code >= 0 else None,
        "killed_by_signal": _signal.Signals(-code).name if code < 0 else None,
        "signal_sent": signal_sent,
        "killed_after_timeout": killed_after_timeout,
        "wall_time_s": round(wall, 3),
    }


def _thread_id(stdout: str) -> str | None:
    for line in stdout.split("\n"):  # never splitlines(): a raw U+2028 inside a JSON string is not a line end
        if '"thread.started"' in line:
            try:
                return str(json.loads(line)["thread_id"])
            except (ValueError, KeyError):
                return None
    return None


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run every turn of ``job``; the result holds per-turn output and which requests each turn made."""
    require_loopback_only()
    cwd = Path(job["cwd"])
    turns = [TurnJob(**t) for t in job["turns"]]
    results: list[dict[str, Any]] = []
    server: FakeResponsesServer | None = None
    responder: ScriptedResponder | None = None
    if job["server"]:
        responder = ScriptedResponder(parse_script(job["script"], f"{job['case']}.model"))
        server = FakeResponsesServer(responder, port=int(job["port"])).start()
    try:
        thread_id: str | None = None
        for turn in turns:
            first = len(server.records) if server else 0
            result = _run_turn(turn, cwd, thread_id)
            result["requests"] = server.records[first:] if server else []
            raw = result.pop("stdout")
            stdout_path = Path(job["outdir"]) / f"{turn.file}.stdout"
            stdout_path.write_bytes(raw)
            result["stdout_path"] = str(stdout_path)
            results.append(result)
            thread_id = _thread_id(raw.decode("utf-8", "replace")) or thread_id
    finally:
        if server is not None:
            server.stop()
    return {
        "turns": results,
        "script_expected": responder.expected if responder else 0,
        "script_used": responder.used if responder else 0,
        "script_exhausted": responder.exhausted if responder else 0,
    }


def serve_job(argv: list[str], run: Callable[[dict[str, Any]], dict[str, Any]], module: str) -> int:
    """The in-sandbox side of a job (the recorder's and live mode's): read ``JOB.json``, run it, and write
    ``result.json`` beside it atomically -- a failure is reported to the host as data, one line."""
    if len(argv) != 1:
        print(f"usage: python -m {module} JOB.json", file=sys.stderr)
        return 2
    job_path = Path(argv[0])
    try:
        result = run(json.loads(job_path.read_text(encoding="utf-8")))
    except Exception as exc:  # noqa: BLE001 - reported to the host as data, one line
        result = {"error": f"{type(exc).__name__}: {exc}"}
    out = job_path.with_name("result.json")
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, out)
    return 0 if "error" not in result else 2


def main(argv: list[str]) -> int:
    return serve_job(argv, run_job, "harness.real.worker")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
