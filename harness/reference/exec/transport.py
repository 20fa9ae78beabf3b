"""The exec transport: spawn ``codex exec``, feed the prompt on stdin, stream stdout lines, report the exit.

This is the one place that owns a child process, so it carries every process-hygiene rule of the harness:

* **Own process group.** The child starts in a new session (``start_new_session=True``) so that terminating it
  also reaches whatever it spawned (shell tools, ``sleep`` in a fake); ``SIGTERM`` then ``SIGKILL`` after a
  grace period go to the whole group, and after the child has exited the group is swept with ``SIGKILL`` so
  nothing is orphaned.
* **Always reaped.** Every path -- normal end, error, abort, idle timeout, task cancellation, a consumer that
  stops iterating early (``aclose()``) -- goes through one ``finally`` that waits for the child.
* **No deadlocks.** stdin is written by its own task (a child may print before it reads), stderr is drained
  concurrently into a bounded tail (a chatty child cannot fill the pipe and stall, nor fill our memory).
* **Long lines.** stdout lines up to ``line_limit`` bytes (64 MiB) are fine -- the real CLI prints single
  ``item.completed`` lines of hundreds of KB, which broke SDKs that kept asyncio's 64 KiB default
  (sdk-behaviour.md §4.5); a longer line is a :class:`LineTooLongError`, not a hang or a crash.

Semantics follow the TS SDK's ``CodexExec.run``: lines are yielded as they arrive (without the newline;
``\\r\\n`` tolerated, a final unterminated line is still yielded); only after stdout closes is the exit status
checked, and a non-zero status raises ``Codex Exec exited with code N: <stderr>`` (or ``signal SIGNAME``). A
child that exits before reading its stdin (``EPIPE``) is not an error of ours: its exit status is what gets
reported.

Cancellation: an abort signal raises :class:`AbortError` ("The operation was aborted") once the child is gone;
an idle timeout raises :class:`IdleTimeoutError`. Cancelling the consuming task cleans up the same way but
lets :class:`asyncio.CancelledError` propagate, because swallowing a cancellation breaks ``asyncio.timeout``
and task groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import signal as _signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

from harness.reference.errors import (
    AbortError,
    BinaryNotFoundError,
    ExitError,
    IdleTimeoutError,
    LineTooLongError,
    SignalError,
)
from harness.reference.options import AbortSignal, SignalLike

__all__ = [
    "DEFAULT_KILL_GRACE",
    "DEFAULT_LINE_LIMIT",
    "DEFAULT_STDERR_TAIL",
    "CodexExec",
    "find_codex_path",
    "iterate_sync",
    "run_coroutine_sync",
]

DEFAULT_LINE_LIMIT = 64 * 1024 * 1024
DEFAULT_STDERR_TAIL = 64 * 1024
DEFAULT_KILL_GRACE = 2.0

_T = TypeVar("_T")


def find_codex_path() -> str:
    """Locate ``codex`` on ``PATH`` (TS resolves its bundled npm binary, which Python lacks)."""
    found = shutil.which("codex")
    if found is None:
        raise BinaryNotFoundError(None)
    return found


class _StderrTail:
    """The last ``limit`` bytes of stderr: enough for an error message, bounded for a runaway child."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.truncated = False

    def append(self, chunk: bytes) -> None:
        self.buffer += chunk
        overflow = len(self.buffer) - self.limit
        if overflow > 0:
            del self.buffer[:overflow]
            self.truncated = True

    def text(self) -> str:
        data = bytes(self.buffer)
        if self.truncated:
            # The cut may have split a UTF-8 sequence; drop its orphaned continuation bytes.
            skip = 0
            while skip < min(3, len(data)) and 0x80 <= data[skip] <= 0xBF:
                skip += 1
            data = data[skip:]
        return data.decode("utf-8", errors="replace")


