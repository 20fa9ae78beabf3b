"""The driver seam: something that plays the *client* side of a recorded session against a ``codex`` path.

``Driver.drive(recording, codex_path, workdir) -> DriveOutcome`` is the whole contract, so an SDK adapter can
implement it later the same way the two in-tree drivers do:

- :class:`ScriptedClient` (here): raw JSON lines over the child's stdio, sending exactly the recording's client
  messages — requests with its own ids, the recorded replies to the server requests it receives (a scripted
  handler), ``turn/interrupt`` where the recording has it — each triggered by the *server messages* that preceded
  it in the recording, never by wall time. It knows nothing about the protocol beyond JSON-RPC envelopes, which
  makes it the yardstick the fake is tested with.
- :class:`~harness.fake.appserver.reference_driver.ReferenceClientDriver`: the reference SDK client.

Replies can be overridden per recorded server request (``reply_overrides``: a result dict, an
:class:`ErrorReply`, or :data:`NO_REPLY`) to show how the fake reports a client that decides differently.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from harness.fake.appserver.normalize import PathMap
from harness.fake.appserver.recording import MessageKind, RecordedMessage, Recording

__all__ = [
    "NO_REPLY",
    "DriveOutcome",
    "Driver",
    "ErrorReply",
    "NoReply",
    "ScriptedClient",
    "Reply",
    "message_key",
]

APP_SERVER_ARGS: tuple[str, ...] = ("app-server", "--listen", "stdio://")


@dataclass(frozen=True)
class ErrorReply:
    """Answer a server request with a JSON-RPC error."""

    code: int = -32000
    message: str = "rejected by the scripted client"


@dataclass(frozen=True)
class NoReply:
    """Do not answer the server request at all."""


NO_REPLY = NoReply()

Reply = Mapping[str, Any] | ErrorReply | NoReply


@dataclass(frozen=True)
class DriveOutcome:
    """What the client side saw. ``completed``: the script ran to its end (every client message sent, every
    expected server message received); ``error``: why not (``timeout``, ``closed`` — the server closed early —,
    or an SDK exception's kind)."""

    completed: bool
    error: str | None = None
    exit_code: int | None = None
    received: int = 0
    malformed: int = 0
    stderr_tail: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


class Driver(Protocol):
    """Plays the client side of ``recording`` against the executable at ``codex_path``, in ``workdir``."""

    name: str

    async def drive(self, recording: Recording, codex_path: Path, workdir: Path) -> DriveOutcome: ...


def message_key(msg: Mapping[str, Any], request_methods: Mapping[Any, str] | None = None) -> str:
    """A stable key for counting server messages: the method, or ``response:<method of the request>``."""
    if "method" in msg:
        return f"{'request' if 'id' in msg else 'notification'}:{msg['method']}"
    method = (request_methods or {}).get(_id_key(msg.get("id")), "?")
    return f"response:{method}"


def _id_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


@dataclass(frozen=True)
class _Step:
    message: RecordedMessage
    wait_for: Counter[str]  # server-message keys (with counts) to have received before sending
    answers: tuple[str, int] | None = None  # (server request method, occurrence) a reply answers


def _script(recording: Recording, eager: bool) -> tuple[list[_Step], Counter[str]]:
    """The client's steps and the server messages it expects in total."""
    seen: Counter[str] = Counter()
    occurrences: Counter[str] = Counter()
    occurrence_of: dict[int, tuple[str, int]] = {}
    steps: list[_Step] = []
    for m in recording.messages:
        if m.kind.from_client:
            answers = occurrence_of.get(m.answers) if m.kind is MessageKind.CLIENT_REPLY and m.answers is not None \
                else None
            steps.append(_Step(m, Counter(seen), answers))
            continue
        if m.kind is MessageKind.SERVER_RESPONSE:
            key = f"response:{m.method or '?'}"
        else:
            key = f"{'request' if m.kind is MessageKind.SERVER_REQUEST else 'notification'}:{m.method}"
        if m.kind is MessageKind.SERVER_REQUEST:
            occurrences[m.method or ""] += 1
            occurrence_of[m.index] = (m.method or "", occurrences[m.method or ""])
        if not (eager and m.kind is MessageKind.SERVER_NOTIFICATION):
            seen[key] += 1
    total: Counter[str] = Counter()
    for m in recording.messages:
        if m.kind is MessageKind.SERVER_RESPONSE:
            total[f"response:{m.method or '?'}"] += 1
        elif not m.kind.from_client:
            total[f"{'request' if m.kind is MessageKind.SERVER_REQUEST else 'notification'}:{m.method}"] += 1
    return steps, total


class ScriptedClient:
    """A raw JSON-lines client that replays the recording's client side (see the module docstring).

    ``id_style``: ``recorded`` uses the recording's request ids, ``int`` 1, 2, 3…, ``str`` ``"req-1"``…;
    ``eager``: send each message as soon as the responses and server requests before it arrived, without
    waiting for notifications (a client that never waits for ``thread/started``); ``timeout``: the budget of the
    whole session; ``idle_timeout``: give up when the server sends nothing for that long while the client
    waits (a hung server), ``None`` for no limit besides ``timeout``."""

    name = "scripted"

    def __init__(self, *, reply_overrides: Mapping[int, Reply] | None = None,
                 id_style: Literal["recorded", "int", "str"] = "recorded", eager: bool = False,
                 timeout: float = 20.0, idle_timeout: float | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.reply_overrides = dict(reply_overrides or {})
        self.idle_timeout = idle_timeout
        self.id_style = id_style
        self.eager = eager
        self.timeout = timeout
        self.env = dict(env) if env is not None else None

    async def drive(self, recording: Recording, codex_path: Path, workdir: Path) -> DriveOutcome:
        proc = await asyncio.create_subprocess_exec(
            str(codex_path), *APP_SERVER_ARGS, cwd=str(workdir), env=self.env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            limit=1 << 26, start_new_session=True,
        )
        session = _Session(self, recording, proc, workdir)
        try:
            return await asyncio.wait_for(session.run(), self.timeout)
        except TimeoutError:
            return await session.finish(completed=False, error="timeout")
        finally:
            await _reap(proc)


class _Session:
    def __init__(self, client: ScriptedClient, recording: Recording, proc: asyncio.subprocess.Process,
                 workdir: Path) -> None:
        self.client = client
        self.recording = recording
        self.proc = proc
        workspace = recording.workspace
        self.paths = PathMap(recorded=workspace, live=str(workdir)) if workspace else None
        self.steps, self.expected_total = _script(recording, client.eager)
        self.received: Counter[str] = Counter()
        self.received_all: Counter[str] = Counter()
        self.server_requests: dict[tuple[str, int], Any] = {}  # (method, occurrence) -> live id
        self.request_counts: Counter[str] = Counter()
        self.request_methods: dict[tuple[str, Any], str] = {}  # our id -> method
        self.malformed = 0
        self.count = 0
        self.closed = False
        self.idle_expired = False
        self.stderr_task = asyncio.ensure_future(self._drain_stderr())
        self.stderr = bytearray()
        self.next_id = 0

    async def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(65536):
            self.stderr += chunk
            del self.stderr[:-8192]

    async def run(self) -> DriveOutcome:
        for step in self.steps:
            if not await self._wait_until(lambda s=step: self._ready(s)) or not await self._send_step(step):
                return await self.finish(completed=False, error=self._why())
        done = await self._wait_until(lambda: all(self.received_all[k] >= n for k, n in self.expected_total.items()))
        return await self.finish(completed=done, error=None if done else self._why())

    def _why(self) -> str:
        return "timeout" if self.idle_expired else "closed"

    def _ready(self, step: _Step) -> bool:
        if step.answers is not None and step.answers not in self.server_requests:
            return False
        return all(self.received[k] >= n for k, n in step.wait_for.items())

    async def _wait_until(self, condition: Any) -> bool:
        while not condition():
            if self.closed or not await self._read_one():
                return bool(condition())
        return True

    async def _read_one(self) -> bool:
        assert self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), self.client.idle_timeout)
        except TimeoutError:
            self.closed = True
            self.idle_expired = True
            return False
        if not line:
            self.closed = True
            return False
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            self.malformed += 1
            return True
        if not isinstance(msg, dict):
            self.malformed += 1
            return True
        self.count += 1
        key = message_key(msg, self.request_methods)
        self.received_all[key] += 1
        if not (self.client.eager and key.startswith("notification:")):
            self.received[key] += 1
        if "method" in msg and "id" in msg:
            method = str(msg["method"])
            self.request_counts[method] += 1
            occurrence = (method, self.request_counts[method])
            self.server_requests[occurrence] = msg["id"]
            if not self._recorded_request_exists(occurrence):
                # not in the recording (e.g. an unknown method): answer as a well-behaved client does
                await self._write({"id": msg["id"], "error": {"code": -32601, "message": f"unknown method {method}"}})
        return True

    def _recorded_request_exists(self, occurrence: tuple[str, int]) -> bool:
        method, n = occurrence
        return sum(1 for m in self.recording.server_requests() if m.method == method) >= n

    def _own_id(self, recorded: Any) -> Any:
        self.next_id += 1
        if self.client.id_style == "int":
            return self.next_id
        if self.client.id_style == "str":
            return f"req-{self.next_id}"
        return recorded

    async def _send_step(self, step: _Step) -> bool:
        m = step.message
        out = self.paths.outgoing if self.paths is not None else (lambda v: v)
        if m.kind is MessageKind.CLIENT_REQUEST:
            own = self._own_id(m.id)
            self.request_methods[_id_key(own)] = m.method or "?"
            msg: dict[str, Any] = {"id": own, "method": m.method}
            if "params" in m.msg:
                msg["params"] = out(m.msg["params"])
            return await self._write(msg)
        if m.kind is MessageKind.CLIENT_NOTIFICATION:
            msg = {"method": m.method}
            if "params" in m.msg:
                msg["params"] = out(m.msg["params"])
            return await self._write(msg)
        assert step.answers is not None
        live_id = self.server_requests[step.answers]
        reply = self.client.reply_overrides.get(m.answers if m.answers is not None else -1)
        if isinstance(reply, NoReply):
            return True
        if isinstance(reply, ErrorReply):
            return await self._write({"id": live_id, "error": {"code": reply.code, "message": reply.message}})
        if reply is not None:
            return await self._write({"id": live_id, "result": dict(reply)})
        payload = {k: v for k, v in m.msg.items() if k in ("result", "error")}
        return await self._write({"id": live_id, **out(payload)})

    async def _write(self, msg: Mapping[str, Any]) -> bool:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            self.closed = True
            return False
        return True

    async def finish(self, *, completed: bool, error: str | None) -> DriveOutcome:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, RuntimeError):
            self.proc.stdin.close()
        code = await _wait_exit(self.proc, 5.0)
        with contextlib.suppress(asyncio.TimeoutError, TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self.stderr_task), 1.0)
        if not self.stderr_task.done():
            self.stderr_task.cancel()
        return DriveOutcome(completed=completed, error=error, exit_code=code, received=self.count,
                            malformed=self.malformed, stderr_tail=self.stderr.decode(errors="replace")[-2000:])


async def _wait_exit(proc: asyncio.subprocess.Process, timeout: float) -> int | None:
    try:
        return await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        return None


async def _reap(proc: asyncio.subprocess.Process) -> None:
    """Never leave the child behind: SIGTERM, then SIGKILL, its whole process group."""
    if proc.returncode is not None:
        return
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        if await _wait_exit(proc, wait) is not None:
            return
