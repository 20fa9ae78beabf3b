"""``resolve``: the one place that asks a policy for a decision, and makes the answer safe to send.

Whatever the policy does, ``resolve`` returns a Decision that the request's kind can express:

==============================  ==========================================  ===============================
the policy                      ``resolve`` returns                          telemetry (besides requested)
==============================  ==========================================  ===============================
answers a valid decision        that decision                               decided (source "policy")
abstains                        ``on_abstain`` (decline)                    decided (source "abstained")
does not answer in ``timeout``  ``timeout_default`` (decline)               timed_out, decided ("timeout")
raises / returns garbage        decline                                     failed, decided ("error")
answers a decision the kind     decline                                     failed, decided ("error")
cannot express
==============================  ==========================================  ===============================

Why decline and not cancel or an error reply: decline is what a careful human would answer to something nobody
looked at; codex continues the turn and tells the model (§4.3), whereas a JSON-RPC error fails the item and, in
the official Python SDK, a raising handler kills the connection. Cancellation of the caller is never swallowed.
"""

from __future__ import annotations

from harness.reference.approvals import _telemetry
from harness.reference.approvals.combinators import WithTimeout
from harness.reference.approvals.decision import Decision
from harness.reference.approvals.errors import InvalidPolicyError
from harness.reference.approvals.policy import ApprovalPolicy, evaluate
from harness.reference.approvals.requests import ApprovalRequest
from harness.reference.telemetry import TelemetryBus, default_bus

__all__ = ["resolve"]


async def resolve(
    policy: ApprovalPolicy,
    request: ApprovalRequest,
    *,
    bus: TelemetryBus | None = None,
    request_id: str | int | None = None,
    timeout: float | None = None,
    timeout_default: Decision = Decision.decline,
    on_abstain: Decision = Decision.decline,
) -> Decision:
    """Ask ``policy`` about ``request`` and return a decision that maps onto a reply for it (see the table above).

    ``timeout`` (seconds) wraps the policy in :class:`WithTimeout`; ``request_id`` (the JSON-RPC id, when the
    caller knows it) goes into the telemetry. ``on_abstain`` and ``timeout_default`` must themselves be valid for
    the request, else decline is used.

    >>> import asyncio
    >>> from harness.reference.approvals import Abstain, Callback, parse_request
    >>> params = {"threadId": "t", "turnId": "u", "itemId": "call_1", "command": "ls"}
    >>> request = parse_request("item/commandExecution/requestApproval", params)
    >>> asyncio.run(resolve(Abstain(), request))  # nobody answered: decline
    Decision.decline
    >>> asyncio.run(resolve(Callback(lambda request: 1 / 0), request))  # a failing policy: decline, never a crash
    Decision.decline
    """
    if timeout is not None:
        policy = WithTimeout(policy, timeout, timeout_default)
    for name, fallback in (("on_abstain", on_abstain), ("timeout_default", timeout_default)):
        if not isinstance(fallback, Decision):
            raise InvalidPolicyError(f"resolve: {name} must be a Decision")
    resolution = _telemetry.Resolution(bus or default_bus(), request, request_id)
    resolution.bus.emit(_telemetry.REQUESTED, {}, resolution.metadata(policy=type(policy).__name__))
    with _telemetry.resolving(resolution):
        source = "policy"
        try:
            outcome = await evaluate(policy, request)
            if outcome is None:
                source, outcome = "abstained", on_abstain
            request.reply(outcome)  # raises DecisionNotApplicableError when the kind cannot express it
            decision = outcome
        except Exception as exc:
            source, decision = "error", Decision.decline
            _telemetry.report_failure(exc, policy, handled_by="resolve", decision=decision.verdict)
        if source == "policy" and resolution.timed_out:
            source = "timeout"
    resolution.bus.emit(
        _telemetry.DECIDED,
        {"latency_ms": resolution.latency_ms()},
        resolution.metadata(
            decision=decision.verdict,
            accepted=decision.accepts,
            source=source,
            timed_out=resolution.timed_out,
            failures=resolution.failures,
        ),
    )
    return decision
