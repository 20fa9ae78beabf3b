"""The scenario model: frozen, validated values built by :mod:`harness.scenario.load` from one YAML file.

A scenario lives at ``scenarios/<area>/<name>.yaml``; its stable id is ``<area>/<name>``. The file format is
``harness/scenario/schema.json`` (the source of truth) and ``docs/scenarios.md``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

__all__ = [
    "APPROVAL_POLICIES",
    "AUTO_POLICY_KEYS",
    "BACKOFF_KEYS",
    "CLOSE_CLIENT_WHEN",
    "EXPECT_OPERATORS",
    "OBSERVATION_KEYS",
    "RESERVED_KEYS",
    "ApprovalsSpec",
    "AutoSpec",
    "Expectation",
    "Mode",
    "RecordedCase",
    "Scenario",
    "ThreadMode",
    "ToolSpec",
    "TransportName",
    "TurnSpec",
    "WALK_AWAY_HOWS",
    "WalkAway",
    "parse_expect_key",
]

#: Top-level keys kept for later versions of the format; a file using one is rejected with a clear message.
RESERVED_KEYS: tuple[str, ...] = ("attachments", "output_schema")

#: The keys of an observation (docs/scenarios.md); an expectation path starts with one of them.
OBSERVATION_KEYS: tuple[str, ...] = (
    "divergence",
    "earlier_turns",
    "error",
    "events",
    "invocations",
    "leftover_process",
    "logs",
    "replies",
    "requests",
    "result",
    "telemetry",
)

#: ``approvals.policy`` values (docs/scenarios.md, "Approvals").
APPROVAL_POLICIES: tuple[str, ...] = (
    "accept",
    "acceptForSession",
    "decline",
    "cancel",
    "error",
    "empty",
    "none",
    "timeout",
)


class TransportName(StrEnum):
    """Which codex interface a scenario drives; each has one :class:`harness.scenario.transports.Transport`."""

    EXEC = "exec"
    APP_SERVER = "app-server"


@dataclasses.dataclass(frozen=True)
class ApprovalsSpec:
    """How the client answers codex's server requests in an app-server scenario (``approvals:``).

    ``policy`` is one of :data:`APPROVAL_POLICIES`; ``timeout_s``/``default`` apply to ``timeout``,
    ``code``/``message`` to ``error``; ``content`` is an accepted MCP elicitation's content; ``answers`` answer
    ``item/tool/requestUserInput`` by question id."""

    policy: str
    timeout_s: float = 0.2
    default: str = "decline"
    code: int = -32000
    message: str = "client refuses to decide"
    content: Any = None
    answers: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ApprovalsSpec:
        """From a validated ``approvals`` mapping (a scenario's, or a portable case's)."""
        return cls(
            policy=raw["policy"],
            timeout_s=float(raw.get("timeout_s", 0.2)),
            default=raw.get("default", "decline"),
            code=int(raw.get("code", -32000)),
            message=raw.get("message", "client refuses to decide"),
            content=raw.get("content"),
            answers={k: tuple(v) for k, v in dict(raw.get("answers", {})).items()},
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``approvals`` of a portable case: every field, defaults filled in."""
        out: dict[str, Any] = {"policy": self.policy}
        if self.policy == "timeout":
            out |= {"timeout_s": self.timeout_s, "default": self.default}
        if self.policy == "error":
            out |= {"code": self.code, "message": self.message}
        if self.content is not None:
            out["content"] = self.content
        if self.answers:
            out["answers"] = {k: list(v) for k, v in self.answers.items()}
        return out


