"""Faults the fake app-server injects on purpose, described as data (Bowtie ``envsonschema`` style).

A fault set is a small mapping, given to :func:`~harness.fake.appserver.build.build_fake_appserver` or carried by
a synthetic session in a ``note`` line (``{"dir": "note", "msg": {"faults": {...}}}``)::

    hang_on: turn/start                 never answer that client request; send nothing more
    never_answer_initialize: true       the same for initialize (a stalled start-up, romp-on/romp PR #1438)
    error_response: {thread/start: {code: -32600, message: "..."}}   answer that request with this error, then
                                        send nothing more (codex's reaction to its own error cannot be invented)
    malformed_frame_after: 3            after the 3rd message sent, one line of truncated JSON
    crash_after: 5                      after the 5th message sent, exit 101 with a Rust-style panic on stderr
    crash_mid_turn: true                the same, right after the first turn/started
    unknown_method: {method: x/y, kind: notification | request, after: turn/started}
                                        a server notification/request codex does not have, once, after the
                                        first message with method ``after``; a request gets the next server id

Why data and not code: the same fault runs against every SDK through the same executable, and a fixture can say
which fault it models next to the session it applies to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import _LocatedError

__all__ = [
    "CRASH_EXIT_CODE",
    "ErrorResponse",
    "FaultError",
    "Faults",
    "UnknownMethod",
    "parse_faults",
]

#: Exit status of a crash fault: what a panicking Rust binary exits with.
CRASH_EXIT_CODE = 101

_KEYS = frozenset(
    {"hang_on", "never_answer_initialize", "error_response", "malformed_frame_after", "crash_after",
     "crash_mid_turn", "unknown_method"}
)


class FaultError(_LocatedError):
    """A fault mapping that cannot be applied (unknown key, wrong type)."""


@dataclass(frozen=True)
class ErrorResponse:
    """A JSON-RPC error the fake answers instead of the recorded result."""

    code: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class UnknownMethod:
    """A server message with a method codex does not have."""

    method: str = "codex/unknownMethod"
    kind: str = "notification"  # or "request"
    after: str = "turn/started"


@dataclass(frozen=True)
class Faults:
    """The parsed fault set; the default injects nothing."""

    hang_on: str | None = None
    error_response: Mapping[str, ErrorResponse] = field(default_factory=dict)
    malformed_frame_after: int | None = None
    crash_after: int | None = None
    crash_mid_turn: bool = False
    unknown_method: UnknownMethod | None = None

    @property
    def any(self) -> bool:
        return self != Faults()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.hang_on is not None:
            out["hang_on"] = self.hang_on
        if self.error_response:
            out["error_response"] = {k: v.to_dict() for k, v in sorted(self.error_response.items())}
        if self.malformed_frame_after is not None:
            out["malformed_frame_after"] = self.malformed_frame_after
        if self.crash_after is not None:
            out["crash_after"] = self.crash_after
        if self.crash_mid_turn:
            out["crash_mid_turn"] = True
        if self.unknown_method is not None:
            um = self.unknown_method
            out["unknown_method"] = {"method": um.method, "kind": um.kind, "after": um.after}
        return out


def _count(value: Any, key: str, where: dict[str, Any]) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FaultError(f"must be a non-negative integer, got {value!r}", field=f"faults.{key}", **where)
    return value


def _flag(value: Any, key: str, where: dict[str, Any]) -> bool:
    if not isinstance(value, bool):
        raise FaultError(f"must be true or false, got {value!r}", field=f"faults.{key}", **where)
    return value


def parse_faults(data: Mapping[str, Any] | Faults | None, *, path: Path | str | None = None,
                 line: int | None = None) -> Faults:
    """Parse a fault mapping (``None`` or ``{}``: no faults); errors name ``faults.<key>``."""
    if data is None:
        return Faults()
    if isinstance(data, Faults):
        return data
    where: dict[str, Any] = {"path": path, "line": line}
    if not isinstance(data, Mapping):
        raise FaultError(f"must be a mapping, got {type(data).__name__}", field="faults", **where)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise FaultError(f"unknown fault {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})", field="faults",
                         **where)
    hang_on = data.get("hang_on")
    if hang_on is not None and (not isinstance(hang_on, str) or not hang_on):
        raise FaultError(f"must be a method name, got {hang_on!r}", field="faults.hang_on", **where)
    if data.get("never_answer_initialize") is not None and _flag(data["never_answer_initialize"],
                                                                   "never_answer_initialize", where):
        if hang_on not in (None, "initialize"):
            raise FaultError("conflicts with hang_on", field="faults.never_answer_initialize", **where)
        hang_on = "initialize"
    errors: dict[str, ErrorResponse] = {}
    raw_errors = data.get("error_response") or {}
    if not isinstance(raw_errors, Mapping):
        raise FaultError("must map a method to {code, message}", field="faults.error_response", **where)
    for method, spec in raw_errors.items():
        key = f"faults.error_response.{method}"
        if not isinstance(spec, Mapping):
            raise FaultError("must be {code, message}", field=key, **where)
        code = spec.get("code", -32603)
        message = spec.get("message", "internal error (fake)")
        if not isinstance(code, int) or isinstance(code, bool):
            raise FaultError(f"code must be an integer, got {code!r}", field=key, **where)
        if not isinstance(message, str):
            raise FaultError(f"message must be a string, got {message!r}", field=key, **where)
        errors[str(method)] = ErrorResponse(code, message)
    unknown_method: UnknownMethod | None = None
    raw_um = data.get("unknown_method")
    if isinstance(raw_um, str):
        unknown_method = UnknownMethod(method=raw_um)
    elif isinstance(raw_um, Mapping):
        kind = raw_um.get("kind", "notification")
        if kind not in ("notification", "request"):
            raise FaultError(f"kind must be 'notification' or 'request', got {kind!r}",
                             field="faults.unknown_method", **where)
        method = raw_um.get("method", UnknownMethod.method)
        after = raw_um.get("after", UnknownMethod.after)
        if not isinstance(method, str) or not isinstance(after, str):
            raise FaultError("method and after must be strings", field="faults.unknown_method", **where)
        unknown_method = UnknownMethod(method=method, kind=kind, after=after)
    elif raw_um is True:
        unknown_method = UnknownMethod()
    elif raw_um not in (None, False):
        raise FaultError(f"must be a method name or a mapping, got {raw_um!r}", field="faults.unknown_method",
                         **where)
    return Faults(
        hang_on=hang_on,
        error_response=errors,
        malformed_frame_after=None if data.get("malformed_frame_after") is None
        else _count(data["malformed_frame_after"], "malformed_frame_after", where),
        crash_after=None if data.get("crash_after") is None else _count(data["crash_after"], "crash_after", where),
        crash_mid_turn=False if data.get("crash_mid_turn") is None
        else _flag(data["crash_mid_turn"], "crash_mid_turn", where),
        unknown_method=unknown_method,
    )
