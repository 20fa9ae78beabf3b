"""The reference client's server-request handler for one app-server scenario: ``approvals:`` and ``tools:``.

Approval requests go through the reference approvals package (:mod:`harness.reference.approvals`), so the
scenario's policy is answered in each request kind's exact reply shape and with its telemetry; the three
policies that package deliberately never sends -- a JSON-RPC error, ``{}`` and no reply at all -- are what real
clients do (the official SDK's ``{}``, a client that crashes, a UI that never answers), so they are answered here,
around it. Dynamic tools are answered from a :class:`~harness.reference.tools.ToolRegistry` built from the
scenario's ``tools``; ``item/tool/requestUserInput`` from ``approvals.answers``.

The handler also records that a server request arrived (:attr:`ScenarioHandler.requested`), which is what a
turn's ``interrupt: on_request`` waits for.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.scenario.model import ApprovalsSpec, ToolSpec

if TYPE_CHECKING:
    from harness.reference.approvals import ApprovalRequest, Decision
    from harness.reference.telemetry import TelemetryBus
    from harness.reference.tools import ToolRegistry

__all__ = ["ScenarioHandler", "decision_for", "tool_registry"]

_USER_INPUT = "item/tool/requestUserInput"
_TOOL_CALL = "item/tool/call"


def decision_for(name: str) -> Decision:
    """The :class:`~harness.reference.approvals.Decision` a scenario's policy name stands for."""
    from harness.reference.approvals import Decision

    decisions = {
        "accept": Decision.accept,
        "acceptForSession": Decision.accept_for_session,
        "decline": Decision.decline,
        "cancel": Decision.cancel,
    }
    return decisions[name]


def _result_fn(result: Any) -> Any:
    from harness.reference.tools import ToolOutcome

    def tool(**_arguments: Any) -> Any:
        if isinstance(result, Mapping) and set(result) == {"failure"}:
            return ToolOutcome.failure(str(result["failure"]))
        return copy.deepcopy(result)

    return tool


def tool_registry(tools: tuple[ToolSpec, ...], bus: TelemetryBus | None = None) -> ToolRegistry:
    """A registry holding the scenario's tools, each returning its ``result`` for any call (``{failure: text}``
    becomes ``success: false``)."""
    from harness.reference.tools import FunctionTool, Namespace, ToolRegistry

    registry = ToolRegistry(bus=bus)
    for spec in tools:
        tool = FunctionTool(spec.name, spec.description, _result_fn(spec.result), dict(spec.input_schema))
        namespace = Namespace(spec.namespace, spec.namespace) if spec.namespace is not None else None
        registry.register(tool, namespace=namespace, defer_loading=spec.defer_loading)
    return registry


class ScenarioHandler:
    """``(method, params, request_id=None) -> reply`` for :class:`~harness.reference.appserver.AppServerClient`,
    with ``observe`` so file-change approvals see their ``changes`` (from ``item/started``)."""

    def __init__(
        self, approvals: ApprovalsSpec | None, tools: tuple[ToolSpec, ...], *, bus: TelemetryBus | None = None
    ) -> None:
        from harness.reference.approvals import Callback, server_request_handler

        self.approvals = approvals
        self.registry = tool_registry(tools, bus) if tools else None
        self.requested = asyncio.Event()
        #: every server request's method, in arrival order
        self.methods: list[str] = []
        policy_name = approvals.policy if approvals is not None else "decline"
        timeout: float | None = None
        default = decision_for("decline")
        if policy_name == "timeout" and approvals is not None:
            timeout, default = approvals.timeout_s, decision_for(approvals.default)
        content = approvals.content if approvals is not None else None

        async def never(_request: ApprovalRequest) -> Decision:
            await asyncio.Event().wait()  # a human who never answers; the handler's timeout cuts it off
            raise AssertionError("unreachable")

        def fixed(request: ApprovalRequest) -> Decision:
            from harness.reference.approvals import Decision

            if policy_name == "accept" and content is not None and request.kind == "mcp_elicitation":
                return Decision.accept_with_content(content)
            return decision_for(policy_name)

        policy = Callback(never) if policy_name == "timeout" else Callback(fixed)
        self._approve = server_request_handler(policy, bus=bus, timeout=timeout, timeout_default=default)

    def observe(self, method: str, params: dict[str, Any]) -> None:
        """Notifications, in order, before they are fanned out (the client calls this)."""
        self._approve.observe(method, params)

    async def __call__(self, method: str, params: dict[str, Any], request_id: Any = None) -> Any:
        from harness.reference.approvals import APPROVAL_METHODS
        from harness.reference.appserver import NoReply, RpcErrorReply

        self.methods.append(method)
        try:
            if method in APPROVAL_METHODS:
                policy = self.approvals.policy if self.approvals is not None else "decline"
                if policy == "none":
                    return NoReply
                if policy == "empty":
                    return {}
                if policy == "error" and self.approvals is not None:
                    return RpcErrorReply(self.approvals.code, self.approvals.message)
                return await self._approve(method, params, request_id)
            if method == _TOOL_CALL and self.registry is not None:
                return await self.registry.answer(params)
            if method == _USER_INPUT and self.approvals is not None and self.approvals.answers:
                return {"answers": {qid: {"answers": list(a)} for qid, a in self.approvals.answers.items()}}
            return None  # not ours: the client answers -32601, as for any unknown request
        finally:
            asyncio.get_running_loop().call_soon(self.requested.set)
