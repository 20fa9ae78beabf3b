"""App-server peer adapter for ``codex-python-sdk`` (spdcoding, module ``codex_python_sdk``).

Runs inside the SDK's venv, reads the session plan on stdin (``plan.py``), writes one result line
(``_session.py``). The SDK's unit of work is one call that starts the thread *and* the turn, so the adapter uses
it as an application does:

- ``AsyncCodexAgenticClient(codex_command=<fake>, process_cwd, automatic_approval_review=False,
  enable_web_search=False, on_…=handlers)``: its defaults add ``--enable guardian_approval`` (approvals go to the
  reviewer, never to the handlers) and ``-c web_search="live"`` to the argv, which the recorded sessions did not
  have; ``connect()`` sends its own ``initialize`` (``experimentalApi`` always on) and ``initialized``;
- ``responses_events(prompt=<the turn's text>, thread_params=<recorded thread/start params>,
  turn_params=<the other turn/start params>)``: ``thread/start`` then ``turn/start`` at once (the SDK builds the
  input itself: text only, with ``text_elements: []``); a second turn passes ``thread_id``, for which the SDK sends
  ``thread/resume`` first; ``turn_interrupt(thread_id, turn_id)`` from a task when its cue arrives;
- one handler per server request kind (``on_command_approval``, ``on_file_change_approval``, ``on_tool_call``,
  ``on_tool_request_user_input``, ``on_mcp_elicitation_request``, ``on_permissions_approval``): it returns the
  recorded result; for a recorded error it raises (the SDK answers ``-32000`` with its own message); for a request
  the recording never answered it waits until the session ends and is cancelled (no reply).

The SDK yields only the notifications of its thread and turn, so only those (and the server requests) can cue a
step; the adapter closes the client as soon as the call returns, as an application would.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.adapters.appserver_peers import _session
else:  # run as a script: its own folder is sys.path[0]
    import _session

DISTRIBUTION = "codex-python-sdk"
HANDLERS = {
    "on_command_approval": "item/commandExecution/requestApproval",
    "on_file_change_approval": "item/fileChange/requestApproval",
    "on_permissions_approval": "item/permissions/requestApproval",
    "on_tool_request_user_input": "item/tool/requestUserInput",
    "on_mcp_elicitation_request": "mcpServer/elicitation/request",
    "on_tool_call": "item/tool/call",
}


def _error_kind(exc: BaseException) -> str:
    return type(exc).__name__


def _prompt(turn_input: Any, tracker: _session.Tracker) -> str:
    items = turn_input if isinstance(turn_input, list) else [turn_input]
    texts = [str(i.get("text", "")) for i in items if isinstance(i, Mapping) and i.get("type") == "text"]
    if len(texts) != len(items):
        tracker.note("turn/start: only text input can be given to responses_events; other items dropped")
    return "\n".join(texts)


class _Session:
    def __init__(self, plan: _session.Plan, tracker: _session.Tracker) -> None:
        self.plan = plan
        self.tracker = tracker
        self.sdk: Any = importlib.import_module("codex_python_sdk")

    def handler(self, method: str) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
        async def answer(params: dict[str, Any]) -> dict[str, Any]:
            reply = self.tracker.saw_request(method)
            if reply is None:
                raise RuntimeError(f"{method} is not in the recording")
            if reply.after is not None and not await asyncio.to_thread(
                    self.tracker.wait_for, reply.after, self.plan.defer_timeout):
                self.tracker.note(f"{method}: the cue of the deferred reply never arrived; answering anyway")
            if reply.kind == "none":
                await asyncio.to_thread(self.tracker.stop.wait, self.plan.timeout)
                raise asyncio.CancelledError  # the SDK sends nothing for a cancelled handler task
            if reply.kind == "error":
                raise RuntimeError(f"the recording answered with JSON-RPC error {dict(reply.error or {})}")
            return dict(reply.result) if isinstance(reply.result, Mapping) else {}

        return answer

    async def _interrupt(self, client: Any, step: Mapping[str, Any], thread_id: str) -> None:
        await asyncio.to_thread(self.tracker.wait_for, step.get("after"), self.plan.timeout)
        if self.tracker.stop.is_set():
            return
        params = step.get("params") or {}
        await client.turn_interrupt(str(params.get("threadId") or thread_id), str(params.get("turnId")))

    async def run(self) -> str | None:
        steps = list(self.plan.steps)
        thread_params: dict[str, Any] = {}
        if steps and steps[0]["method"] == "thread/start":
            thread_params = dict(steps.pop(0).get("params") or {})
        client = self.sdk.AsyncCodexAgenticClient(
            codex_command=self.plan.codex_path, process_cwd=self.plan.cwd, automatic_approval_review=False,
            enable_web_search=False, **{name: self.handler(method) for name, method in HANDLERS.items()})
        thread_id: str | None = None
        pending: list[asyncio.Task[None]] = []
        try:
            await client.connect()
            while steps:
                step = steps.pop(0)
                if step["method"] != "turn/start":
                    self.tracker.note(f"{step['method']}: no counterpart outside a turn; not sent")
                    continue
                params = dict(step.get("params") or {})
                prompt = _prompt(params.pop("input", []), self.tracker)
                recorded_thread = params.pop("threadId", None)
                while steps and steps[0]["method"] == "turn/interrupt":
                    pending.append(asyncio.ensure_future(
                        self._interrupt(client, steps.pop(0), str(thread_id or recorded_thread))))
                async for event in client.responses_events(prompt=prompt, thread_id=thread_id,
                                                           thread_params=thread_params, turn_params=params):
                    thread_id = event.thread_id or thread_id
                    if event.type and "/" in event.type and event.type != "thread/ready":
                        self.tracker.saw(f"notification:{event.type}")
            return None
        finally:
            self.tracker.stop.set()
            for task in pending:
                task.cancel()
            await client.close()


def session(plan: _session.Plan, tracker: _session.Tracker) -> str | None:
    return asyncio.run(_Session(plan, tracker).run())


if __name__ == "__main__":
    _session.main(DISTRIBUTION, session, _error_kind)