@dataclasses.dataclass(frozen=True)
class ToolSpec:
    """One dynamic tool of an app-server scenario (``tools:``), in the wire's key names, and its result."""

    name: str
    description: str
    input_schema: Mapping[str, Any]
    result: Any
    namespace: str | None = None
    defer_loading: bool = False
    #: the tool's behaviour (``raise``, ``sleep_s``) and the client's limit per call (``timeout_s``)
    raises: str | None = None
    sleep_s: float = 0.0
    timeout_s: float | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ToolSpec:
        """From a validated ``tools`` entry (wire key names)."""
        return cls(
            name=raw["name"],
            description=raw["description"],
            input_schema=dict(raw["inputSchema"]),
            result=raw["result"],
            namespace=raw.get("namespace"),
            defer_loading=bool(raw.get("deferLoading", False)),
            raises=raw.get("raise"),
            sleep_s=float(raw.get("sleep_s", 0.0)),
            timeout_s=float(raw["timeout_s"]) if raw.get("timeout_s") is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The tool as a portable case lists it."""
        out: dict[str, Any] = {"name": self.name, "description": self.description,
                               "inputSchema": dict(self.input_schema), "result": self.result}
        if self.namespace is not None:
            out["namespace"] = self.namespace
        if self.defer_loading:
            out["deferLoading"] = True
        if self.raises is not None:
            out["raise"] = self.raises
        if self.sleep_s:
            out["sleep_s"] = self.sleep_s
        if self.timeout_s is not None:
            out["timeout_s"] = self.timeout_s
        return out

#: Expectation operators, written after the path: ``"<path> <op>": value``. No operator means equality.
EXPECT_OPERATORS: tuple[str, ...] = ("==", "!=", "contains", "not contains", "matches", "exists")

_SEGMENT = r"(?:[A-Za-z0-9_-]+|\*)"
_EXPECT_KEY = re.compile(
    rf"^(?P<path>(?P<root>[a-z_]+)(?:\.{_SEGMENT})*)(?: (?P<op>==|!=|contains|not contains|matches|exists))?$"
)


class Mode(StrEnum):
    """How a turn is driven. New modes are added here and in schema.json; old files stay valid.

    ``auto`` is ``thread.run_auto(...)``: turns until a terminal outcome, retrying retryable failures, answering
    tool calls from :class:`AutoSpec` and following continuations (``harness.reference.auto``).
    """

    RUN = "run"
    STREAMED = "streamed"
    AUTO = "auto"


#: Keys of ``auto.policy`` (``AutoRunPolicy`` fields); ``backoff`` is a mapping of :data:`BACKOFF_KEYS`.
AUTO_POLICY_KEYS: tuple[str, ...] = ("max_attempts", "max_turns", "backoff", "continuation_prompt")
#: Keys of ``auto.policy.backoff`` (``Backoff`` fields).
BACKOFF_KEYS: tuple[str, ...] = ("initial", "factor", "maximum")


@dataclasses.dataclass(frozen=True)
class AutoSpec:
    """How an ``auto`` turn is driven: the policy given (absent keys keep the SDK's defaults) and the static
    result of each tool a ``tool.call.required`` may ask for (``{name: result}``; the result is any JSON value).
    """

    policy: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    tool_results: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def backoff(self) -> Mapping[str, float]:
        """``policy.backoff`` (empty when not given)."""
        value = self.policy.get("backoff") or {}
        return dict(value)

    def policy_kwargs(self) -> dict[str, Any]:
        """The policy's scalar fields as ``AutoRunPolicy`` keyword arguments (``backoff`` excluded)."""
        return {k: v for k, v in self.policy.items() if k != "backoff"}


@dataclasses.dataclass(frozen=True)
class RecordedCase:
    """The catalogue case a generated scenario came from (``scenarios/recorded.yaml``, :mod:`.recorded`).

    Live mode runs the real codex against the fake Responses server scripted from ``case``; ``config`` holds the
    case's ``-c`` overrides (written to the live ``config.toml``, since an SDK has no such option), and ``live``
    says whether the SDK's invocation is the recorded one (``not_live_reason`` says why not)."""

    case: str
    version: str
    catalogue: str
    transcripts: tuple[str, ...]
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    live: bool = True
    not_live_reason: str = ""


class ThreadMode(StrEnum):
    """Which thread a turn runs on: the previous turn's ``Thread`` object, or a fresh
    ``resume_thread(id)``."""

    SAME = "same"
    RESUME = "resume"


def parse_expect_key(key: str) -> tuple[tuple[str, ...], str]:
    """Split ``"invocations.0.argv contains"`` into ``(("invocations", "0", "argv"), "contains")``.

    Raises :class:`ValueError` with a one-line reason for a malformed key.
    """
    match = _EXPECT_KEY.match(key)
    if match is None:
        raise ValueError(
            f"invalid expectation key {key!r}: expected '<path>' or '<path> <op>' with a dotted path and op "
            "one of " + ", ".join(EXPECT_OPERATORS)
        )
    root = match.group("root")
    if root not in OBSERVATION_KEYS:
        raise ValueError(
            f"invalid expectation key {key!r}: the path must start with one of " + ", ".join(OBSERVATION_KEYS)
        )
    return tuple(match.group("path").split(".")), match.group("op") or "=="


@dataclasses.dataclass(frozen=True)
class Expectation:
    """One ``expect`` entry: a path into the normalized observation, an operator and the expected value."""

    key: str
    path: tuple[str, ...]
    op: str
    value: Any
    line: int
    column: int


#: The ways a user walks away from a streamed turn (docs/leak-probes.md).
WALK_AWAY_HOWS: tuple[str, ...] = ("break", "raise", "drop")

#: When an app-server leak probe closes the client (``close_client: {when: ...}``, docs/adapters.md).
CLOSE_CLIENT_WHEN: tuple[str, ...] = ("turn_started", "approval_pending")


@dataclasses.dataclass(frozen=True)
class WalkAway:
    """A leak probe on a streamed turn: after ``after_events`` events the consumer ``break``s out of the loop,
    ``raise``s inside it, or ``drop``s the stream without closing it (then a garbage collection). The user walked
    away: the turn's record is the events seen, no result and no error (unless the SDK failed earlier)."""

    how: str
    after_events: int

    def to_dict(self) -> dict[str, Any]:
        return {"how": self.how, "after_events": self.after_events}


@dataclasses.dataclass(frozen=True)
class TurnSpec:
    """One turn: its input, how it is driven, its turn options (merged over ``options.turn``)."""

    input: str | tuple[Mapping[str, Any], ...]
    mode: Mode = Mode.RUN
    turn_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    thread: ThreadMode = ThreadMode.SAME
    abort_after_ms: int | None = None
    #: Only for ``mode: auto`` (``None`` otherwise): the policy and tool results.
    auto: AutoSpec | None = None
    #: app-server only: ``on_request`` interrupts the turn once the first server request was handled.
    interrupt: str | None = None
    #: exec, ``mode: streamed`` only: walk away from the stream after N events (a leak probe).
    walk_away: WalkAway | None = None
    #: app-server only: close the client while the turn is in progress (``turn_started``) or while a server
    #: request is pending unanswered (``approval_pending``) -- a leak probe (:data:`CLOSE_CLIENT_WHEN`).
    close_client: str | None = None
    line: int = 1

    def sdk_input(self) -> str | list[dict[str, Any]]:
        """The input as the SDK takes it (a string, or a list of TS-shaped part dicts). A ``stage`` part is a plain
        ``local_image`` of its source file here; the exec transport hands SDKs the staged file instead
        (``transports/exec.py``, :func:`~harness.scenario.transports.exec.stage_inputs`)."""
        if isinstance(self.input, str):
            return self.input
        return [
            {"type": "local_image", "path": str(part["stage"])} if "stage" in part else dict(part)
            for part in self.input
        ]


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A validated scenario file.

    ``plan`` is the fake-codex plan exactly as written (fixture paths relative to ``project_root``);
    ``fixtures`` lists the replayed fixture files and ``cli_versions`` the CLI versions they were recorded
    with
    (from each fixture's ``.meta.json``), both in order of first use and without repeats.
    """

    id: str
    path: Path
    root: Path
    title: str
    plan: Mapping[str, Any]
    turns: tuple[TurnSpec, ...]
    description: str = ""
    tags: tuple[str, ...] = ()
    codex_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    thread_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    turn_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    expect: tuple[Expectation, ...] = ()
    timeout: float = 30.0
    fixtures: tuple[str, ...] = ()
    cli_versions: tuple[str, ...] = ()
    line: int = 1
    #: Which codex interface it drives (``plan`` is fake-codex steps for exec, ``{recording, faults}`` for
    #: app-server).
    transport: TransportName = TransportName.EXEC
    #: app-server only: the client's answers to server requests (``None``: answer nothing specially).
    approvals: ApprovalsSpec | None = None
    #: app-server only: dynamic tools.
    tools: tuple[ToolSpec, ...] = ()
    #: app-server only: extra ``thread/start`` params (``options.thread_params``).
    thread_params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: Generated from a recorded catalogue case (``None``: a hand-written scenario).
    recorded: RecordedCase | None = None

    @property
    def project_root(self) -> Path:
        """The directory that holds ``scenarios/`` (and ``golden/``, ``fixtures/``); fixture paths are
        relative to it."""
        return self.root.parent

    @property
    def golden_root(self) -> Path:
        """Where this scenario's golden lives: ``<project root>/golden``."""
        return self.project_root / "golden"

    @property
    def modes(self) -> tuple[Mode, ...]:
        """The modes of its turns, in order."""
        return tuple(turn.mode for turn in self.turns)
