"""The session plan: what a peer SDK's adapter script must do, derived from a recording on the host side.

The scripts run inside each SDK's own venv and must not import ``harness``, so they cannot read a
:class:`~harness.fake.appserver.recording.Recording` themselves. The host turns the recording into a plain JSON
document (:func:`session_plan`) and writes it on the script's stdin:

- ``initialize``: the recorded ``clientInfo`` and ``capabilities`` (an SDK sets its own ``clientInfo``; the
  capabilities become the SDK's option, e.g. ``experimental_api``, where it has one);
- ``steps``: every client *request* in recorded order (``thread/start``, ``turn/start``, ``turn/interrupt``, any
  other method) with its params (the recorded workspace rewritten to the live one) and its **cue**: the last
  non-response server message recorded before it, as ``{"key": "notification:turn/started", "count": 1}``. A
  script sends a step once it has seen its cue, never by wall time (as the in-tree drivers do);
- ``replies``: for each server request, by ``(method, occurrence)``: what the recording's client answered
  (``result`` / ``error`` / ``none`` — it never replied) and the reply's own cue (a reply recorded *after*
  other client messages waits for it: the accept after an interrupt);
- ``options``: switches of one driver variant (``raw_requests``: send every request through the SDK's raw
  request call instead of its typed methods);
- ``expected``: how many of each non-response server message the recording has, so a script waits for the
  tail of the session (``serverRequest/resolved`` after ``turn/completed``) before it closes the SDK.

The format is versioned (``PLAN_VERSION``) and documented in docs/adapters-peers.md; ``_session.py`` reads it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.fake.appserver.normalize import PathMap
from harness.fake.appserver.recording import MessageKind, RecordedMessage, Recording

__all__ = ["PLAN_VERSION", "server_key", "session_plan"]

PLAN_VERSION = 1


def server_key(m: RecordedMessage) -> str:
    """The counting key of a server message: ``request:M``, ``notification:M`` or ``response:M``."""
    if m.kind is MessageKind.SERVER_RESPONSE:
        return f"response:{m.method or '?'}"
    return f"{'request' if m.kind is MessageKind.SERVER_REQUEST else 'notification'}:{m.method}"


def _cues(recording: Recording) -> dict[int, dict[str, Any] | None]:
    """For each client message: the last non-response server message before it, with its occurrence count."""
    counts: Counter[str] = Counter()
    last: dict[str, Any] | None = None
    out: dict[int, dict[str, Any] | None] = {}
    for m in recording.messages:
        if m.kind.from_client:
            out[m.index] = last
            continue
        key = server_key(m)
        counts[key] += 1
        if m.kind is not MessageKind.SERVER_RESPONSE:
            last = {"key": key, "count": counts[key]}
    return out


def _reply_entry(recording: Recording, request: RecordedMessage, occurrence: int, out: Any,
                 cues: Mapping[int, dict[str, Any] | None]) -> dict[str, Any]:
    entry: dict[str, Any] = {"method": request.method, "occurrence": occurrence,
                             "params": out(request.params) if isinstance(request.params, Mapping) else {}}
    reply = recording.reply_to(request)
    if reply is None:
        return {**entry, "kind": "none", "after": None}
    # a reply is deferred only when the client sent something else after the request and before the reply
    between = [m for m in recording.messages
               if request.index < m.index < reply.index and m.kind.from_client]
    after = cues.get(reply.index) if between else None
    if reply.is_error:
        error = reply.msg.get("error")
        error = error if isinstance(error, Mapping) else {}
        return {**entry, "kind": "error", "after": after,
                "error": {"code": int(error.get("code", -32000)), "message": str(error.get("message", ""))}}
    result = reply.msg.get("result")
    return {**entry, "kind": "result", "after": after, "result": out(result)}


def session_plan(recording: Recording, codex_path: Path, workdir: Path, *, timeout: float,
                 defer_timeout: float, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON plan for ``recording`` against the fake at ``codex_path``, run in ``workdir``.

    ``timeout``: the script's budget for the whole session; ``defer_timeout``: how long a handler may wait for
    a deferred reply's cue before it answers anyway (an SDK whose handler blocks its only reader never sees
    the cue). ``options``: the script's own switches (e.g. ``raw_requests``), passed through."""
    workspace = recording.workspace
    paths = PathMap(recorded=workspace, live=str(workdir)) if workspace else None

    def out(value: Any) -> Any:
        return paths.outgoing(value) if paths is not None else value

    cues = _cues(recording)
    initialize: dict[str, Any] = {"clientInfo": None, "capabilities": None}
    steps: list[dict[str, Any]] = []
    for m in recording.client_messages():
        if m.kind is not MessageKind.CLIENT_REQUEST:
            continue
        params = out(m.params) if isinstance(m.params, Mapping) else {}
        if m.method == "initialize":
            initialize = {"clientInfo": params.get("clientInfo"), "capabilities": params.get("capabilities")}
            continue
        steps.append({"method": m.method, "params": params, "after": cues.get(m.index)})
    occurrences: Counter[str] = Counter()
    replies: list[dict[str, Any]] = []
    for request in recording.server_requests():
        occurrences[request.method or ""] += 1
        replies.append(_reply_entry(recording, request, occurrences[request.method or ""], out, cues))
    expected = Counter(server_key(m) for m in recording.messages
                       if not m.kind.from_client and m.kind is not MessageKind.SERVER_RESPONSE)
    return {
        "version": PLAN_VERSION,
        "scenario": recording.name,
        "codex_path": str(codex_path),
        "cwd": str(workdir),
        "timeout": timeout,
        "defer_timeout": defer_timeout,
        "options": dict(options or {}),
        "initialize": initialize,
        "steps": steps,
        "replies": replies,
        "expected": dict(sorted(expected.items())),
    }