class _AbortWatch:
    """Turns an :class:`AbortSignal` or :class:`asyncio.Event` into an awaitable on the running loop."""

    def __init__(self, signal: SignalLike | None) -> None:
        self._signal = signal
        self.future: asyncio.Future[Any] | None = None
        self._callback: Callable[[], None] | None = None

    @property
    def aborted(self) -> bool:
        signal = self._signal
        if isinstance(signal, AbortSignal):
            return signal.aborted
        if isinstance(signal, asyncio.Event):
            return signal.is_set()
        return False

    def start(self) -> None:
        signal = self._signal
        if isinstance(signal, AbortSignal):
            loop = asyncio.get_running_loop()
            future: asyncio.Future[Any] = loop.create_future()

            def resolve() -> None:
                if not future.done():
                    future.set_result(None)

            def callback() -> None:
                with contextlib.suppress(RuntimeError):  # the loop may already be closed
                    loop.call_soon_threadsafe(resolve)

            self._callback = callback
            self.future = future
            signal.add_listener(callback)
        elif isinstance(signal, asyncio.Event):
            self.future = asyncio.ensure_future(signal.wait())

    async def close(self) -> None:
        if isinstance(self._signal, AbortSignal) and self._callback is not None:
            self._signal.remove_listener(self._callback)
        future, self.future = self.future, None
        if future is not None and not future.done():
            future.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await future


#: Spawn attempts when exec fails with ETXTBSY ("Text file busy"); delays 5, 10, 20, 40 ms.
_ETXTBSY_ATTEMPTS = 5


