"""Shared runtime of the app-server peer adapter scripts: stdlib only, imported as a script sibling.

Each ``*_script.py`` here runs inside its SDK's venv (``python <script>``), so this folder is ``sys.path[0]``
and ``import _session`` finds this file without ``harness`` being importable. It knows the plan format
(``plan.py`` writes it; docs/adapters-peers.md), counts the server messages the SDK surfaces (:class:`Tracker`,
thread-safe, so a sync SDK's reader thread and an async SDK's tasks share it: async code waits through
``asyncio.to_thread``), and writes the one JSON result line the host reads. :func:`main` runs the script's
session under the plan's budget and exits hard afterwards: an SDK whose reader thread is stuck in a handler
must not keep the process alive.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = ["Plan", "Reply", "Tracker", "main", "sdk_version"]


@dataclass(frozen=True)
class Reply:
    """What the recording's client answered to one server request (``kind``: result, error or none)."""

    method: str
    occurrence: int
    kind: str
    result: Any = None
    error: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None

    @property
    def decision(self) -> str | None:
        """The approval decision, when the result is a plain ``{"decision": "<string>"}``."""
        if self.kind == "result" and isinstance(self.result, Mapping):
            value = self.result.get("decision")
            if isinstance(value, str) and set(self.result) <= {"decision"}:
                return value
        return None


@dataclass(frozen=True)
class Plan:
    """The session to run (see ``plan.py`` for every field)."""

    scenario: str
    codex_path: str
    cwd: str
    timeout: float
    defer_timeout: float
    initialize: Mapping[str, Any]
    steps: tuple[Mapping[str, Any], ...]
    replies: tuple[Reply, ...]
    expected: Mapping[str, int]
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        if data.get("version") != 1:
            raise ValueError(f"unsupported plan version {data.get('version')!r}")
        replies = tuple(Reply(str(r["method"]), int(r["occurrence"]), str(r["kind"]), r.get("result"),
                              r.get("error"), r.get("after")) for r in data.get("replies") or [])
        return cls(str(data.get("scenario", "")), str(data["codex_path"]), str(data["cwd"]),
                   float(data.get("timeout", 20.0)), float(data.get("defer_timeout", 2.0)),
                   dict(data.get("initialize") or {}), tuple(data.get("steps") or []), replies,
                   {str(k): int(v) for k, v in (data.get("expected") or {}).items()},
                   dict(data.get("options") or {}))

    @property
    def experimental_api(self) -> bool:
        capabilities = self.initialize.get("capabilities")
        return bool(isinstance(capabilities, Mapping) and capabilities.get("experimentalApi"))

    def reply(self, method: str, occurrence: int) -> Reply | None:
        """The recorded reply to the ``occurrence``-th request ``method`` (``None``: not in the recording)."""
        for r in self.replies:
            if r.method == method and r.occurrence == occurrence:
                return r
        return None


@dataclass
class Tracker:
    """Counts server messages as the SDK surfaces them and lets steps and handlers wait for their cue."""

    plan: Plan
    seen: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def saw(self, key: str) -> None:
        with self._cond:
            self.seen[key] += 1
            self._cond.notify_all()

    def saw_request(self, method: str) -> Reply | None:
        """Count one server request and return the recorded reply for its occurrence."""
        with self._cond:
            self.requests[method] += 1
            occurrence = self.requests[method]
            self.seen[f"request:{method}"] += 1
            self._cond.notify_all()
        return self.plan.reply(method, occurrence)

    def reached(self, cue: Mapping[str, Any] | None) -> bool:
        return cue is None or self.seen[str(cue["key"])] >= int(cue["count"])

    def wait_for(self, cue: Mapping[str, Any] | None, timeout: float | None = None) -> bool:
        """Block until ``cue`` was seen (or ``stop``, or ``timeout``); whether it was."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self.reached(cue) and not self.stop.is_set():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(0.05 if remaining is None else min(0.05, remaining))
            return self.reached(cue)

    def wait_expected(self, timeout: float) -> bool:
        """Wait until every server message the recording has was seen (the tail after ``turn/completed``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not all(self.seen[k] >= n for k, n in self.plan.expected.items()):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stop.is_set():
                    return False
                self._cond.wait(min(0.05, remaining))
            return True

    def received(self) -> int:
        with self._cond:
            return sum(self.seen.values())

    def note(self, text: str) -> None:
        with self._cond:
            self.notes.append(text)


def sdk_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _emit(stream: TextIO, payload: Mapping[str, Any]) -> None:
    stream.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    stream.flush()


def main(distribution: str, session: Callable[[Plan, Tracker], str | None],
         error_kind: Callable[[BaseException], str]) -> None:
    """Read the plan from stdin, run ``session(plan, tracker)`` in a worker thread under the plan's budget and
    write one JSON line: ``{completed, error, received, notes, sdk}``. ``session`` returns ``None`` when it ran
    to its end, or why it stopped; an exception it raises is named by ``error_kind``. Exits with ``os._exit``."""
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing an SDK prints may corrupt the result line
    plan = Plan.from_json(json.loads(sys.stdin.readline()))
    tracker = Tracker(plan)
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            why = session(plan, tracker)
            result.update(completed=why is None, error=why)
        except BaseException as exc:  # noqa: BLE001 - an SDK failure is the observation
            result.update(completed=False, error=error_kind(exc))
            tracker.note(f"{type(exc).__name__}: {exc}"[:2000])
            traceback.print_exc(file=sys.stderr)

    worker = threading.Thread(target=run, name="peer-session", daemon=True)
    worker.start()
    worker.join(plan.timeout)
    timed_out = worker.is_alive()
    outcome = {"completed": False, "error": "timeout"} if timed_out else dict(result)
    tracker.stop.set()
    if timed_out:  # whatever the stop makes the SDK raise afterwards is a consequence, not the outcome
        tracker.note(f"the session did not end within {plan.timeout:.1f} s")
        worker.join(1.0)
    _emit(out, {**outcome, "received": tracker.received(), "notes": list(tracker.notes),
                "sdk": {"distribution": distribution, "version": sdk_version(distribution)}})
    sys.stderr.flush()
    os._exit(0)
