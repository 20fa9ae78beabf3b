"""Classify and validate a client's reply to a server request.

Codex treats four kinds of reply differently (app-server-protocol.md §4.3, §5): a result of the right shape, an
empty object ``{}`` (the item fails: "dynamic tool response was invalid", "approval request failed"), a JSON-RPC
error, and **no reply at all** (codex waits forever). A conformance check must keep them apart, and must validate
``decision`` against the *schema* enum, not against the request's advisory ``availableDecisions``.

The response schemas are the ``generate-json-schema --experimental`` excerpts of codex 0.171.0 (identical in
0.163.0), copied into ``schemas/`` beside this module so the fake needs nothing outside the package at run time.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from harness.fake.appserver._schema import SchemaValidator

__all__ = [
    "RESPONSE_SCHEMAS",
    "ReplyKind",
    "ReplyVerdict",
    "judge_reply",
    "validate_result",
]

_SCHEMA_DIR = Path(__file__).with_name("schemas")

#: Server-request method -> schema file of its reply's ``result``.
RESPONSE_SCHEMAS: Mapping[str, str] = {
    "applyPatchApproval": "ApplyPatchApprovalResponse.json",
    "execCommandApproval": "ExecCommandApprovalResponse.json",
    "item/commandExecution/requestApproval": "CommandExecutionRequestApprovalResponse.json",
    "item/fileChange/requestApproval": "FileChangeRequestApprovalResponse.json",
    "item/permissions/requestApproval": "PermissionsRequestApprovalResponse.json",
    "item/tool/call": "DynamicToolCallResponse.json",
    "item/tool/requestUserInput": "ToolRequestUserInputResponse.json",
    "mcpServer/elicitation/request": "McpServerElicitationRequestResponse.json",
}


class ReplyKind(enum.Enum):
    """The outcome class of a reply; two replies of different kinds are always a divergence."""

    RESULT = "result"  # a non-empty result object
    EMPTY = "empty"  # result {} (codex: the item fails)
    ERROR = "error"  # a JSON-RPC error
    NO_REPLY = "no_reply"  # nothing within the timeout (codex: waits forever)


@dataclass(frozen=True)
class ReplyVerdict:
    """A reply's kind plus its schema problems (empty for a valid or unchecked result)."""

    kind: ReplyKind
    problems: tuple[str, ...] = ()
    checked: bool = False  # a schema exists for the method and was applied

    @property
    def valid(self) -> bool:
        return not self.problems


@cache
def _validator(method: str) -> SchemaValidator:
    schema = json.loads((_SCHEMA_DIR / RESPONSE_SCHEMAS[method]).read_text(encoding="utf-8"))
    return SchemaValidator(schema)


def validate_result(method: str | None, result: Any) -> tuple[tuple[str, ...], bool]:
    """Schema problems of ``result`` as a reply to ``method`` (``(problems, checked)``); unknown methods pass
    unchecked."""
    if method is None or method not in RESPONSE_SCHEMAS:
        return ((), False) if isinstance(result, dict) else (("result must be an object",), False)
    problems = (error[1:] if error.startswith("/:") else error for error in _validator(method).errors(result))
    return tuple(f"result{problem}" for problem in problems), True


def judge_reply(method: str | None, msg: Mapping[str, Any] | None) -> ReplyVerdict:
    """Classify the client's reply message ``msg`` (``None``: no reply) to a server request ``method``."""
    if msg is None:
        return ReplyVerdict(ReplyKind.NO_REPLY)
    if "error" in msg:
        error = msg["error"]
        ok = isinstance(error, dict) and isinstance(error.get("code"), int) and not isinstance(error.get("code"), bool)
        return ReplyVerdict(ReplyKind.ERROR, () if ok else ("error: must be an object with an integer 'code'",))
    result = msg.get("result")
    if result == {}:
        problems, checked = validate_result(method, result)
        return ReplyVerdict(ReplyKind.EMPTY, problems, checked)
    problems, checked = validate_result(method, result)
    return ReplyVerdict(ReplyKind.RESULT, problems, checked)
