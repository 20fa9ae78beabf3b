"""App-server peer adapter for the official Python SDK ``openai-codex`` (module ``openai_codex``).

Runs inside the SDK's venv (``<cache>/openai-codex/venv/bin/python openai_codex_script.py``), reads the session
plan on stdin (``plan.py``) and writes one result line (``_session.py``). It uses the SDK's **low-level**
``openai_codex.client.CodexClient``: the high-level ``Codex``/``Thread`` API has no approval handler at all, so
it cannot answer a server request with the recording's decision (docs/adapters-peers.md):

- ``CodexConfig(codex_bin=<fake>, cwd, experimental_api=<recorded capability>)``; ``start()`` + ``initialize()``
  send the SDK's own ``clientInfo`` (``codex_python_sdk``) and ``initialized``;
- ``thread_start(params)`` / ``turn_start(thread_id, input, params)`` / ``turn_interrupt(thread_id, turn_id)``
  with the recorded params, each when its cue arrived; turn notifications are read with
  ``next_turn_notification`` (as ``wait_for_turn_completed`` does), the others with ``next_notification``;
- ``approval_handler(method, params) -> dict``: the SDK writes whatever it returns as ``result``. The handler
  returns the recorded result; it has no way to send a JSON-RPC error, so for a recorded error it raises (which
  ends the SDK's only reader thread); for a request the client never answered it blocks (the only way not to
  answer, which stalls the reader); a deferred reply waits for its cue at most ``defer_timeout`` (the cue
  cannot arrive while the reader is blocked in the handler).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.adapters.appserver_peers import _session
else:  # run as a script: its own folder is sys.path[0]
    import _session

DISTRIBUTION = "openai-codex"


def _error_kind(exc: BaseException) -> str:
    return type(exc).__name__


class _Session:
    def __init__(self, plan: _session.Plan, tracker: _session.Tracker) -> None:
        self.plan = plan
        self.tracker = tracker
        self.client_mod: Any = importlib.import_module("openai_codex.client")
        self.client: Any = None
        self.thread_id: str | None = None
        self.turn_ids: list[str] = []
        self.consumers: list[threading.Thread] = []
        self.failure: BaseException | None = None

    def handler(self, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        reply = self.tracker.saw_request(method)
        if reply is None:
            return {}  # not in the recording: what the SDK's own default answers for an unknown method
        if reply.after is not None and not self.tracker.wait_for(reply.after, self.plan.defer_timeout):
            self.tracker.note(f"{method}: the cue of the deferred reply ({reply.after['key']}) never arrived "
                              "while the handler held the reader thread; answering anyway")
        if reply.kind == "result":
            return dict(reply.result) if isinstance(reply.result, Mapping) else {}
        if reply.kind == "error":
            raise RuntimeError(f"the recording answered {method} with JSON-RPC error {dict(reply.error or {})}")
        self.tracker.stop.wait(self.plan.timeout)  # never answer: the handler can only hold the reader
        raise RuntimeError(f"{method}: left unanswered")

    def _consume_turn(self, turn_id: str) -> None:
        try:
            while True:
                notification = self.client.next_turn_notification(turn_id)
                self.tracker.saw(f"notification:{notification.method}")
                if notification.method == "turn/completed":
                    return
        except BaseException as exc:  # noqa: BLE001 - the reader failed: recorded by the session
            self.failure = self.failure or exc

    def _consume_global(self) -> None:
        try:
            while not self.tracker.stop.is_set():
                notification = self.client.next_notification()
                self.tracker.saw(f"notification:{notification.method}")
        except BaseException:  # noqa: BLE001 - the reader ended (close or failure)
            return

    def _step(self, step: Mapping[str, Any]) -> None:
        method = str(step["method"])
        params = dict(step.get("params") or {})
        if method == "thread/start":
            started = self.client.thread_start(params)
            self.thread_id = started.thread.id
        elif method == "turn/start":
            turn_input = params.pop("input", [])
            thread_id = str(params.pop("threadId", None) or self.thread_id)
            started = self.client.turn_start(thread_id, turn_input, params)
            turn_id = started.turn.id
            self.turn_ids.append(turn_id)
            consumer = threading.Thread(target=self._consume_turn, args=(turn_id,), daemon=True)
            consumer.start()
            self.consumers.append(consumer)
        elif method == "turn/interrupt":
            thread_id = str(params.get("threadId") or self.thread_id)
            turn_id = str(params.get("turnId") or (self.turn_ids[-1] if self.turn_ids else ""))
            self.client.turn_interrupt(thread_id, turn_id)
        else:
            pydantic: Any = importlib.import_module("pydantic")
            anything = pydantic.create_model("AnyResult", __config__=pydantic.ConfigDict(extra="allow"))
            self.client.request(method, params, response_model=anything)

    def run(self) -> str | None:
        config = self.client_mod.CodexConfig(codex_bin=self.plan.codex_path, cwd=self.plan.cwd,
                                             experimental_api=self.plan.experimental_api)
        self.client = self.client_mod.CodexClient(config, approval_handler=self.handler)
        try:
            self.client.start()
            self.client.initialize()
            threading.Thread(target=self._consume_global, daemon=True).start()
            for step in self.plan.steps:
                if not self.tracker.wait_for(step.get("after"), self.plan.timeout):
                    return "timeout"
                if self.failure is not None:
                    raise self.failure
                self._step(step)
            for consumer in self.consumers:
                consumer.join(self.plan.timeout)
            if self.failure is not None:
                raise self.failure
            self.tracker.wait_expected(self.plan.defer_timeout)
            return None
        finally:
            self.tracker.stop.set()
            self.client.close()


def session(plan: _session.Plan, tracker: _session.Tracker) -> str | None:
    return _Session(plan, tracker).run()


if __name__ == "__main__":
    _session.main(DISTRIBUTION, session, _error_kind)
