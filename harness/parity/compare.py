"""Comparing one implementation's normalized observation with the golden, part by part.

The golden is the reference SDK's normalized observation. Every implementation is compared with it through
the same *comparable view* (docs/baselines.md, "What is compared"):

- only the **compared parts** (top-level observation keys, :data:`~harness.report.model.PARTS`): all seven
  for the reference; for the other SDKs the portable ones (:data:`~harness.report.model.PORTABLE_PARTS`),
  because ``telemetry`` and ``logs`` are the reference SDK's own;
- **events and items are JSON values, not text**: a string holding a JSON object or array (the reference
  reports the exact line codex printed) is parsed, and an object an SDK yielded is taken as is, so key order
  and whitespace never count -- the same rule for every implementation. (A line over 16 KiB is replaced by
  its length and digest during normalization; :func:`wire_text` serializes yielded objects in codex's key
  order so that those still compare equal when the content is.)
- the content of an ``--output-schema`` file (``invocations[].output_schema``) is a JSON value too;
- for the other SDKs, the **portable projection** of a turn: ``result`` keeps ``thread_id``,
  ``final_response``, ``items``, ``usage`` and, on the app-server, ``status`` (the reference adds
  ``turn_usage``, ``cumulative_usage``, ``structured_output``); ``error`` keeps ``kind`` and ``message``
  (``class`` and ``details`` are spelled per language and SDK: recorded in the observation, not compared);
  ``earlier_turns`` the same per turn, plus ``mode``.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from harness.parity.leaves import Leaf, diff_leaves

__all__ = [
    "PORTABLE_ERROR",
    "PORTABLE_RESULT",
    "PartComparison",
    "comparable",
    "compare_parts",
    "wire_text",
]

#: The result keys every SDK reports (run mode; streamed: ``thread_id`` and three nulls).
PORTABLE_RESULT: tuple[str, ...] = ("thread_id", "final_response", "items", "usage")

#: Result keys compared across SDKs when present: the app-server turn's ``status``.
_OPTIONAL_RESULT: tuple[str, ...] = ("status",)

#: The error keys compared across SDKs: the canonical kind and the message text.
PORTABLE_ERROR: tuple[str, ...] = ("kind", "message")


def _value(item: Any) -> Any:
    """A JSON text (object or array) as its value; anything else unchanged."""
    if isinstance(item, str) and item[:1] in ("{", "["):
        try:
            return json.loads(item)
        except ValueError:
            return item
    return item


def _values(items: Any) -> Any:
    return [_value(item) for item in items] if isinstance(items, list) else items


def _turn(record: Mapping[str, Any], portable: bool) -> dict[str, Any]:
    """``events``/``result``/``error`` of one turn in the comparable view."""
    result = record.get("result")
    if isinstance(result, Mapping):
        # ``status`` (app-server: completed / interrupted / failed) is portable where the golden or the SDK has it
        keys = (*PORTABLE_RESULT, *(k for k in _OPTIONAL_RESULT if k in result)) if portable else tuple(result)
        result = {key: _values(result.get(key)) if key == "items" else result.get(key) for key in keys}
    error = record.get("error")
    if isinstance(error, Mapping) and portable:
        error = {key: error.get(key) for key in PORTABLE_ERROR}
    return {"events": _values(record.get("events") or []), "result": result, "error": error}


def comparable(observation: Mapping[str, Any], parts: Sequence[str], *, portable: bool) -> dict[str, Any]:
    """The comparable view of a normalized observation (or golden observation), restricted to ``parts``."""
    top = _turn(observation, portable)
    view: dict[str, Any] = {}
    for part in parts:
        if part in ("events", "result", "error"):
            view[part] = top[part]
        elif part == "earlier_turns":
            view[part] = [
                {"mode": turn.get("mode"), **_turn(turn, portable)}
                for turn in observation.get("earlier_turns") or []
                if isinstance(turn, Mapping)
            ]
        elif part == "invocations":
            invocations = observation.get(part)
            view[part] = (
                [_invocation(i) for i in invocations] if isinstance(invocations, list) else invocations
            )
        else:
            view[part] = observation.get(part)
    return view


def _invocation(invocation: Any) -> Any:
    """An invocation with its ``--output-schema`` file content as a JSON value (codex parses it: the
    whitespace an SDK's JSON writer uses is not behaviour)."""
    if isinstance(invocation, Mapping) and isinstance(invocation.get("output_schema"), str):
        return {**invocation, "output_schema": _value(invocation["output_schema"])}
    return invocation


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@dataclasses.dataclass(frozen=True)
class PartComparison:
    """Which compared parts differ, a short summary and the unified diff golden -> observed of the view."""

    compared: tuple[str, ...]
    diverging: tuple[str, ...]
    summary: str
    unified_diff: str
    #: every differing leaf of the compared view (:func:`harness.parity.leaves.diff_leaves`)
    leaves: tuple[Leaf, ...] = ()

    @property
    def agrees(self) -> bool:
        return not self.diverging


def _summary(expected: Any, actual: Any, limit: int = 12) -> str:
    from deepdiff import DeepDiff

    try:
        text: str = DeepDiff(expected, actual, verbose_level=2).pretty()
    except Exception:  # noqa: BLE001 - a summary must never hide the diff itself
        return "the observation differs from the golden"
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more difference(s)"]
    return "\n".join(lines)


def compare_parts(
    golden: Mapping[str, Any], observed: Mapping[str, Any], parts: Sequence[str], *, portable: bool
) -> PartComparison:
    """Compare ``observed`` with ``golden`` (both bare normalized observations) over ``parts`` (top-level
    keys; normally :data:`~harness.report.model.PARTS` or a subset)."""
    expected = comparable(golden, parts, portable=portable)
    actual = comparable(observed, parts, portable=portable)
    leaves = tuple(diff_leaves(expected, actual, parts))
    diverging = tuple(part for part in parts if any(leaf.part == part for leaf in leaves))
    if not diverging:
        return PartComparison(tuple(parts), (), "", "")
    diff = "".join(
        difflib.unified_diff(
            _canonical(expected).splitlines(keepends=True),
            _canonical(actual).splitlines(keepends=True),
            "golden",
            "observed",
        )
    )
    summary = _summary({p: expected[p] for p in diverging}, {p: actual[p] for p in diverging})
    return PartComparison(tuple(parts), diverging, summary, diff, leaves)


def _wire_order(value: Any) -> Any:
    """Objects with ``id`` and ``type`` first, the rest in the SDK's order (codex's wire order), recursively."""
    if isinstance(value, Mapping):
        keys = [k for k in ("id", "type") if k in value] + [k for k in value if k not in ("id", "type")]
        return {k: _wire_order(value[k]) for k in keys}
    if isinstance(value, list):
        return [_wire_order(item) for item in value]
    return value


def wire_text(item: Any) -> Any:
    """An event or item as an SDK reported it -> compact JSON text (strings are kept: they are raw lines).

    Objects are written in codex's key order (``id``, ``type``, then the SDK's order), compact, raw UTF-8,
    which is how codex prints them; only lines long enough to be digested by normalization depend on it.
    """
    if isinstance(item, str) or item is None:
        return item
    return json.dumps(_wire_order(item), ensure_ascii=False, separators=(",", ":"))

