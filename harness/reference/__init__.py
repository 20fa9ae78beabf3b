"""The reference Codex SDK: typed events, exec transport, threads and turns.

The client API (``Codex``, ``Thread``, ...) is imported lazily (PEP 562): the event modules import
``harness.reference.errors``, which runs this ``__init__`` first, and an eager import of ``thread`` here would
turn that into an import cycle. Errors and options have no such dependencies and are imported eagerly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness.reference.errors import (
    AbortError,
    BinaryNotFoundError,
    CodexError,
    EventParseError,
    ExitError,
    IdleTimeoutError,
    InvalidOptionsError,
    LineTooLongError,
    SignalError,
    StreamError,
    TurnFailedError,
)
from harness.reference.options import (
    AbortController,
    AbortSignal,
    CodexOptions,
    ThreadOptions,
    TurnOptions,
)
from harness.reference.telemetry import TelemetryBus, TelemetryEvent, TelemetryLogFormatter, correlation
from harness.reference.usage import TokenCounts, UsageLedger

if TYPE_CHECKING:
    from harness.reference.auto import AutoRunPolicy, AutoRunResult, Backoff, UnhandledToolCallError, run_auto
    from harness.reference.codex import Codex
    from harness.reference.exec.transport import CodexExec
    from harness.reference.structured_output import StructuredOutputError, decode_output, schema_for, validate_output
    from harness.reference.thread import StreamedTurn, Thread, Turn

__all__ = [
    "AbortController",
    "AbortError",
    "AbortSignal",
    "AutoRunPolicy",
    "AutoRunResult",
    "Backoff",
    "BinaryNotFoundError",
    "Codex",
    "CodexError",
    "CodexExec",
    "CodexOptions",
    "EventParseError",
    "ExitError",
    "IdleTimeoutError",
    "InvalidOptionsError",
    "LineTooLongError",
    "SignalError",
    "StreamError",
    "StreamedTurn",
    "StructuredOutputError",
    "TelemetryBus",
    "TelemetryEvent",
    "TelemetryLogFormatter",
    "Thread",
    "ThreadOptions",
    "TokenCounts",
    "Turn",
    "TurnFailedError",
    "TurnOptions",
    "UnhandledToolCallError",
    "UsageLedger",
    "correlation",
    "decode_output",
    "run_auto",
    "schema_for",
    "validate_output",
]

_LAZY = {
    "AutoRunPolicy": "harness.reference.auto",
    "AutoRunResult": "harness.reference.auto",
    "Backoff": "harness.reference.auto",
    "UnhandledToolCallError": "harness.reference.auto",
    "run_auto": "harness.reference.auto",
    "StructuredOutputError": "harness.reference.structured_output",
    "decode_output": "harness.reference.structured_output",
    "schema_for": "harness.reference.structured_output",
    "validate_output": "harness.reference.structured_output",
    "Codex": "harness.reference.codex",
    "CodexExec": "harness.reference.exec.transport",
    "StreamedTurn": "harness.reference.thread",
    "Thread": "harness.reference.thread",
    "Turn": "harness.reference.thread",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
