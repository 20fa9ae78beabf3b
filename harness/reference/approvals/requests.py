"""Typed approval requests, parsed once from a server request's ``(method, params)``.

codex's params are outside input, so they are read tolerantly: unknown fields stay in ``raw`` (the params exactly
as received), unknown ``availableDecisions`` entries are skipped, and only a known field with the wrong JSON type
(or a missing required id) raises :class:`ApprovalRequestError`. Field names follow the schema excerpts in
``corpus/appserver/schema/`` (``CommandExecutionRequestApprovalParams`` etc.), in snake_case.

Each request class maps a :class:`Decision` onto its own reply shape (``reply(decision)``): one small method per
kind instead of a switch on the kind in the mapping code.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Literal, TypeAlias

from harness.reference.approvals.decision import (
    Decision,
    NetworkPolicyAmendment,
    RequestKind,
    command_decision_from_wire,
    command_decision_to_wire,
)
from harness.reference.approvals.errors import ApprovalRequestError, DecisionNotApplicableError
from harness.reference.approvals.matchers import is_compound, split_command, unwrap_shell

__all__ = [
    "APPROVAL_METHODS",
    "ApprovalRequest",
    "CommandApprovalRequest",
    "FileChange",
    "FileChangeApprovalRequest",
    "McpElicitationRequest",
    "PermissionsApprovalRequest",
    "parse_request",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class _Reader:
    """Typed access to one params object; errors name the method and the field."""

    def __init__(self, method: str, params: object) -> None:
        if not isinstance(params, Mapping):
            raise ApprovalRequestError(method, "params", f"expected an object, got {type(params).__name__}")
        self.method = method
        self.params: Mapping[str, Any] = params

    def fail(self, name: str, reason: str) -> ApprovalRequestError:
        return ApprovalRequestError(self.method, name, reason)

    def str_required(self, name: str) -> str:
        value = self.params.get(name)
        if not isinstance(value, str):
            raise self.fail(name, f"required string, got {_type(value)}")
        return value

    def str_opt(self, name: str) -> str | None:
        value = self.params.get(name)
        if value is not None and not isinstance(value, str):
            raise self.fail(name, f"expected a string or null, got {_type(value)}")
        return value

    def int_opt(self, name: str) -> int | None:
        value = self.params.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise self.fail(name, f"expected an integer or null, got {_type(value)}")
        return value

    def mapping_opt(self, name: str) -> Mapping[str, Any] | None:
        value = self.params.get(name)
        if value is not None and not isinstance(value, Mapping):
            raise self.fail(name, f"expected an object or null, got {_type(value)}")
        return MappingProxyType(dict(value)) if value is not None else None

    def list_opt(self, name: str) -> list[Any] | None:
        value = self.params.get(name)
        if value is not None and not isinstance(value, list):
            raise self.fail(name, f"expected an array or null, got {_type(value)}")
        return value

    def raw(self) -> Mapping[str, Any]:
        return MappingProxyType(dict(self.params))


def _type(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _not_applicable(decision: Decision, kind: str, reason: str = "") -> DecisionNotApplicableError:
    return DecisionNotApplicableError(decision.verdict, kind, reason)


def _reject_parts(decision: Decision, kind: str, *parts: str) -> None:
    for part in parts:
        if getattr(decision, part) is not None:
            raise _not_applicable(decision, kind, f"{part} has no meaning here")


# -- command execution --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=True)
class CommandApprovalRequest:
    """``item/commandExecution/requestApproval``: run this command?"""

    method: ClassVar[str] = "item/commandExecution/requestApproval"

    thread_id: str
    turn_id: str
    item_id: str
    command: str | None = None
    cwd: str | None = None
    reason: str | None = None
    approval_id: str | None = None
    approval_kind: str = "command"
    started_at_ms: int | None = None
    environment_id: str | None = None
    command_actions: tuple[Mapping[str, Any], ...] = ()
    proposed_execpolicy_amendment: tuple[str, ...] | None = None
    proposed_network_policy_amendments: tuple[NetworkPolicyAmendment, ...] | None = None
    network_approval_context: Mapping[str, Any] | None = None
    additional_permissions: Mapping[str, Any] | None = None
    available_decisions: tuple[Decision, ...] | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, repr=False)

    @property
    def kind(self) -> RequestKind:
        return "command"

    @property
    def script(self) -> str | None:
        """The shell script inside codex's ``/bin/bash -lc '…'`` wrapper (the command itself when unwrapped)."""
        return unwrap_shell(self.command) if self.command is not None else None

    @property
    def argv(self) -> tuple[str, ...] | None:
        """The script's words (POSIX splitting); ``None`` without a command, or when it cannot be split."""
        script = self.script
        words = split_command(script) if script is not None else None
        return tuple(words) if words is not None else None

    @property
    def is_compound(self) -> bool:
        """Whether the script chains commands (``;``, ``&&``, pipes, redirections, substitutions, newlines)."""
        script = self.script
        return script is not None and is_compound(script)

    def reply(self, decision: Decision) -> dict[str, Any]:
        """``{"decision": <CommandExecutionApprovalDecision>}``."""
        _reject_parts(decision, "command", "content", "meta", "permissions")
        if self.approval_kind == "humanCommand" and decision.verdict not in ("accept", "decline", "cancel"):
            raise _not_applicable(decision, "command", "a humanCommand checkpoint takes accept, decline or cancel only")
        return {"decision": command_decision_to_wire(decision)}

    @classmethod
    def parse(cls, params: object) -> CommandApprovalRequest:
        r = _Reader(cls.method, params)
        actions = r.list_opt("commandActions") or []
        if not all(isinstance(a, Mapping) for a in actions):
            raise r.fail("commandActions", "expected an array of objects")
        amendment = r.list_opt("proposedExecpolicyAmendment")
        if amendment is not None and not all(isinstance(a, str) for a in amendment):
            raise r.fail("proposedExecpolicyAmendment", "expected an array of strings")
        network = r.list_opt("proposedNetworkPolicyAmendments")
        available = r.list_opt("availableDecisions")
        decisions = (
            None
            if available is None
            else tuple(d for d in (command_decision_from_wire(v) for v in available) if d is not None)
        )
        return cls(
            thread_id=r.str_required("threadId"),
            turn_id=r.str_required("turnId"),
            item_id=r.str_required("itemId"),
            command=r.str_opt("command"),
            cwd=r.str_opt("cwd"),
            reason=r.str_opt("reason"),
            approval_id=r.str_opt("approvalId"),
            approval_kind=r.str_opt("kind") or "command",
            started_at_ms=r.int_opt("startedAtMs"),
            environment_id=r.str_opt("environmentId"),
            command_actions=tuple(MappingProxyType(dict(a)) for a in actions),
            proposed_execpolicy_amendment=tuple(amendment) if amendment is not None else None,
            proposed_network_policy_amendments=None
            if network is None
            else tuple(a for a in (NetworkPolicyAmendment.from_wire(v) for v in network) if a is not None),
            network_approval_context=r.mapping_opt("networkApprovalContext"),
            additional_permissions=r.mapping_opt("additionalPermissions"),
            available_decisions=decisions,
            raw=r.raw(),
        )


