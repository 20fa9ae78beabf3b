"""A fake OpenAI Responses API on 127.0.0.1 that the real codex can talk to (``POST /v1/responses`` → SSE).

The server only transports: *what* to answer comes from a :class:`Responder` (the seam). :class:`ScriptedResponder`
answers the n-th request with the n-th scripted response (strict: a request beyond the script gets HTTP 500 and is
flagged in :attr:`FakeResponsesServer.problems`, so a case that made more model requests than expected is visible).
Every request is recorded (method, path, headers with the authorization value redacted, body, and the answer) in
memory and, optionally, appended to a JSONL log.

Why threads and ``http.server``: stdlib only, one request at a time is all codex needs, and a hang must not block
other requests (codex retries on a fresh connection). The stream always ends with ``Connection: close``: codex
delivers the turn only when the HTTP stream ends after ``response.completed``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from harness.fake.responses.render import Answer, IdSource, RequestView, render
from harness.fake.responses.script import Script

__all__ = ["FakeResponsesServer", "Responder", "ScriptedResponder", "redact_headers", "sse_bytes"]

_SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key", "openai-api-key")


class Responder(Protocol):
    """Decides the answer to one model request."""

    def respond(self, request: RequestView, ids: IdSource) -> Answer:
        """The answer for ``request``; ``ids`` hands out deterministic ids."""
        ...


class ScriptedResponder:
    """The n-th request gets the n-th scripted response (``times`` expanded)."""

    def __init__(self, script: Script) -> None:
        self._responses = script.expanded()
        self._next = 0
        self._lock = threading.Lock()
        self.exhausted = 0

    def respond(self, request: RequestView, ids: IdSource) -> Answer:
        with self._lock:
            index = self._next
            self._next += 1
        if index >= len(self._responses):
            with self._lock:
                self.exhausted += 1
            body = {"error": {"message": f"fake model script exhausted: request {index + 1} of {len(self._responses)}"}}
            return Answer(status=500, body=body)
        return render(self._responses[index], request, ids)

    @property
    def used(self) -> int:
        return min(self._next, len(self._responses))

    @property
    def expected(self) -> int:
        return len(self._responses)


def sse_bytes(event: Mapping[str, Any]) -> bytes:
    """One SSE event: ``event: <type>`` and ``data: <json>`` lines, a blank line."""
    return f"event: {event.get('type')}\ndata: {json.dumps(event)}\n\n".encode()


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to record: credential values become ``<redacted>`` (an auth scheme word is kept)."""
    out: dict[str, str] = {}
    for key, value in headers.items():
        if key.lower() in _SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[key.lower()] = f"{scheme} <redacted>".strip()
        else:
            out[key.lower()] = value
    return out


class FakeResponsesServer:
    """``with FakeResponsesServer(responder) as server: server.url`` — binds 127.0.0.1 only (port 0: any free port)."""

    def __init__(self, responder: Responder, *, port: int = 0, log_path: Path | None = None) -> None:
        self.responder = responder
        self.log_path = log_path
        self.records: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self._ids = IdSource()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The ``base_url`` for codex's provider config."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeResponsesServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-responses", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; a hanging answer is woken up and closed."""
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeResponsesServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- request handling

    def _record(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False)
        with self._lock:
            self.records.append(record)
            if self.log_path is not None:
                with self.log_path.open("a", encoding="utf-8") as handle:
                    handle.write(line + "\n")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                """Silent: the JSONL log is the record."""

            def do_GET(self) -> None:  # noqa: N802 - stdlib naming
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"models": []})
                else:
                    self._json(404, {"error": {"message": f"no route for GET {self.path}"}})
                server._record(self._base(None, {"status": self._status}))

            def do_POST(self) -> None:  # noqa: N802 - stdlib naming
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                if not self.path.rstrip("/").endswith("/responses") or not isinstance(body, dict):
                    self._json(404, {"error": {"message": f"no route for POST {self.path}"}})
                    server._record(self._base(body, {"status": 404}))
                    return
                answer = server.responder.respond(RequestView(body), server._ids)
                server._record(self._base(body, answer.to_log()))
                self._answer(answer)

            _status = 0

            def _base(self, body: Any, answer: dict[str, Any]) -> dict[str, Any]:
                headers = redact_headers({k: v for k, v in self.headers.items()})
                return {
                    "t": round(time.time(), 3),
                    "method": self.command,
                    "path": self.path,
                    "headers": headers,
                    "body": body,
                    "answer": answer,
                }

            def _json(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self._status = status
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

            def _answer(self, answer: Answer) -> None:
                if answer.status != 200:
                    self._json(answer.status, answer.body or {}, answer.headers)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.close_connection = True
                try:
                    for event in answer.events:
                        self.wfile.write(sse_bytes(event))
                        self.wfile.flush()
                    if answer.hang_seconds:
                        server._stop.wait(answer.hang_seconds)
                except (BrokenPipeError, ConnectionResetError):
                    return

        return Handler
