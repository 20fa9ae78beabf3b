"""The host side: a :class:`~harness.fake.appserver.driver.Driver` that runs a peer SDK's adapter script.

``PeerScriptDriver.drive(recording, codex_path, workdir)`` starts ``<venv python> <script>`` in its own process
group (so the SDK's ``codex`` child — the fake — goes with it), writes the session plan (``plan.py``) as one JSON
line on its stdin, and reads the one result line it prints (``_session.py``). Whatever happens, the group is
SIGTERMed then SIGKILLed at the end: the fake writes its report on SIGTERM, and an SDK stuck in a handler must
not outlive the replay. The script's stderr (the SDK's logs) is kept as the outcome's ``stderr_tail``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.adapters.appserver_peers.plan import session_plan
from harness.fake.appserver.driver import DriveOutcome
from harness.fake.appserver.recording import Recording

__all__ = ["PeerScriptDriver", "outcome_from_line"]


def outcome_from_line(line: bytes, *, stderr_tail: str = "") -> DriveOutcome:
    """The :class:`DriveOutcome` of a script's result line (a missing or bad line is ``error="adapter"``)."""
    try:
        data: Any = json.loads(line) if line.strip() else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        note = "the adapter script printed no result line" if not line.strip() else \
            f"the adapter script printed a bad result line: {line[:200]!r}"
        return DriveOutcome(completed=False, error="adapter", stderr_tail=stderr_tail, notes=(note,))
    sdk = data.get("sdk") if isinstance(data.get("sdk"), dict) else {}
    notes = tuple(str(n) for n in data.get("notes") or [])
    if sdk:
        notes = (f"sdk: {sdk.get('distribution')} {sdk.get('version')}", *notes)
    error = data.get("error")
    return DriveOutcome(completed=bool(data.get("completed")), error=None if error is None else str(error),
                        received=int(data.get("received") or 0), stderr_tail=stderr_tail, notes=notes)


class PeerScriptDriver:
    """Drives ``recording`` through a peer SDK: ``command`` is ``(venv python, script)``.

    ``timeout``: the script's budget for the session (it reports ``timeout`` itself); the host gives it a few
    seconds more before it kills the group. ``defer_timeout``: how long a handler waits for a deferred reply's
    cue (see ``plan.py``); ``options``: the script's switches for a driver variant."""

    def __init__(self, name: str, command: Sequence[str], *, timeout: float = 20.0,
                 defer_timeout: float = 2.0, options: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.command = tuple(command)
        self.timeout = timeout
        self.defer_timeout = defer_timeout
        self.options = dict(options or {})

    async def drive(self, recording: Recording, codex_path: Path, workdir: Path) -> DriveOutcome:
        plan = session_plan(recording, codex_path, workdir, timeout=self.timeout, defer_timeout=self.defer_timeout,
                            options=self.options)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        proc = await asyncio.create_subprocess_exec(
            *self.command, cwd=str(workdir), env=env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )
        stderr = bytearray()
        drain = asyncio.ensure_future(_drain(proc, stderr))
        try:
            assert proc.stdin is not None and proc.stdout is not None
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.write(json.dumps(plan).encode() + b"\n")
                await proc.stdin.drain()
                proc.stdin.close()
            try:
                line = await asyncio.wait_for(proc.stdout.readline(), self.timeout + 5.0)
            except TimeoutError:
                line = b""
        finally:
            await _reap_group(proc)
            with contextlib.suppress(asyncio.TimeoutError, TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(drain), 1.0)
            drain.cancel()
        return outcome_from_line(line, stderr_tail=stderr.decode(errors="replace")[-2000:])


async def _drain(proc: asyncio.subprocess.Process, into: bytearray) -> None:
    assert proc.stderr is not None
    while chunk := await proc.stderr.read(65536):
        into += chunk
        del into[:-16384]


async def _reap_group(proc: asyncio.subprocess.Process) -> None:
    """Let a script that ended close its SDK's child on its own (a moment), then SIGTERM the whole group (the
    fake writes its report on SIGTERM too), then SIGKILL what is left."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), 0.5)
    for _ in range(40):
        if proc.returncode is None or not _group_alive(proc.pid):
            break
        await asyncio.sleep(0.05)
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 2.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), wait)
        if proc.returncode is not None and not _group_alive(proc.pid):
            return


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