# -- file change --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FileChange:
    """One entry of a ``fileChange`` item's ``changes`` (from ``item/started``): path, add/delete/update, diff."""

    path: str
    change_type: str
    diff: str | None = None
    move_path: str | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, repr=False)

    @classmethod
    def parse(cls, value: object) -> FileChange | None:
        """Tolerant: ``None`` for an entry without a string ``path``."""
        if not isinstance(value, Mapping) or not isinstance(value.get("path"), str):
            return None
        kind = value.get("kind")
        change_type = kind.get("type") if isinstance(kind, Mapping) else kind
        move = kind.get("move_path") if isinstance(kind, Mapping) else None
        diff = value.get("diff")
        return cls(
            path=value["path"],
            change_type=change_type if isinstance(change_type, str) else "unknown",
            diff=diff if isinstance(diff, str) else None,
            move_path=move if isinstance(move, str) else None,
            raw=MappingProxyType(dict(value)),
        )


@dataclass(frozen=True, slots=True)
class FileChangeApprovalRequest:
    """``item/fileChange/requestApproval``: apply this patch? The request carries no diff: ``changes`` comes from
    the preceding ``item/started`` of the same item, when the caller supplies it (``None`` = not known)."""

    method: ClassVar[str] = "item/fileChange/requestApproval"

    thread_id: str
    turn_id: str
    item_id: str
    reason: str | None = None
    grant_root: str | None = None
    started_at_ms: int | None = None
    changes: tuple[FileChange, ...] | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, repr=False)

    @property
    def kind(self) -> RequestKind:
        return "file_change"

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path the patch touches (move destinations included); empty when ``changes`` is unknown."""
        out: list[str] = []
        for change in self.changes or ():
            out.append(change.path)
            if change.move_path is not None:
                out.append(change.move_path)
        return tuple(out)

    def with_item(self, item: Mapping[str, Any] | None) -> FileChangeApprovalRequest:
        """This request with ``changes`` taken from a ``fileChange`` item (``item/started.params.item``)."""
        if item is None or not isinstance(item.get("changes"), list):
            return self
        changes = tuple(c for c in (FileChange.parse(v) for v in item["changes"]) if c is not None)
        return dataclasses.replace(self, changes=changes)

    def reply(self, decision: Decision) -> dict[str, Any]:
        """``{"decision": "accept"|"acceptForSession"|"decline"|"cancel"}`` (FileChangeApprovalDecision)."""
        if decision.verdict in ("execpolicy_amendment", "network_policy_amendment"):
            raise _not_applicable(
                decision, "file_change", "file changes take accept, acceptForSession, decline, cancel"
            )
        _reject_parts(decision, "file_change", "content", "meta", "permissions")
        return {"decision": command_decision_to_wire(decision)}

    @classmethod
    def parse(cls, params: object, *, item: Mapping[str, Any] | None = None) -> FileChangeApprovalRequest:
        r = _Reader(cls.method, params)
        request = cls(
            thread_id=r.str_required("threadId"),
            turn_id=r.str_required("turnId"),
            item_id=r.str_required("itemId"),
            reason=r.str_opt("reason"),
            grant_root=r.str_opt("grantRoot"),
            started_at_ms=r.int_opt("startedAtMs"),
            raw=r.raw(),
        )
        return request.with_item(item)


# -- MCP elicitation ----------------------------------------------------------------------------------------------

_TOOL_IN_MESSAGE = re.compile(r'run tool "(?P<tool>[^"]+)"')


@dataclass(frozen=True, slots=True)
class McpElicitationRequest:
    """``mcpServer/elicitation/request``: an MCP tool approval (``_meta.codex_approval_kind == "mcp_tool_call"``,
    kind ``mcp_tool``) or an MCP server's own ``elicitation/create`` (kind ``mcp_elicitation``)."""

    method: ClassVar[str] = "mcpServer/elicitation/request"

    thread_id: str
    server_name: str
    turn_id: str | None = None
    environment_id: str | None = None
    mode: str | None = None
    message: str | None = None
    requested_schema: Any = None
    meta: Mapping[str, Any] | None = None
    url: str | None = None
    elicitation_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, repr=False)

    @property
    def item_id(self) -> str | None:
        """Elicitations name no item."""
        return None

    @property
    def is_tool_approval(self) -> bool:
        return self.meta is not None and self.meta.get("codex_approval_kind") == "mcp_tool_call"

    @property
    def kind(self) -> RequestKind:
        return "mcp_tool" if self.is_tool_approval else "mcp_elicitation"

    @property
    def tool_name(self) -> str | None:
        """The MCP tool asked about: ``_meta.tool_name`` (0.171), else read from the message (0.163 has no field)."""
        if not self.is_tool_approval:
            return None
        assert self.meta is not None
        name = self.meta.get("tool_name")
        if isinstance(name, str):
            return name
        match = _TOOL_IN_MESSAGE.search(self.message or "")
        return match.group("tool") if match else None

    @property
    def tool_params(self) -> Mapping[str, Any] | None:
        value = self.meta.get("tool_params") if self.meta is not None else None
        return value if isinstance(value, Mapping) else None

    @property
    def persist_options(self) -> tuple[str, ...]:
        """What codex offers to remember an approval for (``_meta.persist``: ``session``, ``always``)."""
        value = self.meta.get("persist") if self.meta is not None else None
        return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

    def reply(self, decision: Decision) -> dict[str, Any]:
        """``{"action": accept|decline|cancel, "content": …, "_meta"?: …}`` (McpServerElicitationRequestResponse).

        ``accept_for_session`` on a tool approval is ``accept`` with ``_meta.persist = "session"`` (how codex reads a
        remembered MCP approval; untested against the real CLI); on a plain elicitation it has no meaning.
        """
        verdict = decision.verdict
        _reject_parts(decision, self.kind, "permissions")
        if verdict in ("execpolicy_amendment", "network_policy_amendment"):
            raise _not_applicable(decision, self.kind, "elicitations take accept, decline or cancel")
        meta = dict(decision.meta) if decision.meta is not None else None
        if verdict == "accept_for_session":
            if not self.is_tool_approval:
                raise _not_applicable(decision, self.kind, "only an MCP tool approval can be remembered for a session")
            meta = {**(meta or {}), "persist": "session"}
            action = "accept"
        else:
            action = verdict
        reply: dict[str, Any] = {"action": action, "content": decision.content}
        if meta is not None:
            reply["_meta"] = meta
        return reply

    @classmethod
    def parse(cls, params: object) -> McpElicitationRequest:
        r = _Reader(cls.method, params)
        return cls(
            thread_id=r.str_required("threadId"),
            server_name=r.str_required("serverName"),
            turn_id=r.str_opt("turnId"),
            environment_id=r.str_opt("environmentId"),
            mode=r.str_opt("mode"),
            message=r.str_opt("message"),
            requested_schema=r.params.get("requestedSchema"),
            meta=r.mapping_opt("_meta"),
            url=r.str_opt("url"),
            elicitation_id=r.str_opt("elicitationId"),
            raw=r.raw(),
        )


