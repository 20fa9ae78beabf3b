"""The reference SDK's typed error taxonomy.

Every failure a Codex SDK can report has its own class, a stable canonical ``kind`` (used in goldens and
parity reports, so it never changes once published) and retry metadata. Messages match the TypeScript SDK's
texts where it has one, so a report can compare wording as well as class.

::

    CodexError                 kind "codex_error"     (base, never raised itself)
    ├── ExitError              kind "exit"            non-zero exit: exit_code, stderr (tail)
    │   └── SignalError        kind "signal"          killed by a signal: signal name/number, stderr (tail)
    ├── EventParseError        kind "parse"           unparsable / invalid line: line_number, raw_line, reason
    │   └── LineTooLongError   kind "line_too_long"   a line over the reader's limit
    ├── TurnFailedError        kind "turn_failed"     a ``turn.failed`` event: message, payload
    ├── StreamError            kind "stream_error"    a top-level ``error`` event (only by opt-in policies)
    ├── IdleTimeoutError       kind "idle_timeout"    no output for ``idle_timeout`` seconds
    ├── AbortError             kind "abort"           cancelled by the caller (abort signal)
    ├── BinaryNotFoundError    kind "binary_missing"  the codex executable cannot be found or run
    └── InvalidOptionsError    kind "invalid_options" bad SDK options (config overrides, output schema, ...)

Every error has ``to_dict()`` (``kind``/``class``/``message`` plus kind-specific ``details``), ``retryable``
and ``retry_after`` (seconds, when the text names a delay).

Harness failures (a broken scenario file, an adapter that cannot be driven) are *not* CodexErrors: they live
in :mod:`harness.errors`.
"""

from __future__ import annotations

import re
import signal as _signal
from typing import Any, ClassVar

__all__ = [
    "AbortError",
    "BinaryNotFoundError",
    "CodexError",
    "EventParseError",
    "ExitError",
    "IdleTimeoutError",
    "InvalidOptionsError",
    "LineTooLongError",
    "SignalError",
    "StreamError",
    "TurnFailedError",
    "classify_retryable",
    "extract_retry_after",
]

# Failure texts of the real CLI (see fixtures/real) that a retry can cure: server overload, rate limits,
# dropped streams, refused connections. A 400 (invalid request) or a missing API key is not retryable.
_RETRYABLE_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"high demand",
        r"\b429\b|too many requests|rate limit",
        r"\b5\d\d\b|internal server error|service unavailable|bad gateway|gateway timeout",
        r"stream disconnected before completion",
        r"idle timeout",
        r"connection failed|error sending request|connection refused|connection reset",
        r"^Reconnecting\.\.\.",
        r"exceeded retry limit",
    )
)


def classify_retryable(message: str) -> bool:
    """Whether a CLI failure text describes a transient condition that a retry may cure."""
    if "invalid_request_error" in message or "Missing environment variable" in message:
        return False
    return any(p.search(message) for p in _RETRYABLE_PATTERNS)


# Delay hints as the CLI and the Responses API word them: the API's rate-limit text "Please try again in 1.5s"
# / "in 20ms" (which codex parses itself, see real-codex-offline.md §7.1) and an echoed ``retry-after: N``
# header.
_RETRY_AFTER_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"try again in\s+(?P<value>\d+(?:\.\d+)?)\s*"
        r"(?P<unit>ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"retry[- ]after[:=]?\s*(?P<value>\d+(?:\.\d+)?)\s*"
        r"(?P<unit>ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)?\b",
        re.IGNORECASE,
    ),
)


def extract_retry_after(message: str) -> float | None:
    """The delay, in seconds, that a failure text asks the caller to wait before retrying, if it names one.

    Only explicit hints count; a bare "429" says *that* a retry may help, not *when*, so it yields ``None``.
    """
    for pattern in _RETRY_AFTER_PATTERNS:
        match = pattern.search(message)
        if match is None:
            continue
        value = float(match.group("value"))
        unit = (match.group("unit") or "s").lower()
        if unit.startswith("ms") or unit.startswith("milli"):
            return value / 1000.0
        if unit.startswith("m"):
            return value * 60.0
        return value
    return None


class CodexError(Exception):
    """Base of every error the reference SDK raises on behalf of codex."""

    kind: ClassVar[str] = "codex_error"

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        """The canonical, JSON-able view used by goldens and reports.

        ``kind``/``class``/``message`` are always present; ``details`` holds the kind-specific fields (exit
        code, line number, ...) so that a report can compare more than wording without parsing the message.
        """
        data: dict[str, Any] = {"kind": self.kind, "class": type(self).__name__, "message": self.message}
        details = self.details()
        if details:
            data["details"] = details
        return data

    def details(self) -> dict[str, Any]:
        """Kind-specific, JSON-able metadata; retry fields only when they say something."""
        data: dict[str, Any] = {}
        if self.retryable:
            data["retryable"] = True
        if self.retry_after is not None:
            data["retry_after"] = self.retry_after
        return data


