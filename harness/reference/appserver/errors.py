"""Errors of the app-server client, in the :class:`harness.reference.errors.CodexError` tree.

These are failures an SDK reports to its user, so each has a stable canonical ``kind`` (goldens and reports
compare kinds, never class names) and ``to_dict()`` with kind-specific ``details``::

    CodexError
    ├── AppServerError              kind "appserver"           (base, never raised itself)
    │   ├── JsonRpcError            kind "jsonrpc_error"       an error reply: code, message, data, method
    │   ├── AppServerExitedError    kind "appserver_exited"    the process/stream ended: exit code, stderr tail
    │   ├── AppServerTimeoutError   kind "appserver_timeout"   no response to a request within its timeout
    │   ├── AppServerProtocolError  kind "appserver_protocol"  garbage frame, response to an unknown id, ...
    │   └── AppServerClosedError    kind "appserver_closed"    the client was closed while a call was waiting
    └── TurnFailedError             kind "turn_failed"
        └── AppServerTurnFailedError                           ``turn/completed failed`` or a final ``error``

The turn failure keeps the exec transport's kind ``turn_failed`` on purpose: a parity report compares what
the user saw, and "the turn failed" is the same outcome whichever transport carried it.

Secrets: stderr tails are passed through :func:`redact` before they reach a message, since a crashing
app-server may print its environment or a request with an ``Authorization`` header.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.redact import redact_text
from harness.reference.errors import CodexError, TurnFailedError

__all__ = [
    "AppServerClosedError",
    "AppServerError",
    "AppServerExitedError",
    "AppServerProtocolError",
    "AppServerTimeoutError",
    "AppServerTurnFailedError",
    "JsonRpcError",
    "redact",
]

def redact(text: str) -> str:
    """``text`` with secrets replaced (:func:`harness.redact.redact_text`: keys, tokens, URL userinfo)."""
    return redact_text(text)


class AppServerError(CodexError):
    """Base of the app-server client's transport and protocol failures."""

    kind: ClassVar[str] = "appserver"


class JsonRpcError(AppServerError):
    """The app-server answered a request with ``{"error": {code, message, data?}}``."""

    kind: ClassVar[str] = "jsonrpc_error"

    def __init__(self, code: int, message: str, *, data: Any = None, method: str | None = None) -> None:
        where = f" ({method})" if method else ""
        super().__init__(f"JSON-RPC error {code}{where}: {message}")
        self.code = code
        self.rpc_message = message
        self.data = data
        self.method = method

    def details(self) -> dict[str, Any]:
        """Code, message, method and data (when the server sent any)."""
        data: dict[str, Any] = {**super().details(), "code": self.code, "message": self.rpc_message}
        if self.method is not None:
            data["method"] = self.method
        if self.data is not None:
            data["data"] = self.data
        return data


class AppServerExitedError(AppServerError):
    """The app-server's output ended (it exited or closed stdout) while the client still needed it."""

    kind: ClassVar[str] = "appserver_exited"

    def __init__(self, exit_code: int | None, stderr_tail: str = "") -> None:
        tail = redact(stderr_tail)
        status = "exited" if exit_code is None else f"exited with code {exit_code}"
        super().__init__(f"codex app-server {status}" + (f": {tail.strip()}" if tail.strip() else ""))
        self.exit_code = exit_code
        self.stderr_tail = tail

    def details(self) -> dict[str, Any]:
        """The exit status (``None`` when unknown, e.g. an in-memory transport)."""
        return {**super().details(), "exit_code": self.exit_code}


class AppServerTimeoutError(AppServerError):
    """A request got no response within its timeout (codex itself never times out: §4.3)."""

    kind: ClassVar[str] = "appserver_timeout"

    def __init__(self, method: str, seconds: float) -> None:
        super().__init__(f"codex app-server did not answer {method!r} within {seconds:g} seconds", retryable=True)
        self.method = method
        self.seconds = seconds

    def details(self) -> dict[str, Any]:
        """Which request timed out, and the limit."""
        return {**super().details(), "method": self.method, "seconds": self.seconds}


class AppServerProtocolError(AppServerError):
    """A frame that is not a JSON-RPC message of this protocol, or a response nobody asked for."""

    kind: ClassVar[str] = "appserver_protocol"

    def __init__(self, reason: str, frame: str = "") -> None:
        shown = frame if len(frame) <= 200 else frame[:200] + "…"
        super().__init__(f"app-server protocol error: {reason}" + (f": {shown}" if shown else ""))
        self.reason = reason
        self.frame = frame

    def details(self) -> dict[str, Any]:
        """The reason (the frame itself is in the message, cut to 200 characters)."""
        return {**super().details(), "reason": self.reason}


class AppServerClosedError(AppServerError):
    """The client was closed while a request or a turn was still waiting."""

    kind: ClassVar[str] = "appserver_closed"

    def __init__(self, message: str = "the app-server client was closed") -> None:
        super().__init__(message)


class AppServerTurnFailedError(TurnFailedError):
    """A turn that ended ``failed`` (or saw an ``error`` notification with ``willRetry: false``).

    ``message`` is codex's error text (``turn.error.message``); ``payload`` the error object as sent,
    unknown fields included; ``codex_error_info`` codex's classification (``"other"``, ...).
    """

    def __init__(
        self, message: str, payload: dict[str, Any] | None = None, *, thread_id: str | None, turn_id: str | None
    ) -> None:
        super().__init__(message, payload)
        self.thread_id = thread_id
        self.turn_id = turn_id
        info = (payload or {}).get("codexErrorInfo")
        self.codex_error_info = info

    def details(self) -> dict[str, Any]:
        """codex's error classification when it sent one."""
        data = super().details()
        if self.codex_error_info is not None:
            data["codex_error_info"] = self.codex_error_info
        return data
