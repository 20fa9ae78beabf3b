"""Errors of the tool registry that an SDK reports to its user (bad definitions, duplicates).

They are :class:`~harness.reference.errors.CodexError`s, not harness errors: a host application that declares a
deferred tool outside a namespace made the same mistake codex would reject on ``thread/start`` (JSON-RPC -32600),
and the reference SDK says so *before* anything is sent, with codex's own wording where codex has one.

::

    CodexError
    └── ToolDefinitionError      kind "invalid_tool"     a tool or namespace codex would reject
        └── DuplicateToolError   kind "duplicate_tool"   the name is already registered (in that namespace)

Failures of a *call* (unknown tool, invalid arguments, a raising tool, a timeout) are not exceptions: they are
``success: false`` replies (:class:`~harness.reference.tools.outcome.ToolOutcome`), as codex expects.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.reference.errors import CodexError

__all__ = ["DuplicateToolError", "ToolDefinitionError"]


class ToolDefinitionError(CodexError, ValueError):
    """A tool or namespace definition codex would refuse (name, schema, deferLoading outside a namespace, ...)."""

    kind: ClassVar[str] = "invalid_tool"

    def __init__(self, message: str, *, name: str | None = None, namespace: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.namespace = namespace

    def details(self) -> dict[str, Any]:
        """The tool and namespace concerned."""
        data = super().details()
        if self.name is not None:
            data["name"] = self.name
        if self.namespace is not None:
            data["namespace"] = self.namespace
        return data


class DuplicateToolError(ToolDefinitionError):
    """A second registration of a name that is live in the same namespace (codex: "duplicate dynamic tool name")."""

    kind: ClassVar[str] = "duplicate_tool"
