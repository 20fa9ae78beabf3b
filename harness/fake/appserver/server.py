"""The fake app-server's process: ``codex app-server --listen stdio://`` over a recording.

Run by the ``codex`` script :func:`~harness.fake.appserver.build.build_fake_appserver` writes, with the path of
its JSON config (recording, faults, timeout, report path). Accepts the real CLI's argv shape (``app-server``,
``--listen stdio://``, any number of ``--config k=v`` / ``-c k=v``) so an SDK can spawn it unchanged.

The loop is event-driven: a reader thread turns stdin into lines, the main thread feeds them to the
:class:`~.engine.ReplayEngine` and wakes up only at the engine's next deadline, so recorded waits (180 s in
``approval_cmd_no_reply_long``) cost nothing. The report is written before the process exits, whatever the
ending: EOF, SIGTERM, a divergence, a crash fault.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO

from harness.fake.appserver.engine import ReplayEngine
from harness.fake.appserver.faults import parse_faults
from harness.fake.appserver.lifecycle import END_OF_REPLAY, ProcessLog
from harness.fake.appserver.recording import load_recording
from harness.fake.appserver.report import write_report

__all__ = ["main", "parse_argv", "run"]

_EOF = b""


class _Terminated(Exception):
    """Raised in the main thread by the SIGTERM handler."""


class _StdoutWire:
    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def send_line(self, data: bytes) -> None:
        try:
            self._stream.write(data + b"\n")
            self._stream.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise BrokenPipeError(str(exc)) from None


def parse_argv(argv: list[str]) -> tuple[list[str], str | None]:
    """``(config overrides, error)`` from codex's argv; an error for anything but ``app-server`` over stdio."""
    args = list(argv)
    overrides: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-c", "--config") and i + 1 < len(args):
            overrides.append(args[i + 1])
            i += 2
            continue
        if arg.startswith("--config="):
            overrides.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
        i += 1
    if not rest or rest[0] != "app-server":
        return overrides, f"this fake codex only serves `app-server`, got {' '.join(argv) or '(no arguments)'}"
    listen = "stdio://"
    tail = rest[1:]
    if tail[:1] == ["--listen"] and len(tail) >= 2:
        listen = tail[1]
        tail = tail[2:]
    elif tail and tail[0].startswith("--listen="):
        listen = tail[0].split("=", 1)[1]
        tail = tail[1:]
    if listen != "stdio://":
        return overrides, f"only --listen stdio:// is supported, got {listen}"
    if tail:
        return overrides, f"unexpected argument {tail[0]!r}"
    return overrides, None


def _reader(stream: BinaryIO, lines: queue.Queue[bytes]) -> None:
    try:
        while True:
            line = stream.readline()
            if not line:
                break
            lines.put(line)
    except (OSError, ValueError):
        pass
    lines.put(_EOF)


def main(config_path: str, argv: list[str]) -> int:
    """Serve one connection; return the exit status."""
    config: dict[str, Any] = json.loads(Path(config_path).read_text(encoding="utf-8"))
    life = ProcessLog(config.get("process_log"))
    life.start()
    overrides, error = parse_argv(argv)
    if error is not None:
        sys.stderr.write(f"error: {error}\n")
        life.end("exited")
        return 2
    recording = load_recording(config["recording"])
    faults = parse_faults(config.get("faults") if config.get("faults") is not None else recording.meta.faults,
                          path=recording.path)
    report_path = Path(config["report"]) if config.get("report") else None
    engine = ReplayEngine(recording, _StdoutWire(sys.stdout.buffer), faults=faults,
                          timeout=float(config.get("timeout", 10.0)), argv=tuple(argv))

    def on_sigterm(_signum: int, _frame: Any) -> None:
        life.end("SIGTERM")
        raise _Terminated

    def write_final_report(how: str) -> None:
        if report_path is not None:
            engine.on_signal(how)
            write_report(report_path, engine.report())

    life.install_fatal_handlers(write_final_report)
    signal.signal(signal.SIGTERM, on_sigterm)
    try:  # from here on a SIGTERM is an ending like any other (outside, it would skip the report and os._exit)
        lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=_reader, args=(sys.stdin.buffer, lines), daemon=True).start()
        sys.stderr.write("fake codex app-server (harness): replaying " + recording.name
                         + (f" with overrides {len(overrides)}" if overrides else "") + "\n")
        engine.start()
        while not engine.finished:
            deadline = engine.next_deadline()
            wait = None if deadline is None else max(0.0, deadline - engine.clock())
            if wait is None and report_path is not None:
                # about to wait with nothing to time (the recording is exhausted, or a hang fault): a client that
                # never closes leaves the fake here until it is killed, so the report so far is written now
                write_report(report_path, engine.report())
            try:
                line = lines.get(timeout=wait)
            except queue.Empty:
                engine.on_tick()
                continue
            if line == _EOF:
                engine.on_eof()
            else:
                engine.on_line(line)
    except _Terminated:
        engine.on_terminate()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the report write short
        life.end(END_OF_REPLAY.get(engine.end, engine.end or "exited"))
        if report_path is not None:
            write_report(report_path, engine.report())
    return engine.exit_code


def run(config_path: str) -> None:
    """Entry point of the generated script (the config path is baked into the script, not passed in the
    environment: SDKs may replace the child's environment)."""
    code = main(config_path, sys.argv[1:])
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            stream.flush()
    os._exit(code)  # the reader thread may still block on stdin
