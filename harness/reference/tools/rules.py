"""What codex accepts as a dynamic tool: names, namespaces and input schemas, as pure checks.

One source of truth for the registry (which raises) and the manifest validator (which reports every problem with
its location). The limits are codex's own (``codex-rs/tools/src/dynamic_tool.rs``, ``validate_dynamic_tools``):
identifiers match ``^[a-zA-Z0-9_-]+$``; tool names are at most 128 characters and namespaces at most 64 (the
Responses API's limits; Chat Completions' 64 for function names does not apply to codex); a namespace description
is at most 1024 characters; ``mcp`` and ``mcp__*`` are reserved for MCP tools, and a namespace must not collide with
a Responses API namespace (``functions``, ``web``, ...). Each check returns a message, or ``None`` when the value
is fine, so callers choose whether a problem is an exception or one line of a report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import jsonschema
import jsonschema.exceptions
import jsonschema.validators

__all__ = [
    "IDENTIFIER_PATTERN",
    "NAMESPACE_DESCRIPTION_MAX_LEN",
    "NAMESPACE_MAX_LEN",
    "RESERVED_NAMESPACES",
    "TOOL_NAME_MAX_LEN",
    "json_pointer",
    "namespace_description_problem",
    "namespace_name_problem",
    "plain_json",
    "schema_problems",
    "tool_name_problem",
]

IDENTIFIER_PATTERN = "^[a-zA-Z0-9_-]+$"
TOOL_NAME_MAX_LEN = 128
NAMESPACE_MAX_LEN = 64
NAMESPACE_DESCRIPTION_MAX_LEN = 1024
#: Namespaces the Responses API uses itself; codex refuses a dynamic namespace of the same name.
RESERVED_NAMESPACES: frozenset[str] = frozenset(
    {
        "api_tool",
        "browser",
        "collaboration",
        "computer",
        "container",
        "file_search",
        "functions",
        "image_gen",
        "multi_tool_use",
        "python",
        "python_user_visible",
        "submodel_delegator",
        "terminal",
        "tool_search",
        "web",
    }
)
_IDENTIFIER = re.compile(r"[a-zA-Z0-9_-]+")


def _identifier_problem(value: Any, label: str, max_len: int) -> str | None:
    if not isinstance(value, str):
        return f"{label} must be a string, not {type(value).__name__}"
    if not value.strip():
        return f"{label} must not be empty"
    if value != value.strip():
        return f"{label} has leading/trailing whitespace: {value!r}"
    if not _IDENTIFIER.fullmatch(value):
        return f"{label} must match {IDENTIFIER_PATTERN}: {value!r}"
    if len(value) > max_len:
        return f"{label} must be at most {max_len} characters: {value[:20]!r}… ({len(value)} characters)"
    if value == "mcp" or value.startswith("mcp__"):
        return f"{label} is reserved for MCP tools: {value!r}"
    return None


def tool_name_problem(name: Any) -> str | None:
    """What codex would object to in a dynamic tool name, or ``None``."""
    return _identifier_problem(name, "tool name", TOOL_NAME_MAX_LEN)


def namespace_name_problem(name: Any) -> str | None:
    """What codex would object to in a namespace name, or ``None``."""
    problem = _identifier_problem(name, "namespace name", NAMESPACE_MAX_LEN)
    if problem is None and name in RESERVED_NAMESPACES:
        return f"namespace name collides with a reserved Responses API namespace: {name!r}"
    return problem


def namespace_description_problem(description: Any) -> str | None:
    """A namespace description must be a non-empty string of at most 1024 characters."""
    if not isinstance(description, str):
        return f"description must be a string, not {type(description).__name__}"
    if not description.strip():
        return "description must not be empty"
    if len(description) > NAMESPACE_DESCRIPTION_MAX_LEN:
        return f"description must be at most {NAMESPACE_DESCRIPTION_MAX_LEN} characters ({len(description)})"
    return None


def json_pointer(path: Sequence[Any] | Iterator[Any]) -> str:
    """An RFC 6901 JSON pointer for a path of keys and indexes (``""`` is the whole document)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def plain_json(value: Any) -> Any:
    """A deep copy as plain dicts and lists (schemas may be read-only mappings, which jsonschema does not treat
    as objects)."""
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    return value


def schema_problems(schema: Any) -> list[tuple[str, str]]:
    """``(pointer into the schema, message)`` for an input schema codex cannot use; empty when it is fine.

    The schema must be valid against its metaschema (``$schema`` when given, else Draft 2020-12) and describe an
    object at the top (``type: object``): the arguments of a function call are always a JSON object.
    """
    if not isinstance(schema, Mapping):
        return [("", f"input schema must be a JSON object, not {type(schema).__name__}")]
    schema = plain_json(schema)
    problems: list[tuple[str, str]] = []
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    for error in sorted(cls(cls.META_SCHEMA).iter_errors(schema), key=lambda e: list(map(str, e.absolute_path))):
        problems.append((json_pointer(error.absolute_path), f"not a valid JSON Schema: {error.message}"))
    if schema.get("type") != "object":
        shown = repr(schema["type"]) if "type" in schema else "missing"
        problems.append(("/type", f"input schema must have type: object at the top (found {shown})"))
    return problems
