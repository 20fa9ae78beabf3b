"""Did the SDK leave codex running? The ``leftover_process`` part of an observation (docs/leak-probes.md).

After the SDK call returned or raised, each fake process an invocation recorded (pid, process group, /proc
starttime) gets a fixed grace period, :data:`GRACE_S`, to be gone. One still alive then is a *leftover*: the harness
kills it (and its process group, when it leads its own) so nothing leaks from the harness itself, and says so. How a
process ended comes from its own end record (``<log>.ends``: ``exit`` or the signal it received); none means
SIGKILL. Transport-neutral: any fake that writes the same records can be observed.

The compared part is deterministic -- per process ``{"leftover": bool, "signal": name | None}`` (``None``: it ended
by itself, or it was a leftover) -- and the evidence (pid, how long it lived after the SDK returned, what finally
ended it) is kept apart for the report, never in a golden.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["GRACE_S", "ProcessFate", "alive", "observe_processes", "process_part"]

#: How long after the SDK call returned a fake process may take to be gone before it is a leftover.
GRACE_S = 1.0

_POLL_S = 0.01


@dataclasses.dataclass(frozen=True)
class ProcessFate:
    """What became of one fake process: ``ended_by`` is ``exit``, a signal name it received, ``SIGKILL`` (no end
    record) or ``harness`` (a leftover the harness killed); ``alive_ms`` how long it lived after the SDK returned
    (0 when it was already gone)."""

    pid: int
    leftover: bool
    ended_by: str
    alive_ms: float

    def part(self) -> dict[str, Any]:
        """The compared, deterministic part."""
        signal_name = None if self.leftover or self.ended_by in ("exit", "harness") else self.ended_by
        return {"leftover": self.leftover, "signal": signal_name}

    def evidence(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, starttime) of ``pid`` from /proc, or None when there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = raw[raw.rindex(b")") + 2 :].split()
    return fields[0].decode(), int(fields[19])


def alive(pid: int, starttime: int | None) -> bool:
    """Whether the process ``pid`` that started at ``starttime`` still runs (a zombie has ended; a process with
    the same pid and another starttime is a stranger)."""
    stat = _stat(pid)
    if stat is None:
        return False
    state, started = stat
    if starttime is not None and started != starttime:
        return False
    return state not in ("Z", "X")


def _group_alive(pgid: int) -> list[int]:
    """Live processes of process group ``pgid``."""
    members: list[int] = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            fields = raw[raw.rindex(b")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                members.append(int(entry))
    return members


def _kill(pid: int, pgid: int, starttime: int | None) -> None:
    """SIGKILL a leftover (its own group too, when it leads one), then wait for it to be gone."""
    if alive(pid, starttime):
        try:
            if pgid == pid:
                os.killpg(pgid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
    deadline = time.monotonic() + 2.0
    while alive(pid, starttime) and time.monotonic() < deadline:
        time.sleep(_POLL_S)


def observe_processes(
    processes: Iterable[Any], ends: Mapping[tuple[int, int | None], str], *, returned_at: float,
    grace: float = GRACE_S, read_ends: Any = None,
) -> list[ProcessFate]:
    """The fate of each recorded process (objects with ``pid``, ``pgid``, ``starttime``), ``returned_at`` being the
    :func:`time.monotonic` when the SDK call returned. Waits at most until ``returned_at + grace`` for all of them;
    kills what is left. ``read_ends`` re-reads the end records after the wait (a process may end meanwhile)."""
    processes = list(processes)
    deadline = returned_at + grace
    gone_at: dict[int, float] = {}
    while True:
        now = time.monotonic()
        for process in processes:
            if process.pid not in gone_at and not _any_alive(process):
                gone_at[process.pid] = now
        if len(gone_at) == len(processes) or now >= deadline:
            break
        time.sleep(_POLL_S)
    if read_ends is not None:
        ends = read_ends()
    fates: list[ProcessFate] = []
    for process in processes:
        leftover = process.pid not in gone_at
        if leftover:
            _kill(process.pid, process.pgid, process.starttime)
            ended_by = "harness"
            alive_ms = (time.monotonic() - returned_at) * 1000
        else:
            ended_by = ends.get((process.pid, process.starttime), "SIGKILL")
            alive_ms = max(0.0, (gone_at[process.pid] - returned_at) * 1000)
        fates.append(ProcessFate(process.pid, leftover, ended_by, round(alive_ms, 1)))
    return fates


def _any_alive(process: Any) -> bool:
    if alive(process.pid, process.starttime):
        return True
    # a fake that leads its own process group (the SDK spawned it detached) may have left members behind
    return process.pgid == process.pid and bool(_group_alive(process.pgid))


def process_part(fates: Iterable[ProcessFate]) -> list[dict[str, Any]]:
    """The ``leftover_process`` part: one entry per invocation, in log order."""
    return [fate.part() for fate in fates]
