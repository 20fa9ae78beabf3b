"""The fake ``codex app-server``: replays recorded JSON-RPC sessions and checks the client's side of them.

- :mod:`.recording` parses a recording (the corpus format as-is) into typed, classified messages;
- :mod:`.engine` is the replay state machine (causal ordering, loose matching, reply checks, faults);
- :mod:`.build` writes the ``codex`` executable any SDK can be pointed at; :mod:`.server` is its process;
- :mod:`.driver` is the client-side seam (``Driver.drive``) with the raw :class:`ScriptedClient`, and
  :mod:`.reference_driver` drives the reference SDK client; :mod:`.replay` ties them together for
  ``harness appserver replay``.

See ``docs/fake-appserver.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.fake.appserver.build import build_fake_appserver
    from harness.fake.appserver.driver import (
        NO_REPLY,
        DriveOutcome,
        Driver,
        ErrorReply,
        NoReply,
        Reply,
        ScriptedClient,
    )
    from harness.fake.appserver.engine import DEFAULT_TIMEOUT, ReplayEngine, causal_gates
    from harness.fake.appserver.faults import ErrorResponse, FaultError, Faults, UnknownMethod, parse_faults
    from harness.fake.appserver.lifecycle import Lifetime, proc_starttime, read_process_log
    from harness.fake.appserver.normalize import PathMap, comparable, redact
    from harness.fake.appserver.recording import (
        MessageKind,
        RecordedMessage,
        Recording,
        RecordingError,
        RecordingMeta,
        load_recording,
        parse_recording,
    )
    from harness.fake.appserver.replay import (
        DRIVERS,
        ReplayResult,
        UnknownImplementationError,
        discover_recordings,
        make_driver,
        replay_recording,
    )
    from harness.fake.appserver.replies import ReplyKind, ReplyVerdict, judge_reply
    from harness.fake.appserver.report import REASONS, Divergence, ReplayReport, read_report, write_report

#: Public name -> defining module. Imported on first use (PEP 562), so the fake app-server process, which
#: imports this package on every start, loads only the modules it needs.
_EXPORTS: dict[str, str] = {
    "DEFAULT_TIMEOUT": "harness.fake.appserver.engine",
    "DRIVERS": "harness.fake.appserver.replay",
    "Divergence": "harness.fake.appserver.report",
    "DriveOutcome": "harness.fake.appserver.driver",
    "Driver": "harness.fake.appserver.driver",
    "ErrorReply": "harness.fake.appserver.driver",
    "ErrorResponse": "harness.fake.appserver.faults",
    "FaultError": "harness.fake.appserver.faults",
    "Faults": "harness.fake.appserver.faults",
    "Lifetime": "harness.fake.appserver.lifecycle",
    "MessageKind": "harness.fake.appserver.recording",
    "NO_REPLY": "harness.fake.appserver.driver",
    "NoReply": "harness.fake.appserver.driver",
    "PathMap": "harness.fake.appserver.normalize",
    "REASONS": "harness.fake.appserver.report",
    "RecordedMessage": "harness.fake.appserver.recording",
    "Recording": "harness.fake.appserver.recording",
    "RecordingError": "harness.fake.appserver.recording",
    "RecordingMeta": "harness.fake.appserver.recording",
    "ReplayEngine": "harness.fake.appserver.engine",
    "ReplayReport": "harness.fake.appserver.report",
    "ReplayResult": "harness.fake.appserver.replay",
    "Reply": "harness.fake.appserver.driver",
    "ReplyKind": "harness.fake.appserver.replies",
    "ReplyVerdict": "harness.fake.appserver.replies",
    "ScriptedClient": "harness.fake.appserver.driver",
    "UnknownImplementationError": "harness.fake.appserver.replay",
    "UnknownMethod": "harness.fake.appserver.faults",
    "build_fake_appserver": "harness.fake.appserver.build",
    "causal_gates": "harness.fake.appserver.engine",
    "comparable": "harness.fake.appserver.normalize",
    "discover_recordings": "harness.fake.appserver.replay",
    "judge_reply": "harness.fake.appserver.replies",
    "load_recording": "harness.fake.appserver.recording",
    "make_driver": "harness.fake.appserver.replay",
    "parse_faults": "harness.fake.appserver.faults",
    "parse_recording": "harness.fake.appserver.recording",
    "proc_starttime": "harness.fake.appserver.lifecycle",
    "read_process_log": "harness.fake.appserver.lifecycle",
    "read_report": "harness.fake.appserver.report",
    "redact": "harness.fake.appserver.normalize",
    "replay_recording": "harness.fake.appserver.replay",
    "write_report": "harness.fake.appserver.report",
}

__all__ = [
    "DEFAULT_TIMEOUT",
    "DRIVERS",
    "Divergence",
    "DriveOutcome",
    "Driver",
    "ErrorReply",
    "ErrorResponse",
    "FaultError",
    "Faults",
    "Lifetime",
    "MessageKind",
    "NO_REPLY",
    "NoReply",
    "PathMap",
    "REASONS",
    "RecordedMessage",
    "Recording",
    "RecordingError",
    "RecordingMeta",
    "ReplayEngine",
    "ReplayReport",
    "ReplayResult",
    "Reply",
    "ReplyKind",
    "ReplyVerdict",
    "ScriptedClient",
    "UnknownImplementationError",
    "UnknownMethod",
    "build_fake_appserver",
    "causal_gates",
    "comparable",
    "discover_recordings",
    "judge_reply",
    "load_recording",
    "make_driver",
    "parse_faults",
    "parse_recording",
    "proc_starttime",
    "read_process_log",
    "read_report",
    "redact",
    "replay_recording",
    "write_report",
]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
