"""Matrix adapter for ``codex-python-sdk-unofficial`` (module ``codex_agent_sdk``) on app-server cases.

Runs inside the SDK's venv and speaks the adapter protocol (``_adapter.py``), through the SDK's native-async
``AppServerClient``:

- ``AppServerConfig(codex_bin=<fake>, cwd, env, experimental_api=True, extra_args=--config k=v...)``: the cases
  declare ``dynamicTools`` (experimental), so the application opts in, as the reference does; ``initialize()``
  sends the SDK's own ``clientInfo``;
- ``thread/start`` and ``turn/start`` with the case's params verbatim through the SDK's raw ``request`` (its typed
  ``thread_start`` sends every unset keyword as ``null``: that finding is the replay's, docs/adapters-peers.md, and
  would hide every other), ``turn_interrupt`` once the first server request was handled; notifications through
  ``subscribe_notifications()`` (subscribed before the handshake);
- approvals through ``set_approval_handler``: the callback returns ``ApprovalDecision(decision=...)``; a reply a
  decision cannot carry (``{}``, an error, no reply) makes it return ``None``, which leaves the request to the
  SDK's unhandled policy (no reply). Dynamic tools, elicitations and user input go through
  ``register_server_request_handler``: the handler returns the result or raises ``JsonRpcError(code, message)``;
  a tool that raises (or is unknown) raises out of the handler, which the SDK answers with its own error;
- ``close_client`` (a leak probe): ``await client.close()``, the SDK's own way to end a session, once
  ``turn/started`` reached the thread's subscription or once an approval is held unanswered; then the turn is
  left, as an application that walked away.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.adapters.appserver_peers import _adapter
else:  # run as a script: its own folder is sys.path[0]
    import _adapter

DISTRIBUTION = "codex-python-sdk-unofficial"
CAPABILITIES = ("run", "streamed", "local_image", "transport:app-server", "interrupt", "dynamic_tools", "close_client")
OTHER_REQUESTS = ("item/tool/call", "item/tool/requestUserInput", "mcpServer/elicitation/request",
                  "item/permissions/requestApproval")


def _field(value: Any, *path: str) -> Any:
    for name in path:
        value = value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)
    return value


class _Session:
    def __init__(self, case: _adapter.Case, stop: threading.Event) -> None:
        self.case = case
        self.stop = stop
        self.sdk: Any = importlib.import_module("codex_agent_sdk")
        self.errors: Any = importlib.import_module("codex_agent_sdk.errors")
        self.not_handled: Any = importlib.import_module("codex_agent_sdk.rpc").SERVER_REQUEST_NOT_HANDLED
        self.requested = asyncio.Event()
        self.log: _adapter.TurnLog | None = None
        self.completed = asyncio.Event()
        #: set when the notification subscription ends: the SDK saw its transport close
        self.closed = asyncio.Event()
        #: ``turn/started`` reached the subscription (a ``close_client: turn_started`` moment)
        self.started = asyncio.Event()
        #: the application closed the client (``close_client``)
        self.walked_away = False

    async def _hold(self) -> None:
        self.requested.set()
        await asyncio.to_thread(self.stop.wait)

    async def approval(self, request: Any) -> Any:
        answer = _adapter.answer_for(self.case, str(request.method), _field(request, "params"))
        try:
            if answer.kind == "none":
                await self._hold()
                return None
            decision = answer.value.get("decision") if isinstance(answer.value, Mapping) else None
            if answer.kind != "result" or decision is None:
                return None  # ApprovalDecision cannot carry {} or an error: the request stays unhandled
            return self.sdk.ApprovalDecision(decision=decision)
        finally:
            self.requested.set()

    async def server_request(self, request: Any) -> Any:
        answer = _adapter.answer_for(self.case, str(request.method), _field(request, "params"))
        try:
            if answer.kind == "none":
                await self._hold()
                return self.not_handled
            if answer.delay:
                await asyncio.sleep(answer.delay)
            if answer.kind == "error":
                raise self.sdk.JsonRpcError(int(answer.value["code"]), str(answer.value["message"]))
            if answer.kind == "raise":
                assert answer.exception is not None
                raise answer.exception
            if answer.kind == "unhandled":
                return self.not_handled
            return answer.value
        finally:
            self.requested.set()

    async def _watch(self, subscription: Any) -> None:
        """Every notification, read only to learn when the stream ends (the SDK's transport closed)."""
        try:
            async for _notification in subscription:
                pass
        finally:
            self.closed.set()

    async def _consume(self, subscription: Any) -> None:
        """The thread's notifications (``subscribe_notifications(thread_id=...)``), into the running turn's log."""
        try:
            async for notification in subscription:
                log = self.log
                if log is None or notification.method == "thread/started":  # thread/start's, not the turn's
                    continue
                log.add(str(notification.method), _field(notification, "params"))
                if notification.method == "turn/started":
                    self.started.set()
                if notification.method == "turn/completed":
                    self.completed.set()
        finally:
            self.closed.set()

    def _kind(self, exc: BaseException) -> str:
        errors = self.errors
        if isinstance(exc, errors.JsonRpcError):
            return "jsonrpc_error"
        if isinstance(exc, errors.ProcessExitError):
            return "appserver_exited"
        if isinstance(exc, errors.TransportError):
            return "appserver_closed"
        if isinstance(exc, errors.ProtocolError):
            return "appserver_protocol"
        if isinstance(exc, ConnectionError):  # the adapter saw the SDK's notification stream end
            return "appserver_closed"
        if isinstance(exc, TimeoutError):
            return "appserver_timeout"
        return "unknown"

    async def _interrupt(self, client: Any, thread_id: str, turn_id: str) -> None:
        await self.requested.wait()
        await asyncio.sleep(0.05)
        await client.turn_interrupt(thread_id=thread_id, turn_id=turn_id)

    async def _turn(self, client: Any, thread_id: str, turn: Mapping[str, Any], log: _adapter.TurnLog) -> None:
        params = {"threadId": thread_id, "input": _adapter.turn_input(turn["input"]),
                  **dict(turn.get("turn_options") or {})}
        self.completed.clear()
        self.log = log
        started = await client.request("turn/start", params)
        turn_id = str(_field(started, "turn", "id"))
        interrupter = None
        if turn.get("interrupt") == "on_request":
            interrupter = asyncio.ensure_future(self._interrupt(client, thread_id, turn_id))
        when = _adapter.close_when(turn)
        moment = self.started if when == "turn_started" else self.requested
        try:
            waits = [asyncio.ensure_future(self.completed.wait()), asyncio.ensure_future(self.closed.wait()),
                     asyncio.ensure_future(moment.wait() if when is not None else asyncio.Event().wait()),
                     asyncio.ensure_future(asyncio.to_thread(self.stop.wait))]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for task in waits[:3]:
                task.cancel()
            if when is not None and moment.is_set():
                self.walked_away = log.walked_away = True
                try:
                    await asyncio.wait_for(client.close(), 3.0)
                except Exception as exc:  # noqa: BLE001 - whether the child is gone is the harness's to see
                    sys.stderr.write(f"close_client: {type(exc).__name__}: {exc}\n")
                return
            if not self.completed.is_set():
                if self.closed.is_set():
                    raise ConnectionError("the notification stream ended before turn/completed")
                raise TimeoutError("turn/completed never arrived")
            if interrupter is not None and interrupter.done() and interrupter.exception() is not None:
                raise interrupter.exception()  # type: ignore[misc]
        finally:
            if interrupter is not None:
                interrupter.cancel()

    async def run(self, codex_path: str, workdir: str) -> list[dict[str, Any]]:
        extra: list[str] = []
        for arg in self.case.config_args():
            extra += ["--config", arg]
        config = self.sdk.AppServerConfig(codex_bin=codex_path, cwd=workdir, env=dict(self.case.env),
                                          experimental_api=True, extra_args=tuple(extra))
        client = self.sdk.AppServerClient(config)
        client.set_approval_handler(self.approval)
        for method in OTHER_REQUESTS:
            client.register_server_request_handler(method, self.server_request)
        records: list[dict[str, Any]] = []
        # subscribed before the handshake: codex sends notifications before the initialize response
        watcher = asyncio.ensure_future(self._watch(client.subscribe_notifications()))
        consumer: asyncio.Future[None] | None = None
        first = str(self.case.turns[0].get("mode", "run"))
        try:
            try:
                await client.initialize()
                started = await client.request("thread/start", dict(self.case.thread_params))
                thread_id = str(_field(started, "thread", "id"))
                consumer = asyncio.ensure_future(self._consume(client.subscribe_notifications(thread_id=thread_id)))
            except Exception as exc:  # noqa: BLE001 - the SDK's failure is the observation
                return [_adapter.TurnLog(first, error=_adapter.error_record(exc, self._kind(exc))).record()]
            for turn in self.case.turns:
                log = _adapter.TurnLog(str(turn.get("mode", "run")), thread_id=thread_id)
                try:
                    await self._turn(client, thread_id, turn, log)
                except Exception as exc:  # noqa: BLE001 - the SDK's failure is the observation
                    log.error = _adapter.error_record(exc, self._kind(exc))
                self.log = None
                records.append(log.record())
                if log.error is not None or self.walked_away:
                    break
            return records
        finally:
            self.stop.set()
            watcher.cancel()
            if consumer is not None:
                consumer.cancel()
            if not self.walked_away:  # after close_client the application already closed it and walked away
                try:
                    await asyncio.wait_for(client.close(), 3.0)
                except Exception as exc:  # noqa: BLE001 - a close failure does not change the observation
                    sys.stderr.write(f"close: {type(exc).__name__}: {exc}\n")


def session(case: _adapter.Case, codex_path: str, workdir: str, stop: threading.Event) -> list[dict[str, Any]]:
    return asyncio.run(_Session(case, stop).run(codex_path, workdir))


if __name__ == "__main__":
    sys.exit(_adapter.serve("codex-python-sdk-unofficial", "codex_agent_sdk", DISTRIBUTION, CAPABILITIES, session))
