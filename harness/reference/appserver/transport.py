"""The transport seam of the app-server client: JSON values in, JSON values out, one per line.

:class:`Transport` is three methods (``send``, ``receive``, ``close``), like httpx's transports, so the JSON-RPC
layer (:mod:`.connection`) never touches a process. Two implementations:

* :class:`SubprocessTransport` — ``codex app-server --listen stdio://`` as a child process;
* :class:`MemoryTransport` — an in-process pair (:func:`memory_pair`) for tests and scripted servers.

Framing (both): one JSON value per ``\\n``-terminated line, UTF-8. Lines are split on the byte ``\\n`` **only**:
a raw U+2028/U+2029 inside a JSON string is not a line break (``str.splitlines`` and some JS readers think it
is). Lines have no 64 KiB limit (asyncio's ``readline`` default): the reader keeps its own buffer, capped at
``max_frame_bytes`` (256 MiB) so a runaway server cannot eat all memory. A trailing ``\\r`` is dropped and
blank lines are skipped. A line that is not JSON raises :class:`AppServerProtocolError` from ``receive``.

End of stream: ``receive`` returns ``None`` once the transport was closed by us; when the *server* ends the
stream first, :class:`SubprocessTransport` raises :class:`AppServerExitedError` (exit code, stderr tail) and
:class:`MemoryTransport` returns ``None`` (the connection turns that into the same error, without an exit code).

Process hygiene (:class:`SubprocessTransport`): the child gets its own session/process group; ``close`` closes
stdin (codex exits on EOF within ~30 ms), waits ``close_grace``, then ``SIGTERM``, waits ``kill_grace``, then
``SIGKILL``, and finally sweeps the group with ``SIGKILL`` so no grandchild survives. stderr is drained in the
background into a bounded tail, so a chatty server never blocks on a full pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import msgspec

from harness.reference.appserver.errors import AppServerExitedError, AppServerProtocolError
from harness.reference.errors import BinaryNotFoundError

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "DEFAULT_STDERR_TAIL_BYTES",
    "MemoryTransport",
    "SubprocessTransport",
    "Transport",
    "decode_frame",
    "encode_frame",
    "memory_pair",
]

DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024
DEFAULT_STDERR_TAIL_BYTES = 64 * 1024
_READ_CHUNK = 1 << 20
_ENCODER = msgspec.json.Encoder()


class Transport(Protocol):
    """Moves JSON values between the client and one app-server."""

    async def send(self, obj: Mapping[str, Any]) -> None:
        """Write one message as a line."""

    async def receive(self) -> Any | None:
        """The next decoded JSON value, or ``None`` at the end of the stream (see the module docstring)."""

    async def close(self) -> None:
        """Release everything (stop the process); idempotent."""


def encode_frame(obj: Mapping[str, Any]) -> bytes:
    """One message as a line: compact JSON, newline-terminated (newlines inside strings are escaped)."""
    return _ENCODER.encode(obj) + b"\n"


def decode_frame(line: bytes) -> Any:
    """Decode one line; anything but JSON is an :class:`AppServerProtocolError` naming the frame."""
    try:
        return msgspec.json.decode(line)
    except msgspec.DecodeError as exc:
        raise AppServerProtocolError(f"invalid JSON frame ({exc})", line.decode("utf-8", "replace")) from exc


class _LineBuffer:
    """Splits a byte stream on ``\\n`` with an explicit cap instead of asyncio's 64 KiB ``readline`` limit."""

    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buf = bytearray()
        self._start = 0
        self._scan = 0

    def feed(self, chunk: bytes) -> None:
        if self._start > len(self._buf) // 2:  # compact occasionally: keeps splitting linear in the input size
            del self._buf[: self._start]
            self._scan -= self._start
            self._start = 0
        self._buf += chunk

    def next_line(self) -> bytes | None:
        """The next complete line (without ``\\n``/``\\r``), or ``None`` until more input arrives."""
        while True:
            end = self._buf.find(b"\n", max(self._scan, self._start))
            if end < 0:
                self._scan = len(self._buf)
                if len(self._buf) - self._start > self.max_frame_bytes:
                    raise AppServerProtocolError(f"frame exceeds {self.max_frame_bytes} bytes")
                return None
            line = bytes(self._buf[self._start : end])
            self._start = self._scan = end + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if line.strip():
                return line

    def rest(self) -> bytes | None:
        """What is left at EOF (a final line without ``\\n``), if anything but whitespace."""
        line = bytes(self._buf[self._start :])
        self._buf.clear()
        self._start = self._scan = 0
        return line if line.strip() else None


