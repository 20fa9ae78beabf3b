"""What a client answers to an approval request: the :class:`Decision` value and its wire forms.

A decision is written once, independently of the request it will answer: ``Decision.accept`` means "accept" for a
command, a file change, an MCP tool call, an elicitation and a permissions request alike. Each request kind maps it
onto its own reply shape (``request.reply(decision)``, also ``decision.to_reply(request)``); a decision a kind
cannot express (an execpolicy amendment for a file change) raises :class:`DecisionNotApplicableError` there.

Wire forms (``CommandExecutionApprovalDecision`` in the app-server schema, 0.163.0 and 0.171.0 alike)::

    accept                     "accept"
    accept_for_session         "acceptForSession"
    execpolicy_amendment       {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": [argv...]}}
    network_policy_amendment   {"applyNetworkPolicyAmendment": {"network_policy_amendment": {"host", "action"}}}
    decline                    "decline"
    cancel                     "cancel"

>>> from harness.reference.approvals import parse_request
>>> params = {"threadId": "t", "turnId": "u", "itemId": "call_1", "command": "touch a.txt"}
>>> request = parse_request("item/commandExecution/requestApproval", params)
>>> Decision.with_execpolicy_amendment(["touch", "a.txt"]).to_reply(request)
{'decision': {'acceptWithExecpolicyAmendment': {'execpolicy_amendment': ['touch', 'a.txt']}}}
>>> decision_from_reply("command", {"decision": "acceptForSession"})
Decision.accept_for_session
>>> Decision.accept_with_content({"answer": 42}).to_reply(request)
Traceback (most recent call last):
    ...
harness.reference.approvals.errors.DecisionNotApplicableError: decision 'accept' cannot answer a 'command' approval
request: content has no meaning here
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias, cast

from harness.reference.approvals.errors import InvalidDecisionError

if TYPE_CHECKING:
    from harness.reference.approvals.requests import ApprovalRequest

__all__ = [
    "Decision",
    "KINDS",
    "NetworkPolicyAmendment",
    "RequestKind",
    "VERDICTS",
    "Verdict",
    "command_decision_from_wire",
    "command_decision_to_wire",
    "decision_from_reply",
]

Verdict: TypeAlias = Literal[
    "accept", "accept_for_session", "decline", "cancel", "execpolicy_amendment", "network_policy_amendment"
]
VERDICTS: tuple[Verdict, ...] = (
    "accept",
    "accept_for_session",
    "decline",
    "cancel",
    "execpolicy_amendment",
    "network_policy_amendment",
)
RequestKind: TypeAlias = Literal["command", "file_change", "mcp_tool", "mcp_elicitation", "permissions"]
#: Every request kind, in the order the docs list them.
KINDS: tuple[RequestKind, ...] = ("command", "file_change", "mcp_tool", "mcp_elicitation", "permissions")

_ACCEPTING: frozenset[str] = frozenset({"accept", "accept_for_session", "execpolicy_amendment"})
_SIMPLE_TO_WIRE: dict[str, str] = {
    "accept": "accept",
    "accept_for_session": "acceptForSession",
    "decline": "decline",
    "cancel": "cancel",
}
_SIMPLE_FROM_WIRE: dict[str, Verdict] = {
    "accept": "accept",
    "acceptForSession": "accept_for_session",
    "decline": "decline",
    "cancel": "cancel",
}


@dataclass(frozen=True, slots=True)
class NetworkPolicyAmendment:
    """A persistent allow/deny rule for one host (``NetworkPolicyAmendment`` in the schema)."""

    host: str
    action: Literal["allow", "deny"]

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise InvalidDecisionError(f"network policy amendment: host must be a non-empty string, got {self.host!r}")
        if self.action not in ("allow", "deny"):
            raise InvalidDecisionError(
                f"network policy amendment: action must be 'allow' or 'deny', got {self.action!r}"
            )

    def to_wire(self) -> dict[str, str]:
        """The JSON object codex reads: ``{"host", "action"}``."""
        return {"host": self.host, "action": self.action}

    @classmethod
    def from_wire(cls, value: object) -> NetworkPolicyAmendment | None:
        """Parse ``{"host", "action"}``; ``None`` when the value has another shape (read tolerantly)."""
        if not isinstance(value, Mapping):
            return None
        host, action = value.get("host"), value.get("action")
        if not isinstance(host, str) or not host or action not in ("allow", "deny"):
            return None
        return cls(host, cast(Literal["allow", "deny"], action))


def _freeze(value: Mapping[str, Any] | None, what: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidDecisionError(f"{what} must be a mapping, got {type(value).__name__}")
    return MappingProxyType(dict(value))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Decision:
    """One answer to one approval request; immutable, hashable, comparable.

    ``verdict`` says what the client decided; the optional parts refine it and are only allowed where they mean
    something: ``execpolicy_amendment`` / ``network_policy_amendment`` with their verdicts, ``content`` (the
    elicitation form's answer) with ``accept``, ``permissions`` (a granted subset) with the two accept verdicts,
    ``meta`` (an elicitation reply's ``_meta``; an empty one is no meta) with the four plain verdicts. ``content``,
    ``meta`` and ``permissions`` are JSON values, treated as immutable. Use the constants and constructors
    (``Decision.accept``, ``Decision.decline``, ``Decision.accept_with_content(...)``, ...) rather than the raw
    constructor.
    """

    verdict: Verdict
    execpolicy_amendment: tuple[str, ...] | None = None
    network_policy_amendment: NetworkPolicyAmendment | None = None
    content: Any = None
    meta: Mapping[str, Any] | None = None
    permissions: Mapping[str, Any] | None = None

    accept: ClassVar[Decision]
    accept_for_session: ClassVar[Decision]
    decline: ClassVar[Decision]
    cancel: ClassVar[Decision]

    def __post_init__(self) -> None:
        verdict = self.verdict
        if verdict not in VERDICTS:
            raise InvalidDecisionError(f"unknown verdict {verdict!r}: expected one of {', '.join(VERDICTS)}")
        amendment = self.execpolicy_amendment
        if amendment is not None:
            if isinstance(amendment, str) or not isinstance(amendment, Sequence):
                raise InvalidDecisionError("execpolicy_amendment must be a sequence of strings (an argv prefix)")
            amendment = tuple(amendment)
            if not all(isinstance(part, str) for part in amendment):
                raise InvalidDecisionError("execpolicy_amendment must contain strings only")
            object.__setattr__(self, "execpolicy_amendment", amendment)
        if (verdict == "execpolicy_amendment") != (amendment is not None):
            raise InvalidDecisionError("an execpolicy amendment goes with verdict 'execpolicy_amendment' only")
        network = self.network_policy_amendment
        if network is not None and not isinstance(network, NetworkPolicyAmendment):
            raise InvalidDecisionError("network_policy_amendment must be a NetworkPolicyAmendment")
        if (verdict == "network_policy_amendment") != (network is not None):
            raise InvalidDecisionError("a network policy amendment goes with verdict 'network_policy_amendment' only")
        if self.content is not None and verdict != "accept":
            raise InvalidDecisionError(f"content goes with an accept only, not {verdict!r}")
        object.__setattr__(self, "meta", _freeze(self.meta, "meta") or None)  # an empty _meta says nothing
        if self.meta is not None and verdict not in _SIMPLE_TO_WIRE:
            raise InvalidDecisionError(f"meta (an elicitation's _meta) cannot go with {verdict!r}")
        object.__setattr__(self, "permissions", _freeze(self.permissions, "permissions"))
        if self.permissions is not None and verdict not in ("accept", "accept_for_session"):
            raise InvalidDecisionError(f"a permissions grant goes with an accept only, not {verdict!r}")

    def __hash__(self) -> int:
        return hash(
            (
                self.verdict,
                self.execpolicy_amendment,
                self.network_policy_amendment,
                _canonical(self.content),
                _canonical(dict(self.meta) if self.meta is not None else None),
                _canonical(dict(self.permissions) if self.permissions is not None else None),
            )
        )

    # -- constructors -------------------------------------------------------------------------------------------

    @classmethod
    def accept_with_content(cls, content: Any, *, meta: Mapping[str, Any] | None = None) -> Decision:
        """Accept an elicitation with the form's answer (``{"action":"accept","content":content}``)."""
        return cls("accept", content=content, meta=meta)

    @classmethod
    def with_meta(
        cls, verdict: Literal["accept", "accept_for_session", "decline", "cancel"], meta: Mapping[str, Any]
    ) -> Decision:
        """A plain verdict carrying an elicitation reply's ``_meta``."""
        return cls(verdict, meta=meta)

    @classmethod
    def with_execpolicy_amendment(cls, argv: Sequence[str]) -> Decision:
        """Accept a command and add an execpolicy rule so matching commands run without asking again."""
        if isinstance(argv, str):
            raise InvalidDecisionError("an execpolicy amendment is an argv prefix (a sequence of words), not a str")
        return cls("execpolicy_amendment", execpolicy_amendment=tuple(argv))

    @classmethod
    def with_network_policy_amendment(cls, host: str, action: Literal["allow", "deny"] = "allow") -> Decision:
        """Answer a network approval with a persistent allow/deny rule for ``host``."""
        return cls("network_policy_amendment", network_policy_amendment=NetworkPolicyAmendment(host, action))

    @classmethod
    def grant_permissions(cls, permissions: Mapping[str, Any], *, for_session: bool = False) -> Decision:
        """Grant a subset of the permissions a ``permissions`` request asked for (scope turn, or session)."""
        return cls("accept_for_session" if for_session else "accept", permissions=permissions)

    # -- views --------------------------------------------------------------------------------------------------

    @property
    def accepts(self) -> bool:
        """Whether codex goes ahead: every accept form, and a network amendment whose action is ``allow``."""
        if self.verdict == "network_policy_amendment":
            return self.network_policy_amendment is not None and self.network_policy_amendment.action == "allow"
        return self.verdict in _ACCEPTING

    def to_reply(self, request: ApprovalRequest) -> dict[str, Any]:
        """The exact JSON-RPC ``result`` answering ``request`` (raises DecisionNotApplicableError if none)."""
        return request.reply(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view for reports and goldens; only the parts that are set."""
        data: dict[str, Any] = {"verdict": self.verdict}
        if self.execpolicy_amendment is not None:
            data["execpolicy_amendment"] = list(self.execpolicy_amendment)
        if self.network_policy_amendment is not None:
            data["network_policy_amendment"] = self.network_policy_amendment.to_wire()
        if self.content is not None:
            data["content"] = self.content
        if self.meta is not None:
            data["meta"] = dict(self.meta)
        if self.permissions is not None:
            data["permissions"] = dict(self.permissions)
        return data

    def __repr__(self) -> str:
        extra = {k: v for k, v in self.to_dict().items() if k != "verdict"}
        return f"Decision.{self.verdict}" if not extra else f"Decision({self.verdict!r}, {extra!r})"


Decision.accept = Decision("accept")
Decision.accept_for_session = Decision("accept_for_session")
Decision.decline = Decision("decline")
Decision.cancel = Decision("cancel")


def command_decision_to_wire(decision: Decision) -> str | dict[str, Any]:
    """A decision as a ``CommandExecutionApprovalDecision`` value (every verdict has one)."""
    if decision.verdict == "execpolicy_amendment":
        return {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": list(decision.execpolicy_amendment or ())}}
    if decision.verdict == "network_policy_amendment":
        assert decision.network_policy_amendment is not None
        return {
            "applyNetworkPolicyAmendment": {"network_policy_amendment": decision.network_policy_amendment.to_wire()}
        }
    return _SIMPLE_TO_WIRE[decision.verdict]


def command_decision_from_wire(value: object) -> Decision | None:
    """Parse a ``CommandExecutionApprovalDecision`` (from ``availableDecisions`` or a reply); ``None`` if unknown."""
    if isinstance(value, str):
        verdict = _SIMPLE_FROM_WIRE.get(value)
        return Decision(verdict) if verdict is not None else None
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    body = value.get("acceptWithExecpolicyAmendment")
    if isinstance(body, Mapping):
        argv = body.get("execpolicy_amendment")
        if isinstance(argv, list) and all(isinstance(a, str) for a in argv):
            return Decision.with_execpolicy_amendment(argv)
        return None
    body = value.get("applyNetworkPolicyAmendment")
    if isinstance(body, Mapping):
        amendment = NetworkPolicyAmendment.from_wire(body.get("network_policy_amendment"))
        return Decision("network_policy_amendment", network_policy_amendment=amendment) if amendment else None
    return None


def _elicitation_from_reply(result: Mapping[str, Any], *, tool: bool) -> Decision | None:
    action = result.get("action")
    raw_meta = result.get("_meta")
    meta = dict(raw_meta) if isinstance(raw_meta, Mapping) else None
    if action == "accept":
        if tool and meta is not None and meta.get("persist") == "session" and result.get("content") is None:
            rest = {k: v for k, v in meta.items() if k != "persist"}
            return Decision("accept_for_session", meta=rest or None)
        return Decision("accept", content=result.get("content"), meta=meta)
    if action in ("decline", "cancel"):
        return Decision(cast(Verdict, action), meta=meta)
    return None


def _permissions_from_reply(result: Mapping[str, Any]) -> Decision | None:
    granted = result.get("permissions")
    if not isinstance(granted, Mapping):
        return None
    if not any(v is not None for v in granted.values()):
        return Decision.decline
    verdict: Verdict = "accept_for_session" if result.get("scope") == "session" else "accept"
    return Decision(verdict, permissions=granted)


def decision_from_reply(kind: RequestKind, result: object) -> Decision | None:
    """Read a reply a client sent back into a Decision (for replayers and conformance checks).

    ``None`` when the reply is no valid decision (``{}``, an unknown value): codex treats those as a failed
    request, not as a decision (app-server-protocol.md §4.3). A permissions grant is read back as the explicit
    subset it names; a ``{}`` grant is a decline.
    """
    if not isinstance(result, Mapping):
        return None
    if kind in ("command", "file_change"):
        if set(result) != {"decision"}:
            return None
        decision = command_decision_from_wire(result["decision"])
        if kind == "file_change" and decision is not None and decision.verdict not in _SIMPLE_TO_WIRE:
            return None
        return decision
    if kind in ("mcp_tool", "mcp_elicitation"):
        return _elicitation_from_reply(result, tool=kind == "mcp_tool")
    return _permissions_from_reply(result)
