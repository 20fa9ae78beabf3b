"""The runner's side of the adapter protocol: :class:`AdapterClient` drives one long-lived adapter.

One process per implementation serves many cases. The client owns everything that can go wrong with it,
and turns every misbehaviour into an :class:`~harness.adapters.protocol.Errored` *result* (data in the
report), because a broken SDK driver is a finding about that SDK, not a reason to stop the run:

========================  ===========================  ==========================================
what happened             result                        then
========================  ===========================  ==========================================
adapter sent ``errored``  ``Errored(cause=reported)``   keep the process
no reply in time          ``Errored(cause=timeout)``    kill it; restart + replay ``start`` lazily
process exited / EOF      ``Errored(cause=crash)``      restart + replay ``start`` lazily
line is not JSON          ``Errored(cause=garbage)``    restart (the stream may be out of step)
``seq`` differs           ``Errored(cause=wrong_seq)``  restart (a stale or misrouted reply)
reply fails the schema    ``Errored(invalid_reply)``    restart
restart fails             ``Errored(restart_failed)``   retry on the next case
========================  ===========================  ==========================================

Any client-detected failure discards the process: after garbage or a wrong ``seq`` nobody knows which line
answers which request, and a uniform rule is easier to reason about than a partial one. Only two things
raise :class:`~harness.errors.AdapterError`: the adapter cannot be started at all (first ``start``), or it
cannot be restarted ``max_restart_failures`` times in a row (so a dead SDK cannot loop forever -- Bowtie's
FIXME). A request we build that fails our own schema is a harness bug and raises too.

stderr is captured data (see :mod:`harness.adapters.connection`): each result carries ``adapter_stderr``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import msgspec

from harness.adapters.connection import Connection, ConnectionFailure, ConnectionLost, Connector, ReplyTimeout
from harness.adapters.protocol import (
    ErrorCause,
    Errored,
    Implementation,
    Run,
    RunResult,
    SchemaName,
    Skipped,
    Start,
    Stop,
    required_capabilities,
    result_from_reply,
    schema_errors,
)
from harness.errors import AdapterError

__all__ = ["AdapterClient", "BlockingAdapterClient"]

_T = TypeVar("_T")


class _StartFailed(Exception):
    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.stderr = stderr


def _tail(text: str, limit: int = 2000) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


class AdapterClient:
    """Drive one adapter through ``connect`` (a :data:`~harness.adapters.connection.Connector`).

    ``read_timeout`` bounds each ``run`` (override per call with ``timeout=``); ``start_timeout`` bounds
    ``start`` and ``stop`` (an SDK may take seconds to import). Use as ``async with AdapterClient(...) as
    client:`` or call :meth:`start` / :meth:`stop`. Requests are serialized: one process, one request at a
    time.
    """

    def __init__(
        self,
        connect: Connector,
        *,
        name: str = "adapter",
        read_timeout: float = 60.0,
        start_timeout: float = 30.0,
        max_restart_failures: int = 3,
    ) -> None:
        self.name = name
        self.read_timeout = read_timeout
        self.start_timeout = start_timeout
        self.max_restart_failures = max_restart_failures
        self._connect = connect
        self._stack: contextlib.AsyncExitStack | None = None
        self._connection: Connection | None = None
        self._implementation: Implementation | None = None
        self._seq = 0
        self._lock = asyncio.Lock()
        self._restart_failures = 0
        #: How many times the adapter was restarted after a failure.
        self.restarts = 0
        #: stderr the adapter wrote while answering ``start`` (the last start, restarts included).
        self.start_stderr = ""
        #: Why ``stop`` did not go cleanly (no reply, a bad reply), or None. Never raised: the cases are done.
        self.stop_problem: str | None = None

    # ------------------------------------------------------------------------------------ lifecycle

    @property
    def implementation(self) -> Implementation:
        """What the adapter announced on its first ``start``. Raises AdapterError before :meth:`start`."""
        if self._implementation is None:
            raise AdapterError(f"adapter {self.name!r} has not been started")
        return self._implementation

    async def __aenter__(self) -> AdapterClient:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> Implementation:
        """Open the adapter and send ``start``; raise AdapterError (with its stderr) if that fails."""
        async with self._lock:
            try:
                self._implementation = await self._launch()
            except _StartFailed as exc:
                stderr = f"; its stderr: {_tail(exc.stderr)}" if exc.stderr.strip() else ""
                raise AdapterError(f"adapter {self.name!r} cannot be started: {exc.message}{stderr}") from exc
            return self._implementation

    async def stop(self) -> None:
        """Send ``stop`` and close the adapter. Problems are recorded in :attr:`stop_problem`, not raised."""
        async with self._lock:
            connection = self._connection
            if connection is not None:
                try:
                    reply = await connection.request(Stop().to_message(), timeout=self.start_timeout)
                    problem = self._check(reply.line, "stop-reply")
                    if isinstance(problem, str):
                        self.stop_problem = f"bad reply to stop: {problem}"
                except ConnectionFailure as exc:
                    self.stop_problem = f"stop: {exc.message}"
            await self._discard()

    async def _launch(self) -> Implementation:
        """Open a fresh connection and send ``start``; on any failure close it and raise _StartFailed."""
        stack = contextlib.AsyncExitStack()
        try:
            connection = await stack.enter_async_context(self._connect())
            reply = await connection.request(Start().to_message(), timeout=self.start_timeout)
        except ConnectionFailure as exc:
            await stack.aclose()
            raise _StartFailed(f"start: {exc.message}", exc.stderr) from exc
        except BaseException:
            await stack.aclose()
            raise
        checked = self._check(reply.line, "start-reply")
        if isinstance(checked, str):
            await stack.aclose()
            raise _StartFailed(f"bad reply to start: {checked}", reply.stderr)
        self._stack, self._connection = stack, connection
        self.start_stderr = reply.stderr
        return Implementation.from_reply(checked)

    async def _discard(self) -> None:
        stack, self._stack, self._connection = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    @staticmethod
    def _check(line: bytes, name: SchemaName) -> dict[str, Any] | str:
        """The parsed reply, or why it is not a valid ``name`` (a one-line message)."""
        try:
            data = msgspec.json.decode(line)
        except msgspec.DecodeError:
            return f"not a JSON line: {line[:200]!r}"
        errors = schema_errors(name, data)
        if errors:
            return f"does not match {name}.json: " + "; ".join(errors)
        assert isinstance(data, dict)
        return data

    # ------------------------------------------------------------------------------------------- runs

    async def run(
        self,
        case: Mapping[str, Any],
        *,
        codex_path: str | Path,
        workdir: str | Path,
        timeout: float | None = None,
    ) -> RunResult:
        """Run one portable case; every adapter failure is a result (see the module docstring)."""
        async with self._lock:
            implementation = self.implementation
            self._seq += 1
            seq = self._seq
            message = Run(seq, dict(case), str(codex_path), str(workdir)).to_message()
            problems = schema_errors("run", message)
            if problems:
                raise AdapterError(f"case {case.get('id')!r} is not a valid run request: " + "; ".join(problems))
            missing = sorted(required_capabilities(case) - set(implementation.capabilities))
            if missing:
                return Skipped(
                    seq=seq,
                    reason=f"{implementation.name} adapter lacks capability: {', '.join(missing)}",
                    by="harness",
                )
            restart_stderr = ""
            if self._connection is None:
                try:
                    await self._launch()
                except _StartFailed as exc:
                    self._restart_failures += 1
                    if self._restart_failures >= self.max_restart_failures:
                        raise AdapterError(
                            f"adapter {self.name!r} could not be restarted "
                            f"({self._restart_failures} attempts): {exc.message}"
                        ) from exc
                    return Errored(seq, f"restart failed: {exc.message}", "restart_failed", adapter_stderr=exc.stderr)
                self._restart_failures = 0
                self.restarts += 1
                restart_stderr = self.start_stderr
            assert self._connection is not None
            return await self._exchange(self._connection, message, seq, timeout, restart_stderr)

    async def _exchange(
        self, connection: Connection, message: dict[str, Any], seq: int, timeout: float | None, before: str
    ) -> RunResult:
        wait = self.read_timeout if timeout is None else timeout
        try:
            reply = await connection.request(message, timeout=wait)
        except ReplyTimeout as exc:
            await self._discard()
            return Errored(seq, f"no reply within {wait:g} s", "timeout", adapter_stderr=before + exc.stderr)
        except ConnectionLost as exc:
            await self._discard()
            return Errored(seq, f"adapter crashed: {exc.message}", "crash", adapter_stderr=before + exc.stderr)
        stderr = before + reply.stderr
        try:
            data = msgspec.json.decode(reply.line)
        except msgspec.DecodeError:
            return await self._misbehaved(seq, f"reply is not a JSON line: {reply.line[:200]!r}", "garbage", stderr)
        if isinstance(data, dict) and "seq" in data and data["seq"] != seq:
            return await self._misbehaved(
                seq, f"mismatched seq: expected {seq}, got {data['seq']!r}", "wrong_seq", stderr
            )
        problems = schema_errors("run-reply", data)
        if problems:
            return await self._misbehaved(
                seq, "reply does not match run-reply.json: " + "; ".join(problems), "invalid_reply", stderr
            )
        return result_from_reply(data, adapter_stderr=stderr)

    async def _misbehaved(self, seq: int, message: str, cause: ErrorCause, stderr: str) -> Errored:
        await self._discard()
        return Errored(seq, message, cause, adapter_stderr=stderr)


class BlockingAdapterClient:
    """:class:`AdapterClient` for synchronous callers (the pytest plugin, the CLI): a private event loop in a
    helper thread keeps the adapter process alive across calls, which ``asyncio.run`` per call cannot."""

    def __init__(self, connect: Connector, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="adapter-client", daemon=True)
        self._thread.start()
        self.client = AdapterClient(connect, **options)

    def _call(self, coroutine: Awaitable[_T]) -> _T:
        async def wrapped() -> _T:
            return await coroutine

        future: concurrent.futures.Future[_T] = asyncio.run_coroutine_threadsafe(wrapped(), self._loop)
        return future.result()

    def start(self) -> Implementation:
        """See :meth:`AdapterClient.start`."""
        return self._call(self.client.start())

    def run(
        self,
        case: Mapping[str, Any],
        *,
        codex_path: str | Path,
        workdir: str | Path,
        timeout: float | None = None,
    ) -> RunResult:
        """See :meth:`AdapterClient.run`."""
        return self._call(self.client.run(case, codex_path=codex_path, workdir=workdir, timeout=timeout))

    def close(self) -> None:
        """Stop the adapter and the helper loop (idempotent)."""
        if self._loop.is_closed():
            return
        try:
            self._call(self.client.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> BlockingAdapterClient:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