class CodexExec:
    """Runs one ``codex exec`` process per call to :meth:`run`.

    ``line_limit`` caps one stdout line (bytes, without the newline); ``stderr_tail_bytes`` caps the stderr
    kept for error messages; ``kill_grace`` is how long a terminated child gets between ``SIGTERM`` and
    ``SIGKILL``. ``on_spawn`` is called with each child's pid (= its process group id), e.g. for a harness's
    leak checks.
    """

    def __init__(
        self,
        executable_path: str | os.PathLike[str] | None = None,
        *,
        line_limit: int = DEFAULT_LINE_LIMIT,
        stderr_tail_bytes: int = DEFAULT_STDERR_TAIL,
        kill_grace: float = DEFAULT_KILL_GRACE,
        on_spawn: Callable[[int], None] | None = None,
    ) -> None:
        self.executable_path = (
            os.fspath(executable_path) if executable_path is not None else find_codex_path()
        )
        if line_limit < 1 or stderr_tail_bytes < 0 or kill_grace < 0:
            raise ValueError("line_limit must be positive; stderr_tail_bytes and kill_grace non-negative")
        self.line_limit = line_limit
        self.stderr_tail_bytes = stderr_tail_bytes
        self.kill_grace = kill_grace
        self.on_spawn = on_spawn

    async def run(
        self,
        args: Sequence[str],
        *,
        stdin: str | bytes = b"",
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        signal: SignalLike | None = None,
        idle_timeout: float | None = None,
    ) -> AsyncIterator[bytes]:
        """Spawn ``executable_path *args``, write ``stdin`` and close it, and yield stdout lines as bytes.

        ``env`` replaces the environment when given (build it with :func:`harness.reference.argv.build_env`).
        Raises :class:`ExitError`/:class:`SignalError` after the last line if the exit is not clean,
        :class:`LineTooLongError`, :class:`IdleTimeoutError`, :class:`AbortError` or
        :class:`BinaryNotFoundError`.
        """
        watch = _AbortWatch(signal)
        if watch.aborted:
            # Like a pre-aborted AbortSignal in TS: rejected before any event, and here before any process.
            raise AbortError()
        data = stdin.encode("utf-8") if isinstance(stdin, str) else bytes(stdin)
        proc = await self._spawn(args, env, cwd)
        if self.on_spawn is not None:
            self.on_spawn(proc.pid)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        tail = _StderrTail(self.stderr_tail_bytes)
        stdin_task = asyncio.ensure_future(_feed_stdin(proc.stdin, data))
        stderr_task = asyncio.ensure_future(_drain(proc.stderr, tail))
        watch.start()
        try:
            line_number = 0
            while True:
                line = await self._race(
                    _read_line(proc.stdout, self.line_limit, line_number + 1), watch, idle_timeout
                )
                if line is None:
                    break
                line_number += 1
                yield line
            returncode = await self._race(proc.wait(), watch, idle_timeout)
            _sweep_group(proc.pid)
            await asyncio.wait({stdin_task, stderr_task}, timeout=max(self.kill_grace, 0.1))
            if returncode < 0:
                raise SignalError(-returncode, tail.text())
            if returncode > 0:
                raise ExitError(returncode, tail.text())
        finally:
            await self._cleanup(proc, (stdin_task, stderr_task), watch)

    def run_sync(
        self,
        args: Sequence[str],
        *,
        stdin: str | bytes = b"",
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        signal: AbortSignal | None = None,
        idle_timeout: float | None = None,
    ) -> Iterator[bytes]:
        """:meth:`run` for synchronous callers, on a private event loop in a helper thread.

        Closing the iterator early (``close()``, ``break`` + garbage collection) stops and reaps the child.
        Use an :class:`AbortSignal` to cancel from another thread.
        """
        return iterate_sync(
            lambda: self.run(args, stdin=stdin, env=env, cwd=cwd, signal=signal, idle_timeout=idle_timeout)
        )

    async def _spawn(
        self, args: Sequence[str], env: Mapping[str, str] | None, cwd: str | os.PathLike[str] | None
    ) -> asyncio.subprocess.Process:
        path = self.executable_path
        for attempt in range(_ETXTBSY_ATTEMPTS):
            try:
                return await asyncio.create_subprocess_exec(
                    path,
                    *args,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    env=dict(env) if env is not None else None,
                    cwd=cwd,
                    start_new_session=True,
                    limit=self.line_limit,
                )
            except OSError as exc:
                if exc.errno == errno.ETXTBSY and attempt + 1 < _ETXTBSY_ATTEMPTS:
                    # The executable was written a moment ago and a process forked in between (by any thread)
                    # still holds the write descriptor until it execs: a transient condition, gone in ms.
                    await asyncio.sleep(0.005 * 2**attempt)
                    continue
                if cwd is not None and exc.filename is not None and os.fspath(exc.filename) == os.fspath(cwd):
                    raise
                if isinstance(
                    exc, FileNotFoundError | PermissionError | NotADirectoryError | IsADirectoryError
                ) or (exc.errno in (errno.ENOEXEC, errno.ETXTBSY)):
                    raise BinaryNotFoundError(path, exc.strerror or str(exc)) from exc
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _race(self, awaitable: Coroutine[Any, Any, _T], watch: _AbortWatch, idle: float | None) -> _T:
        """Await ``awaitable`` unless the abort signal fires or ``idle`` seconds pass first."""
        if watch.future is None and idle is None:
            return await awaitable
        task = asyncio.ensure_future(awaitable)
        waiters: set[asyncio.Future[Any]] = {task}
        if watch.future is not None:
            waiters.add(watch.future)
        try:
            done, _ = await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()
            raise
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if watch.aborted or (watch.future is not None and watch.future in done):
            raise AbortError()
        assert idle is not None
        raise IdleTimeoutError(idle)

    async def _cleanup(
        self, proc: asyncio.subprocess.Process, tasks: tuple[asyncio.Future[None], ...], watch: _AbortWatch
    ) -> None:
        """Stop the child and its group, reap it, release tasks and pipes; safe after a clean exit."""
        try:
            if proc.returncode is None:
                await _terminate(proc, self.kill_grace)
            _sweep_group(proc.pid)
        except BaseException:
            # Cancelled again mid-cleanup: make sure nothing survives; asyncio's child watcher reaps the
            # corpse.
            _kill_group(proc.pid, _signal.SIGKILL)
            raise
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await watch.close()
            transport = getattr(proc, "_transport", None)
            if transport is not None and proc.returncode is not None:
                # Pipes we stopped reading (consumer left early) would otherwise be closed only at GC time,
                # with a ResourceWarning.
                transport.close()


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _sweep_group(pgid: int) -> None:
    """SIGKILL whatever is left of the child's process group (grandchildren) once the child itself is gone."""
    _kill_group(pgid, _signal.SIGKILL)