class ExitError(CodexError):
    """codex exited with a non-zero status: ``Codex Exec exited with code N: <stderr>`` (TS text)."""

    kind: ClassVar[str] = "exit"

    def __init__(self, exit_code: int, stderr: str = "") -> None:
        super().__init__(f"Codex Exec exited with code {exit_code}: {stderr}", retryable=False)
        self.exit_code = exit_code
        self.stderr = stderr

    def details(self) -> dict[str, Any]:
        """The exit code (stderr is already in the message)."""
        return {**super().details(), "exit_code": self.exit_code}


class SignalError(ExitError):
    """codex was killed by a signal: ``Codex Exec exited with signal SIGKILL: <stderr>`` (TS text)."""

    kind: ClassVar[str] = "signal"

    def __init__(self, signal_number: int, stderr: str = "") -> None:
        try:
            name = _signal.Signals(signal_number).name
        except ValueError:
            name = str(signal_number)
        CodexError.__init__(self, f"Codex Exec exited with signal {name}: {stderr}", retryable=False)
        self.exit_code = -signal_number
        self.signal_number = signal_number
        self.signal_name = name
        self.stderr = stderr

    def details(self) -> dict[str, Any]:
        """The signal, by name (stable across platforms) and number."""
        return {**CodexError.details(self), "signal": self.signal_name, "signal_number": self.signal_number}


class EventParseError(CodexError):
    """A line of codex output that is not valid JSON or (in strict mode) not a valid event.

    ``str()`` is the TS SDK's ``Failed to parse item: <line>``; ``reason`` says what is wrong and
    ``line_number`` (1-based, when known) where.
    """

    kind: ClassVar[str] = "parse"

    def __init__(self, raw_line: str, reason: str, *, line_number: int | None = None) -> None:
        super().__init__(f"Failed to parse item: {raw_line}")
        self.raw_line = raw_line
        self.reason = reason
        self.line_number = line_number

    def details(self) -> dict[str, Any]:
        """Where the bad line was; the reason is a diagnostic, not a contract, so it is left out."""
        data = super().details()
        if self.line_number is not None:
            data["line_number"] = self.line_number
        return data

    def describe(self) -> str:
        """A one-line diagnostic naming the line and what is wrong."""
        where = f"line {self.line_number}: " if self.line_number is not None else ""
        shown = self.raw_line if len(self.raw_line) <= 200 else self.raw_line[:200] + "…"
        return f"{where}{self.reason}: {shown}"


class LineTooLongError(EventParseError):
    """A line longer than the reader's configured limit (64 MiB by default)."""

    kind: ClassVar[str] = "line_too_long"

    def __init__(self, limit: int, *, line_number: int | None = None, prefix: str = "") -> None:
        super().__init__(prefix, f"line exceeds the {limit}-byte limit", line_number=line_number)
        self.message = f"Failed to parse item: line {line_number} exceeds the {limit}-byte limit"
        self.args = (self.message,)
        self.limit = limit

    def details(self) -> dict[str, Any]:
        """The line number and the limit that was exceeded."""
        return {**super().details(), "limit": self.limit}


class TurnFailedError(CodexError):
    """A ``turn.failed`` event. ``str()`` is the failure message, as the TS SDK's ``run()`` throws it."""

    kind: ClassVar[str] = "turn_failed"

    def __init__(self, message: str, payload: dict[str, Any] | None = None) -> None:
        super().__init__(
            message, retryable=classify_retryable(message), retry_after=extract_retry_after(message)
        )
        self.payload = payload if payload is not None else {"message": message}


class StreamError(CodexError):
    """A top-level ``error`` event, raised only where a policy asks for it (TS ``run()`` ignores them)."""

    kind: ClassVar[str] = "stream_error"

    def __init__(self, message: str) -> None:
        super().__init__(
            message, retryable=classify_retryable(message), retry_after=extract_retry_after(message)
        )


class IdleTimeoutError(CodexError):
    """codex printed nothing for ``seconds``; the process was terminated."""

    kind: ClassVar[str] = "idle_timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Codex stream idle for {seconds:g} seconds.", retryable=True)
        self.seconds = seconds

    def details(self) -> dict[str, Any]:
        """The configured idle limit."""
        return {**super().details(), "seconds": self.seconds}


class AbortError(CodexError):
    """The caller cancelled the turn. Text as Node's AbortError: ``The operation was aborted``."""

    kind: ClassVar[str] = "abort"

    def __init__(self, message: str = "The operation was aborted") -> None:
        super().__init__(message, retryable=False)


class BinaryNotFoundError(CodexError):
    """The codex executable could not be located or started."""

    kind: ClassVar[str] = "binary_missing"

    def __init__(self, path: str | None, detail: str = "") -> None:
        text = (
            "Unable to locate Codex CLI binaries. "
            "Ensure @openai/codex is installed with optional dependencies."
            if path is None
            else f"Unable to start Codex CLI at {path}: {detail or 'not found'}"
        )
        super().__init__(text, retryable=False)
        self.path = path
        self.detail = detail

    def details(self) -> dict[str, Any]:
        """The path that was tried (``None`` when no binary could be located at all)."""
        return {**super().details(), "path": self.path}


class InvalidOptionsError(CodexError, ValueError):
    """Options the SDK rejects before spawning anything (texts as the TS SDK where it has them)."""

    kind: ClassVar[str] = "invalid_options"
