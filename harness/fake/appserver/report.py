"""The fake app-server's report: did the client behave as recorded, and if not, where did it part.

Written as JSON, atomically (a client that SIGTERMs the fake right after closing stdin must still find a complete
file), with secrets redacted. ``divergence`` is the *first* difference only: after it the recording says nothing
about what codex would have done, so the fake stops there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness._atomic import write_text_atomic
from harness.errors import FixtureError

__all__ = [
    "REASONS",
    "Divergence",
    "ReplayReport",
    "read_report",
    "write_report",
]

#: Every ``divergence.reason``, with what it means (stable strings: tests, baselines and docs refer to them).
REASONS: Mapping[str, str] = {
    "method_differs": "the client sent another method than the recording's next client message",
    "kind_differs": "a request where the recording has a notification, or the other way round",
    "params_differ": "same method, different params (after dropping volatile fields and rewriting paths)",
    "unexpected_message": "the client sent something the recording has not at this point",
    "unrecorded_interrupt": "turn/interrupt while a server request was pending, not in the recording",
    "missing_message": "the client closed the connection before sending the recording's next message",
    "timeout": "the client sent nothing within the timeout where the recording has a client message",
    "no_reply": "the client did not answer a server request the recording answers",
    "reply_kind_differs": "result vs {} vs JSON-RPC error vs no reply differ from the recording",
    "reply_differs": "a reply of the same kind with another value (e.g. another decision)",
    "invalid_reply": "a reply whose result does not match the request's response schema",
    "unknown_reply_id": "a reply to an id the fake never issued",
    "duplicate_reply": "a second reply to the same server request",
    "extra_message": "a client message after the recording ended",
    "malformed_frame": "a line from the client that is not a JSON-RPC message",
}


@dataclass(frozen=True)
class Divergence:
    """Where the client first parted from the recording: the recorded message (``index``, ``seq``, ``method``)
    and what came instead."""

    index: int | None
    seq: int | None
    method: str | None
    reason: str
    expected: Any
    got: Any
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "seq": self.seq, "method": self.method, "reason": self.reason,
                "expected": self.expected, "got": self.got, "detail": self.detail}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Divergence:
        return cls(index=data.get("index"), seq=data.get("seq"), method=data.get("method"),
                   reason=str(data.get("reason")), expected=data.get("expected"), got=data.get("got"),
                   detail=str(data.get("detail") or ""))

    def summary(self) -> str:
        where = f"message {self.index} (seq {self.seq})" if self.index is not None else "after the recording"
        method = f" {self.method}" if self.method else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{where}{method}: {self.reason}{detail}"


@dataclass(frozen=True)
class ReplayReport:
    """What one fake app-server connection saw."""

    recording: str
    scenario: str
    cli_version: str | None
    divergence: Divergence | None
    complete: bool
    end: str  # eof | sigterm | divergence | crash | timeout
    replies: tuple[Mapping[str, Any], ...] = ()
    fault_events: tuple[Mapping[str, Any], ...] = ()
    faults: Mapping[str, Any] = field(default_factory=dict)
    argv: tuple[str, ...] = ()
    messages: tuple[Mapping[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "recording": self.recording,
            "scenario": self.scenario,
            "cli_version": self.cli_version,
            "ok": self.ok,
            "complete": self.complete,
            "end": self.end,
            "divergence": self.divergence.to_dict() if self.divergence else None,
            "replies": list(self.replies),
            "faults": dict(self.faults),
            "fault_events": list(self.fault_events),
            "argv": list(self.argv),
            "messages": list(self.messages),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReplayReport:
        div = data.get("divergence")
        return cls(
            recording=str(data.get("recording")),
            scenario=str(data.get("scenario")),
            cli_version=data.get("cli_version"),
            divergence=Divergence.from_dict(div) if isinstance(div, Mapping) else None,
            complete=bool(data.get("complete")),
            end=str(data.get("end")),
            replies=tuple(data.get("replies") or ()),
            fault_events=tuple(data.get("fault_events") or ()),
            faults=dict(data.get("faults") or {}),
            argv=tuple(data.get("argv") or ()),
            messages=tuple(data.get("messages") or ()),
        )


def write_report(path: Path, report: ReplayReport) -> None:
    """Write ``report`` atomically (secrets are redacted by the engine before they get here)."""
    write_text_atomic(path, json.dumps(report.to_dict(), indent=1, ensure_ascii=False) + "\n")


def read_report(path: Path) -> ReplayReport:
    """Read a report written by :func:`write_report`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FixtureError("the fake app-server wrote no report (was it started at all?)", path=path) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise FixtureError(f"unreadable report: {exc}", path=path) from None
    if not isinstance(data, dict):
        raise FixtureError("report must be a JSON object", path=path)
    return ReplayReport.from_dict(data)