class _StderrTail:
    """The last ``limit`` bytes of stderr, for error messages; bounded whatever the child prints."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._buf = bytearray()

    def append(self, chunk: bytes) -> None:
        self._buf += chunk
        if len(self._buf) > self.limit:
            del self._buf[: len(self._buf) - self.limit]

    def text(self) -> str:
        return bytes(self._buf).decode("utf-8", errors="replace")


#: Spawn attempts when exec fails with ETXTBSY ("Text file busy"); delays 5, 10, 20, 40 ms.
_ETXTBSY_ATTEMPTS = 5


class SubprocessTransport:
    """``codex app-server`` as a child process speaking on its stdin/stdout (start it with :meth:`spawn`)."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        stderr_tail_bytes: int = DEFAULT_STDERR_TAIL_BYTES,
        close_grace: float = 2.0,
        kill_grace: float = 2.0,
    ) -> None:
        self.process = process
        self.close_grace = close_grace
        self.kill_grace = kill_grace
        self._lines = _LineBuffer(max_frame_bytes)
        self._tail = _StderrTail(stderr_tail_bytes)
        self._stderr_task = asyncio.ensure_future(self._drain_stderr())
        self._send_lock = asyncio.Lock()
        self._closing = False
        self._closed = False
        self._eof = False

    @classmethod
    async def spawn(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> SubprocessTransport:
        """Start ``argv`` (``env`` replaces the environment when given); a missing binary is
        :class:`~harness.reference.errors.BinaryNotFoundError`."""
        for attempt in range(_ETXTBSY_ATTEMPTS):
            try:
                process = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    env=dict(env) if env is not None else None,
                    cwd=os.fspath(cwd) if cwd is not None else None,
                    start_new_session=True,
                )
            except OSError as exc:
                if exc.errno == errno.ETXTBSY and attempt + 1 < _ETXTBSY_ATTEMPTS:
                    # An executable written a moment ago while another thread forked: that child holds the write
                    # descriptor until it execs (the exec transport retries the same way). Gone in milliseconds.
                    await asyncio.sleep(0.005 * 2**attempt)
                    continue
                raise BinaryNotFoundError(str(argv[0]), exc.strerror or str(exc)) from exc
            return cls(process, **options)
        raise AssertionError("unreachable: the last attempt returns or raises")

    @property
    def pid(self) -> int:
        """The child's pid (= its process group id)."""
        return self.process.pid

    def stderr_tail(self) -> str:
        """The last bytes the server wrote to stderr (its logs)."""
        return self._tail.text()

    async def _drain_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        while chunk := await stream.read(65536):
            self._tail.append(chunk)

    async def send(self, obj: Mapping[str, Any]) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        data = encode_frame(obj)
        async with self._send_lock:
            if self._closing:
                raise AppServerExitedError(self.process.returncode, self.stderr_tail())
            try:
                stdin.write(data)
                await stdin.drain()
            except (BrokenPipeError, ConnectionResetError) as exc:
                raise await self._exit_error() from exc

    async def receive(self) -> Any | None:
        stdout = self.process.stdout
        assert stdout is not None
        while True:
            if self._closing:
                return None
            line = self._lines.next_line()
            if line is not None:
                return decode_frame(line)
            if self._eof:
                if self._closing:
                    return None
                raise await self._exit_error()
            chunk = await stdout.read(_READ_CHUNK)
            if chunk:
                self._lines.feed(chunk)
                continue
            self._eof = True
            rest = self._lines.rest()
            if rest is not None:
                return decode_frame(rest)

    async def _exit_error(self) -> AppServerExitedError:
        """The server went away on its own: wait (briefly) for its status and the rest of its stderr."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.process.wait(), self.close_grace)
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._stderr_task), 0.5)
        return AppServerExitedError(self.process.returncode, self.stderr_tail())

    async def close(self) -> None:
        """Close stdin → wait ``close_grace`` → SIGTERM → wait ``kill_grace`` → SIGKILL; then sweep the group."""
        if self._closed:
            return
        self._closing = True
        self._closed = True
        process = self.process
        try:
            if process.stdin is not None and not process.stdin.is_closing():
                process.stdin.close()
            if not await self._wait(self.close_grace):
                self._signal(signal.SIGTERM)
                if not await self._wait(self.kill_grace):
                    self._signal(signal.SIGKILL)
                    await process.wait()
        finally:
            if process.returncode is None:  # cancelled while waiting: never leave the child behind
                self._signal(signal.SIGKILL)
            self._signal(signal.SIGKILL)  # whatever the server spawned in its group
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(process.wait(), self.kill_grace)
            self._stderr_task.cancel()
            with contextlib.suppress(BaseException):
                await self._stderr_task
            transport = getattr(process, "_transport", None)
            if transport is not None:
                transport.close()

    async def _wait(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.process.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)


class MemoryTransport:
    """One end of an in-process connection (create both with :func:`memory_pair`).

    Frames travel as encoded lines, so the far end can also send bytes that are not JSON
    (:meth:`send_line`), exactly as a broken server would on a pipe."""

    def __init__(self, inbound: asyncio.Queue[bytes | None], outbound: asyncio.Queue[bytes | None]) -> None:
        self._inbound = inbound
        self._outbound = outbound
        self._closed = False
        self._peer_closed = False
        self._lines = _LineBuffer(DEFAULT_MAX_FRAME_BYTES)

    async def send(self, obj: Mapping[str, Any]) -> None:
        await self.send_line(encode_frame(obj))

    async def send_line(self, line: bytes) -> None:
        """Send raw bytes (one or more ``\\n``-terminated lines, or garbage)."""
        if self._closed or self._peer_closed:
            raise AppServerExitedError(None, "")
        await self._outbound.put(line)

    async def receive(self) -> Any | None:
        while not self._closed:
            line = self._lines.next_line()
            if line is not None:
                return decode_frame(line)
            if self._peer_closed:
                return None
            data = await self._inbound.get()
            if data is None:
                self._peer_closed = True
                rest = self._lines.rest()
                if rest is not None and not self._closed:
                    return decode_frame(rest)
                continue
            self._lines.feed(data)
        return None

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._outbound.put(None)
            self._inbound.put_nowait(None)  # wake our own pending receive()


def memory_pair() -> tuple[MemoryTransport, MemoryTransport]:
    """``(client_end, server_end)`` of a fresh in-memory connection."""
    a: asyncio.Queue[bytes | None] = asyncio.Queue()
    b: asyncio.Queue[bytes | None] = asyncio.Queue()
    return MemoryTransport(a, b), MemoryTransport(b, a)
