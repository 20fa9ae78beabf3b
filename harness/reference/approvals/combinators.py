"""Combinators: policies built from policies.

Laws (checked by property tests in ``tests/test_approvals_laws.py``), ``≡`` meaning "the same outcome for every
request"; ``p`` is any policy, abstention is ``None``:

- ``FirstMatch(p) ≡ p``; ``FirstMatch(Abstain(), p) ≡ p``; FirstMatch is associative.
- ``AllOf(p) ≡ p``; ``AllOf(AllowAll(), p) ≡ AllOf(p, AllowAll()) ≡ p``; AllOf never accepts when a member declines.
- ``AnyOf(p) ≡ p``; ``AnyOf(DenyAll(), p) ≡ p`` whenever ``p`` accepts; AnyOf accepts when a member accepts.
- ``Fallback(AllowAll(), d) ≡ AllowAll()``; ``Fallback(Abstain(), d) ≡ d``; ``Fallback(raising, d) ≡ d``.
- ``WithTimeout(p, s) ≡ p`` for a ``p`` that answers in time.

Members are evaluated in order and lazily (FirstMatch stops at the first decision, AllOf at the first refusal,
AnyOf at the first accept), so a later member is never asked when an earlier one settles the request.

A typical policy: allow ``git status``, refuse ``rm``, decline the rest:

>>> import asyncio
>>> from harness.reference.approvals import AllowAll, ByCommand, DenyAll, evaluate, parse_request
>>> policy = FirstMatch(ByCommand({("git", "status", "**"): AllowAll(), "rm *": DenyAll()}), DenyAll())
>>> def command(text):
...     params = {"threadId": "t", "turnId": "u", "itemId": "call_1", "command": f"/bin/bash -lc '{text}'"}
...     return parse_request("item/commandExecution/requestApproval", params)
>>> asyncio.run(evaluate(policy, command("git status --short")))
Decision.accept
>>> asyncio.run(evaluate(policy, command("git status; rm -rf ~")))  # compound: no rule matches
Decision.decline
>>> asyncio.run(evaluate(AnyOf(DenyAll(), AllowAll()), command("ls")))  # one accept is enough
Decision.accept
>>> asyncio.run(evaluate(AllOf(AllowAll(), DenyAll()), command("ls")))  # one refusal is enough
Decision.decline

A combinator needs members, and a timeout a positive number of seconds:

>>> FirstMatch()
Traceback (most recent call last):
    ...
harness.reference.approvals.errors.InvalidPolicyError: FirstMatch needs at least one policy
>>> WithTimeout(AllowAll(), seconds=0)
Traceback (most recent call last):
    ...
harness.reference.approvals.errors.InvalidPolicyError: WithTimeout: seconds must be a positive finite number, got 0
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import math
import threading
from dataclasses import dataclass, field
from typing import Any

from harness.reference.approvals import _telemetry
from harness.reference.approvals.decision import Decision
from harness.reference.approvals.errors import InvalidPolicyError
from harness.reference.approvals.policy import (
    ApprovalPolicy,
    BasePolicy,
    Outcome,
    _check_policy,
    check_outcome,
    evaluate,
    unanimous,
)
from harness.reference.approvals.requests import ApprovalRequest

__all__ = ["AllOf", "AnyOf", "Fallback", "FirstMatch", "WithTimeout"]


def _members(name: str, policies: tuple[Any, ...]) -> tuple[ApprovalPolicy, ...]:
    if not policies:
        raise InvalidPolicyError(f"{name} needs at least one policy")
    return tuple(_check_policy(p, f"{name}[{i}]") for i, p in enumerate(policies))


@dataclass(frozen=True, slots=True, init=False)
class FirstMatch(BasePolicy):
    """The first member that does not abstain decides; all abstain → abstain."""

    policies: tuple[ApprovalPolicy, ...]

    def __init__(self, *policies: ApprovalPolicy) -> None:
        object.__setattr__(self, "policies", _members("FirstMatch", policies))

    async def decide(self, request: ApprovalRequest) -> Outcome:
        for policy in self.policies:
            outcome = await evaluate(policy, request)
            if outcome is not None:
                return outcome
        return None


@dataclass(frozen=True, slots=True, init=False)
class AllOf(BasePolicy):
    """All members must accept: the first refusal wins; a member that abstains makes the whole abstain (a vote is
    missing); when all accept, the first accept that says more than plain ``accept`` (for session, an amendment,
    content), else ``accept``. So plain ``accept`` is the neutral vote and :class:`AllowAll` the identity."""

    policies: tuple[ApprovalPolicy, ...]

    def __init__(self, *policies: ApprovalPolicy) -> None:
        object.__setattr__(self, "policies", _members("AllOf", policies))

    async def decide(self, request: ApprovalRequest) -> Outcome:
        outcomes: list[Outcome] = []
        for policy in self.policies:
            outcome = await evaluate(policy, request)
            outcomes.append(outcome)
            if outcome is not None and not outcome.accepts:
                break
        return unanimous(outcomes)


@dataclass(frozen=True, slots=True, init=False)
class AnyOf(BasePolicy):
    """One accepting member is enough: the first accept wins; none accepts → the first refusal; all abstain →
    abstain."""

    policies: tuple[ApprovalPolicy, ...]

    def __init__(self, *policies: ApprovalPolicy) -> None:
        object.__setattr__(self, "policies", _members("AnyOf", policies))

    async def decide(self, request: ApprovalRequest) -> Outcome:
        first_refusal: Decision | None = None
        for policy in self.policies:
            outcome = await evaluate(policy, request)
            if outcome is None:
                continue
            if outcome.accepts:
                return outcome
            if first_refusal is None:
                first_refusal = outcome
        return first_refusal


@dataclass(frozen=True, slots=True)
class Fallback(BasePolicy):
    """``primary`` decides; if it abstains or raises, ``default`` decides (an exception is logged and reported as
    ``codex.approval.failed`` with ``handled_by="fallback"``). Cancellation is never swallowed."""

    primary: ApprovalPolicy
    default: ApprovalPolicy

    def __post_init__(self) -> None:
        _check_policy(self.primary, "Fallback primary")
        _check_policy(self.default, "Fallback default")

    async def decide(self, request: ApprovalRequest) -> Outcome:
        try:
            outcome = await evaluate(self.primary, request)
        except Exception as exc:
            _telemetry.report_failure(exc, self.primary, handled_by="fallback", decision=None)
            outcome = None
        if outcome is not None:
            return outcome
        return await evaluate(self.default, request)


@dataclass(frozen=True, slots=True)
class WithTimeout(BasePolicy):
    """``policy`` must answer within ``seconds``, else ``default`` (a warning, and ``codex.approval.timed_out``).

    codex never times an approval out itself (app-server-protocol.md §4.3: 180 s of silence), so a client that
    parks a request in a UI needs this. ``decide`` is called in a worker thread, so a *blocking* sync policy is
    cut off too; the thread cannot be killed and finishes in the background (it is a daemon thread and never
    holds up interpreter exit). An async policy is cancelled at the deadline. Abstaining in time is not a timeout.
    """

    policy: ApprovalPolicy
    seconds: float
    default: Decision = field(default_factory=lambda: Decision.decline)

    def __post_init__(self) -> None:
        _check_policy(self.policy, "WithTimeout policy")
        if not isinstance(self.seconds, int | float) or not math.isfinite(self.seconds) or self.seconds <= 0:
            raise InvalidPolicyError(f"WithTimeout: seconds must be a positive finite number, got {self.seconds!r}")
        if not isinstance(self.default, Decision):
            raise InvalidPolicyError("WithTimeout: default must be a Decision")

    async def decide(self, request: ApprovalRequest) -> Outcome:
        try:
            return await asyncio.wait_for(self._decide(request), self.seconds)
        except TimeoutError:
            _telemetry.report_timeout(self.seconds, self.default, self.policy)
            return self.default

    async def _decide(self, request: ApprovalRequest) -> Outcome:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        ctx = contextvars.copy_context()

        def deliver(ok: bool, value: Any) -> None:
            if future.done():  # cut off at the deadline: drop the late answer (and never leak a coroutine)
                if asyncio.iscoroutine(value):
                    value.close()
                return
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

        def work() -> None:
            try:
                value: Any = ctx.run(self.policy.decide, request)
                ok = True
            except BaseException as exc:  # delivered to the awaiting task, which re-raises it
                value, ok = exc, False
            try:
                loop.call_soon_threadsafe(deliver, ok, value)
            except RuntimeError:  # the loop closed while a cut-off policy was still running: nobody waits
                if asyncio.iscoroutine(value):
                    value.close()

        threading.Thread(target=work, name="approval-policy", daemon=True).start()
        result = await future
        if inspect.isawaitable(result):
            result = await result
        return check_outcome(self.policy, result)
