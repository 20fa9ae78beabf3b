"""Approval telemetry: the four event names, and the per-resolution context that nested policies report into.

Why a context variable: :func:`resolve` is the one place that calls a policy, but a timeout or a swallowed
exception happens deep inside a policy tree (``FirstMatch(WithTimeout(...), ...)``). The tree reports through the
resolution that is current in its context, the same way the correlation id travels (asyncio tasks inherit it; the
worker threads of :class:`WithTimeout` get a copy). Outside a resolution, reports only reach the logger.

Nothing secret is ever emitted: the metadata holds kinds, verdicts, ids and exception *types*; exception messages go
to the log only, redacted (API keys, bearer tokens, URL userinfo, ``key=value`` secrets).
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.redact import redact_text
from harness.reference.telemetry import TelemetryBus

if TYPE_CHECKING:
    from harness.reference.approvals.decision import Decision
    from harness.reference.approvals.requests import ApprovalRequest

REQUESTED = "codex.approval.requested"
DECIDED = "codex.approval.decided"
TIMED_OUT = "codex.approval.timed_out"
FAILED = "codex.approval.failed"
#: The approval events, in the order one resolution can emit them.
APPROVAL_EVENT_NAMES: tuple[str, ...] = (REQUESTED, TIMED_OUT, FAILED, DECIDED)

LOGGER = logging.getLogger("harness.reference.approvals")

def redact(text: str) -> str:
    """``text`` with anything that looks like a credential replaced (:func:`harness.redact.redact_text`)."""
    return redact_text(text)


@dataclass(slots=True)
class Resolution:
    """The mutable state of one :func:`resolve` call: where to report, and what happened so far."""

    bus: TelemetryBus
    request: ApprovalRequest
    request_id: str | int | None
    started: float = field(default_factory=time.monotonic)
    timed_out: bool = False
    failures: int = 0

    def latency_ms(self) -> float:
        return round((time.monotonic() - self.started) * 1000.0, 3)

    def metadata(self, **extra: Any) -> dict[str, Any]:
        request = self.request
        return {
            "kind": request.kind,
            "method": request.method,
            "request_id": self.request_id,
            "item_id": request.item_id,
            "thread_id": request.thread_id,
            "turn_id": request.turn_id,
            **extra,
        }


_CURRENT: contextvars.ContextVar[Resolution | None] = contextvars.ContextVar("codex_approval_resolution", default=None)


def current() -> Resolution | None:
    return _CURRENT.get()


@contextmanager
def resolving(resolution: Resolution) -> Iterator[Resolution]:
    token = _CURRENT.set(resolution)
    try:
        yield resolution
    finally:
        _CURRENT.reset(token)


def report_timeout(seconds: float, default: Decision, policy: object) -> None:
    """A policy did not answer within ``seconds``: log a warning, emit ``codex.approval.timed_out``."""
    resolution = current()
    LOGGER.warning(
        "approval policy %s did not answer within %gs; using %s", type(policy).__name__, seconds, default.verdict
    )
    if resolution is None:
        return
    resolution.timed_out = True
    resolution.bus.emit(
        TIMED_OUT,
        {"latency_ms": resolution.latency_ms(), "timeout_ms": round(seconds * 1000.0, 3)},
        resolution.metadata(decision=default.verdict, policy=type(policy).__name__),
    )


def report_failure(exc: BaseException, policy: object, *, handled_by: str, decision: str | None) -> None:
    """A policy raised (or returned garbage): log an error, emit ``codex.approval.failed``."""
    resolution = current()
    LOGGER.error(
        "approval policy %s failed (%s: %s); handled by %s",
        type(policy).__name__,
        type(exc).__name__,
        redact(str(exc)),
        handled_by,
    )
    if resolution is None:
        return
    resolution.failures += 1
    resolution.bus.emit(
        FAILED,
        {"latency_ms": resolution.latency_ms()},
        resolution.metadata(
            error_type=type(exc).__name__,
            error_kind=getattr(exc, "kind", None),
            handled_by=handled_by,
            decision=decision,
            policy=type(policy).__name__,
        ),
    )


def report_unparsable(bus: TelemetryBus, method: str, request_id: str | int | None, exc: BaseException) -> None:
    """Params of an approval method that cannot be parsed: log, emit ``codex.approval.failed`` (no kind known)."""
    LOGGER.error(
        "approval request %s cannot be parsed (%s: %s); declining", method, type(exc).__name__, redact(str(exc))
    )
    bus.emit(
        FAILED,
        {"latency_ms": 0.0},
        {
            "kind": None,
            "method": method,
            "request_id": request_id,
            "error_type": type(exc).__name__,
            "error_kind": getattr(exc, "kind", None),
            "handled_by": "handler",
            "decision": "decline",
        },
    )
