"""The one-method seam between the client and an adapter: ``Connection.request(message) -> Reply``.

Two implementations, each opened by an async context manager (a *connector*) so the client can throw a
broken one away and open a fresh one -- that is how crashed adapters are restarted:

* :func:`subprocess_connection` -- an adapter process speaking JSON lines on stdin/stdout, in its own
  process group (so closing it also ends the SDK's ``codex`` children and anything else it spawned).
* :func:`in_process_connection` -- a Python coroutine answering messages in this process; no framing,
  no process, but the same JSON round trip, so what works in-process works over stdio.

A connection does not interpret replies (the client validates them); it only moves lines and reports the
two ways a request can fail at the transport level: :class:`ReplyTimeout` and :class:`ConnectionLost`. The
read timeout is chosen by the client per request and enforced here, because only the connection can attach
the stderr seen so far to the failure.

**stderr is captured data, not a crash** (unlike Bowtie). SDKs log to stderr (deprecation warnings, Node's
experimental notices, retry messages) and an adapter author cannot always silence them; treating that as a
crash would make whole SDKs unrunnable. Each reply carries the stderr written since the previous reply
(bounded to :data:`STDERR_LIMIT` bytes, the tail kept), and the client attaches it to the case's result.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from harness.adapters.protocol import dumps

__all__ = [
    "LINE_LIMIT",
    "STDERR_LIMIT",
    "Connection",
    "ConnectionFailure",
    "ConnectionLost",
    "Connector",
    "Handler",
    "InProcessConnection",
    "Reply",
    "ReplyTimeout",
    "SubprocessConnection",
    "in_process_connection",
    "subprocess_connection",
]

#: Longest reply line accepted (an observation can hold a 64 MiB event the fake printed).
LINE_LIMIT = 256 * 1024 * 1024

#: stderr kept per reply: the last this many bytes (a chatty SDK must not grow the report without bound).
STDERR_LIMIT = 64 * 1024


@dataclasses.dataclass(frozen=True)
class Reply:
    """One reply line (bytes, newline stripped; not yet parsed) and the stderr written while waiting."""

    line: bytes
    stderr: str = ""


class ConnectionFailure(Exception):
    """A request got no reply line. Internal to the adapter layer: the client turns it into data."""

    def __init__(self, message: str, *, stderr: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.stderr = stderr


class ReplyTimeout(ConnectionFailure):
    """No reply within the read timeout; the connection is unusable afterwards (a late reply would be
    taken for the next request's)."""

    def __init__(self, timeout: float, *, stderr: str = "") -> None:
        super().__init__(f"no reply within {timeout:g} s", stderr=stderr)
        self.timeout = timeout


class ConnectionLost(ConnectionFailure):
    """The adapter is gone: it exited, closed stdout, refused stdin, or could not be spawned."""

    def __init__(self, message: str, *, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(message, stderr=stderr)
        self.returncode = returncode


class Connection(Protocol):
    """Send one protocol message, return the reply line. Raises :class:`ConnectionFailure` subclasses only."""

    async def request(self, message: Mapping[str, Any], *, timeout: float | None) -> Reply: ...


#: Opens a connection (e.g. spawns the adapter) and closes it on exit; called again to restart.
Connector = Callable[[], AbstractAsyncContextManager[Connection]]


# ------------------------------------------------------------------------------------------- subprocess


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


class SubprocessConnection:
    """An adapter process: requests go to its stdin, replies come from its stdout, stderr is collected."""

    def __init__(self, process: asyncio.subprocess.Process, *, stderr_limit: int = STDERR_LIMIT) -> None:
        self._process = process
        self._stderr_limit = stderr_limit
        self._stderr = bytearray()
        self._stderr_dropped = 0
        self._broken = False
        assert process.stderr is not None
        self._stderr_task = asyncio.get_running_loop().create_task(self._collect_stderr(process.stderr))

    @property
    def pid(self) -> int:
        """The adapter's pid (also its process group id)."""
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the adapter has exited (negative: killed by that signal)."""
        return self._process.returncode

    async def _collect_stderr(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self._stderr += chunk
            overflow = len(self._stderr) - self._stderr_limit
            if overflow > 0:
                del self._stderr[:overflow]
                self._stderr_dropped += overflow

    def take_stderr(self) -> str:
        """The stderr collected since the last call (tail kept, a note says how much was dropped)."""
        text = self._stderr.decode("utf-8", errors="replace")
        if self._stderr_dropped:
            text = f"[{self._stderr_dropped} earlier bytes of stderr dropped]\n" + text
        self._stderr.clear()
        self._stderr_dropped = 0
        return text

    async def _settle_stderr(self) -> None:
        # An adapter that writes stderr and then its reply has both pipes readable by the time the reply is
        # read; two loop turns let the stderr task take what is already there, so it joins *this* reply.
        for _ in range(3):
            await asyncio.sleep(0)

    async def _lost(self, what: str) -> ConnectionLost:
        self._broken = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._process.wait(), 1.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._stderr_task), 0.5)
        code = self._process.returncode
        return ConnectionLost(f"{what} ({_describe_exit(code)})", stderr=self.take_stderr(), returncode=code)

    async def request(self, message: Mapping[str, Any], *, timeout: float | None) -> Reply:
        if self._broken:
            raise ConnectionLost("the connection is broken by an earlier failure", returncode=self.returncode)
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(dumps(message).encode("utf-8") + b"\n")
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise await self._lost("the adapter closed its stdin") from None
        try:
            line = await asyncio.wait_for(stdout.readline(), timeout)
        except TimeoutError:
            self._broken = True
            raise ReplyTimeout(timeout or 0.0, stderr=self.take_stderr()) from None
        except ValueError:  # asyncio's LimitOverrunError surfaces as ValueError from readline()
            raise await self._lost(f"reply line longer than {LINE_LIMIT} bytes") from None
        if not line:
            raise await self._lost("the adapter closed stdout without replying")
        if not line.endswith(b"\n"):
            lost = await self._lost(f"the adapter stopped mid-reply after {len(line)} bytes: {line[:200]!r}")
            raise lost
        await self._settle_stderr()
        return Reply(line=line.rstrip(b"\r\n"), stderr=self.take_stderr())

    async def close(self, *, grace: float = 2.0) -> None:
        """End the adapter: EOF on stdin, then (if needed) SIGTERM and SIGKILL to its process group.

        A healthy adapter that got ``stop`` has exited or is exiting: it gets ``grace`` seconds. A broken one
        (timed out, garbled) is terminated at once. Afterwards the group is SIGKILLed regardless, so SDK
        children (``codex``, node workers) that outlived the adapter do not leak.
        """
        process = self._process
        if process.stdin is not None:
            with contextlib.suppress(Exception):
                process.stdin.close()
        if process.returncode is None and not self._broken:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), grace)
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            if process.returncode is not None:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), wait)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._stderr_task), 1.0)
        if not self._stderr_task.done():
            self._stderr_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stderr_task


@contextlib.asynccontextmanager
async def subprocess_connection(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    grace: float = 2.0,
) -> AsyncIterator[SubprocessConnection]:
    """Spawn ``argv`` as an adapter (new session, piped stdio) and close it on exit.

    A spawn failure (missing executable, not executable) is :class:`ConnectionLost`, like a crash at start;
    the client decides whether that is fatal.
    """
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=None if env is None else dict(env),
            cwd=cwd,
            start_new_session=True,
            limit=LINE_LIMIT,
        )
    except OSError as exc:
        raise ConnectionLost(f"cannot spawn {list(argv)!r}: {exc}") from exc
    connection = SubprocessConnection(process)
    try:
        yield connection
    finally:
        await connection.close(grace=grace)


# ------------------------------------------------------------------------------------------- in-process

Handler = Callable[[dict[str, Any]], Awaitable[Mapping[str, Any]]]


class InProcessConnection:
    """An adapter that is a coroutine in this process (Bowtie's ``direct:``), e.g. the reference adapter.

    Messages and replies go through JSON text both ways so an in-process adapter cannot rely on sharing
    Python objects with the client. An exception from the handler is :class:`ConnectionLost` with the
    traceback as "stderr": the in-process analogue of a crash.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    async def request(self, message: Mapping[str, Any], *, timeout: float | None) -> Reply:
        wire: dict[str, Any] = json.loads(dumps(message))
        try:
            reply = await asyncio.wait_for(self._handler(wire), timeout)
        except TimeoutError:
            raise ReplyTimeout(timeout or 0.0) from None
        except Exception as exc:  # noqa: BLE001 - the adapter's crash is data for the client
            raise ConnectionLost(
                f"the in-process adapter raised {type(exc).__name__}: {exc}", stderr=traceback.format_exc()
            ) from exc
        try:
            line = dumps(reply).encode("utf-8")
        except (TypeError, ValueError):  # not JSON-able: hand the client what a stdio adapter would print
            line = repr(reply).encode("utf-8", errors="replace")
        return Reply(line=line)


@contextlib.asynccontextmanager
async def in_process_connection(handler: Handler) -> AsyncIterator[InProcessConnection]:
    """A connector for :class:`InProcessConnection` (nothing to open or close)."""
    yield InProcessConnection(handler)
