"""A recorded ``codex app-server`` session, parsed into typed messages.

A recording is the corpus format as-is (``/work/shared/corpus/appserver/<v>/*.jsonl``): one JSON object per line,
``{"seq", "t", "dir": "c2s" | "s2c" | "note", "msg"}``, with an optional ``<stem>.meta.json`` beside it. Everything
the replayer needs is derived from the messages themselves (SDK recordings have no ``initialize_params`` in their
meta); the meta only adds provenance (CLI version, scenario name). A ``note`` line may carry ``{"faults": {...}}``:
that is how the project's synthetic fault sessions say which fault the fake must inject (data-driven, like
Bowtie's ``envsonschema``).

Why classify every message up front: the fake app-server's matching rules depend on what a message *is* (a
response is causal on its request, a client reply on its server request, a notification on neither), and a bad
recording must fail at load time with ``file:line: field: message`` rather than half-way through a replay.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import _LocatedError

__all__ = [
    "MessageKind",
    "RecordedMessage",
    "Recording",
    "RecordingError",
    "RecordingMeta",
    "load_recording",
    "parse_recording",
]

JsonObject = Mapping[str, Any]


class RecordingError(_LocatedError):
    """A recording (or its meta) that cannot be replayed: ``file:line: field: message``. CLI exit status 2."""


class MessageKind(enum.Enum):
    """What a recorded message is, from the direction and the JSON-RPC envelope."""

    CLIENT_REQUEST = "client_request"
    CLIENT_NOTIFICATION = "client_notification"
    CLIENT_REPLY = "client_reply"  # the client's answer to a server request
    SERVER_RESPONSE = "server_response"  # codex's answer to a client request
    SERVER_NOTIFICATION = "server_notification"
    SERVER_REQUEST = "server_request"

    @property
    def from_client(self) -> bool:
        return self in (MessageKind.CLIENT_REQUEST, MessageKind.CLIENT_NOTIFICATION, MessageKind.CLIENT_REPLY)


@dataclass(frozen=True)
class RecordedMessage:
    """One JSON-RPC message of the session.

    ``index`` is the position among the c2s/s2c messages (notes excluded) and is what reports refer to; ``line``
    is the 1-based line in the file. ``method`` is the message's own method, or for a response/reply the method of
    the request it answers (``None`` when that request is not in the recording). ``answers`` is the index of that
    request."""

    index: int
    seq: int
    t: float
    line: int
    kind: MessageKind
    msg: JsonObject
    method: str | None
    answers: int | None = None

    @property
    def id(self) -> Any:
        return self.msg.get("id")

    @property
    def params(self) -> Any:
        return self.msg.get("params")

    @property
    def is_error(self) -> bool:
        return "error" in self.msg


@dataclass(frozen=True)
class RecordingMeta:
    """Provenance and inputs of the session (from ``.meta.json`` when present, else derived from the messages)."""

    scenario: str
    cli_version: str | None
    initialize_params: JsonObject | None
    thread_start_params: JsonObject | None
    turn_start_params: tuple[JsonObject, ...]
    client_replies: tuple[JsonObject, ...]
    faults: JsonObject | None = None
    raw: JsonObject = field(default_factory=dict)


@dataclass(frozen=True)
class Recording:
    """A parsed session: every message in order, classified, plus the meta."""

    path: Path
    messages: tuple[RecordedMessage, ...]
    notes: tuple[JsonObject, ...]
    meta: RecordingMeta

    @property
    def name(self) -> str:
        return self.meta.scenario

    def client_messages(self) -> tuple[RecordedMessage, ...]:
        return tuple(m for m in self.messages if m.kind.from_client)

    def server_requests(self) -> tuple[RecordedMessage, ...]:
        return tuple(m for m in self.messages if m.kind is MessageKind.SERVER_REQUEST)

    def reply_to(self, request: RecordedMessage) -> RecordedMessage | None:
        """The client's recorded reply to server request ``request`` (``None``: the client never replied)."""
        for m in self.messages:
            if m.kind is MessageKind.CLIENT_REPLY and m.answers == request.index:
                return m
        return None

    def response_to(self, request: RecordedMessage) -> RecordedMessage | None:
        """Codex's recorded response to client request ``request``."""
        for m in self.messages:
            if m.kind is MessageKind.SERVER_RESPONSE and m.answers == request.index:
                return m
        return None

    @property
    def workspace(self) -> str | None:
        """The recorded workspace path (``thread/start`` ``cwd``), which the fake rewrites to the client's."""
        params = self.meta.thread_start_params
        cwd = params.get("cwd") if params else None
        return cwd if isinstance(cwd, str) and cwd else None


