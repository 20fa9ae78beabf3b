"""The fake app-server's own life: who it is (pid, process group, ``/proc`` starttime) and how it ended.

Issue #17 asks whether an SDK leaves codex running when its user walks away (closes the client mid-turn, drops
it with an approval pending). Only the process itself knows how it ended, so it says so in a small JSON-lines
file next to its report (``appserver.json``'s ``process_log``; the endings in ``<process log>.ends``), one
object per line:

- at start ``{"pid", "pgid", "starttime", "started_at"}`` -- ``starttime`` is field 22 of ``/proc/<pid>/stat``
  (clock ticks since boot), so a pid the kernel reused later is never mistaken for this process (nor killed);
- at the end ``{"pid", "ended_by"}``: ``"stdin_closed"`` (the client closed the pipe: how a well-behaved client
  ends codex), ``"SIGTERM"`` / ``"SIGINT"`` / ``"SIGHUP"`` (a signal; the handler records, then the ending is what
  it always was: SIGTERM writes the report and exits 0, INT and HUP re-raise the default action so the exit status
  is death by that signal), or how the replay itself stopped (``"divergence"``, ``"timeout"``, ``"crash"``).
  **No end record means SIGKILL** (or a crash too hard to record).

The records have the shape of the fake codex's invocation log (issue #17's exec side), so the harness reads both
with the same leftover check. Appends are single ``write`` calls of one line, so a record is whole or absent.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.fake.codex.log import ProcessRecord, read_ends

__all__ = [
    "END_OF_REPLAY",
    "Lifetime",
    "ProcessLog",
    "SIGNAL_ENDINGS",
    "STDIN_CLOSED",
    "ends_path",
    "proc_starttime",
    "read_process_log",
]

#: ``ended_by`` when the client closed stdin (the engine's ``eof`` ending).
STDIN_CLOSED = "stdin_closed"
#: Signals the fake records (then ends as it always did); SIGKILL cannot be caught: no record.
SIGNAL_ENDINGS: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
#: The engine's endings (``ReplayEngine.end``) as ``ended_by`` values.
END_OF_REPLAY: dict[str, str] = {
    "eof": STDIN_CLOSED,
    "sigterm": "SIGTERM",
    "divergence": "divergence",
    "timeout": "timeout",
    "crash": "crash",
}


def proc_starttime(pid: int) -> int | None:
    """Field 22 of ``/proc/<pid>/stat`` (start time in clock ticks since boot); ``None`` if the pid is gone.

    The command name (field 2) may hold spaces and parentheses, so the fields are counted after the last ``)``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


@dataclass(frozen=True)
class Lifetime:
    """One fake app-server process as its log tells it: its identity (the fake codex's
    :class:`~harness.fake.codex.log.ProcessRecord`, so both fakes feed the same leftover check) and ``ended_by``
    (``None``: no end record -- still running, or killed by SIGKILL)."""

    process: ProcessRecord
    ended_by: str | None = None


def ends_path(path: Path | str) -> Path:
    """Where the end records go: ``<process log>.ends``, as the fake codex's ``<log>.ends``."""
    return Path(f"{path}.ends")


def read_process_log(path: Path | str) -> tuple[Lifetime, ...]:
    """Every process the log names, in start order, with its ending; a missing file is no process. A line that
    is not a record is skipped (one ``write`` per record: a record is whole or absent)."""
    ends = read_ends(Path(path))
    out: list[Lifetime] = []
    for raw in _lines(Path(path)):
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("pid"), int):
            process = ProcessRecord.from_json(record)
            out.append(Lifetime(process, ends.get((process.pid, process.starttime))))
    return tuple(out)


def _lines(path: Path) -> Iterator[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return
    yield from (line for line in text.splitlines() if line.strip())


class ProcessLog:
    """The running fake's side: :meth:`start` once, :meth:`end` at most once (later calls are ignored, so a signal
    arriving while the replay ends records only the first ending). ``path`` ``None`` records nothing."""

    def __init__(self, path: Path | str | None) -> None:
        self.path = Path(path) if path is not None else None
        self.pid = os.getpid()
        self.starttime = proc_starttime(self.pid)
        self._ended = False

    def start(self) -> None:
        self._append(self.path, {"pid": self.pid, "pgid": os.getpgid(0), "starttime": self.starttime,
                                 "started_at": time.time()})

    def end(self, ended_by: str) -> None:
        if self._ended:
            return
        self._ended = True
        if self.path is not None:
            self._append(ends_path(self.path), {"pid": self.pid, "starttime": self.starttime, "ended_by": ended_by})

    @staticmethod
    def _append(path: Path | None, record: dict[str, Any]) -> None:
        if path is None:
            return
        data = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)

    def install_fatal_handlers(self, before_exit: Callable[[str], None]) -> None:
        """SIGINT and SIGHUP: record, run ``before_exit(name)`` (the report), then die of the signal's default action,
        so the exit status a client sees is what it always was. (SIGTERM is the server loop's own ending.)"""

        def handler(signum: int, _frame: Any) -> None:
            sig = signal.Signals(signum)
            self.end(sig.name)
            with contextlib.suppress(Exception):
                before_exit(sig.name.lower())
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

        for sig in SIGNAL_ENDINGS:
            if sig is not signal.SIGTERM:
                signal.signal(sig, handler)
