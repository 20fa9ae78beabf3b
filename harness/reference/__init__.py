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

if TYPE_CHECKING:
    from harness.reference.codex import Codex
    from harness.reference.exec import CodexExec
    from harness.reference.thread import StreamedTurn, Thread, Turn

__all__ = [
    "AbortController",
    "AbortError",
    "AbortSignal",
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
    "Thread",
    "ThreadOptions",
    "Turn",
    "TurnFailedError",
    "TurnOptions",
]

_LAZY = {
    "Codex": "harness.reference.codex",
    "CodexExec": "harness.reference.exec",
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
