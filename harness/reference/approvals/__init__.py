"""Approval policies of the reference SDK (app-server mode), and their exec-mode equivalent.

The model, in four parts:

- **requests** (:mod:`.requests`): ``parse_request(method, params)`` turns a server request into a typed, frozen
  :class:`CommandApprovalRequest`, :class:`FileChangeApprovalRequest`, :class:`McpElicitationRequest` or
  :class:`PermissionsApprovalRequest`, whose ``kind`` is ``command``, ``file_change``, ``mcp_tool``,
  ``mcp_elicitation`` or ``permissions``;
- **decisions** (:mod:`.decision`): one :class:`Decision` value for every answer codex accepts, mapped onto the
  exact JSON reply of each kind by ``decision.to_reply(request)``;
- **policies** (:mod:`.policy`, :mod:`.combinators`): anything with ``decide(request)`` returning a Decision,
  ``None`` (abstain) or an awaitable of either, plus built-ins and combinators with tested laws;
- **resolution** (:mod:`.resolve`, :mod:`.handler`): :func:`resolve` is the one place that calls a policy and
  always ends with a sendable decision; :func:`server_request_handler` plugs it into the app-server client.

``codex exec`` has no approval requests; :func:`exec_approval_policy` maps a policy onto its ``approval_policy``
config value where one exists. See ``docs/approvals.md``.
"""

from __future__ import annotations

from harness.reference.approvals._telemetry import APPROVAL_EVENT_NAMES
from harness.reference.approvals.combinators import AllOf, AnyOf, Fallback, FirstMatch, WithTimeout
from harness.reference.approvals.decision import (
    KINDS,
    VERDICTS,
    Decision,
    NetworkPolicyAmendment,
    RequestKind,
    Verdict,
    decision_from_reply,
)
from harness.reference.approvals.errors import (
    ApprovalError,
    ApprovalRequestError,
    DecisionNotApplicableError,
    ExecApprovalPolicyError,
    InvalidDecisionError,
    InvalidPolicyError,
)
from harness.reference.approvals.exec_policy import exec_approval_policy
from harness.reference.approvals.handler import ApprovalRequestHandler, ItemLookup, safe_reply, server_request_handler
from harness.reference.approvals.matchers import ArgvPattern, PathGlob
from harness.reference.approvals.policy import (
    Abstain,
    AllowAll,
    Always,
    ApprovalPolicy,
    BasePolicy,
    ByCommand,
    ByKind,
    ByPath,
    Callback,
    DenyAll,
    Outcome,
    evaluate,
)
from harness.reference.approvals.requests import (
    APPROVAL_METHODS,
    ApprovalRequest,
    CommandApprovalRequest,
    FileChange,
    FileChangeApprovalRequest,
    McpElicitationRequest,
    PermissionsApprovalRequest,
    parse_request,
)
from harness.reference.approvals.resolve import resolve

__all__ = [
    "APPROVAL_EVENT_NAMES",
    "APPROVAL_METHODS",
    "Abstain",
    "AllOf",
    "AllowAll",
    "Always",
    "AnyOf",
    "ApprovalError",
    "ApprovalPolicy",
    "ApprovalRequest",
    "ApprovalRequestError",
    "ApprovalRequestHandler",
    "ArgvPattern",
    "BasePolicy",
    "ByCommand",
    "ByKind",
    "ByPath",
    "Callback",
    "CommandApprovalRequest",
    "Decision",
    "DecisionNotApplicableError",
    "DenyAll",
    "ExecApprovalPolicyError",
    "Fallback",
    "FileChange",
    "FileChangeApprovalRequest",
    "FirstMatch",
    "InvalidDecisionError",
    "InvalidPolicyError",
    "ItemLookup",
    "KINDS",
    "McpElicitationRequest",
    "NetworkPolicyAmendment",
    "Outcome",
    "PathGlob",
    "PermissionsApprovalRequest",
    "RequestKind",
    "VERDICTS",
    "Verdict",
    "WithTimeout",
    "decision_from_reply",
    "evaluate",
    "exec_approval_policy",
    "parse_request",
    "resolve",
    "safe_reply",
    "server_request_handler",
]
