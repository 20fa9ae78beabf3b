"""The transport-neutral result of one tool call, and how a tool's return value becomes codex's reply.

codex's ``item/tool/call`` reply is ``{"contentItems": [...], "success": bool}`` (``DynamicToolCallResponse``);
anything else (the official Python SDK's ``{}``) is "dynamic tool response was invalid". :class:`ToolOutcome`
is that reply as a frozen value plus *why* it failed (``error_kind``), so the exec auto-run loop and telemetry
can use the same outcome without re-parsing text.

Mapping of a tool's return value (:func:`outcome_from_result`):

* ``str`` → one ``inputText`` item, success;
* a list of content items (``inputText {text}``, ``inputImage {imageUrl}``, ``inputAudio {audioUrl}``) → passed
  through, success;
* a :class:`ToolOutcome` → itself (a tool may fail on purpose: ``ToolOutcome.failure("no such city")``);
* ``None``, numbers, booleans, dicts and other lists of JSON values → their compact JSON text, success;
* anything else (not JSON-able, or a list mixing content items and other values) → ``success: false``,
  ``error_kind`` ``"invalid_result"``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["CONTENT_ITEM_FIELDS", "ErrorKind", "ToolOutcome", "content_item_problem", "outcome_from_result"]

#: Content item types of ``DynamicToolCallOutputContentItem`` and their one required string field.
CONTENT_ITEM_FIELDS: Mapping[str, str] = {"inputText": "text", "inputImage": "imageUrl", "inputAudio": "audioUrl"}

ErrorKind = Literal["unknown_tool", "invalid_arguments", "failure", "exception", "timeout", "invalid_result"]


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """One call's outcome: codex's reply fields and, when it failed, a stable ``error_kind``."""

    success: bool
    content_items: tuple[Mapping[str, Any], ...]
    error_kind: ErrorKind | None = None

    @classmethod
    def text(cls, text: str) -> ToolOutcome:
        """A successful outcome with one text item."""
        return cls(True, ({"type": "inputText", "text": text},))

    @classmethod
    def failure(cls, text: str, kind: ErrorKind = "failure") -> ToolOutcome:
        """A failed outcome with one text item explaining it (what the model reads)."""
        return cls(False, ({"type": "inputText", "text": text},), kind)

    @property
    def message(self) -> str:
        """The text items joined by newlines (for logs and the exec auto-run loop)."""
        return "\n".join(str(item.get("text", "")) for item in self.content_items if item.get("type") == "inputText")

    def to_reply(self) -> dict[str, Any]:
        """The ``item/tool/call`` result codex expects: ``{"contentItems": [...], "success": bool}``."""
        return {"contentItems": [dict(item) for item in self.content_items], "success": self.success}


def content_item_problem(item: Any) -> str | None:
    """Why ``item`` is not a content item codex accepts, or ``None``."""
    if not isinstance(item, Mapping):
        return f"content item must be an object, not {type(item).__name__}"
    kind = item.get("type")
    if not isinstance(kind, str) or kind not in CONTENT_ITEM_FIELDS:
        return f"content item type must be one of {', '.join(CONTENT_ITEM_FIELDS)}, not {kind!r}"
    field = CONTENT_ITEM_FIELDS[kind]
    if not isinstance(item.get(field), str):
        return f"{kind} content item needs a string {field!r}"
    return None


def _is_content_item(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get("type") in CONTENT_ITEM_FIELDS


def outcome_from_result(result: Any) -> ToolOutcome:
    """Map a tool's return value onto an outcome (rules in the module docstring).

    >>> outcome_from_result({"temperature": 21}).to_reply()
    {'contentItems': [{'type': 'inputText', 'text': '{"temperature":21}'}], 'success': True}
    >>> outcome_from_result(object()).message
    'tool returned an invalid result: object is not JSON'
    """
    if isinstance(result, ToolOutcome):
        return result
    if isinstance(result, str):
        return ToolOutcome.text(result)
    if (
        isinstance(result, Sequence)
        and not isinstance(result, bytes | bytearray)
        and any(_is_content_item(item) for item in result)
    ):
        for index, item in enumerate(result):
            problem = content_item_problem(item)
            if problem is not None:
                return ToolOutcome.failure(f"tool returned an invalid result: item {index}: {problem}",
                                           "invalid_result")
        return ToolOutcome(True, tuple(dict(item) for item in result))
    try:
        text = json.dumps(result, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return ToolOutcome.failure(
            f"tool returned an invalid result: {type(result).__name__} is not JSON", "invalid_result"
        )
    return ToolOutcome.text(text)
