"""Matrix adapter for the official Python SDK ``openai-codex`` (module ``openai_codex``) on app-server cases.

Runs inside the SDK's venv (``<cache>/openai-codex/venv/bin/python openai_codex_adapter.py``) and speaks the adapter
protocol (``_adapter.py``). It uses the **low-level** ``openai_codex.client.CodexClient``, because the high-level
``Codex``/``Thread`` API has no approval handler at all:

- ``CodexConfig(codex_bin=<fake>, cwd=<workdir>, env=<case env>, config_overrides=<case config>)``; ``start()``,
  ``initialize()`` (the SDK's own ``clientInfo``; ``experimentalApi`` is on by default);
- ``thread_start(<case thread_params>)`` verbatim, ``turn_start(thread_id, <input items>, <turn_options>)``, the
  turn's notifications through ``next_turn_notification(turn_id)`` until ``turn/completed``; ``turn_interrupt`` from
  a thread once the first server request was handled (``interrupt: on_request``);
- ``approval_handler(method, params) -> dict``: the SDK writes whatever it returns as the ``result``. So a policy
  ``error`` can only *raise* (which ends the SDK's only reader thread), ``none`` can only *block* (which holds the
  reader until the case ends), a dynamic tool that raises ends the reader too, and a request the application has
  no answer for gets ``{}`` -- what the SDK's own default handler answers to anything but an approval;
- ``close_client`` (a leak probe): ``client.close()``, the SDK's own way to end a session (it closes stdin, then
  SIGTERMs the child and waits 2 s, then SIGKILLs it) -- on ``turn/started`` from the turn's loop, or, with an
  approval held unanswered in the reader thread, from a second thread; the held handler is then released (it
  raises, which ends the SDK's reader and fails the turn's wait: a consequence of the close, not an error).
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.adapters.appserver_peers import _adapter
else:  # run as a script: its own folder is sys.path[0]
    import _adapter

DISTRIBUTION = "openai-codex"
CAPABILITIES = ("run", "streamed", "local_image", "transport:app-server", "interrupt", "dynamic_tools", "close_client")


def _kind(exc: BaseException) -> str:
    errors: Any = importlib.import_module("openai_codex.errors")
    if isinstance(exc, errors.TransportClosedError):
        return "appserver_closed"
    if isinstance(exc, errors.JsonRpcError):
        return "jsonrpc_error"
    if isinstance(exc, TimeoutError):
        return "appserver_timeout"
    return "unknown"


class _Session:
    def __init__(self, case: _adapter.Case, stop: threading.Event) -> None:
        self.case = case
        self.stop = stop
        self.requested = threading.Event()
        #: set once the application closed the client (``close_client``)
        self.closed = threading.Event()

    def handler(self, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        answer = _adapter.answer_for(self.case, method, params)
        if answer.kind == "none":
            self.requested.set()
            while not self.stop.wait(0.02) and not self.closed.is_set():
                pass  # never answer: all the handler can do is hold the reader thread
            raise RuntimeError(f"{method}: left unanswered")
        if answer.delay:
            time.sleep(answer.delay)
        try:
            if answer.kind == "result":
                return dict(answer.value)
            if answer.kind == "error":  # no way to send a JSON-RPC error from the handler
                raise RuntimeError(f"the application refuses {method}: {answer.value}")
            if answer.kind == "raise":
                assert answer.exception is not None
                raise answer.exception
            return {}  # unhandled: the SDK's default handler answers {} to every non-approval request
        finally:
            self.requested.set()

    def _interrupt(self, client: Any, thread_id: str, turn_id: str) -> None:
        self.requested.wait()
        if self.stop.is_set():
            return
        time.sleep(0.05)  # after the handler's reply went out
        try:
            client.turn_interrupt(thread_id, turn_id)
        except Exception as exc:  # noqa: BLE001 - the turn's own call reports the failure
            sys.stderr.write(f"turn_interrupt failed: {type(exc).__name__}: {exc}\n")

    def _close(self, client: Any) -> None:
        """The application walks away: ``close()``, the SDK's idiom (and then nothing more)."""
        try:
            client.close()
        finally:
            self.closed.set()

    def _close_on_request(self, client: Any) -> None:
        while not self.requested.wait(0.02):
            if self.stop.is_set() or self.closed.is_set():
                return
        self._close(client)

    def run(self, codex_path: str, workdir: str) -> list[dict[str, Any]]:
        client_mod: Any = importlib.import_module("openai_codex.client")
        config = client_mod.CodexConfig(codex_bin=codex_path, cwd=workdir, env=dict(self.case.env),
                                        config_overrides=tuple(self.case.config_args()))
        client = client_mod.CodexClient(config, approval_handler=self.handler)
        records: list[dict[str, Any]] = []
        first = str(self.case.turns[0].get("mode", "run"))
        try:
            client.start()
            client.initialize()
            thread_id = str(client.thread_start(dict(self.case.thread_params)).thread.id)
        except Exception as exc:  # noqa: BLE001 - the SDK's failure is the observation
            client.close()
            return [_adapter.TurnLog(first, error=_adapter.error_record(exc, _kind(exc))).record()]
        try:
            for turn in self.case.turns:
                log = _adapter.TurnLog(str(turn.get("mode", "run")), thread_id=thread_id)
                try:
                    started = client.turn_start(thread_id, _adapter.turn_input(turn["input"]),
                                                dict(turn.get("turn_options") or {}) or None)
                    turn_id = str(started.turn.id)
                    when = _adapter.close_when(turn)
                    if when == "approval_pending":
                        threading.Thread(target=self._close_on_request, args=(client,), daemon=True).start()
                    if turn.get("interrupt") == "on_request":
                        threading.Thread(target=self._interrupt, args=(client, thread_id, turn_id),
                                         daemon=True).start()
                    while True:
                        notification = client.next_turn_notification(turn_id)
                        log.add(notification.method, notification.payload)
                        if notification.method == "turn/started" and when == "turn_started":
                            log.walked_away = True
                            self._close(client)
                            break
                        if notification.method == "turn/completed":
                            break
                except Exception as exc:  # noqa: BLE001 - the SDK's failure is the observation
                    if self.closed.is_set():  # the wait the close failed: the application walked away
                        log.walked_away = True
                    else:
                        log.error = _adapter.error_record(exc, _kind(exc))
                records.append(log.record())
                if log.error is not None or self.closed.is_set():
                    break
        finally:
            self.stop.set()
            if not self.closed.is_set():  # the application's own clean-up; after close_client it has walked away
                client.close()
        return records


def session(case: _adapter.Case, codex_path: str, workdir: str, stop: threading.Event) -> list[dict[str, Any]]:
    return _Session(case, stop).run(codex_path, workdir)


if __name__ == "__main__":
    sys.exit(_adapter.serve("openai-codex", "openai_codex", DISTRIBUTION, CAPABILITIES, session))
