"""A reference MCP client over stdio, written from the specification (not a wrapper of the ``mcp`` package).

It speaks the handshake codex speaks (recorded in ``fixtures/real/mcp/``): ``initialize`` with protocol version
``2025-06-18`` and request id 0, the ``notifications/initialized`` notification, then ``tools/list`` and
``tools/call`` with increasing integer ids. What it guarantees, so SDKs can be compared with it:

* every request has a deadline (``timeout``, per call overridable); on expiry it raises
  :class:`McpTimeoutError` and tells the server ``notifications/cancelled``; a late answer is dropped;
* a JSON-RPC error reply raises :class:`McpRpcError`; a tool's own failure is a result with ``is_error``;
* garbage on stdout, a message without ``"jsonrpc": "2.0"``, a malformed result or an unsupported protocol
  version raise :class:`McpProtocolError` and break the connection (every pending and later request fails with
  the same error) — a line stream that lost sync cannot be trusted again;
* a server that exits or closes stdout fails every pending request with :class:`McpServerExitedError` (exit code
  and stderr tail, secrets redacted);
* ``notifications/tools/list_changed`` drops the cached tool list, bumps :attr:`McpClient.tools_changed` and calls
  ``on_tools_changed``; server → client ``ping`` is answered ``{}``, every other server request gets JSON-RPC
  error -32601 (the client offers no sampling, roots or elicitation);
* leaving ``async with`` (or :meth:`McpClient.aclose`) always ends the server process.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness import __version__
from harness.reference.mcp import jsonrpc
from harness.reference.mcp.errors import (
    McpClientError,
    McpClosedError,
    McpProtocolError,
    McpRpcError,
    McpTimeoutError,
)
from harness.reference.mcp.model import CallToolResult, InitializeResult, McpTool
from harness.reference.mcp.transport import StdioTransport, Transport

__all__ = ["MAX_PAGES", "McpClient", "PROTOCOL_VERSION", "SUPPORTED_PROTOCOL_VERSIONS"]

#: The version codex 0.163–0.171 requests (``fixtures/real/mcp``), and the one this client asks for.
PROTOCOL_VERSION = "2025-06-18"
#: Versions whose tools API this client implements; a server answering anything else is refused.
SUPPORTED_PROTOCOL_VERSIONS: tuple[str, ...] = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
#: ``tools/list`` pages followed before the server is considered to loop.
MAX_PAGES = 1000
METHOD_NOT_FOUND = -32601
_LOGGER = logging.getLogger("harness.reference.mcp")

Trace = Callable[[str, Mapping[str, Any]], None]


class McpClient:
    """One connection to one MCP server; use as ``async with McpClient.stdio(argv) as client: ...``."""

    def __init__(
        self,
        transport: Transport,
        *,
        timeout: float = 30.0,
        client_info: Mapping[str, Any] | None = None,
        protocol_version: str = PROTOCOL_VERSION,
        on_tools_changed: Callable[[int], None] | None = None,
        trace: Trace | None = None,
    ) -> None:
        """``timeout`` (seconds) bounds each request, ``initialize`` included. ``trace(direction, message)`` sees
        every message (``"send"`` / ``"receive"``), for recording and comparison."""
        self._transport = transport
        self.timeout = timeout
        self._client_info = dict(client_info or {"name": "harness-mcp-client", "version": __version__})
        self._protocol_version = protocol_version
        self._on_tools_changed = on_tools_changed
        self._trace = trace
        self._ids = itertools.count()
        self._pending: dict[jsonrpc.RequestId, tuple[str, asyncio.Future[Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._broken: McpClientError | None = None
        self._closed = False
        self._started = False
        self._tools: tuple[McpTool, ...] | None = None
        self._generation = 0
        self.tools_changed = 0
        self.unsupported_requests: list[str] = []
        self.initialize_result: InitializeResult | None = None

    @classmethod
    def stdio(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        inherit_env: bool = True,
        cwd: str | os.PathLike[str] | None = None,
        timeout: float = 30.0,
        close_grace: float = 1.0,
        on_tools_changed: Callable[[int], None] | None = None,
        trace: Trace | None = None,
    ) -> McpClient:
        """A client for the server started as ``argv`` (``env`` is added to the inherited environment unless
        ``inherit_env`` is false). The server starts on ``async with``/:meth:`start`."""
        transport = StdioTransport(argv, env=env, inherit_env=inherit_env, cwd=cwd, close_grace=close_grace)
        return cls(transport, timeout=timeout, on_tools_changed=on_tools_changed, trace=trace)

    # ------------------------------------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> McpClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def start(self) -> InitializeResult:
        """Start the server and run the handshake; on any failure the server is stopped before raising."""
        if self._started:
            raise McpClosedError("MCP client was already started")
        self._started = True
        try:
            await self._transport.start()
            self._reader = asyncio.create_task(self._read_loop(), name="mcp-reader")
            result = InitializeResult.from_result(
                await self.request(
                    "initialize",
                    {"protocolVersion": self._protocol_version, "capabilities": {}, "clientInfo": self._client_info},
                )
            )
            if result.protocol_version not in SUPPORTED_PROTOCOL_VERSIONS:
                raise McpProtocolError(
                    f"server chose protocol version {result.protocol_version!r}; this client speaks "
                    + ", ".join(SUPPORTED_PROTOCOL_VERSIONS)
                )
            self.initialize_result = result
            await self.notify("notifications/initialized")
            return result
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Fail pending requests with :class:`McpClosedError` and stop the server. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._fail_pending(McpClosedError("MCP client closed while the request was pending"))
        try:
            await self._transport.close()
        finally:
            if self._reader is not None:
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._reader

    @property
    def server_info(self) -> Mapping[str, Any]:
        return self.initialize_result.server_info if self.initialize_result else {}

    @property
    def server_capabilities(self) -> Mapping[str, Any]:
        return self.initialize_result.capabilities if self.initialize_result else {}

    @property
    def protocol_version(self) -> str | None:
        return self.initialize_result.protocol_version if self.initialize_result else None

    # ----------------------------------------------------------------------------------------------------- tools

    async def list_tools(self, *, refresh: bool = False, timeout: float | None = None) -> tuple[McpTool, ...]:
        """Every tool of the server, following each ``nextCursor``; cached until ``list_changed`` (or refresh)."""
        if self._tools is not None and not refresh:
            return self._tools
        generation = self._generation
        tools: list[McpTool] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            result = await self.request("tools/list", {"cursor": cursor} if cursor is not None else {},
                                        timeout=timeout)
            if not isinstance(result, Mapping) or not isinstance(result.get("tools"), list):
                raise self._break(McpProtocolError("tools/list result has no 'tools' list"))
            try:
                tools.extend(McpTool.from_wire(item) for item in result["tools"])
            except McpProtocolError as exc:
                raise self._break(exc) from None
            cursor = result.get("nextCursor")
            if cursor is None:
                break
            if not isinstance(cursor, str) or cursor in seen:
                raise self._break(McpProtocolError(f"tools/list returned an invalid or repeated cursor {cursor!r}"))
            seen.add(cursor)
        else:
            raise self._break(McpProtocolError(f"tools/list did not end after {MAX_PAGES} pages"))
        listed = tuple(tools)
        if generation == self._generation:  # no list_changed arrived meanwhile: safe to cache
            self._tools = listed
        return listed

    async def call_tool(
        self, name: str, arguments: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> CallToolResult:
        """Call a tool; ``is_error`` in the result is the tool's failure, not an exception."""
        result = await self.request("tools/call", {"name": name, "arguments": dict(arguments or {})},
                                    timeout=timeout)
        try:
            return CallToolResult.from_result(result)
        except McpProtocolError as exc:
            raise self._break(exc) from None

    # -------------------------------------------------------------------------------------------------- requests

    async def request(self, method: str, params: Mapping[str, Any] | None = None, *,
                      timeout: float | None = None) -> Any:
        """Send a request and wait for its result (the low-level call the methods above use)."""
        self._check_usable()
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (method, future)
        limit = timeout if timeout is not None else self.timeout
        try:
            await self._send(jsonrpc.request(request_id, method, params))
            return await asyncio.wait_for(future, limit)
        except TimeoutError:
            if self._broken is None and not self._closed:
                with contextlib.suppress(McpClientError):
                    await self.notify("notifications/cancelled",
                                      {"requestId": request_id, "reason": f"timed out after {limit:g} s"})
            raise McpTimeoutError(method, limit) from None
        finally:
            self._pending.pop(request_id, None)

    async def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        """Send a notification."""
        self._check_usable()
        await self._send(jsonrpc.notification(method, params))

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise self._broken
        if self._closed:
            raise McpClosedError()

    async def _send(self, message: Mapping[str, Any]) -> None:
        if self._trace is not None:
            self._trace("send", message)
        try:
            await self._transport.send(jsonrpc.encode(message))
        except McpClientError as exc:
            raise self._break(exc) from None

    # ---------------------------------------------------------------------------------------------------- reader

    def _break(self, error: McpClientError) -> McpClientError:
        """Mark the connection unusable with ``error`` and fail every pending request with it."""
        if self._broken is None and not self._closed:
            self._broken = error
        self._fail_pending(error)
        return self._broken or error

    def _fail_pending(self, error: McpClientError) -> None:
        for _, future in list(self._pending.values()):
            if not future.done():
                future.set_exception(error)

    async def _read_loop(self) -> None:
        try:
            while True:
                line = await self._transport.receive()
                if line is None:
                    if not self._closed:
                        self._break(await self._transport.exit_error())
                    return
                if not line.strip():
                    continue
                message, raw = jsonrpc.decode(line)
                if self._trace is not None:
                    self._trace("receive", raw)
                await self._dispatch(message)
        except McpClientError as exc:
            self._break(exc)

    async def _dispatch(self, message: jsonrpc.Message) -> None:
        if message.kind in ("result", "error"):
            entry = self._pending.get(message.id) if message.id is not None else None
            if entry is None:  # late answer to a request that timed out, or a stray id: nobody is waiting
                _LOGGER.debug("dropping MCP response for unknown id %r", message.id)
                return
            method, future = entry
            if future.done():
                return
            if message.kind == "result":
                future.set_result(message.result)
            else:
                error = message.error or {}
                future.set_exception(McpRpcError(method, int(error.get("code", 0)), str(error.get("message", "")),
                                                 error.get("data")))
            return
        if message.kind == "request":
            assert message.id is not None and message.method is not None
            if message.method == "ping":
                reply = jsonrpc.result_reply(message.id, {})
            else:
                self.unsupported_requests.append(message.method)
                reply = jsonrpc.error_reply(message.id, METHOD_NOT_FOUND, f"Method not found: {message.method}")
            await self._send(reply)
            return
        if message.method == "notifications/tools/list_changed":
            self._tools = None
            self._generation += 1
            self.tools_changed += 1
            if self._on_tools_changed is not None:
                try:
                    self._on_tools_changed(self.tools_changed)
                except Exception:  # the user's callback must not kill the connection
                    _LOGGER.exception("on_tools_changed callback failed")
