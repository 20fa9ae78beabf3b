"""JSON-RPC over a :class:`~harness.reference.appserver.transport.Transport`, as ``codex app-server`` speaks it.

The protocol's own rules (app-server-protocol.md §1), and what this layer does about each:

* **No ``"jsonrpc"`` field**, either way: requests are ``{"id","method","params"}``, notifications
  ``{"method","params"}``, replies ``{"id","result"}`` / ``{"id","error":{code,message,data?}}``.
* **Ids are free-form and typed.** Client ids come from ``id_factory`` (1, 2, 3… by default; UUID strings work
  the same) and responses are matched by id *and type*: ``1`` and ``"1"`` are different requests.
* **Server requests** (ids 0, 1, 2… from codex: approvals, ``item/tool/call``, elicitations, user input) are
  each served by their own task calling ``handler(method, params)``, so a slow handler — a human deciding for
  minutes — never stalls the notification stream, other server requests or our own requests. The reply is
  written with exactly the request's id. The handler returns a result mapping, an :class:`RpcErrorReply`, or
  :data:`NoReply` (send nothing: codex then waits forever, §4.3). With no handler, or a handler returning
  ``None``, the reply is JSON-RPC error **-32601** (method not found); a handler that raises is answered with
  **-32603** (internal error) and logged — the connection and the turn carry on, unlike the official SDK
  whose handler kills its reader thread (§7 ``sdk_handler_raises``).
* **Notifications** (each with a top-level ``emittedAtMs``) are delivered to every :class:`Subscription` in
  arrival order. The single reader puts them into unbounded per-subscriber queues synchronously, so a slow
  consumer delays only itself and ordering holds across notifications *and* responses.

Failures: a frame that is not JSON or not a JSON-RPC message is **fatal** — the connection is poisoned with an
:class:`AppServerProtocolError` that every waiting request and subscription receives (and every later call
raises). The end of the stream fails them with :class:`AppServerExitedError` (exit code and stderr tail) or,
after our own :meth:`Connection.close`, :class:`AppServerClosedError`. A response to an id nobody is waiting
for is recorded in :attr:`Connection.protocol_errors` (and logged) but is fatal only with ``strict=True``: a
late answer to a request that timed out (its id is remembered) is silently dropped, as codex drops stale
replies. A request with no response within its timeout raises :class:`AppServerTimeoutError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Final

from harness.reference.appserver.errors import (
    AppServerClosedError,
    AppServerError,
    AppServerExitedError,
    AppServerProtocolError,
    AppServerTimeoutError,
    JsonRpcError,
)
from harness.reference.appserver.messages import (
    ErrorResponse,
    Notification,
    RequestId,
    Response,
    ServerRequest,
    parse_message,
)
from harness.reference.appserver.transport import Transport
from harness.reference.errors import CodexError
from harness.reference.telemetry import TelemetryBus, default_bus

__all__ = [
    "Connection",
    "Handler",
    "INTERNAL_ERROR",
    "METHOD_NOT_FOUND",
    "NoReply",
    "Reply",
    "RpcErrorReply",
    "Subscription",
]

METHOD_NOT_FOUND: Final = -32601
INTERNAL_ERROR: Final = -32603

_LOGGER = logging.getLogger("harness.reference.appserver")


@dataclasses.dataclass(frozen=True, slots=True)
class RpcErrorReply:
    """Answer a server request with a JSON-RPC error instead of a result."""

    code: int
    message: str
    data: Any = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            body["data"] = self.data
        return body


class _NoReplyType:
    """The type of :data:`NoReply`."""

    _instance: _NoReplyType | None = None

    def __new__(cls) -> _NoReplyType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NoReply"


#: A handler's way to say "send nothing" (codex keeps waiting; interrupt the turn to end it).
NoReply: Final = _NoReplyType()

Reply = Mapping[str, Any] | RpcErrorReply | _NoReplyType | None
#: ``async (method, params) -> Reply``; a plain function returning a ``Reply`` is accepted too. A handler that
#: takes a third positional argument gets the server request's id, ``(method, params, request_id)``; one with an
#: ``observe(method, params)`` attribute also sees every notification, in order, before it is fanned out.
Handler = Callable[..., Awaitable[Reply] | Reply]


def _takes_request_id(handler: Callable[..., Any]) -> bool:
    """Whether ``handler`` accepts a third positional argument (the server request's JSON-RPC id, which the
    approvals handler reports in its telemetry); two-argument handlers keep working unchanged."""
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return False
    positional = 0
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return True
        if parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            positional += 1
    return positional >= 3


def _default_ids() -> Callable[[], RequestId]:
    counter = itertools.count(1)
    return lambda: next(counter)


class Subscription:
    """The notifications of one connection, in arrival order, from the moment of subscribing.

    An async iterator; it raises the connection's failure (exit, protocol error, close) once everything
    received before it was consumed. Use it as a (sync) context manager, or call :meth:`close`, to detach."""

    def __init__(self, owner: Connection) -> None:
        self._owner = owner
        self._queue: asyncio.Queue[Notification | CodexError] = asyncio.Queue()
        self._closed = False

    def push(self, item: Notification | CodexError) -> None:
        if not self._closed:
            self._queue.put_nowait(item)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Notification:
        if self._closed:
            raise StopAsyncIteration
        item = await self._queue.get()
        if isinstance(item, CodexError):
            self._queue.put_nowait(item)  # stays failed
            raise item
        return item

    async def next(self, timeout: float | None = None) -> Notification:
        """The next notification, waiting at most ``timeout`` seconds (``TimeoutError`` after that)."""
        return await asyncio.wait_for(self.__anext__(), timeout)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._owner._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Connection:
    """One JSON-RPC session with an app-server over ``transport`` (see the module docstring).

    Start the reader with :meth:`start` (or ``async with``); :meth:`close` stops it and the transport.
    ``request_timeout`` is the default per-request limit in seconds (``None``: wait forever)."""

    def __init__(
        self,
        transport: Transport,
        *,
        handler: Handler | None = None,
        request_timeout: float | None = 60.0,
        id_factory: Callable[[], RequestId] | None = None,
        telemetry: TelemetryBus | None = None,
        strict: bool = False,
    ) -> None:
        self.transport = transport
        self.handler = handler
        self.request_timeout = request_timeout
        self.strict = strict
        self.protocol_errors: list[AppServerProtocolError] = []
        self._next_id = id_factory if id_factory is not None else _default_ids()
        self._telemetry = telemetry if telemetry is not None else default_bus()
        self._pending: dict[RequestId, tuple[str, asyncio.Future[Response | ErrorResponse]]] = {}
        self._abandoned: set[RequestId] = set()
        self._subscribers: list[Subscription] = []
        self._served: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._failure: CodexError | None = None
        self._closing = False

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the reader task (idempotent); needs a running event loop."""
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read_loop(), name="appserver-reader")

    async def __aenter__(self) -> Connection:
        self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def failure(self) -> CodexError | None:
        """Why the connection stopped working (``None`` while it works)."""
        return self._failure

    @property
    def pending_server_requests(self) -> int:
        """Server requests whose handler has not finished yet."""
        return len(self._served)

    async def close(self) -> None:
        """Stop serving, close the transport (which stops the process), fail whatever still waits. Idempotent."""
        if self._closing:
            return
        self._closing = True
        for task in list(self._served):
            task.cancel()
        for task in list(self._served):
            with contextlib.suppress(BaseException):
                await task
        try:
            await self.transport.close()
        finally:
            reader = self._reader
            if reader is not None and not reader.done():
                try:
                    await asyncio.wait_for(asyncio.shield(reader), 1.0)
                except (TimeoutError, Exception):
                    reader.cancel()
                    with contextlib.suppress(BaseException):
                        await reader
            self._fail(AppServerClosedError())

    # -- client → server ------------------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None | object = ...,
        id: RequestId | None = None,
    ) -> Any:
        """Send a request and return its ``result``; :class:`JsonRpcError` for an error reply.

        ``timeout`` overrides the connection's ``request_timeout`` (``None``: no limit)."""
        self._check()
        self.start()
        limit = self.request_timeout if timeout is ... else timeout
        assert limit is None or isinstance(limit, int | float)
        rid = self._next_id() if id is None else id
        key = rid
        if key in self._pending:
            raise ValueError(f"request id {rid!r} is already in use")
        future: asyncio.Future[Response | ErrorResponse] = asyncio.get_running_loop().create_future()
        self._pending[key] = (method, future)
        frame: dict[str, Any] = {"id": rid, "method": method}
        if params is not None:
            frame["params"] = dict(params)
        started = time.monotonic()
        self._telemetry.emit("codex.appserver.request", metadata={"method": method, "id": rid})
        try:
            await self.transport.send(frame)
            reply = await asyncio.wait_for(future, limit)
        except TimeoutError:
            self._abandon(key)
            self._emit_response(method, rid, started, "timeout")
            raise AppServerTimeoutError(method, float(limit or 0)) from None
        except BaseException:
            self._abandon(key)
            raise
        if isinstance(reply, ErrorResponse):
            code = reply.error.code if reply.error.code is not None else 0
            self._emit_response(method, rid, started, "error", code=code)
            raise JsonRpcError(code, reply.error.message or "", data=reply.error.data, method=method)
        self._emit_response(method, rid, started, "ok")
        return reply.result

    async def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        """Send a client notification (the protocol has one: ``initialized``)."""
        self._check()
        frame: dict[str, Any] = {"method": method}
        if params is not None:
            frame["params"] = dict(params)
        await self.transport.send(frame)

    def subscribe(self) -> Subscription:
        """Receive every notification from now on (subscribe *before* sending the request that causes them)."""
        subscription = Subscription(self)
        if self._failure is not None:
            subscription.push(self._failure)
        else:
            self._subscribers.append(subscription)
        return subscription

    @contextlib.contextmanager
    def subscribed(self) -> Iterator[Subscription]:
        """:meth:`subscribe` as a context manager that always detaches."""
        subscription = self.subscribe()
        try:
            yield subscription
        finally:
            subscription.close()

    def _unsubscribe(self, subscription: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(subscription)

    def _check(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closing:
            raise AppServerClosedError()

    def _abandon(self, key: RequestId) -> None:
        entry = self._pending.pop(key, None)
        if entry is not None:
            self._abandoned.add(key)
            entry[1].cancel()

    def _emit_response(self, method: str, rid: RequestId, started: float, outcome: str, **extra: Any) -> None:
        self._telemetry.emit(
            "codex.appserver.response",
            {"duration_ms": round((time.monotonic() - started) * 1000, 3)},
            {"method": method, "id": rid, "outcome": outcome, **extra},
        )

    # -- server → client ------------------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        try:
            while True:
                obj = await self.transport.receive()
                if obj is None:
                    raise AppServerClosedError() if self._closing else AppServerExitedError(None, "")
                self._dispatch(obj)
        except CodexError as exc:
            self._fail(exc)
        except asyncio.CancelledError:
            self._fail(AppServerClosedError())
            raise
        except Exception as exc:  # a bug below us must still reach the callers, not vanish with the task
            _LOGGER.exception("app-server reader failed")
            self._fail(AppServerProtocolError(f"reader failed: {type(exc).__name__}: {exc}"))

    def _dispatch(self, obj: Any) -> None:
        message = parse_message(obj, "s2c")
        if isinstance(message, Notification):
            self._telemetry.emit(
                "codex.appserver.notification",
                metadata={"method": message.method, "thread_id": message.thread_id, "turn_id": message.turn_id},
            )
            self._let_handler_observe(message)
            for subscription in list(self._subscribers):
                subscription.push(message)
        elif isinstance(message, ServerRequest):
            task = asyncio.get_running_loop().create_task(self._serve(message), name=f"serve-{message.method}")
            self._served.add(task)
            task.add_done_callback(self._served.discard)
        elif isinstance(message, Response | ErrorResponse):
            self._resolve(message)
        else:  # pragma: no cover - parse_message("s2c") returns only the kinds above
            raise AppServerProtocolError("unexpected message kind", repr(obj))

    def _resolve(self, message: Response | ErrorResponse) -> None:
        rid = message.id
        key = rid
        entry = self._pending.pop(key, None) if key is not None else None  # ids are keys: 1 and "1" differ
        if entry is not None:
            if not entry[1].done():
                entry[1].set_result(message)
            return
        if key is not None and key in self._abandoned:
            self._abandoned.discard(key)
            _LOGGER.debug("dropping a late response to abandoned request %r", rid)
            return
        error = AppServerProtocolError(f"response to unknown request id {rid!r}", repr(message.to_dict()))
        self.protocol_errors.append(error)
        _LOGGER.warning("%s", error.message)
        if self.strict:
            raise error

    async def _serve(self, request: ServerRequest) -> None:
        """Answer one server request (its own task: see the module docstring)."""
        self._telemetry.emit("codex.appserver.server_request", metadata={"method": request.method, "id": request.id})
        raw_params = request.raw.get("params")
        params = dict(raw_params) if isinstance(raw_params, Mapping) else {}
        reply: Reply = None
        try:
            if self.handler is not None:
                if _takes_request_id(self.handler):
                    answer = self.handler(request.method, params, request.id)
                else:
                    answer = self.handler(request.method, params)
                reply = await answer if inspect.isawaitable(answer) else answer
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _LOGGER.exception("handler for %s (id %r) raised; answering with an error", request.method, request.id)
            reply = RpcErrorReply(INTERNAL_ERROR, f"client handler failed: {type(exc).__name__}: {exc}")
        if reply is None:
            reply = RpcErrorReply(METHOD_NOT_FOUND, f"no handler for server request {request.method!r}")
        if isinstance(reply, _NoReplyType):
            outcome = "none"
            frame: dict[str, Any] | None = None
        elif isinstance(reply, RpcErrorReply):
            outcome = "error"
            frame = {"id": request.id, "error": reply.to_dict()}
        elif isinstance(reply, Mapping):
            outcome = "result"
            frame = {"id": request.id, "result": dict(reply)}
        else:
            outcome = "error"
            text = f"client handler returned {type(reply).__name__}, not a mapping"
            frame = {"id": request.id, "error": RpcErrorReply(INTERNAL_ERROR, text).to_dict()}
        self._telemetry.emit(
            "codex.appserver.reply", metadata={"method": request.method, "id": request.id, "outcome": outcome}
        )
        if frame is not None and self._failure is None:
            with contextlib.suppress(AppServerError):  # the server is gone: the reader reports that
                await self.transport.send(frame)

    def _let_handler_observe(self, message: Notification) -> None:
        """Show a notification to a handler that has ``observe(method, params)`` (the approvals handler keeps
        ``fileChange`` items from ``item/started``, because ``item/fileChange/requestApproval`` carries no diff).
        Called in the reader, in arrival order, so the item is known before the request that follows it is
        served; an ``observe`` that raises is logged and never stops the reader."""
        observe = getattr(self.handler, "observe", None)
        if not callable(observe):
            return
        raw_params = message.raw.get("params")
        try:
            observe(message.method, dict(raw_params) if isinstance(raw_params, Mapping) else {})
        except Exception:  # noqa: BLE001 - an observer's bug must not poison the connection
            _LOGGER.exception("handler.observe raised on %s", message.method)

    def _fail(self, error: CodexError) -> None:
        if self._failure is not None:
            return
        self._failure = error
        for _method, future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        for subscription in self._subscribers:
            subscription.push(error)
        self._subscribers.clear()
