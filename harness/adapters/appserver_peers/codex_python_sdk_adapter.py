"""Matrix adapter for ``codex-python-sdk`` (spdcoding, module ``codex_python_sdk``) on app-server cases.

Runs inside the SDK's venv and speaks the adapter protocol (``_adapter.py``). The SDK's unit of work is one call
that starts the thread *and* the turn, so the adapter uses it as an application does:

- ``AsyncCodexAgenticClient(codex_command=<fake>, process_cwd, env, automatic_approval_review=False,
  enable_web_search=False, server_config_overrides=<case config>, on_...=handlers)``: its defaults would add
  ``--enable guardian_approval`` (approvals to the reviewer, never to the handlers) and ``-c web_search="live"``;
  ``connect()`` sends its own ``initialize`` (``experimentalApi`` always on);
- ``responses_events(prompt=<the turn's text>, thread_params=<case thread_params>, turn_params=<turn_options>)``
  per turn (a later turn passes ``thread_id``, for which the SDK resumes the thread); it yields the turn's
  notifications as ``ResponseEvent`` (``type`` = method, ``raw`` = params). Only text can be given: other input
  parts are dropped (the SDK builds ``[{"type": "text", "text": prompt, "text_elements": []}]`` itself);
- one handler per server request kind: it returns the application's answer; a policy ``error``, an unknown or a
  raising tool raise (the SDK answers ``-32000`` with its own message); ``none`` waits until the case ends and is
  cancelled (no reply); a request the application has no answer for is left to the SDK's default by raising
  ``LookupError`` (which the SDK also answers ``-32000``);
- ``close_client`` (a leak probe): ``await client.close()``, the SDK's own way to end a session (stdin closed, 1 s,
  then ``terminate()``, 1 s, then ``kill()``), once ``turn/started`` came through ``responses_events`` or once an
  approval is held unanswered; the turn's consumer is then cancelled, as an application that walked away drops it.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.adapters.appserver_peers import _adapter
else:  # run as a script: its own folder is sys.path[0]
    import _adapter

DISTRIBUTION = "codex-python-sdk"
CAPABILITIES = ("run", "streamed", "transport:app-server", "interrupt", "dynamic_tools", "close_client")
HANDLERS = {
    "on_command_approval": "item/commandExecution/requestApproval",
    "on_file_change_approval": "item/fileChange/requestApproval",
    "on_permissions_approval": "item/permissions/requestApproval",
    "on_tool_request_user_input": "item/tool/requestUserInput",
    "on_mcp_elicitation_request": "mcpServer/elicitation/request",
    "on_tool_call": "item/tool/call",
}


def _prompt(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "\n".join(str(p.get("text", "")) for p in value or () if p.get("type") == "text")


def _params(event: Any) -> Any:
    raw = getattr(event, "raw", None)
    if isinstance(raw, Mapping) and "method" in raw and "params" in raw:
        return raw["params"]
    return raw


class _Session:
    def __init__(self, case: _adapter.Case, stop: threading.Event) -> None:
        self.case = case
        self.stop = stop
        self.sdk: Any = importlib.import_module("codex_python_sdk")
        self.requested = asyncio.Event()
        #: ``turn/started`` came through the SDK (a ``close_client: turn_started`` moment)
        self.started = asyncio.Event()
        #: the application closed the client (``close_client``)
        self.closed = False

    def handler(self, method: str) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
        async def answer(params: dict[str, Any]) -> dict[str, Any]:
            got = _adapter.answer_for(self.case, method, params)
            try:
                if got.kind == "none":
                    self.requested.set()
                    await asyncio.to_thread(self.stop.wait)
                    raise asyncio.CancelledError  # the SDK sends nothing for a cancelled handler task
                if got.delay:
                    await asyncio.sleep(got.delay)
                if got.kind == "error":
                    raise RuntimeError(f"the application refuses {method}: {got.value}")
                if got.kind == "raise":
                    assert got.exception is not None
                    raise got.exception
                if got.kind == "unhandled":
                    raise LookupError(f"no answer for {method}")
                return dict(got.value)
            finally:
                self.requested.set()

        return answer

    def _kind(self, exc: BaseException) -> str:
        if isinstance(exc, self.sdk.AppServerConnectionError):
            return "appserver_closed"
        if isinstance(exc, TimeoutError):
            return "appserver_timeout"
        return "unknown"

    async def _interrupt(self, client: Any, ids: dict[str, str]) -> None:
        await self.requested.wait()
        await asyncio.sleep(0.05)
        while "turn" not in ids:
            await asyncio.sleep(0.01)
        await client.turn_interrupt(ids["thread"], ids["turn"])

    async def _turn(self, client: Any, turn: Mapping[str, Any], log: _adapter.TurnLog,
                    thread_id: str | None) -> str | None:
        ids: dict[str, str] = {}
        interrupter = None
        if turn.get("interrupt") == "on_request":
            interrupter = asyncio.ensure_future(self._interrupt(client, ids))
        try:
            events = client.responses_events(
                prompt=_prompt(turn["input"]), thread_id=thread_id,
                thread_params=dict(self.case.thread_params) if thread_id is None else None,
                turn_params=dict(turn.get("turn_options") or {}) or None)
            async for event in events:
                thread_id = event.thread_id or thread_id
                if thread_id:
                    ids["thread"] = thread_id
                if event.turn_id:
                    ids.setdefault("turn", str(event.turn_id))
                log.thread_id = thread_id
                if event.type and "/" in event.type and event.type != "thread/ready":
                    log.add(event.type, _params(event))
                if event.type == "turn/started":
                    self.started.set()
        finally:
            if interrupter is not None:
                interrupter.cancel()
        return thread_id

    async def _walk_away(self, client: Any, turn: Mapping[str, Any], log: _adapter.TurnLog,
                         thread_id: str | None) -> None:
        """``close_client``: the turn runs until its moment, then ``close()`` and the consumer is dropped."""
        moment = self.started if _adapter.close_when(turn) == "turn_started" else self.requested
        job = asyncio.ensure_future(self._turn(client, turn, log, thread_id))
        waiter = asyncio.ensure_future(moment.wait())
        await asyncio.wait({job, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if waiter.done():
            self.closed = True
            log.walked_away = True
            try:
                await asyncio.wait_for(client.close(), 3.0)
            except Exception as exc:  # noqa: BLE001 - whether the child is gone is the harness's to see
                sys.stderr.write(f"close_client: {type(exc).__name__}: {exc}\n")
            finally:
                job.cancel()
                await asyncio.gather(job, return_exceptions=True)
        else:
            waiter.cancel()
            await job  # the turn ended (or failed) before the moment: that is the observation

    async def run(self, codex_path: str, workdir: str) -> list[dict[str, Any]]:
        client = self.sdk.AsyncCodexAgenticClient(
            codex_command=codex_path, process_cwd=workdir, env=dict(self.case.env), automatic_approval_review=False,
            enable_web_search=False, server_config_overrides=dict(self.case.config) or None,
            **{name: self.handler(method) for name, method in HANDLERS.items()})
        records: list[dict[str, Any]] = []
        thread_id: str | None = None
        try:
            try:
                await client.connect()
            except Exception as exc:  # noqa: BLE001 - the SDK's failure is the observation
                first = str(self.case.turns[0].get("mode", "run"))
                return [_adapter.TurnLog(first, error=_adapter.error_record(exc, self._kind(exc))).record()]
            for turn in self.case.turns:
                log = _adapter.TurnLog(str(turn.get("mode", "run")), thread_id=thread_id)
                try:
                    if _adapter.close_when(turn) is not None:
                        await self._walk_away(client, turn, log, thread_id)
                    else:
                        thread_id = await self._turn(client, turn, log, thread_id)
                except Exception as exc:  # noqa: BLE001 - the SDK's failure is the observation
                    log.error = _adapter.error_record(exc, self._kind(exc))
                records.append(log.record())
                if log.error is not None or self.closed:
                    break
            return records
        finally:
            self.stop.set()
            if not self.closed:  # after close_client the application already closed it and walked away
                try:
                    await asyncio.wait_for(client.close(), 3.0)
                except Exception as exc:  # noqa: BLE001 - a close failure does not change the observation
                    sys.stderr.write(f"close: {type(exc).__name__}: {exc}\n")


def session(case: _adapter.Case, codex_path: str, workdir: str, stop: threading.Event) -> list[dict[str, Any]]:
    return asyncio.run(_Session(case, stop).run(codex_path, workdir))


if __name__ == "__main__":
    sys.exit(_adapter.serve("codex-python-sdk", "codex_python_sdk", DISTRIBUTION, CAPABILITIES, session))
