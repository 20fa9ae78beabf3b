"""The replay state machine of the fake app-server, free of I/O (the server loop feeds it lines and ticks).

Ordering model (app-server-protocol.md §10.3). The server's messages go out **in recorded order**, never
reordered, each held back only until the client messages it is *causally* waiting for have arrived:

- a response waits for its request;
- everything recorded after a client's reply to a server request waits for that reply (codex's reaction —
  ``serverRequest/resolved``, ``item/completed``, the next model request — depends on the decision);
- everything recorded after codex's *response* to a client request waits for that request.

Notifications recorded between a client request and its response do **not** wait for that request: in 0.163.0
``thread/started`` arrives after the client already sent ``turn/start``, and a client that waits for
``thread/started`` before sending ``turn/start`` must not deadlock. Since nothing is reordered, ``turn/completed``
stays last and ``serverRequest/resolved`` keeps its place after an interrupt.

The client's messages are matched **in recorded order** (a run of consecutive replies may come in any order):
requests and notifications by method and loosely compared params (:mod:`.normalize`), replies by the id the fake
issued (server-request ids are 0, 1, 2… per connection, whatever the recording used) and judged by
:mod:`.replies`. The first difference is a :class:`~.report.Divergence`: the fake stops there, because the
recording cannot say how codex would have reacted.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from harness.fake.appserver.faults import CRASH_EXIT_CODE, Faults
from harness.fake.appserver.normalize import PathMap, comparable, redact
from harness.fake.appserver.recording import MessageKind, RecordedMessage, Recording
from harness.fake.appserver.replies import ReplyKind, judge_reply
from harness.fake.appserver.report import Divergence, ReplayReport

__all__ = [
    "DEFAULT_TIMEOUT",
    "ReplayEngine",
    "Wire",
    "causal_gates",
]

#: Seconds the fake waits for the client's next recorded message (a request or a reply) before reporting it.
DEFAULT_TIMEOUT = 10.0

#: The malformed frame a ``malformed_frame_after`` fault writes: a truncated server notification.
MALFORMED_FRAME = b'{"method":"item/started","params":{"item":{"type":"agentMessage","id":'


class Wire(Protocol):
    """Where the engine writes; raises :class:`BrokenPipeError` when the client has gone."""

    def send_line(self, data: bytes) -> None: ...


def causal_gates(recording: Recording) -> dict[int, int]:
    """For each server message index, the highest client-message index it must wait for (``-1``: none)."""
    gates: dict[int, int] = {}
    gate = -1
    for m in recording.messages:
        if m.kind is MessageKind.CLIENT_REPLY:
            gate = max(gate, m.index)
        elif m.kind is MessageKind.SERVER_RESPONSE and m.answers is not None:
            gate = max(gate, m.answers)
        if not m.kind.from_client:
            gates[m.index] = gate
    return gates


def _encode(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class _Issued:
    """A server request the fake sent on this connection."""

    live_id: int
    message: RecordedMessage | None  # None: injected by a fault
    reply: Mapping[str, Any] | None = None


class ReplayEngine:
    """Replays ``recording`` to one client. Feed it with :meth:`on_line`, :meth:`on_eof`, :meth:`on_terminate` and
    :meth:`on_tick` (at :meth:`next_deadline`); stop when :attr:`finished`, then exit with :attr:`exit_code`."""

    def __init__(self, recording: Recording, wire: Wire, *, faults: Faults | None = None,
                 timeout: float = DEFAULT_TIMEOUT, argv: tuple[str, ...] = (),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.recording = recording
        self.wire = wire
        self.faults = faults or Faults()
        self.timeout = timeout
        self.argv = argv
        self.clock = clock
        self.finished = False
        self.exit_code = 0
        self.end = ""
        self.divergence: Divergence | None = None
        self._messages = recording.messages
        self._gates = causal_gates(recording)
        self._client_indices = [m.index for m in self._messages if m.kind.from_client]
        self._received: set[int] = set()
        self._live_request_ids: dict[int, Any] = {}  # recorded client request index -> the client's id
        self._issued: dict[int, _Issued] = {}  # live server-request id -> issue
        self._issued_for: dict[int, int] = {}  # recorded server request index -> live id
        self._next_server_id = 0
        self._cursor = 0  # next message to consider sending
        self._halted = False  # a fault stopped the replay: send nothing more
        self._sent = 0
        self._malformed_sent = False
        self._unknown_sent = False
        self._paths: PathMap | None = None
        self._last_activity = clock()
        self._exchanged: list[dict[str, Any]] = []
        self._fault_events: list[dict[str, Any]] = []
        self._fault_replies: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ state
    @property
    def complete(self) -> bool:
        """Every recorded message has been exchanged."""
        return self._cursor >= len(self._messages) and self._watermark() >= len(self._messages)

    def _watermark(self) -> int:
        for index in self._client_indices:
            if index not in self._received:
                return index
        return len(self._messages)

    def _next_expected(self) -> RecordedMessage | None:
        mark = self._watermark()
        return self._messages[mark] if mark < len(self._messages) else None

    def next_deadline(self) -> float | None:
        """When :meth:`on_tick` must run next (``None``: nothing to time)."""
        if self.finished or self._halted or self._next_expected() is None:
            return None
        expected = self._next_expected()
        assert expected is not None
        if self._cursor < expected.index:  # the fake itself still has messages to send first (never, normally)
            return None
        return self._last_activity + self.timeout

    # ------------------------------------------------------------------ output
    def _send(self, obj: Mapping[str, Any], index: int | None) -> None:
        self._exchanged.append({"dir": "s2c", "index": index, "msg": obj})
        self.wire.send_line(_encode(obj))
        self._sent += 1
        self._last_activity = self.clock()
        self._after_send(obj)

    def _after_send(self, obj: Mapping[str, Any]) -> None:
        f = self.faults
        if f.malformed_frame_after is not None and not self._malformed_sent and self._sent >= f.malformed_frame_after:
            self._malformed_sent = True
            self._fault_events.append({"fault": "malformed_frame_after", "after_sent": self._sent})
            self._exchanged.append({"dir": "s2c", "index": None, "raw": MALFORMED_FRAME.decode()})
            self.wire.send_line(MALFORMED_FRAME)
        um = f.unknown_method
        if um is not None and not self._unknown_sent and obj.get("method") == um.after:
            self._unknown_sent = True
            params = {"threadId": _thread_id(obj), "note": "a method codex does not have (fake fault)"}
            message: dict[str, Any] = {"method": um.method, "params": params}
            if um.kind == "request":
                live = self._issue(None)
                message = {"method": um.method, "id": live, "params": params}
            else:
                message["emittedAtMs"] = int(time.time() * 1000)
            self._fault_events.append({"fault": "unknown_method", "message": message})
            self._send(message, None)
        if (f.crash_after is not None and self._sent >= f.crash_after) or (
            f.crash_mid_turn and obj.get("method") == "turn/started"
        ):
            self._crash()

    def _crash(self) -> None:
        if self.finished:
            return
        self._fault_events.append({"fault": "crash", "after_sent": self._sent})
        sys.stderr.write("thread 'tokio-runtime-worker' panicked at app-server/src/lib.rs:1:1:\n"
                         "fake app-server crash (fault injected by the harness)\n")
        sys.stderr.flush()
        self._finish("crash", CRASH_EXIT_CODE)

    def _issue(self, message: RecordedMessage | None) -> int:
        live = self._next_server_id
        self._next_server_id += 1
        self._issued[live] = _Issued(live, message)
        if message is not None:
            self._issued_for[message.index] = live
        return live

    def _outgoing(self, m: RecordedMessage) -> dict[str, Any]:
        msg: dict[str, Any] = dict(m.msg)
        if m.kind is MessageKind.SERVER_RESPONSE and m.answers is not None:
            msg["id"] = self._live_request_ids[m.answers]
        elif m.kind is MessageKind.SERVER_REQUEST:
            msg["id"] = self._issue(m)
        elif m.method == "serverRequest/resolved" and isinstance(msg.get("params"), dict):
            params = dict(msg["params"])
            recorded = self._recorded_server_request(params.get("requestId"))
            if recorded is not None and recorded.index in self._issued_for:
                params["requestId"] = self._issued_for[recorded.index]
            msg["params"] = params
        if self._paths is not None:
            msg = self._paths.outgoing(msg)
        return msg

    def _recorded_server_request(self, recorded_id: Any) -> RecordedMessage | None:
        for m in self._messages:
            if m.kind is MessageKind.SERVER_REQUEST and m.id == recorded_id and type(m.id) is type(recorded_id):
                return m
        return None

    def pump(self) -> None:
        """Send every server message whose causal predecessors have arrived, in recorded order."""
        while not self.finished and not self._halted and self._cursor < len(self._messages):
            m = self._messages[self._cursor]
            if m.kind.from_client:
                self._cursor += 1
                continue
            if self._gates[m.index] >= self._watermark():
                return
            if m.kind is MessageKind.SERVER_RESPONSE and m.answers is not None:
                request = self._messages[m.answers]
                if self._fault_for_request(request):
                    return
            self._cursor += 1
            try:
                self._send(self._outgoing(m), m.index)
            except BrokenPipeError:
                self.on_eof()
                return

    def _fault_for_request(self, request: RecordedMessage) -> bool:
        """Apply ``hang_on`` / ``error_response`` at the response to ``request``; True if the replay halts."""
        method = request.method or ""
        if self.faults.hang_on == method:
            self._halted = True
            self._fault_events.append({"fault": "hang_on", "method": method, "index": request.index})
            return True
        error = self.faults.error_response.get(method)
        if error is not None:
            self._halted = True
            self._fault_events.append({"fault": "error_response", "method": method, "index": request.index})
            try:
                self._send({"id": self._live_request_ids[request.index], "error": error.to_dict()}, None)
            except BrokenPipeError:
                self.on_eof()
            return True
        return False

    # ------------------------------------------------------------------ input
    def start(self) -> None:
        """Send what codex sends before the client says anything (normally nothing)."""
        self.pump()

    def on_line(self, line: bytes) -> None:
        """One line from the client."""
        if self.finished:
            return
        self._last_activity = self.clock()
        text = line.decode("utf-8", errors="replace").strip()
        if not text:
            return
        try:
            msg = json.loads(text)
        except json.JSONDecodeError as exc:
            self._exchanged.append({"dir": "c2s", "index": None, "raw": text[:2000]})
            self._diverge(self._next_expected(), "malformed_frame", None, text[:200], f"not JSON: {exc.msg}")
            return
        if not isinstance(msg, dict):
            self._exchanged.append({"dir": "c2s", "index": None, "msg": msg})
            self._diverge(self._next_expected(), "malformed_frame", None, msg, "not a JSON object")
            return
        entry: dict[str, Any] = {"dir": "c2s", "index": None, "msg": msg}
        self._exchanged.append(entry)
        if "method" in msg:
            self._on_request(msg, entry)
        elif "id" in msg and ("result" in msg or "error" in msg):
            self._on_reply(msg, entry)
        else:
            self._diverge(self._next_expected(), "malformed_frame", None, msg,
                          "neither a request, a notification nor a reply")
        if not self.finished:
            self.pump()

    def _on_request(self, msg: dict[str, Any], entry: dict[str, Any]) -> None:
        expected = self._next_expected()
        method = msg.get("method")
        is_request = "id" in msg
        if self._halted:
            return  # a fault stopped the replay: codex is not listening any more
        if expected is None:
            self._diverge(None, "extra_message", None, msg, f"{method} after the recording ended")
            return
        if expected.kind is MessageKind.CLIENT_REPLY:
            if method == "turn/interrupt" and is_request and self._pending_requests():
                self._synthesize_interrupt(msg)
                self._diverge(expected, "unrecorded_interrupt", expected.msg, msg,
                              "turn/interrupt while a server request was pending; the recording replies")
                return
            self._diverge(expected, "unexpected_message", expected.msg, msg,
                          f"{method} where the recording has the reply to server request "
                          f"{self._expected_reply_label(expected)}")
            return
        if method != expected.method:
            self._diverge(expected, "method_differs", expected.msg, msg, f"expected {expected.method}, got {method}")
            return
        if is_request != (expected.kind is MessageKind.CLIENT_REQUEST):
            kind = "request" if is_request else "notification"
            self._diverge(expected, "kind_differs", expected.msg, msg, f"{method} sent as a {kind}")
            return
        params = msg.get("params")
        if method == "thread/start" and isinstance(params, dict) and isinstance(params.get("cwd"), str):
            workspace = self.recording.workspace
            if workspace is not None:
                self._paths = PathMap(recorded=workspace, live=params["cwd"])
        got_params = self._paths.incoming(params) if self._paths is not None else params
        if comparable(_params_or_empty(got_params)) != comparable(_params_or_empty(expected.params)):
            want, have = comparable(_params_or_empty(expected.params)), comparable(_params_or_empty(got_params))
            self._diverge(expected, "params_differ", expected.msg, msg,
                          _first_difference(redact(want), redact(have)))
            return
        entry["index"] = expected.index
        self._received.add(expected.index)
        if is_request:
            self._live_request_ids[expected.index] = msg["id"]

    def _expected_reply_label(self, expected: RecordedMessage) -> str:
        live = self._issued_for.get(expected.answers) if expected.answers is not None else None
        return f"id {live} ({expected.method})" if live is not None else f"({expected.method})"

    def _pending_requests(self) -> list[_Issued]:
        return [i for i in self._issued.values() if i.reply is None and i.message is not None]

    def _synthesize_interrupt(self, msg: Mapping[str, Any]) -> None:
        """Codex's documented reaction to ``turn/interrupt`` with a request pending (§4.3 tail): ``{}``, idle,
        ``turn/completed interrupted``, then ``serverRequest/resolved`` for each pending request."""
        params = msg.get("params") if isinstance(msg.get("params"), dict) else {}
        assert isinstance(params, dict)
        thread_id, turn_id = params.get("threadId"), params.get("turnId")
        now = int(time.time() * 1000)
        tail: list[dict[str, Any]] = [
            {"id": msg["id"], "result": {}},
            {"method": "thread/status/changed", "params": {"threadId": thread_id, "status": {"type": "idle"}},
             "emittedAtMs": now},
            {"method": "turn/completed", "params": {"threadId": thread_id, "turn": {
                "id": turn_id, "items": [], "itemsView": "notLoaded", "status": "interrupted", "error": None}},
             "emittedAtMs": now},
        ]
        for issued in self._pending_requests():
            tail.append({"method": "serverRequest/resolved",
                         "params": {"threadId": thread_id, "requestId": issued.live_id}, "emittedAtMs": now})
        self._fault_events.append({"event": "synthesized_interrupt_tail", "messages": len(tail)})
        try:
            for obj in tail:
                self._send(obj, None)
        except BrokenPipeError:
            pass

    def _on_reply(self, msg: dict[str, Any], entry: dict[str, Any]) -> None:
        live_id = msg.get("id")
        issued = self._issued.get(live_id) if isinstance(live_id, int) and not isinstance(live_id, bool) else None
        if issued is None:
            self._diverge(self._next_expected(), "unknown_reply_id", None, msg,
                          f"reply to id {live_id!r}, which this connection never issued")
            return
        if issued.reply is not None:
            self._diverge(self._next_expected(), "duplicate_reply", issued.reply, msg,
                          f"second reply to server request id {live_id}")
            return
        issued.reply = msg
        if issued.message is None:  # a fault-injected request: record how the client answered, nothing to match
            verdict = judge_reply(None, msg)
            self._fault_replies.append({"id": live_id, "kind": verdict.kind.value, "msg": msg})
            return
        if self._halted:
            return
        request = issued.message
        recorded = self.recording.reply_to(request)
        method = request.method
        got = judge_reply(method, msg)
        if recorded is None:
            self._diverge(request, "reply_kind_differs", None, msg,
                          f"the recording never answers server request {live_id} ({method}); "
                          f"the client sent a {got.kind.value} reply")
            return
        blocking = [i for i in self._client_indices if i < recorded.index and i not in self._received
                    and self._messages[i].kind is not MessageKind.CLIENT_REPLY]
        if blocking:
            first = self._messages[blocking[0]]
            self._diverge(first, "unexpected_message", first.msg, msg,
                          f"reply to server request {live_id} before {first.method}, as the recording has it")
            return
        want = judge_reply(method, recorded.msg)
        entry["index"] = recorded.index
        if not _same_reply(self._paths.incoming(msg) if self._paths else msg, recorded.msg):
            if got.kind is not want.kind:
                reason, detail = "reply_kind_differs", f"expected a {want.kind.value} reply, got {got.kind.value}"
            elif not got.valid and want.valid:
                reason, detail = "invalid_reply", "; ".join(got.problems)
            else:
                reason, detail = "reply_differs", _first_difference(redact(_reply_payload(recorded.msg)),
                                                                    redact(_reply_payload(msg)))
            self._diverge(recorded, reason, recorded.msg, msg, detail)
            return
        self._received.add(recorded.index)

    # ------------------------------------------------------------------ endings
    def on_tick(self) -> None:
        """Check the timeout: the client's next recorded message is overdue."""
        deadline = self.next_deadline()
        if deadline is None or self.clock() < deadline:
            return
        expected = self._next_expected()
        assert expected is not None
        if expected.kind is MessageKind.CLIENT_REPLY:
            self._diverge(expected, "no_reply", expected.msg, None,
                          f"no reply to server request {self._expected_reply_label(expected)} "
                          f"within {self.timeout:g} s", end="timeout")
        else:
            self._diverge(expected, "timeout", expected.msg, None,
                          f"no {expected.method} within {self.timeout:g} s", end="timeout")

    def on_eof(self) -> None:
        """The client closed its end (stdin EOF, or stdout gone)."""
        self._close("eof")

    def on_terminate(self) -> None:
        """SIGTERM: like EOF (SDKs often SIGTERM right after closing stdin)."""
        self._close("sigterm")

    def on_signal(self, how: str) -> None:
        """Another fatal signal (``sigint``, ``sighup``): like EOF, the report names it."""
        self._close(how)

    def _close(self, how: str) -> None:
        if self.finished:
            return
        expected = self._next_expected()
        if expected is not None and not self._halted:
            if expected.kind is MessageKind.CLIENT_REPLY:
                self._diverge(expected, "no_reply", expected.msg, None,
                              f"connection closed ({how}) without a reply to server request "
                              f"{self._expected_reply_label(expected)}", end=how)
            else:
                self._diverge(expected, "missing_message", expected.msg, None,
                              f"connection closed ({how}) before {expected.method}", end=how)
            return
        self._finish(how, 0)

    def _diverge(self, at: RecordedMessage | None, reason: str, expected: Any, got: Any, detail: str,
                 *, end: str = "divergence") -> None:
        if self.finished:
            return
        self.divergence = Divergence(
            index=at.index if at is not None else None,
            seq=at.seq if at is not None else None,
            method=at.method if at is not None else None,
            reason=reason,
            expected=redact(expected),
            got=redact(got),
            detail=redact(detail),
        )
        if isinstance(got, Mapping) and "method" in got and "id" in got and reason != "unrecorded_interrupt":
            # answer the offending request, so the client fails fast with a reason instead of hanging
            with contextlib.suppress(BrokenPipeError):
                self.wire.send_line(_encode({"id": got["id"], "error": {
                    "code": -32600, "message": f"fake app-server: diverged from the recording: {reason}"}}))
        self._finish(end, 0)

    def _finish(self, end: str, exit_code: int) -> None:
        self.finished = True
        self.end = end
        self.exit_code = exit_code

    def report(self) -> ReplayReport:
        """The report so far (complete once :attr:`finished`)."""
        replies: list[dict[str, Any]] = []
        for request in self.recording.server_requests():
            recorded = self.recording.reply_to(request)
            live = self._issued_for.get(request.index)
            issued = self._issued.get(live) if live is not None else None
            got = judge_reply(request.method, issued.reply) if issued is not None and issued.reply else None
            replies.append({
                "index": request.index,
                "seq": request.seq,
                "method": request.method,
                "id": live,
                "expected": judge_reply(request.method, recorded.msg if recorded else None).kind.value,
                "got": None if issued is None else (got.kind.value if got else ReplyKind.NO_REPLY.value),
                "valid": None if got is None else got.valid,
                "problems": list(got.problems) if got else [],
            })
        events = list(self._fault_events) + [{"fault": "unknown_method_reply", **r} for r in self._fault_replies]
        return ReplayReport(
            recording=str(self.recording.path),
            scenario=self.recording.name,
            cli_version=self.recording.meta.cli_version,
            divergence=self.divergence,
            complete=self.complete,
            end=self.end or "running",
            replies=tuple(replies),
            fault_events=tuple(redact(events)),
            faults=self.faults.to_dict(),
            argv=tuple(redact(list(self.argv))),
            messages=tuple(redact(self._exchanged)),
        )


