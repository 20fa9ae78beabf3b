"""Shared runtime of the app-server peer *matrix* adapters (``*_adapter.py``): stdlib only, a script sibling.

The replay scripts (``*_script.py``) follow a recording's plan; these adapters instead speak the adapter protocol
(docs/adapters.md: ``start`` / ``run`` / ``stop`` as JSON lines) and run an app-server **case**: ``thread_params``,
the turns, ``approvals`` and ``tools``, answering each server request the way an application using the SDK would,
through the SDK's own handler mechanism. What the SDK then puts on the wire is what the fake app-server checks;
this module only decides *what the application wants to answer* (:func:`answer_for`) and assembles the SDK-side
observation (:class:`TurnLog`), so the three adapters differ only in how they reach their SDK.

Like ``_common.py`` (the exec peers' loop) it keeps the real stdout for the protocol and points fd 1 at stderr,
so nothing an SDK prints can corrupt the channel; each case runs in a worker thread under :data:`CASE_BUDGET`
seconds and ``stop`` is set at its end, which releases any handler still holding a request.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

__all__ = [
    "APPROVAL_METHODS",
    "Answer",
    "CASE_BUDGET",
    "Case",
    "TurnLog",
    "UnknownToolError",
    "answer_for",
    "close_when",
    "serve",
    "to_jsonable",
    "turn_input",
]

PROTOCOL_VERSION = 1
#: Longest one case may take in the adapter (the fake gives up on a silent client after at most 5 s).
CASE_BUDGET = 8.0
APPROVAL_METHODS = frozenset({
    "item/commandExecution/requestApproval",
    "item/fileChange/requestApproval",
    "mcpServer/elicitation/request",
    "item/permissions/requestApproval",
})
_MCP = "mcpServer/elicitation/request"
_TOOL_CALL = "item/tool/call"
_USER_INPUT = "item/tool/requestUserInput"
_MCP_ACTION = {"accept": "accept", "acceptForSession": "accept", "decline": "decline", "cancel": "cancel"}


class UnknownToolError(LookupError):
    """The application has no tool of that name (what its dispatch raises; the SDK decides the reply)."""


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the application answers to one server request.

    ``kind``: ``result`` (``value``), ``error`` (a JSON-RPC error ``{code, message}`` in ``value``), ``none`` (never
    answer: hold the request until the case ends), ``raise`` (the application's handler raises ``exception``) or
    ``unhandled`` (the application has no answer: leave it to the SDK's default). ``delay``: seconds the
    application takes before answering (a slow tool)."""

    kind: str
    value: Any = None
    delay: float = 0.0
    exception: BaseException | None = None


@dataclasses.dataclass(frozen=True)
class Case:
    """The fields of an app-server case the adapters use (docs/adapters.md, "App-server cases")."""

    id: str
    turns: tuple[Mapping[str, Any], ...]
    thread_params: Mapping[str, Any]
    approvals: Mapping[str, Any]
    tools: tuple[Mapping[str, Any], ...]
    env: Mapping[str, str]
    config: Mapping[str, Any]

    @property
    def holds_approvals(self) -> bool:
        """A ``close_client: {when: approval_pending}`` probe: approvals stay unanswered whatever the policy."""
        return any(close_when(turn) == "approval_pending" for turn in self.turns)

    @classmethod
    def from_json(cls, case: Mapping[str, Any]) -> Case:
        options = case.get("codex_options") or {}
        config = options.get("config")
        return cls(str(case.get("id", "")), tuple(case.get("turns") or ()), dict(case.get("thread_params") or {}),
                   dict(case.get("approvals") or {"policy": "decline"}), tuple(case.get("tools") or ()),
                   {str(k): str(v) for k, v in (options.get("env") or {}).items()},
                   dict(config) if isinstance(config, Mapping) else {})

    def config_args(self) -> list[str]:
        """``key=<TOML value>`` per leaf of ``codex_options.config`` (JSON scalars are valid TOML)."""
        out: list[str] = []

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, Mapping):
                for key, item in value.items():
                    walk(f"{prefix}.{key}" if prefix else str(key), item)
            else:
                out.append(f"{prefix}={json.dumps(value)}")

        walk("", self.config)
        return out

    def tool(self, name: Any, namespace: Any) -> Mapping[str, Any] | None:
        for spec in self.tools:
            if spec.get("name") == name and spec.get("namespace") == (namespace or None):
                return spec
        return None