# -- permissions (schema only) ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PermissionsApprovalRequest:
    """``item/permissions/requestApproval`` (schema only, never observed): grant these extra permissions?"""

    method: ClassVar[str] = "item/permissions/requestApproval"

    thread_id: str
    turn_id: str
    item_id: str
    permissions: Mapping[str, Any]
    cwd: str | None = None
    reason: str | None = None
    started_at_ms: int | None = None
    environment_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, repr=False)

    @property
    def kind(self) -> RequestKind:
        return "permissions"

    def reply(self, decision: Decision) -> dict[str, Any]:
        """``{"permissions": <granted>, "scope": "turn"|"session"}``; accept grants what was asked, decline ``{}``."""
        verdict = decision.verdict
        _reject_parts(decision, "permissions", "content", "meta")
        if verdict == "decline":
            return {"permissions": {}, "scope": "turn"}
        if verdict not in ("accept", "accept_for_session"):
            raise _not_applicable(
                decision, "permissions", "a permissions request takes accept, acceptForSession, decline"
            )
        granted = decision.permissions if decision.permissions is not None else self.permissions
        return {"permissions": dict(granted), "scope": "session" if verdict == "accept_for_session" else "turn"}

    @classmethod
    def parse(cls, params: object) -> PermissionsApprovalRequest:
        r = _Reader(cls.method, params)
        permissions = r.mapping_opt("permissions")
        if permissions is None:
            raise r.fail("permissions", "required object, got null")
        return cls(
            thread_id=r.str_required("threadId"),
            turn_id=r.str_required("turnId"),
            item_id=r.str_required("itemId"),
            permissions=permissions,
            cwd=r.str_opt("cwd"),
            reason=r.str_opt("reason"),
            started_at_ms=r.int_opt("startedAtMs"),
            environment_id=r.str_opt("environmentId"),
            raw=r.raw(),
        )