def _thread_id(obj: Mapping[str, Any]) -> Any:
    params = obj.get("params")
    return params.get("threadId") if isinstance(params, dict) else None


def _params_or_empty(params: Any) -> Any:
    return {} if params is None else params


def _reply_payload(msg: Mapping[str, Any]) -> Any:
    if "error" in msg:
        error = msg["error"]
        return {"error": {"code": error.get("code")}} if isinstance(error, dict) else {"error": error}
    return {"result": comparable(msg.get("result"))}


def _same_reply(got: Mapping[str, Any], recorded: Mapping[str, Any]) -> bool:
    """Results compare by value (minus volatile fields); errors by code only (messages are the client's prose)."""
    return bool(_reply_payload(got) == _reply_payload(recorded))


def _first_difference(expected: Any, got: Any, path: str = "") -> str:
    """A one-line pointer to the first place ``got`` differs from ``expected``."""
    where = path or "/"
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in sorted(set(expected) | set(got)):
            if key not in got:
                return f"{path}/{key}: missing (recorded {json.dumps(expected[key])[:80]})"
            if key not in expected:
                return f"{path}/{key}: not in the recording (got {json.dumps(got[key])[:80]})"
            if expected[key] != got[key]:
                return _first_difference(expected[key], got[key], f"{path}/{key}")
        return where
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for i, (a, b) in enumerate(zip(expected, got, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}/{i}")
    return f"{where}: recorded {json.dumps(expected)[:80]}, got {json.dumps(got)[:80]}"
