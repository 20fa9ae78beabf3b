"""How the MCP client reaches a server: the :class:`Transport` seam, a subprocess and an in-memory fake.

A transport moves lines; the client owns the protocol. :class:`StdioTransport` runs the server in its own process
group (so closing kills grandchildren too) and closing it always ends the process: stdin is closed, then after a
grace period SIGTERM, then SIGKILL, and the child is reaped. :class:`MemoryTransport` connects the client to a
coroutine in the same event loop, for tests that need no process at all.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol

from harness.reference.mcp.errors import McpProtocolError, McpServerExitedError, McpSpawnError

__all__ = ["DEFAULT_LINE_LIMIT", "MemoryTransport", "StdioTransport", "Transport"]

#: The longest line the client accepts (tool results can be large; same limit as the exec reader).
DEFAULT_LINE_LIMIT = 64 * 1024 * 1024
_STDERR_TAIL = 8 * 1024


class Transport(Protocol):
    """A line-oriented, bidirectional channel to one MCP server."""

    async def start(self) -> None:
        """Connect (spawn the server). Raises :class:`McpSpawnError`."""

    async def send(self, line: bytes) -> None:
        """Write one line (with its ``\\n``). Raises :class:`McpServerExitedError` if the server is gone."""

    async def receive(self) -> bytes | None:
        """The next line without its newline, or ``None`` at end of stream."""

    async def exit_error(self) -> McpServerExitedError:
        """Describe why the stream ended (waits briefly for the exit code)."""

    async def close(self) -> None:
        """Disconnect; for a process: end and reap it, whatever it does. Idempotent."""


class StdioTransport:
    """An MCP server as a child process speaking on stdin/stdout (stderr is kept as a short tail).

    ``env`` is added to the inherited environment (as codex's ``mcp_servers.<name>.env`` is), unless
    ``inherit_env`` is false, in which case it is the whole environment.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        inherit_env: bool = True,
        cwd: str | os.PathLike[str] | None = None,
        line_limit: int = DEFAULT_LINE_LIMIT,
        close_grace: float = 1.0,
    ) -> None:
        if not argv:
            raise ValueError("argv must name the server command")
        self.argv = tuple(argv)
        self._env = dict(os.environ) if inherit_env else {}
        self._env.update(env or {})
        self._cwd = cwd
        self._line_limit = line_limit
        self._close_grace = close_grace
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: collections.deque[bytes] = collections.deque()
        self._stderr_size = 0
        self._stderr_task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def start(self) -> None:
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._env,
                cwd=self._cwd,
                limit=self._line_limit,
                start_new_session=True,
            )
        except OSError as exc:
            raise McpSpawnError(self.argv[0], exc.strerror or str(exc)) from exc
        self._stderr_task = asyncio.create_task(self._drain_stderr())

    async def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while chunk := await self._proc.stderr.read(4096):
            self._stderr.append(chunk)
            self._stderr_size += len(chunk)
            while self._stderr_size > _STDERR_TAIL and len(self._stderr) > 1:
                self._stderr_size -= len(self._stderr.popleft())

    def stderr_tail(self) -> str:
        return b"".join(self._stderr)[-_STDERR_TAIL:].decode("utf-8", errors="replace")

    async def send(self, line: bytes) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing():
            raise await self.exit_error()
        try:
            proc.stdin.write(line)
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise await self.exit_error() from None

    async def receive(self) -> bytes | None:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return None
        try:
            line = await proc.stdout.readline()
        except (ValueError, asyncio.LimitOverrunError):  # a line over the limit
            raise McpProtocolError(f"server wrote a line longer than {self._line_limit} bytes") from None
        if not line:
            return None
        return line.rstrip(b"\r\n") if line.endswith(b"\n") else line

    async def exit_error(self) -> McpServerExitedError:
        code: int | None = None
        if self._proc is not None:
            with contextlib.suppress(TimeoutError):
                code = await asyncio.wait_for(self._proc.wait(), 1.0)
        if self._stderr_task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._stderr_task), 0.2)
        return McpServerExitedError(code, self.stderr_tail())

    async def close(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            with contextlib.suppress(OSError):
                proc.stdin.close()
        for sig, wait in ((None, self._close_grace), (signal.SIGTERM, 1.0), (signal.SIGKILL, None)):
            if sig is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, sig)
            try:
                await asyncio.wait_for(proc.wait(), wait)
                break
            except TimeoutError:
                continue
        # the leader is gone; anything it left in its process group goes too
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if self._stderr_task is not None:
            self._stderr_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._stderr_task


ServerHandler = Callable[["asyncio.Queue[bytes | None]", "asyncio.Queue[bytes | None]"], Awaitable[None]]


class MemoryTransport:
    """A transport to an in-process server: ``server(inbox, outbox)`` reads client lines from ``inbox`` (``None``
    when the client closes) and puts server lines (or ``None`` for end of stream) into ``outbox``."""

    def __init__(self, server: ServerHandler) -> None:
        self._server = server
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._outbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._eof = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            await self._server(self._inbox, self._outbox)
        finally:
            self._outbox.put_nowait(None)

    async def send(self, line: bytes) -> None:
        if self._task is None or self._task.done():
            raise McpServerExitedError(None)
        await self._inbox.put(line.rstrip(b"\n"))

    async def receive(self) -> bytes | None:
        if self._eof:
            return None
        line = await self._outbox.get()
        self._eof = line is None
        return line

    async def exit_error(self) -> McpServerExitedError:
        return McpServerExitedError(None)

    async def close(self) -> None:
        if self._task is None:
            return
        self._inbox.put_nowait(None)
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