def close_when(turn: Mapping[str, Any]) -> str | None:
    """The turn's ``close_client`` moment (``turn_started`` / ``approval_pending``), or ``None``: when the application
    closes the client mid-turn, in the SDK's idiom, and walks away (docs/adapters.md, "App-server: close_client")."""
    spec = turn.get("close_client")
    when = spec.get("when") if isinstance(spec, Mapping) else None
    return str(when) if when is not None else None


def turn_input(value: Any) -> list[dict[str, Any]]:
    """A case turn's input as ``turn/start`` items: text parts as ``text``, ``local_image`` as ``localImage``."""
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    items: list[dict[str, Any]] = []
    for part in value or ():
        if part.get("type") == "local_image":
            items.append({"type": "localImage", "path": str(part["path"])})
        else:
            items.append({"type": "text", "text": str(part.get("text", ""))})
    return items


def _tool_reply(result: Any) -> dict[str, Any]:
    if isinstance(result, Mapping) and set(result) == {"failure"}:
        return {"contentItems": [{"type": "inputText", "text": str(result["failure"])}], "success": False}
    if isinstance(result, list):
        return {"contentItems": list(result), "success": True}
    return {"contentItems": [{"type": "inputText", "text": str(result)}], "success": True}


def answer_for(case: Case, method: str, params: Mapping[str, Any] | None) -> Answer:
    """What the case's application answers to server request ``method``: the approval policy in each kind's
    shape, a dynamic tool's result (its ``sleep_s`` as the delay, its ``raise`` as the exception), the user-input
    answers; anything else is ``unhandled``. No SDK here has an approval timeout, so ``timeout`` never answers."""
    params = params or {}
    if method in APPROVAL_METHODS:
        policy = "none" if case.holds_approvals else str(case.approvals.get("policy", "decline"))
        if policy in ("none", "timeout"):
            return Answer("none")
        if policy == "empty":
            return Answer("result", {})
        if policy == "error":
            return Answer("error", {"code": int(case.approvals.get("code", -32000)),
                                    "message": str(case.approvals.get("message", "client refuses to decide"))})
        if method == _MCP:
            action = _MCP_ACTION.get(policy, "decline")
            content = case.approvals.get("content") if action == "accept" else None
            return Answer("result", {"action": action, "content": content})
        return Answer("result", {"decision": policy})
    if method == _TOOL_CALL:
        spec = case.tool(params.get("tool"), params.get("namespace"))
        if spec is None:
            return Answer("raise", exception=UnknownToolError(f"unknown tool: {params.get('tool')}"))
        delay = float(spec.get("sleep_s") or 0.0)
        if spec.get("raise") is not None:
            return Answer("raise", delay=delay, exception=RuntimeError(str(spec["raise"])))
        return Answer("result", _tool_reply(spec.get("result")), delay=delay)
    if method == _USER_INPUT and case.approvals.get("answers"):
        answers = case.approvals["answers"]
        return Answer("result", {"answers": {qid: {"answers": list(a)} for qid, a in answers.items()}})
    return Answer("unhandled")


