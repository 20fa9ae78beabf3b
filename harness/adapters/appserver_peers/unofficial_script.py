"""App-server peer adapter for ``codex-python-sdk-unofficial`` (Oberon AI, module ``codex_agent_sdk``).

Runs inside the SDK's venv, reads the session plan on stdin (``plan.py``), writes one result line
(``_session.py``). It uses the SDK's native-async low-level ``AppServerClient`` the way its docs show:

- ``AppServerConfig(codex_bin=<fake>, cwd, experimental_api=<recorded capability>)``; ``initialize()`` sends
  the SDK's own ``clientInfo`` (``codex_agent_sdk``) and ``initialized``;
- ``thread_start(**kwargs)`` / ``turn_start(thread_id=, input=, **kwargs)`` when every recorded param has a
  keyword there (the typed, *stable* surface); otherwise — ``dynamicTools``, ``collaborationMode`` are
  experimental — the raw ``request(method, params)``, which the SDK offers for exactly that; ``turn_interrupt``.
  Option ``raw_requests`` (driver ``codex-python-sdk-unofficial+raw``) always takes the raw path, to see past
  the typed methods' divergences (explicit ``null`` for every unset keyword; no ``auto_review`` reviewer);
- approvals go through ``set_approval_handler``: the callback returns ``ApprovalDecision(decision=...)`` for a
  recorded decision; a recorded ``{}`` or JSON-RPC error cannot be expressed by a decision, so it returns
  ``None`` / raises, and the SDK then leaves the request to its subscribers (none here): no reply. Other server
  requests (dynamic tools, user input, elicitation) go through ``register_server_request_handler``, whose
  handler returns the recorded result or raises ``JsonRpcError(code, message)`` (sent as that error);
- a request the recording never answered is held until the session ends; a deferred reply awaits its cue
  (handlers run as tasks, so nothing else stalls).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.adapters.appserver_peers import _session
else:  # run as a script: its own folder is sys.path[0]
    import _session

DISTRIBUTION = "codex-python-sdk-unofficial"
APPROVALS = ("item/commandExecution/requestApproval", "item/fileChange/requestApproval")
OTHER_REQUESTS = ("item/tool/call", "item/tool/requestUserInput", "mcpServer/elicitation/request",
                  "item/permissions/requestApproval", "applyPatchApproval", "execCommandApproval")
THREAD_START_KWARGS = {
    "approvalPolicy": "approval_policy", "approvalsReviewer": "approvals_reviewer",
    "baseInstructions": "base_instructions", "config": "config", "cwd": "cwd",
    "developerInstructions": "developer_instructions", "ephemeral": "ephemeral", "model": "model",
    "modelProvider": "model_provider", "personality": "personality", "sandbox": "sandbox",
    "serviceName": "service_name", "serviceTier": "service_tier",
}
TURN_START_KWARGS = {
    "approvalPolicy": "approval_policy", "approvalsReviewer": "approvals_reviewer", "cwd": "cwd",
    "effort": "effort", "model": "model", "outputSchema": "output_schema", "personality": "personality",
    "sandboxPolicy": "sandbox_policy", "serviceTier": "service_tier", "summary": "summary",
}


def _error_kind(exc: BaseException) -> str:
    return type(exc).__name__


def _field(value: Any, *path: str) -> Any:
    for name in path:
        value = value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)
    return value


class _Session:
    def __init__(self, plan: _session.Plan, tracker: _session.Tracker) -> None:
        self.plan = plan
        self.tracker = tracker
        self.sdk: Any = importlib.import_module("codex_agent_sdk")
        self.not_handled: Any = importlib.import_module("codex_agent_sdk.rpc").SERVER_REQUEST_NOT_HANDLED
        self.client: Any = None
        self.thread_id: str | None = None
        self.turn_ids: list[str] = []
        self.raw = bool(plan.options.get("raw_requests"))

    async def _cue(self, reply: _session.Reply) -> None:
        if reply.after is not None and not await asyncio.to_thread(
                self.tracker.wait_for, reply.after, self.plan.defer_timeout):
            self.tracker.note(f"{reply.method}: the cue of the deferred reply never arrived; answering anyway")

    async def _hold(self) -> None:
        await asyncio.to_thread(self.tracker.stop.wait, self.plan.timeout)

    async def approval(self, request: Any) -> Any:
        reply = self.tracker.saw_request(str(request.method))
        if reply is None:
            return None
        await self._cue(reply)
        if reply.kind == "none":
            await self._hold()
            return None
        if reply.kind == "error":
            raise RuntimeError(f"the recording answered {request.method} with JSON-RPC error {dict(reply.error or {})}")
        decision = reply.result.get("decision") if isinstance(reply.result, Mapping) else None
        if decision is None:
            self.tracker.note(f"{request.method}: ApprovalDecision cannot carry {reply.result!r}; the callback "
                              "returns None")
            return None
        return self.sdk.ApprovalDecision(decision=decision)

    async def server_request(self, request: Any) -> Any:
        reply = self.tracker.saw_request(str(request.method))
        if reply is None:
            raise self.sdk.JsonRpcError(-32601, f"method not found: {request.method}")
        await self._cue(reply)
        if reply.kind == "none":
            await self._hold()
            return self.not_handled
        if reply.kind == "error":
            error = dict(reply.error or {})
            raise self.sdk.JsonRpcError(int(error.get("code", -32000)), str(error.get("message", "")))
        return reply.result

    async def _consume(self, subscription: Any) -> None:
        async for notification in subscription:
            self.tracker.saw(f"notification:{notification.method}")

    def _note_raw(self, method: str, unknown: set[str]) -> None:
        if not self.raw:
            self.tracker.note(f"{method}: raw request (no keyword for {', '.join(sorted(unknown))})")

    async def _step(self, step: Mapping[str, Any]) -> None:
        method = str(step["method"])
        params = dict(step.get("params") or {})
        if method == "thread/start":
            if not self.raw and set(params) <= set(THREAD_START_KWARGS):
                started = await self.client.thread_start(**{THREAD_START_KWARGS[k]: v for k, v in params.items()})
            else:
                self._note_raw("thread/start", set(params) - set(THREAD_START_KWARGS))
                started = await self.client.request("thread/start", params)
            self.thread_id = _field(started, "thread", "id")
        elif method == "turn/start":
            turn_input = params.pop("input", [])
            thread_id = str(params.pop("threadId", None) or self.thread_id)
            if not self.raw and set(params) <= set(TURN_START_KWARGS):
                started = await self.client.turn_start(thread_id=thread_id, input=turn_input,
                                                       **{TURN_START_KWARGS[k]: v for k, v in params.items()})
            else:
                self._note_raw("turn/start", set(params) - set(TURN_START_KWARGS))
                started = await self.client.request("turn/start", {"threadId": thread_id, "input": turn_input,
                                                                   **params})
            self.turn_ids.append(str(_field(started, "turn", "id")))
        elif method == "turn/interrupt":
            await self.client.turn_interrupt(thread_id=str(params.get("threadId") or self.thread_id),
                                             turn_id=str(params.get("turnId") or self.turn_ids[-1]))
        else:
            await self.client.request(method, params)

    async def run(self) -> str | None:
        config = self.sdk.AppServerConfig(codex_bin=self.plan.codex_path, cwd=self.plan.cwd,
                                          experimental_api=self.plan.experimental_api)
        self.client = self.sdk.AppServerClient(config)
        self.client.set_approval_handler(self.approval)
        for method in OTHER_REQUESTS:
            self.client.register_server_request_handler(method, self.server_request)
        consumer: asyncio.Task[None] | None = None
        try:
            # subscribed before the handshake: codex sends notifications before the initialize response
            consumer = asyncio.ensure_future(self._consume(self.client.subscribe_notifications()))
            await self.client.initialize()
            for step in self.plan.steps:
                if not await asyncio.to_thread(self.tracker.wait_for, step.get("after"), self.plan.timeout):
                    return "timeout"
                await self._step(step)
            done = {"key": "notification:turn/completed", "count": len(self.turn_ids)}
            if not await asyncio.to_thread(self.tracker.wait_for, done, self.plan.timeout):
                return "timeout"
            await asyncio.to_thread(self.tracker.wait_expected, self.plan.defer_timeout)
            return None
        finally:
            self.tracker.stop.set()
            if consumer is not None:
                consumer.cancel()
            await self.client.close()


def session(plan: _session.Plan, tracker: _session.Tracker) -> str | None:
    return asyncio.run(_Session(plan, tracker).run())


if __name__ == "__main__":
    _session.main(DISTRIBUTION, session, _error_kind)
