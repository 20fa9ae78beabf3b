"""User tools of the reference SDK: a registry that declares dynamic tools to codex and answers its calls.

``ToolRegistry.dynamic_tools()`` is the ``thread/start`` ``dynamicTools`` param; ``await registry.answer(params)``
answers ``item/tool/call`` with ``{contentItems, success}``; ``await registry.call(name, arguments)`` is the
transport-neutral core (also for the exec auto-run loop). Manifests (:mod:`.manifest`) declare tools in a file,
checked with ``harness tools validate``. See ``docs/tools.md``.
"""

from __future__ import annotations

from harness.reference.tools.errors import DuplicateToolError, ToolDefinitionError
from harness.reference.tools.manifest import (
    Manifest,
    ManifestError,
    ManifestNamespace,
    ManifestTool,
    check_manifest,
    load_manifest,
)
from harness.reference.tools.model import FunctionTool, Namespace, Tool, function_tool
from harness.reference.tools.outcome import ToolOutcome, outcome_from_result
from harness.reference.tools.registry import TOOL_EVENT_NAMES, ToolHandle, ToolRegistry

__all__ = [
    "DuplicateToolError",
    "FunctionTool",
    "Manifest",
    "ManifestError",
    "ManifestNamespace",
    "ManifestTool",
    "Namespace",
    "TOOL_EVENT_NAMES",
    "Tool",
    "ToolDefinitionError",
    "ToolHandle",
    "ToolOutcome",
    "ToolRegistry",
    "check_manifest",
    "function_tool",
    "load_manifest",
    "outcome_from_result",
]
