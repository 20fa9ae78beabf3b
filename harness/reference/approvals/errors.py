"""Errors of the approval layer.

Every one of them is something an SDK reports to *its* user (a decision that cannot be sent, a policy built wrong,
a request codex sent that cannot be read), so they live in the :class:`~harness.reference.errors.CodexError` tree
with stable canonical kinds::

    CodexError
    ├── ApprovalError                    kind "approval"                 base, never raised itself
    │   ├── InvalidDecisionError         kind "invalid_decision"         a Decision built with contradictory parts
    │   │   └── DecisionNotApplicableError  kind "decision_not_applicable"  valid, but not for this request kind
    │   ├── InvalidPolicyError           kind "invalid_policy"           a policy built wrong (unknown kind, pattern)
    │   └── ApprovalRequestError         kind "approval_request"         codex's params cannot be parsed
    └── InvalidOptionsError
        └── ExecApprovalPolicyError      kind "invalid_options"          a policy exec mode cannot express

``InvalidDecisionError`` and ``InvalidPolicyError`` are also ``ValueError``s: they are programming errors of the
caller, raised at construction time, never during a turn.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.reference.errors import CodexError, InvalidOptionsError

__all__ = [
    "ApprovalError",
    "ApprovalRequestError",
    "DecisionNotApplicableError",
    "ExecApprovalPolicyError",
    "InvalidDecisionError",
    "InvalidPolicyError",
]


class ApprovalError(CodexError):
    """Base of the approval layer's errors."""

    kind: ClassVar[str] = "approval"


class InvalidDecisionError(ApprovalError, ValueError):
    """A :class:`~harness.reference.approvals.Decision` whose parts contradict each other (content on a decline)."""

    kind: ClassVar[str] = "invalid_decision"


class DecisionNotApplicableError(InvalidDecisionError):
    """A decision that makes no sense for the request it answers (an execpolicy amendment for a file change)."""

    kind: ClassVar[str] = "decision_not_applicable"

    def __init__(self, verdict: str, request_kind: str, reason: str = "") -> None:
        text = f"decision {verdict!r} cannot answer a {request_kind!r} approval request"
        super().__init__(f"{text}: {reason}" if reason else text)
        self.verdict = verdict
        self.request_kind = request_kind

    def details(self) -> dict[str, Any]:
        """The verdict and the request kind it was offered for."""
        return {**super().details(), "verdict": self.verdict, "request_kind": self.request_kind}


class InvalidPolicyError(ApprovalError, ValueError):
    """A policy constructed with bad arguments (an unknown kind, an invalid pattern, a non-positive timeout)."""

    kind: ClassVar[str] = "invalid_policy"


class ApprovalRequestError(ApprovalError):
    """Server-request params that do not have the shape the protocol schema gives them."""

    kind: ClassVar[str] = "approval_request"

    def __init__(self, method: str, field: str, reason: str) -> None:
        super().__init__(f"{method}: {field}: {reason}")
        self.method = method
        self.field = field

    def details(self) -> dict[str, Any]:
        """The method and the offending field."""
        return {**super().details(), "method": self.method, "field": self.field}


class ExecApprovalPolicyError(InvalidOptionsError):
    """A policy that ``codex exec`` cannot express: exec never asks the client, it only reads ``approval_policy``."""

    kind: ClassVar[str] = "invalid_options"
