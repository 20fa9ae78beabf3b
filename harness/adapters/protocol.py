"""Adapter protocol v1: the wire messages, their JSON Schemas, the results a case can have, and the adapter side.

An *adapter* is a small process that wraps one Codex SDK (any language) and speaks JSON lines on its
stdin/stdout; docs/adapters.md is the specification an author in another language implements from, and
``harness/adapters/schemas/*.json`` (shipped in the package) is its source of truth. The messages::

    → {"cmd": "start", "version": 1}                         ← {"implementation": {...}}
    → {"cmd": "run", "seq": N, "case": {...}, "codex_path", "workdir"}
                                                             ← {"seq": N, "observation" | "skipped" | "errored": ...}
    → {"cmd": "stop"}                                        ← {"ok": true}, then exit 0

Messages are written out as plain frozen dataclasses (no class-building magic, so ``mypy --strict`` follows
them); each has ``to_message()`` and the replies have ``from_reply()``. Validation against the schemas lives
here too, so the client checks what it sends *and* what it receives with the same files a foreign author
reads.

Results of a case (:data:`RunResult`) are values, never exceptions: :class:`Observed` (the SDK ran -- its
own failures are in ``observation["error"]``), :class:`Skipped` (cannot run: a missing capability or a known
bug) and :class:`Errored` (the *adapter* misbehaved: it said so, hung, crashed, or sent garbage).

The adapter side (:func:`dispatch`, :func:`serve_stdio`) lets a Python adapter be a class with two methods;
the reference adapter and the Python SDK adapters share it, so they frame and recover identically.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import json
import os
import sys
import traceback
from collections.abc import Mapping
from importlib import resources
from typing import Any, Literal, Protocol

import jsonschema
import jsonschema.exceptions
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from harness.errors import AdapterError

__all__ = [
    "APPSERVER_CAPABILITIES",
    "CANONICAL_KINDS",
    "CAPABILITIES",
    "PORTABLE_MODES",
    "SCHEMA_NAMES",
    "VERSION",
    "Adapter",
    "ErrorCause",
    "Errored",
    "Implementation",
    "Observed",
    "Run",
    "RunResult",
    "Skipped",
    "Start",
    "Stop",
    "dispatch",
    "dumps",
    "non_portable_reason",
    "portable_case",
    "required_capabilities",
    "result_from_reply",
    "schema",
    "schema_errors",
    "serve_stdio",
]

#: The protocol version this harness speaks (``start.version``).
VERSION = 1

#: ``observation.error.kind`` values: the reference SDK's canonical kinds, plus ``unknown`` for an SDK
#: exception the adapter cannot map. Kept equal to the enum in ``schemas/observation.json`` by a test.
CANONICAL_KINDS: tuple[str, ...] = (
    "exit",
    "signal",
    "parse",
    "line_too_long",
    "turn_failed",
    "stream_error",
    "idle_timeout",
    "abort",
    "binary_missing",
    "invalid_options",
    "structured_output",
    "jsonrpc_error",
    "appserver_exited",
    "appserver_timeout",
    "appserver_protocol",
    "appserver_closed",
    "unknown",
)

#: Capability names this harness understands. A case needing one the adapter did not announce is skipped by
#: the client without being sent (see :func:`required_capabilities`); unknown names are ignored, so an
#: adapter may announce more.
CAPABILITIES: tuple[str, ...] = (
    "run",
    "streamed",
    "resume",
    "local_image",
    "output_schema",
    "idle_timeout",
    "abort",
    "walk_away",
)

#: Capabilities of the app-server transport (docs/adapters.md, "App-server cases"): ``transport:app-server`` for
#: any such case, ``interrupt`` for a turn with ``interrupt``, ``dynamic_tools`` for a case with ``tools``. An
#: adapter that announces no ``transport:*`` capability speaks exec only (every adapter written before them).
APPSERVER_CAPABILITIES: tuple[str, ...] = ("transport:app-server", "interrupt", "dynamic_tools", "close_client")

#: Turn modes every SDK has; other scenario modes (``auto``) are reference-only.
PORTABLE_MODES: tuple[str, ...] = ("run", "streamed")

#: One schema file per message, plus the two shared definitions (``case``, ``observation``).
SCHEMA_NAMES: tuple[str, ...] = (
    "start",
    "start-reply",
    "run",
    "run-reply",
    "stop",
    "stop-reply",
    "case",
    "observation",
)

SchemaName = Literal["start", "start-reply", "run", "run-reply", "stop", "stop-reply", "case", "observation"]


# --------------------------------------------------------------------------------------------- schemas


@functools.cache
def _schemas() -> dict[str, dict[str, Any]]:
    folder = resources.files("harness.adapters").joinpath("schemas")
    loaded: dict[str, dict[str, Any]] = {}
    for name in SCHEMA_NAMES:
        loaded[name] = json.loads(folder.joinpath(f"{name}.json").read_text(encoding="utf-8"))
    return loaded


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    # The files refer to each other by relative ``$ref`` ("case.json"), resolved against their ``$id``s.
    registry: Registry[Any] = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT202012)) for doc in _schemas().values()
    )
    return jsonschema.Draft202012Validator(_schemas()[name], registry=registry)


def schema(name: SchemaName) -> dict[str, Any]:
    """The JSON Schema of message ``name`` (a copy; the shipped file is the source of truth)."""
    return copy.deepcopy(_schemas()[name])


def schema_errors(name: SchemaName, instance: Any, *, limit: int = 3) -> list[str]:
    """Why ``instance`` does not match schema ``name``: up to ``limit`` one-line messages, ``[]`` when it
    does. Each names the JSON path, so an adapter author sees *where* their reply is wrong; for a ``oneOf``
    (the three reply shapes) the most relevant branch's error comes first rather than the whole instance."""
    errors = sorted(_validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    if not errors:
        return []
    best = jsonschema.exceptions.best_match(errors)
    assert best is not None
    ordered = [best, *(e for e in errors if e is not best and not e.context)]
    out: list[str] = []
    for error in ordered[:limit]:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        message = error.message if len(error.message) <= 300 else error.message[:300] + "..."
        out.append(f"{where}: {message}")
    return out


def dumps(message: Mapping[str, Any]) -> str:
    """One protocol line (without the newline): compact JSON, UTF-8 kept (``ensure_ascii=False``)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# -------------------------------------------------------------------------------------------- messages


@dataclasses.dataclass(frozen=True)
class Start:
    """``start``: the first message on a fresh process, replayed after each restart."""

    version: int = VERSION

    def to_message(self) -> dict[str, Any]:
        return {"cmd": "start", "version": self.version}


@dataclasses.dataclass(frozen=True)
class Implementation:
    """The ``start`` reply: what the adapter drives."""

    name: str
    version: str
    language: str
    sdk: str
    capabilities: tuple[str, ...]
    homepage: str | None = None

    @classmethod
    def from_reply(cls, reply: Mapping[str, Any]) -> Implementation:
        """Build from a ``start-reply`` that has been schema-validated."""
        data = reply["implementation"]
        return cls(
            name=data["name"],
            version=data["version"],
            language=data["language"],
            sdk=data["sdk"],
            capabilities=tuple(data["capabilities"]),
            homepage=data.get("homepage"),
        )

    def to_reply(self) -> dict[str, Any]:
        """The ``start`` reply an adapter sends."""
        return {
            "implementation": {
                "name": self.name,
                "version": self.version,
                "language": self.language,
                "sdk": self.sdk,
                "homepage": self.homepage,
                "capabilities": list(self.capabilities),
            }
        }


@dataclasses.dataclass(frozen=True)
class Run:
    """``run``: one portable case against the codex executable at ``codex_path``, in ``workdir``."""

    seq: int
    case: Mapping[str, Any]
    codex_path: str
    workdir: str

    def to_message(self) -> dict[str, Any]:
        return {
            "cmd": "run",
            "seq": self.seq,
            "case": self.case,
            "codex_path": self.codex_path,
            "workdir": self.workdir,
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Run:
        """Build from a validated ``run`` message (the adapter side)."""
        return cls(
            seq=message["seq"],
            case=message["case"],
            codex_path=message["codex_path"],
            workdir=message["workdir"],
        )


@dataclasses.dataclass(frozen=True)
class Stop:
    """``stop``: the adapter replies ``{"ok": true}`` and exits 0."""

    def to_message(self) -> dict[str, Any]:
        return {"cmd": "stop"}


# --------------------------------------------------------------------------------------------- results

#: Why a case is :class:`Errored`. ``reported``: the adapter sent an ``errored`` reply. The others were
#: detected by the client: ``timeout`` (no reply in time), ``crash`` (the process exited or closed stdout),
#: ``garbage`` (not a JSON line), ``wrong_seq``, ``invalid_reply`` (JSON not matching ``run-reply.json``),
#: ``restart_failed`` (the adapter had died and could not be started again for this case).
ErrorCause = Literal["reported", "timeout", "crash", "garbage", "wrong_seq", "invalid_reply", "restart_failed"]


@dataclasses.dataclass(frozen=True)
class Observed:
    """The SDK ran the case; ``observation`` is the validated wire object (no ``invocations``: the harness
    reads those from the fake's log). ``adapter_stderr`` is what the adapter process wrote to stderr while
    handling this case -- captured data, never a failure (docs/adapters.md, "stderr")."""

    seq: int
    observation: dict[str, Any]
    adapter_stderr: str = ""


@dataclasses.dataclass(frozen=True)
class Skipped:
    """The case was not run. ``by="adapter"``: the adapter declined it (``issue_url`` names a known bug);
    ``by="harness"``: the adapter lacks a capability the case needs, so the client never sent it."""

    seq: int
    reason: str
    issue_url: str | None = None
    by: Literal["adapter", "harness"] = "adapter"
    adapter_stderr: str = ""


@dataclasses.dataclass(frozen=True)
class Errored:
    """The adapter (not the SDK) failed on this case. ``traceback``/``stderr`` are what an adapter reported
    in its ``errored`` reply; ``adapter_stderr`` is what the client captured from the process."""

    seq: int
    message: str
    cause: ErrorCause
    traceback: str | None = None
    stderr: str | None = None
    adapter_stderr: str = ""


RunResult = Observed | Skipped | Errored


def result_from_reply(reply: Mapping[str, Any], *, adapter_stderr: str = "") -> RunResult:
    """Turn a schema-valid ``run-reply`` into its result value."""
    seq: int = reply["seq"]
    if "observation" in reply:
        return Observed(seq=seq, observation=dict(reply["observation"]), adapter_stderr=adapter_stderr)
    if "skipped" in reply:
        skipped = reply["skipped"]
        return Skipped(
            seq=seq,
            reason=skipped["reason"],
            issue_url=skipped.get("issue_url"),
            by="adapter",
            adapter_stderr=adapter_stderr,
        )
    errored = reply["errored"]
    return Errored(
        seq=seq,
        message=errored["message"],
        cause="reported",
        traceback=errored.get("traceback"),
        stderr=errored.get("stderr"),
        adapter_stderr=adapter_stderr,
    )


# ------------------------------------------------------------------------------------------ portable case


def required_capabilities(case: Mapping[str, Any]) -> frozenset[str]:
    """The capabilities a portable case needs, so a client can skip what an adapter cannot do instead of
    reporting an SDK that lacks a feature as diverging."""
    needed: set[str] = set()
    if case.get("transport", "exec") != "exec":
        needed.add(f"transport:{case['transport']}")
        if case.get("tools"):
            needed.add("dynamic_tools")
    if case.get("resume_thread_id") is not None:
        needed.add("resume")
    for turn in case.get("turns", ()):
        needed.add(str(turn.get("mode", "run")))
        if turn.get("thread") == "resume":
            needed.add("resume")
        if turn.get("abort_after_ms") is not None:
            needed.add("abort")
        if turn.get("interrupt") is not None:
            needed.add("interrupt")
        if turn.get("walk_away") is not None:  # leak probes (docs/leak-probes.md)
            needed.add("walk_away")
        if turn.get("close_client") is not None:
            needed.add("close_client")
        options = turn.get("turn_options") or {}
        for option in ("output_schema", "idle_timeout"):
            if options.get(option) is not None:
                needed.add(option)
        parts = turn.get("input")
        if isinstance(parts, list) and any(isinstance(p, Mapping) and p.get("type") == "local_image" for p in parts):
            needed.add("local_image")
    return frozenset(needed)


def non_portable_reason(scenario: Any) -> str | None:
    """Why ``scenario`` cannot be sent to an adapter, or ``None``. Reference-only features (``mode: auto``,
    the reference SDK's retry/tool loop) have no counterpart in other SDKs; the caller records a skip."""
    for index, turn in enumerate(scenario.turns):
        if str(turn.mode) not in PORTABLE_MODES:
            return f"turn {index + 1} uses mode {str(turn.mode)!r}, which only the reference SDK has"
    return None


def portable_case(scenario: Any, *, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The portable case of a :class:`harness.scenario.Scenario`: what any SDK can run.

    Scenario-level turn options are merged under each turn's (as the reference runner does).
    ``env``, when given, is merged *under* ``codex_options.env``: the runner passes its hermetic base
    environment (``HOME``/``CODEX_HOME`` inside the workdir) so every SDK's codex child sees the same one.
    ``codex_path_override`` is never part of a case; the ``run`` message carries the fake's path.
    Raises :class:`~harness.errors.AdapterError` for a scenario :func:`non_portable_reason` rejects.
    """
    reason = non_portable_reason(scenario)
    if reason is not None:
        raise AdapterError(f"scenario {scenario.id} is not portable: {reason}")
    codex_options = {k: v for k, v in dict(scenario.codex_options).items() if k != "codex_path_override"}
    if env is not None:
        codex_options["env"] = {**dict(env), **dict(codex_options.get("env") or {})}
    turns: list[dict[str, Any]] = []
    for turn in scenario.turns:
        entry: dict[str, Any] = {
            "input": turn.sdk_input(),
            "mode": str(turn.mode),
            "turn_options": {**dict(scenario.turn_options), **dict(turn.turn_options)},
        }
        if str(turn.thread) != "same":
            entry["thread"] = str(turn.thread)
        if turn.abort_after_ms is not None:
            entry["abort_after_ms"] = turn.abort_after_ms
        if getattr(turn, "walk_away", None) is not None:
            entry["walk_away"] = turn.walk_away.to_dict()
        turns.append(entry)
    return {
        "id": scenario.id,
        "turns": turns,
        "codex_options": codex_options,
        "thread_options": dict(scenario.thread_options),
        "resume_thread_id": None,
    }


# ------------------------------------------------------------------------------------------ adapter side


class Adapter(Protocol):
    """A Python adapter: what it drives, and how it runs one case.

    ``run`` returns the reply body: ``{"observation": ...}`` or ``{"skipped": {...}}``. An exception from
    ``run`` becomes an ``errored`` reply with its traceback (see :func:`dispatch`), so an adapter only maps
    *SDK* failures into ``observation.error`` and lets its own bugs propagate.
    """

    def implementation(self) -> Implementation: ...

    async def run(self, request: Run) -> dict[str, Any]: ...


async def dispatch(adapter: Adapter, message: Mapping[str, Any]) -> dict[str, Any]:
    """Answer one protocol message (the adapter side, shared by stdio and in-process serving).

    ``start`` with an unsupported version is answered all the same (with the implementation): the client
    decides, and this adapter speaks v1 only. A ``run`` the adapter fails on is ``errored``, never a crash,
    so the process stays usable for the next case.
    """
    cmd = message.get("cmd")
    if cmd == "start":
        return adapter.implementation().to_reply()
    if cmd == "stop":
        return {"ok": True}
    if cmd == "run":
        seq = message.get("seq")
        try:
            body = await adapter.run(Run.from_message(message))
        except Exception as exc:  # noqa: BLE001 - the adapter's own failure is reported, not fatal
            return {
                "seq": seq,
                "errored": {
                    "message": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc(),
                    "stderr": None,
                },
            }
        return {"seq": seq, **body}
    raise ValueError(f"unknown adapter command {cmd!r}")


def serve_stdio(adapter: Adapter) -> int:
    """Serve ``adapter`` on this process's stdin/stdout until ``stop`` or EOF; return the exit status.

    File descriptor 1 is taken for the protocol and then pointed at stderr, so a stray ``print`` in the SDK
    (or a child process inheriting stdout) cannot corrupt the reply stream: it lands in the captured stderr.
    """
    protocol_out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    async def loop() -> int:
        running = asyncio.get_running_loop()
        while True:
            line = await running.run_in_executor(None, sys.stdin.buffer.readline)
            if not line:
                return 0
            if not line.strip():
                continue
            message = json.loads(line)
            reply = await dispatch(adapter, message)
            protocol_out.write(dumps(reply).encode("utf-8") + b"\n")
            if message.get("cmd") == "stop":
                return 0

    try:
        return asyncio.run(loop())
    finally:
        protocol_out.close()