def to_jsonable(value: Any) -> Any:
    """Plain JSON of an SDK value: pydantic models by alias (the wire's names), dataclasses field by field."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return to_jsonable(dump(mode="json", by_alias=True))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    root = getattr(value, "root", None)
    if root is not None:
        return to_jsonable(root)
    return str(value)


@dataclasses.dataclass
class TurnLog:
    """The notifications one turn surfaced through the SDK, and the turn record built from them (the result of
    a run is what an application reads off those: the ``turn/completed`` status, the ``item/completed`` items,
    the last agent message, the last token usage)."""

    mode: str
    notifications: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    thread_id: str | None = None
    error: dict[str, Any] | None = None
    #: the application closed the client mid-turn (``close_client``): no result, and what the SDK raised after
    #: that is a consequence of the close, not the turn's error
    walked_away: bool = False

    def add(self, method: str, params: Any) -> None:
        self.notifications.append({"method": method, "params": to_jsonable(params)})

    def record(self) -> dict[str, Any]:
        events = self.notifications if self.mode == "streamed" else []
        if self.mode == "streamed":
            result: dict[str, Any] | None = {"thread_id": self.thread_id, "status": None, "final_response": None,
                                             "items": None, "usage": None}
        else:
            result = self._run_result()
        if self.error is not None or self.walked_away:
            result = None
        if self.walked_away:
            return {"mode": self.mode, "events": list(events), "result": None, "error": None}
        return {"mode": self.mode, "events": list(events), "result": result, "error": self.error}

    def _run_result(self) -> dict[str, Any]:
        items: list[Any] = []
        status: Any = None
        usage: Any = None
        for n in self.notifications:
            params = n["params"] if isinstance(n["params"], Mapping) else {}
            if n["method"] == "item/completed":
                items.append(params.get("item"))
            elif n["method"] == "turn/completed":
                turn = params.get("turn")
                status = turn.get("status") if isinstance(turn, Mapping) else None
            elif n["method"] == "thread/tokenUsage/updated":
                token_usage = params.get("tokenUsage")
                usage = token_usage.get("total") if isinstance(token_usage, Mapping) else None
        texts = [i.get("text") for i in items if isinstance(i, Mapping) and i.get("type") == "agentMessage"]
        return {"thread_id": self.thread_id, "status": status, "final_response": texts[-1] if texts else "",
                "items": items, "usage": usage}


def observation(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    last = records[-1]
    return {"events": last["events"], "result": last["result"], "error": last["error"],
            "earlier_turns": [dict(r) for r in records[:-1]]}


def error_record(exc: BaseException, kind: str) -> dict[str, Any]:
    return {"kind": kind, "class": type(exc).__name__, "message": str(exc)[:2000]}


#: ``session(case, codex_path, workdir, stop) -> list of turn records``; ``stop`` is set when the case's budget ends.
Session = Callable[[Case, str, str, threading.Event], list[dict[str, Any]]]


def _run_case(session: Session, request: Mapping[str, Any]) -> dict[str, Any]:
    case = Case.from_json(request["case"])
    if request["case"].get("transport", "exec") != "app-server":
        return {"skipped": {"reason": "an app-server SDK: exec cases are not its interface", "issue_url": None}}
    stop = threading.Event()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["records"] = session(case, str(request["codex_path"]), str(request["workdir"]), stop)
        except BaseException as exc:  # noqa: BLE001 - an adapter bug becomes an errored reply
            box["exception"] = exc
            box["traceback"] = traceback.format_exc()

    worker = threading.Thread(target=work, name=f"case-{case.id}", daemon=True)
    worker.start()
    worker.join(CASE_BUDGET)
    stop.set()
    if worker.is_alive():
        worker.join(3.0)
    if "records" in box:
        return {"observation": observation(box["records"])}
    if "exception" in box:
        exc = box["exception"]
        return {"errored": {"message": f"{type(exc).__name__}: {exc}", "traceback": box["traceback"], "stderr": None}}
    hang = {"kind": "hang", "class": "Hang", "message": f"the SDK did not finish within {CASE_BUDGET:g} s"}
    return {"observation": observation([{"mode": str(case.turns[0].get("mode", "run")) if case.turns else "run",
                                         "events": [], "result": None, "error": hang}])}


def _protocol_channel() -> IO[str]:
    sys.stdout.flush()
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def serve(name: str, sdk: str, distribution: str, capabilities: Sequence[str], session: Session) -> int:
    """The adapter's main loop over stdin; returns the exit code."""
    channel = _protocol_channel()

    def send(message: Mapping[str, Any]) -> None:
        channel.write(json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")
        channel.flush()

    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    for raw in sys.stdin:
        line = raw.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            cmd = request.get("cmd")
        except (ValueError, AttributeError) as exc:
            send({"errored": {"message": f"bad request: {exc}", "traceback": "", "stderr": ""}})
            continue
        if cmd == "start":
            send({"implementation": {"name": name, "version": version, "language": "python", "sdk": sdk,
                                     "homepage": None, "capabilities": list(capabilities)}})
        elif cmd == "run":
            started = time.monotonic()
            reply = _run_case(session, request)
            sys.stderr.write(f"case {request.get('case', {}).get('id')}: {time.monotonic() - started:.2f} s\n")
            send({"seq": request.get("seq"), **reply})
        elif cmd == "stop":
            send({"ok": True})
            sys.stderr.flush()
            os._exit(0)  # an SDK thread stuck in a handler must not keep the process alive
        else:
            send({"seq": request.get("seq"),
                  "errored": {"message": f"unknown command {cmd!r}", "traceback": "", "stderr": ""}})
    return 0
