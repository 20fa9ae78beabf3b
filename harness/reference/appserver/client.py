"""``AppServerClient``: the reference client of ``codex app-server`` (JSON-RPC over stdio).

::

    async with AppServerClient.spawn("/path/to/codex", handler=my_handler) as client:
        await client.initialize()
        thread = await client.thread_start({"cwd": ws, "approvalPolicy": "untrusted", "sandbox": "workspace-write"})
        turn = await thread.run("Say hello")          # or: async with thread.run_streamed(...) as events: ...

Layers: :mod:`.transport` moves lines, :mod:`.connection` is JSON-RPC (ids, concurrent server requests,
notification fan-out), this module is the protocol's vocabulary (``initialize`` → ``initialized``,
``thread/start``, ``thread/resume``, ``turn/start``, ``turn/interrupt``) and :mod:`.thread` the turn logic.

**Never wait for a notification before the next request**: ``thread_start`` returns as soon as ``thread/start``
is answered (``thread/started`` races the client's ``turn/start``, §9), and ``initialize`` does not wait for
``configWarning``. Closing (``async with`` exit or :meth:`AppServerClient.close`) closes codex's stdin (it exits
on EOF), then SIGTERM, then SIGKILL: no process is left behind, whatever state the session was in.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

import harness
from harness.reference.appserver.connection import Connection, Handler, Subscription
from harness.reference.appserver.errors import AppServerProtocolError
from harness.reference.appserver.inputs import TurnInput, build_input
from harness.reference.appserver.messages import (
    InitializeResult,
    RequestId,
    ThreadStartResult,
    TurnInfo,
    TurnStartResult,
)
from harness.reference.appserver.thread import AppServerThread
from harness.reference.appserver.transport import SubprocessTransport, Transport
from harness.reference.exec.argv import flatten_config
from harness.reference.telemetry import TelemetryBus, default_bus
from harness.reference.usage import UsageLedger

__all__ = [
    "AppServerClient",
    "DEFAULT_APP_SERVER_ARGS",
    "DEFAULT_CLIENT_INFO",
    "build_app_server_argv",
]

DEFAULT_APP_SERVER_ARGS: tuple[str, ...] = ("app-server", "--listen", "stdio://")
DEFAULT_CLIENT_INFO: Mapping[str, str] = {
    "name": "codex_parity_harness",
    "title": "Codex parity harness",
    "version": harness.__version__,
}


def build_app_server_argv(
    codex_path: str | os.PathLike[str],
    args: Sequence[str] = DEFAULT_APP_SERVER_ARGS,
    config_overrides: Mapping[str, Any] | None = None,
) -> list[str]:
    """``codex app-server --listen stdio://`` plus ``--config key=value`` per (flattened) override, as the
    official Python SDK spawns it."""
    argv = [os.fspath(codex_path), *args]
    for override in flatten_config(config_overrides) if config_overrides else ():
        argv += ["--config", override]
    return argv


class AppServerClient:
    """A session with one app-server (see the module docstring). Build it with :meth:`spawn`, or
    :meth:`connect` over any :class:`~harness.reference.appserver.transport.Transport`."""

    def __init__(self, connection: Connection, *, telemetry: TelemetryBus | None = None) -> None:
        self.connection = connection
        self.telemetry = telemetry if telemetry is not None else default_bus()
        #: Token usage per thread (cumulative values from ``thread/tokenUsage/updated``, never double counted).
        self.usage = UsageLedger()
        self.initialize_result: InitializeResult | None = None

    # -- construction ---------------------------------------------------------------------------------------
    @classmethod
    def connect(
        cls,
        transport: Transport,
        *,
        handler: Handler | None = None,
        request_timeout: float | None = 60.0,
        id_factory: Callable[[], RequestId] | None = None,
        telemetry: TelemetryBus | None = None,
        strict: bool = False,
    ) -> AppServerClient:
        """A client over an existing transport (the reader starts on first use or ``async with``)."""
        bus = telemetry if telemetry is not None else default_bus()
        connection = Connection(
            transport,
            handler=handler,
            request_timeout=request_timeout,
            id_factory=id_factory,
            telemetry=bus,
            strict=strict,
        )
        return cls(connection, telemetry=bus)

    @classmethod
    def spawn(
        cls,
        codex_path: str | os.PathLike[str],
        *,
        args: Sequence[str] = DEFAULT_APP_SERVER_ARGS,
        config_overrides: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        handler: Handler | None = None,
        request_timeout: float | None = 60.0,
        id_factory: Callable[[], RequestId] | None = None,
        telemetry: TelemetryBus | None = None,
        close_grace: float = 2.0,
        kill_grace: float = 2.0,
    ) -> _Spawn:
        """Start ``codex app-server`` and connect to it: ``async with AppServerClient.spawn(path) as client``.

        ``env`` replaces the child's environment when given; ``request_timeout`` (seconds, ``None`` for no
        limit) applies to every request unless overridden per call."""
        argv = build_app_server_argv(codex_path, args, config_overrides)

        async def start() -> AppServerClient:
            transport = await SubprocessTransport.spawn(
                argv, env=env, cwd=cwd, close_grace=close_grace, kill_grace=kill_grace
            )
            client = cls.connect(
                transport, handler=handler, request_timeout=request_timeout, id_factory=id_factory, telemetry=telemetry
            )
            client.connection.start()
            return client

        return _Spawn(start)

    async def __aenter__(self) -> AppServerClient:
        self.connection.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """End the session and stop the server process (idempotent)."""
        await self.connection.close()

    @property
    def pid(self) -> int | None:
        """The app-server's pid when it is a child process."""
        transport = self.connection.transport
        return transport.pid if isinstance(transport, SubprocessTransport) else None

    # -- protocol -------------------------------------------------------------------------------------------
    async def request(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None | object = ...
    ) -> Any:
        """Any request; returns its ``result`` (raises :class:`JsonRpcError` and friends)."""
        return await self.connection.request(method, params, timeout=timeout)

    def notifications(self) -> Subscription:
        """Every notification from now on, in order (use ``with`` to detach)."""
        return self.connection.subscribe()

    async def initialize(
        self,
        client_info: Mapping[str, Any] | None = None,
        capabilities: Mapping[str, Any] | None = None,
        *,
        timeout: float | None | object = ...,
    ) -> InitializeResult:
        """``initialize`` (``capabilities`` default ``{"experimentalApi": true}``, needed for ``dynamicTools``),
        then the ``initialized`` notification."""
        params = {
            "clientInfo": dict(client_info if client_info is not None else DEFAULT_CLIENT_INFO),
            "capabilities": dict(capabilities if capabilities is not None else {"experimentalApi": True}),
        }
        result = await self.request("initialize", params, timeout=timeout)
        await self.connection.notify("initialized")
        self.initialize_result = InitializeResult.from_dict(_object(result, "initialize"))
        return self.initialize_result

    async def thread_start(self, params: Mapping[str, Any] | None = None) -> AppServerThread:
        """``thread/start`` with ``params`` verbatim (``cwd``, ``approvalPolicy``, ``sandbox``, ``dynamicTools``…)."""
        result = ThreadStartResult.from_dict(
            _object(await self.request("thread/start", dict(params or {})), "thread/start")
        )
        return AppServerThread(self, _thread_id(result, "thread/start"), result)

    async def thread_resume(self, thread_id: str, params: Mapping[str, Any] | None = None) -> AppServerThread:
        """``thread/resume`` of an earlier thread (not exercised against real codex yet: §11)."""
        raw = await self.request("thread/resume", {**(params or {}), "threadId": thread_id})
        result = ThreadStartResult.from_dict(_object(raw, "thread/resume"))
        return AppServerThread(self, _thread_id(result, "thread/resume", default=thread_id), result)

    async def turn_start(self, thread_id: str, input: TurnInput, params: Mapping[str, Any] | None = None) -> TurnInfo:
        """The raw ``turn/start``: returns the (in-progress) turn; notifications are yours to read
        (:meth:`notifications`, subscribed before this call). :meth:`AppServerThread.run` does all that."""
        raw = await self.request("turn/start", {**(params or {}), "threadId": thread_id, "input": build_input(input)})
        turn = TurnStartResult.from_dict(_object(raw, "turn/start")).turn
        if turn is None:
            raise AppServerProtocolError("turn/start result has no 'turn'", repr(raw))
        return turn

    async def turn_interrupt(self, thread_id: str, turn_id: str) -> None:
        """``turn/interrupt``; codex answers ``{}`` and then sends ``turn/completed`` ``interrupted``."""
        await self.request("turn/interrupt", {"threadId": thread_id, "turnId": turn_id})


def _object(result: Any, method: str) -> Mapping[str, Any]:
    if not isinstance(result, Mapping):
        raise AppServerProtocolError(f"{method} result must be an object", repr(result))
    return result


def _thread_id(result: ThreadStartResult, method: str, default: str | None = None) -> str:
    thread_id = result.thread.id if result.thread is not None else None
    if thread_id is None:
        if default is not None:
            return default
        raise AppServerProtocolError(f"{method} result has no thread id", repr(result.raw))
    return thread_id


class _Spawn:
    """What :meth:`AppServerClient.spawn` returns: ``async with`` it (or ``await`` it and close yourself)."""

    def __init__(self, start: Callable[[], Any]) -> None:
        self._start = start
        self._client: AppServerClient | None = None

    def __await__(self) -> Any:
        return self._start().__await__()

    async def __aenter__(self) -> AppServerClient:
        self._client = await self._start()
        return self._client

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.close()
