"""Drive the reference SDK client (:mod:`harness.reference.appserver`) through a recorded session.

The client is used the way an application would use it: ``initialize``, ``thread_start``, ``turn_start`` with
the recording's params, a *scripted handler* answering each server request with the recording's reply (or
nothing, where the client never replied), and ``turn/interrupt`` where the recording has it. Nothing is timed by
the wall clock: each client action waits for the server message that preceded it in the recording (counted by
method), so a 180 s recorded wait replays in milliseconds. A reply the recording sends *after* other client
messages (``approval_cmd_reply_after_interrupt``: accept after the interrupt) is held in the handler until the
server messages recorded before it have arrived — the reference client runs handlers concurrently, so that
does not stall anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.fake.appserver.driver import DriveOutcome, message_key
from harness.fake.appserver.normalize import PathMap
from harness.fake.appserver.recording import MessageKind, RecordedMessage, Recording

__all__ = ["ReferenceClientDriver"]


@dataclass(frozen=True)
class _Trigger:
    key: str
    count: int


def _server_key(m: RecordedMessage) -> str:
    if m.kind is MessageKind.SERVER_RESPONSE:
        return f"response:{m.method or '?'}"
    return f"{'request' if m.kind is MessageKind.SERVER_REQUEST else 'notification'}:{m.method}"


def _triggers(recording: Recording) -> dict[int, _Trigger | None]:
    """For each client message: the last non-response server message before it, with its occurrence count."""
    counts: Counter[str] = Counter()
    last: _Trigger | None = None
    out: dict[int, _Trigger | None] = {}
    for m in recording.messages:
        if m.kind.from_client:
            out[m.index] = last
            continue
        key = _server_key(m)
        counts[key] += 1
        if m.kind is not MessageKind.SERVER_RESPONSE:
            last = _Trigger(key, counts[key])
    return out


class ReferenceClientDriver:
    """``--impl reference``: the reference :class:`~harness.reference.appserver.AppServerClient`."""

    name = "reference"

    def __init__(self, *, timeout: float = 20.0, request_timeout: float | None = None) -> None:
        self.timeout = timeout
        self.request_timeout = request_timeout if request_timeout is not None else timeout

    async def drive(self, recording: Recording, codex_path: Path, workdir: Path) -> DriveOutcome:
        run = _Run(recording, workdir, self.request_timeout)
        try:
            return await asyncio.wait_for(run.run(codex_path), self.timeout)
        except TimeoutError:
            return DriveOutcome(completed=False, error="timeout", received=run.received_total,
                                notes=tuple(run.notes))


class _Run:
    def __init__(self, recording: Recording, workdir: Path, timeout: float) -> None:
        self.recording = recording
        self.workdir = workdir
        self.timeout = timeout
        workspace = recording.workspace
        self.paths = PathMap(recorded=workspace, live=str(workdir)) if workspace else None
        self.triggers = _triggers(recording)
        self.seen: Counter[str] = Counter()
        self.changed = asyncio.Event()
        self.request_counts: Counter[str] = Counter()
        self.received_total = 0
        self.notes: list[str] = []
        self.failure: BaseException | None = None  # the notification stream ended with this (server exited...)
        self.expected: Counter[str] = Counter(
            _server_key(m) for m in recording.messages
            if not m.kind.from_client and m.kind is not MessageKind.SERVER_RESPONSE
        )

    def _out(self, value: Any) -> Any:
        return self.paths.outgoing(value) if self.paths is not None else value

    def _saw(self, key: str) -> None:
        self.seen[key] += 1
        self.received_total += 1
        self.changed.set()

    async def _until(self, condition: Any) -> None:
        while not condition():
            if self.failure is not None:
                raise self.failure
            self.changed.clear()
            await self.changed.wait()

    async def _trigger(self, trigger: _Trigger | None) -> None:
        if trigger is not None:
            await self._until(lambda: self.seen[trigger.key] >= trigger.count)

    async def handler(self, method: str, params: dict[str, Any]) -> Any:
        from harness.reference.appserver import NoReply, RpcErrorReply

        self.request_counts[method] += 1
        occurrence = self.request_counts[method]
        self._saw(f"request:{method}")
        matching = [m for m in self.recording.server_requests() if m.method == method]
        if occurrence > len(matching):
            return RpcErrorReply(-32601, f"method not found: {method}")
        reply = self.recording.reply_to(matching[occurrence - 1])
        if reply is None:
            return NoReply
        await self._trigger(self.triggers.get(reply.index))  # deferred replies wait for their cue
        if reply.is_error:
            error = reply.msg["error"]
            return RpcErrorReply(int(error.get("code", -32000)), str(error.get("message", "")))
        result = reply.msg.get("result")
        return dict(self._out(result)) if isinstance(result, Mapping) else result

    async def _consume(self, subscription: Any) -> None:
        try:
            async for notification in subscription:
                self._saw(message_key({"method": notification.method}))
        except Exception as exc:  # the connection failed: wake every waiter with the client's own error
            self.failure = exc
            self.changed.set()

    async def run(self, codex_path: Path) -> DriveOutcome:
        from harness.reference.appserver import AppServerClient
        from harness.reference.errors import CodexError

        error: str | None = None
        completed = False
        try:
            async with AppServerClient.spawn(codex_path, cwd=self.workdir, handler=self.handler,
                                             request_timeout=self.timeout) as client:
                subscription = client.notifications()
                consumer = asyncio.ensure_future(self._consume(subscription))
                try:
                    await self._script(client)
                    await self._until(lambda: all(self.seen[k] >= n for k, n in self.expected.items()))
                    completed = True
                finally:
                    subscription.close()
                    consumer.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await consumer
        except CodexError as exc:
            error = str(getattr(exc, "kind", type(exc).__name__))
            self.notes.append(f"{type(exc).__name__}: {exc}")
        return DriveOutcome(completed=completed, error=error, received=self.received_total, notes=tuple(self.notes))

    async def _script(self, client: Any) -> None:
        thread_id: str | None = None
        for m in self.recording.client_messages():
            if m.kind is not MessageKind.CLIENT_REQUEST:
                continue  # `initialized` is sent by initialize(); replies come from the handler
            await self._trigger(self.triggers.get(m.index))
            params: dict[str, Any] = dict(self._out(m.params)) if isinstance(m.params, Mapping) else {}
            if m.method == "initialize":
                await client.initialize(params.get("clientInfo"), params.get("capabilities"))
            elif m.method == "thread/start":
                thread = await client.thread_start(params)
                thread_id = thread.id
            elif m.method == "turn/start":
                turn_input = params.pop("input", [])
                target = params.pop("threadId", thread_id)
                await client.turn_start(str(target), turn_input, params)
            elif m.method == "turn/interrupt":
                await client.turn_interrupt(str(params.get("threadId", thread_id)), str(params.get("turnId")))
            else:
                await client.request(str(m.method), params)
