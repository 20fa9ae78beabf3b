"""Options of the reference SDK, mirroring the TypeScript SDK's
``CodexOptions``/``ThreadOptions``/``TurnOptions``.

Every field is optional and ``None`` means "not given", exactly like an absent key in TS: the argv builder
emits a flag only for what was given, so the recorded TS argv can be reproduced byte for byte. The dataclasses
are frozen so a thread's options cannot drift between turns.

``from_mapping()`` builds options from plain data (scenario files, adapter messages). It accepts the
snake_case field names and the TS camelCase names, and rejects unknown keys: a typo in a scenario must fail
loudly rather than silently test the default.

Cancellation uses :class:`AbortController`/:class:`AbortSignal`, a small thread-safe analogue of the DOM API
the TS SDK takes, so the same signal works for the async API and for the sync wrappers (which run the turn on
a private event loop in another thread). An :class:`asyncio.Event` is accepted too, as in the openai-agents
port, but only on the loop that runs the turn.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, TypeVar

from harness.reference.errors import InvalidOptionsError

__all__ = [
    "DEFAULT_ORIGINATOR",
    "AbortController",
    "AbortSignal",
    "ApprovalMode",
    "CodexOptions",
    "ModelReasoningEffort",
    "SandboxMode",
    "SignalLike",
    "ThreadOptions",
    "TurnOptions",
    "WebSearchMode",
]

#: The originator the TS SDK reports (``CODEX_INTERNAL_ORIGINATOR_OVERRIDE``); the default, so that a parity
#: run against a server sees the same header as the TS SDK would send.
DEFAULT_ORIGINATOR = "codex_sdk_ts"

# The TS literal types, for documentation and type checking. Values are not validated at runtime: the TS SDK
# does not validate them either (it forwards whatever it is given), and a parity harness must be able to send
# a value that a newer CLI accepts.
SandboxMode: TypeAlias = Literal["read-only", "workspace-write", "danger-full-access"]
ModelReasoningEffort: TypeAlias = Literal[
    "minimal", "low", "medium", "high", "xhigh", "max", "ultra", "persistent"
]
WebSearchMode: TypeAlias = Literal["disabled", "cached", "live"]
ApprovalMode: TypeAlias = Literal["never", "on-request", "on-failure", "untrusted"]


class AbortSignal:
    """A cancellation flag that can be observed from any thread or event loop.

    Obtain one from :class:`AbortController`. ``aborted`` and ``reason`` mirror the DOM API; listeners are
    called once, on the thread that calls :meth:`AbortController.abort`, so they must be cheap and thread-safe
    (the transport registers ``loop.call_soon_threadsafe``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._aborted = False
        self._reason: object = None
        self._listeners: list[Callable[[], None]] = []

    @property
    def aborted(self) -> bool:
        """Whether :meth:`AbortController.abort` has been called."""
        return self._aborted

    @property
    def reason(self) -> object:
        """The reason given to ``abort()``, if any."""
        return self._reason

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once when the signal aborts (immediately if it already has)."""
        with self._lock:
            if not self._aborted:
                self._listeners.append(callback)
                return
        callback()

    def remove_listener(self, callback: Callable[[], None]) -> None:
        """Forget a listener; a no-op if it is not registered (or has already fired)."""
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def _abort(self, reason: object) -> None:
        with self._lock:
            if self._aborted:
                return
            self._aborted = True
            self._reason = reason
            listeners, self._listeners = self._listeners, []
        for callback in listeners:
            callback()


class AbortController:
    """Owns an :class:`AbortSignal`; ``abort()`` cancels every turn the signal was passed to."""

    def __init__(self) -> None:
        self.signal = AbortSignal()

    def abort(self, reason: object = None) -> None:
        """Abort the signal. Idempotent; safe to call from any thread (e.g. a timer or a UI thread)."""
        self.signal._abort(reason)


#: What ``TurnOptions.signal`` accepts.
SignalLike: TypeAlias = AbortSignal | asyncio.Event


_T = TypeVar("_T")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _build(cls: type[_T], data: Mapping[str, Any], *, aliases: Mapping[str, str] | None = None) -> _T:
    """Build a dataclass from snake_case or camelCase keys, rejecting unknown and duplicated keys."""
    if not isinstance(data, Mapping):
        raise InvalidOptionsError(f"{cls.__name__} must be a mapping, got {type(data).__name__}")
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    by_key: dict[str, str] = {name: name for name in fields}
    by_key.update({_camel(name): name for name in fields})
    by_key.update(aliases or {})
    kwargs: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in data.items():
        name = by_key.get(key) if isinstance(key, str) else None
        if name is None:
            unknown.append(str(key))
            continue
        if name in kwargs:
            raise InvalidOptionsError(f"{cls.__name__} field {name!r} given twice (as {key!r})")
        kwargs[name] = value
    if unknown:
        raise InvalidOptionsError(f"Unknown {cls.__name__} field(s): {sorted(unknown)}")
    return cls(**kwargs)


def _opt_str(owner: str, name: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidOptionsError(f"{owner}.{name} must be a string, got {type(value).__name__}")


def _opt_bool(owner: str, name: str, value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise InvalidOptionsError(f"{owner}.{name} must be a boolean, got {type(value).__name__}")


def _str_tuple(owner: str, name: str, value: object) -> tuple[str, ...] | None:
    """A list of strings as a tuple (hashable, immutable); a bare string is a mistake, not a list."""
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InvalidOptionsError(f"{owner}.{name} must be a list of strings, got {type(value).__name__}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise InvalidOptionsError(f"{owner}.{name} must contain only strings, got {type(item).__name__}")
    return items


@dataclasses.dataclass(frozen=True)
class CodexOptions:
    """Client-wide options (TS ``CodexOptions``), shared by every thread the client starts.

    ``config`` is flattened into ``--config key=value`` flags (TOML values, TS ``toTomlValue``); it is
    validated when the argv is built, with the TS error texts. ``config_overrides`` are raw ``key=value``
    strings passed through as-is. ``env`` *replaces* the inherited environment. ``originator`` is ours (TS
    hard-codes ``codex_sdk_ts``): it lets the harness impersonate another SDK's originator header without
    patching the environment.
    """

    codex_path_override: str | os.PathLike[str] | None = None
    base_url: str | None = None
    api_key: str | None = None
    config: Mapping[str, Any] | None = None
    #: Any sequence of strings; stored as a tuple.
    config_overrides: Sequence[str] | None = None
    env: Mapping[str, str] | None = None
    originator: str = DEFAULT_ORIGINATOR

    def __post_init__(self) -> None:
        for name in ("base_url", "api_key", "originator"):
            _opt_str("CodexOptions", name, getattr(self, name))
        object.__setattr__(
            self, "config_overrides", _str_tuple("CodexOptions", "config_overrides", self.config_overrides)
        )
        if self.env is not None:
            if not isinstance(self.env, Mapping):
                raise InvalidOptionsError("CodexOptions.env must be a mapping of strings")
            for key, value in self.env.items():
                if not isinstance(key, str) or not isinstance(value, str):
                    raise InvalidOptionsError("CodexOptions.env must be a mapping of strings")
            object.__setattr__(self, "env", dict(self.env))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CodexOptions:
        """Build from snake_case or TS camelCase keys (``codexPathOverride``, ``baseUrl``, ...)."""
        return _build(cls, data)


@dataclasses.dataclass(frozen=True)
class ThreadOptions:
    """Per-thread options (TS ``ThreadOptions``), applied to every turn of the thread.

    ``thread_source`` is emitted as ``--thread-source`` only when the thread has no id yet (the CLI rejects it
    after ``resume``).
    """

    model: str | None = None
    sandbox_mode: SandboxMode | str | None = None
    working_directory: str | None = None
    skip_git_repo_check: bool | None = None
    model_reasoning_effort: ModelReasoningEffort | str | None = None
    network_access_enabled: bool | None = None
    web_search_mode: WebSearchMode | str | None = None
    web_search_enabled: bool | None = None
    approval_policy: ApprovalMode | str | None = None
    #: Any sequence of strings; stored as a tuple.
    additional_directories: Sequence[str] | None = None
    thread_source: str | None = None

    def __post_init__(self) -> None:
        for name in (
            "model",
            "sandbox_mode",
            "working_directory",
            "model_reasoning_effort",
            "web_search_mode",
            "approval_policy",
            "thread_source",
        ):
            value = getattr(self, name)
            if isinstance(value, os.PathLike) and name == "working_directory":
                object.__setattr__(self, name, os.fspath(value))
            else:
                _opt_str("ThreadOptions", name, value)
        for name in ("skip_git_repo_check", "network_access_enabled", "web_search_enabled"):
            _opt_bool("ThreadOptions", name, getattr(self, name))
        object.__setattr__(
            self,
            "additional_directories",
            _str_tuple("ThreadOptions", "additional_directories", self.additional_directories),
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ThreadOptions:
        """Build from snake_case or TS camelCase keys (``sandboxMode``, ``skipGitRepoCheck``, ...)."""
        return _build(cls, data)


@dataclasses.dataclass(frozen=True)
class TurnOptions:
    """Per-turn options (TS ``TurnOptions``).

    ``output_schema`` must be a JSON object (checked when the turn starts, with the TS text); it is written to
    a temp file for ``--output-schema``. ``signal`` cancels the turn: an :class:`AbortSignal` (any thread) or
    an :class:`asyncio.Event` (same loop only). ``idle_timeout`` (seconds, ours, as in the openai-agents port)
    ends a turn whose codex prints nothing for that long. ``cyber_access_program`` maps to
    ``--cyber-access-program``.

    ``output_type`` (ours) is a dataclass (or other annotation) the final response is decoded into: its JSON
    Schema is sent when ``output_schema`` is not given, and the response is validated either way (the CLI does
    not validate it). ``validate_output`` chooses whether the final response is checked against the schema:
    ``None`` (default) validates only when ``output_type`` is given, so a plain ``output_schema`` keeps the TS
    SDK's behaviour (the text is returned unchecked); ``True`` validates whenever there is a schema and returns
    the decoded JSON in ``Turn.structured_output``; ``False`` never validates.
    """

    output_schema: Any = None
    signal: SignalLike | None = None
    cyber_access_program: str | None = None
    idle_timeout: float | None = None
    output_type: Any = None
    validate_output: bool | None = None

    def __post_init__(self) -> None:
        _opt_str("TurnOptions", "cyber_access_program", self.cyber_access_program)
        _opt_bool("TurnOptions", "validate_output", self.validate_output)
        if self.signal is not None and not isinstance(self.signal, AbortSignal | asyncio.Event):
            raise InvalidOptionsError(
                "TurnOptions.signal must be an AbortSignal or asyncio.Event, "
                f"got {type(self.signal).__name__}"
            )
        if self.idle_timeout is not None:
            if isinstance(self.idle_timeout, bool) or not isinstance(self.idle_timeout, int | float):
                raise InvalidOptionsError("TurnOptions.idle_timeout must be a number of seconds")
            if not self.idle_timeout > 0:
                raise InvalidOptionsError("TurnOptions.idle_timeout must be positive")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TurnOptions:
        """Build from snake_case or TS camelCase keys (``outputSchema``, ``cyberAccessProgram``, ...)."""
        return _build(
            cls, data, aliases={"idleTimeoutSeconds": "idle_timeout", "idle_timeout_seconds": "idle_timeout"}
        )