async def _terminate(proc: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM the group, wait ``grace`` seconds, then SIGKILL it; always wait for the child's exit status."""
    _kill_group(proc.pid, _signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), timeout=grace)
    except TimeoutError:
        _kill_group(proc.pid, _signal.SIGKILL)
        await proc.wait()


async def _feed_stdin(stream: asyncio.StreamWriter, data: bytes) -> None:
    """Write the prompt and close stdin. A child that exits without reading it (EPIPE) is not our error."""
    try:
        if data:
            stream.write(data)
            await stream.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            stream.close()
        with contextlib.suppress(OSError, RuntimeError):
            await stream.wait_closed()


async def _drain(stream: asyncio.StreamReader, tail: _StderrTail) -> None:
    while chunk := await stream.read(65536):
        tail.append(chunk)


async def _read_line(stream: asyncio.StreamReader, limit: int, line_number: int) -> bytes | None:
    """The next line without its terminator (``\\n`` or ``\\r\\n``); ``None`` at EOF."""
    try:
        line = await stream.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        line = exc.partial  # a last line without a newline, as Node's readline yields it
    except asyncio.LimitOverrunError as exc:
        prefix = bytes(stream._buffer[:200]) if hasattr(stream, "_buffer") else b""  # noqa: SLF001
        raise LineTooLongError(
            limit, line_number=line_number, prefix=prefix.decode("utf-8", errors="replace")
        ) from exc
    else:
        line = line[:-1]
    if line.endswith(b"\r"):
        line = line[:-1]
    return line


# --- sync bridges
# -------------------------------------------------------------------------------------------------


class _LoopThread:
    """A private event loop on a daemon thread, so sync wrappers work even inside a running loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="codex-sync-bridge", daemon=True)
        self._thread.start()

    def call(self, factory: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``factory()`` on the loop; if the caller is interrupted, cancel it and wait for its cleanup."""
        finished = threading.Event()

        async def guarded() -> _T:
            try:
                return await factory()
            finally:
                finished.set()

        future = asyncio.run_coroutine_threadsafe(guarded(), self.loop)
        try:
            return future.result()
        except BaseException:
            if not future.done():
                future.cancel()
                finished.wait(timeout=DEFAULT_KILL_GRACE * 5)
            raise

    def close(self) -> None:
        try:
            self.call(self.loop.shutdown_asyncgens)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()
            self.loop.close()


def run_coroutine_sync(factory: Callable[[], Awaitable[_T]]) -> _T:
    """Run a coroutine to completion on a private loop in a helper thread and return its result."""
    bridge = _LoopThread()
    try:
        return bridge.call(factory)
    finally:
        bridge.close()


def iterate_sync(factory: Callable[[], AsyncIterator[_T]]) -> Iterator[_T]:
    """Iterate an async iterator from sync code; closing this iterator early ``aclose()``s the source."""
    bridge = _LoopThread()
    source: AsyncIterator[_T] | None = None
    try:

        async def make() -> AsyncIterator[_T]:
            return factory()

        source = bridge.call(make)
        assert source is not None

        async def step(it: AsyncIterator[_T] = source) -> tuple[bool, _T | None]:
            try:
                return True, await it.__anext__()
            except StopAsyncIteration:
                return False, None

        while True:
            more, item = bridge.call(step)
            if not more:
                return
            yield cast(_T, item)
    finally:
        try:
            closer = getattr(source, "aclose", None)
            if closer is not None:
                bridge.call(closer)
        finally:
            bridge.close()