def load_recording(path: Path | str) -> Recording:
    """Read and parse ``path`` (and ``<stem>.meta.json`` beside it, if any)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"cannot read recording: {exc}", path=path) from None
    meta_path = path.with_name(path.name.removesuffix(".jsonl") + ".meta.json")
    meta: JsonObject | None = None
    if meta_path.is_file():
        try:
            loaded = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            line = getattr(exc, "lineno", None)
            raise RecordingError(f"invalid meta JSON: {exc}", path=meta_path, line=line) from None
        if not isinstance(loaded, dict):
            raise RecordingError("meta must be a JSON object", path=meta_path, line=1)
        meta = loaded
    return parse_recording(text, path=path, meta=meta)


def parse_recording(text: str, *, path: Path | str = "<recording>", meta: JsonObject | None = None) -> Recording:
    """Parse the text of a recording; ``meta`` is the decoded ``.meta.json`` (optional)."""
    path = Path(path)
    messages: list[RecordedMessage] = []
    notes: list[JsonObject] = []
    client_requests: dict[Any, RecordedMessage] = {}  # recorded id -> request
    server_requests: dict[Any, RecordedMessage] = {}
    answered: set[int] = set()
    for lineno, raw_line in enumerate(text.split("\n"), start=1):
        if not raw_line.strip():
            continue
        entry = _decode_line(raw_line, path, lineno)
        direction = entry.get("dir")
        msg = entry.get("msg")
        if direction not in ("c2s", "s2c", "note"):
            raise RecordingError(f"expected 'c2s', 's2c' or 'note', got {direction!r}", path=path, line=lineno,
                                 field="dir")
        if not isinstance(msg, dict):
            raise RecordingError("must be a JSON object", path=path, line=lineno, field="msg")
        if direction == "note":
            notes.append(msg)
            continue
        seq = entry.get("seq", len(messages))
        t = entry.get("t", 0.0)
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise RecordingError(f"must be an integer, got {seq!r}", path=path, line=lineno, field="seq")
        if not isinstance(t, int | float) or isinstance(t, bool):
            raise RecordingError(f"must be a number, got {t!r}", path=path, line=lineno, field="t")
        kind = _classify(msg, direction, path, lineno)
        index = len(messages)
        method: str | None = msg.get("method")
        answers: int | None = None
        if kind in (MessageKind.CLIENT_REQUEST, MessageKind.SERVER_REQUEST):
            table = client_requests if kind is MessageKind.CLIENT_REQUEST else server_requests
            key = _id_key(msg["id"])
            if key in table:
                raise RecordingError(f"duplicate request id {msg['id']!r} (first at line {table[key].line})",
                                     path=path, line=lineno, field="msg.id")
        elif kind in (MessageKind.SERVER_RESPONSE, MessageKind.CLIENT_REPLY):
            table = client_requests if kind is MessageKind.SERVER_RESPONSE else server_requests
            request = table.get(_id_key(msg.get("id")))
            if request is None and kind is MessageKind.SERVER_RESPONSE and msg.get("id") is not None:
                raise RecordingError(f"response to id {msg.get('id')!r}, which no earlier client request has",
                                     path=path, line=lineno, field="msg.id")
            if request is not None:
                if kind is MessageKind.SERVER_RESPONSE and request.index in answered:
                    raise RecordingError(f"second response to request id {msg.get('id')!r}", path=path,
                                         line=lineno, field="msg.id")
                answered.add(request.index)
                answers = request.index
                method = request.method
        message = RecordedMessage(index=index, seq=seq, t=float(t), line=lineno, kind=kind, msg=msg,
                                  method=method, answers=answers)
        if kind is MessageKind.CLIENT_REQUEST:
            client_requests[_id_key(msg["id"])] = message
        elif kind is MessageKind.SERVER_REQUEST:
            server_requests[_id_key(msg["id"])] = message
        messages.append(message)
    if not messages:
        raise RecordingError("no c2s/s2c messages", path=path)
    return Recording(path=path, messages=tuple(messages), notes=tuple(notes),
                     meta=_meta(path, messages, notes, meta))


def _decode_line(raw_line: str, path: Path, lineno: int) -> dict[str, Any]:
    try:
        entry = json.loads(raw_line)
    except json.JSONDecodeError as exc:
        raise RecordingError(f"invalid JSON: {exc.msg}", path=path, line=lineno, column=exc.colno) from None
    if not isinstance(entry, dict):
        raise RecordingError("each line must be a JSON object {seq, t, dir, msg}", path=path, line=lineno)
    return entry


def _id_key(value: Any) -> tuple[str, Any]:
    """Ids are compared with their type: ``1`` and ``"1"`` are different requests (codex echoes the type)."""
    return (type(value).__name__, value)


def _classify(msg: JsonObject, direction: str, path: Path, lineno: int) -> MessageKind:
    has_method = "method" in msg
    has_id = "id" in msg
    if has_method:
        if not isinstance(msg["method"], str) or not msg["method"]:
            raise RecordingError("must be a non-empty string", path=path, line=lineno, field="msg.method")
        if has_id and not _valid_id(msg["id"]):
            raise RecordingError(f"must be an integer or a string, got {msg['id']!r}", path=path, line=lineno,
                                 field="msg.id")
        if "params" in msg and not isinstance(msg["params"], dict | list):
            raise RecordingError("must be an object or an array", path=path, line=lineno, field="msg.params")
        if direction == "c2s":
            return MessageKind.CLIENT_REQUEST if has_id else MessageKind.CLIENT_NOTIFICATION
        return MessageKind.SERVER_REQUEST if has_id else MessageKind.SERVER_NOTIFICATION
    if not has_id:
        raise RecordingError("neither a request, a notification nor a response (no 'method', no 'id')", path=path,
                             line=lineno, field="msg")
    if ("result" in msg) == ("error" in msg):
        raise RecordingError("a response needs exactly one of 'result' and 'error'", path=path, line=lineno,
                             field="msg")
    if "error" in msg:
        error = msg["error"]
        if not isinstance(error, dict) or not isinstance(error.get("code"), int):
            raise RecordingError("must be an object with an integer 'code'", path=path, line=lineno,
                                 field="msg.error")
    return MessageKind.CLIENT_REPLY if direction == "c2s" else MessageKind.SERVER_RESPONSE


def _valid_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)


def _first_params(messages: list[RecordedMessage], method: str) -> JsonObject | None:
    for m in messages:
        if m.kind is MessageKind.CLIENT_REQUEST and m.method == method and isinstance(m.params, dict):
            return m.params
    return None


def _meta(path: Path, messages: list[RecordedMessage], notes: list[JsonObject],
          meta: JsonObject | None) -> RecordingMeta:
    raw: JsonObject = meta or {}
    faults: JsonObject | None = None
    for note in notes:
        if "faults" in note:
            if not isinstance(note["faults"], dict):
                raise RecordingError("must be an object", path=path, field="note.faults")
            faults = note["faults"]
    replies = tuple(
        {"request_id": m.id, "method": m.method, "action": {"error": m.msg["error"]} if m.is_error
         else {"result": m.msg.get("result")}}
        for m in messages if m.kind is MessageKind.CLIENT_REPLY
    )
    version = raw.get("cli_version")
    scenario = raw.get("scenario")
    return RecordingMeta(
        scenario=scenario if isinstance(scenario, str) and scenario else path.name.removesuffix(".jsonl"),
        cli_version=version if isinstance(version, str) else None,
        initialize_params=_first_params(messages, "initialize"),
        thread_start_params=_first_params(messages, "thread/start"),
        turn_start_params=tuple(
            m.params for m in messages
            if m.kind is MessageKind.CLIENT_REQUEST and m.method == "turn/start" and isinstance(m.params, dict)
        ),
        client_replies=replies,
        faults=faults,
        raw=raw,
    )