ApprovalRequest: TypeAlias = (
    CommandApprovalRequest | FileChangeApprovalRequest | McpElicitationRequest | PermissionsApprovalRequest
)

#: The server-request methods this package answers, and the reply kind each one defaults to.
APPROVAL_METHODS: Mapping[str, Literal["command", "file_change", "mcp", "permissions"]] = MappingProxyType(
    {
        CommandApprovalRequest.method: "command",
        FileChangeApprovalRequest.method: "file_change",
        McpElicitationRequest.method: "mcp",
        PermissionsApprovalRequest.method: "permissions",
    }
)


def parse_request(method: str, params: object, *, item: Mapping[str, Any] | None = None) -> ApprovalRequest | None:
    """The typed request for an approval method, ``None`` for any other method (``item/tool/call`` …).

    ``item`` is the ``item/started`` item of the same ``itemId`` (used by file changes for their ``changes``).
    Raises :class:`ApprovalRequestError` when the params of an approval method are malformed.

    >>> params = {"threadId": "t", "turnId": "u", "itemId": "call_1", "command": "/bin/bash -lc 'touch a.txt'"}
    >>> request = parse_request("item/commandExecution/requestApproval", params)
    >>> request.kind, request.script, request.argv, request.is_compound
    ('command', 'touch a.txt', ('touch', 'a.txt'), False)
    >>> print(parse_request("item/tool/call", {}))
    None
    >>> parse_request("item/commandExecution/requestApproval", {"threadId": "t"})
    Traceback (most recent call last):
        ...
    harness.reference.approvals.errors.ApprovalRequestError: item/commandExecution/requestApproval: turnId: required
    string, got null
    """
    parser = _PARSERS.get(method)
    return parser(params, item) if parser is not None else None


_PARSERS: Mapping[str, Callable[[object, Mapping[str, Any] | None], ApprovalRequest]] = MappingProxyType(
    {
        CommandApprovalRequest.method: lambda params, item: CommandApprovalRequest.parse(params),
        FileChangeApprovalRequest.method: lambda params, item: FileChangeApprovalRequest.parse(params, item=item),
        McpElicitationRequest.method: lambda params, item: McpElicitationRequest.parse(params),
        PermissionsApprovalRequest.method: lambda params, item: PermissionsApprovalRequest.parse(params),
    }
)
