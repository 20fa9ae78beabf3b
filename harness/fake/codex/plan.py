"""The fake-codex plan: what each invocation of the fake prints, and which faults it injects.

A plan is loaded and validated completely in Python (fixtures read, inline events rendered, every fault
checked against the number of lines it refers to), so the compiled executable never meets a malformed plan:
every mistake surfaces as one :class:`~harness.errors.PlanError` naming the file, the YAML line/column and
the field.
The format is documented in ``docs/fake-codex.md``; keys may be added there, never renamed (scenarios are
written against it).
"""

from __future__ import annotations

import json
import math
import signal as _signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from harness.errors import PlanError

__all__ = [
    "BIG_LINE_MAX_BYTES",
    "BigLine",
    "Faults",
    "MalformedLine",
    "Plan",
    "Step",
    "load_plan",
]

#: The largest ``big_line`` we inject: the 64 MiB line limit of the reference transport, i.e. the biggest line
#: an SDK may be required to accept.
BIG_LINE_MAX_BYTES = 64 * 1024 * 1024

#: The injected lines. Valid events of types an SDK may not know (``brand_new_*``) or of unusual size; ``id``s
#: are fixed so goldens stay stable.
BIG_LINE_PREFIX = b'{"type":"item.completed","item":{"id":"item_big","type":"agent_message","text":"'
BIG_LINE_SUFFIX = b'"}}'
BIG_LINE_MIN_BYTES = len(BIG_LINE_PREFIX) + len(BIG_LINE_SUFFIX)
ECHO_PREFIX = b'{"type":"item.completed","item":{"id":"item_echo","type":"agent_message","text":'
ECHO_SUFFIX = b"}}"
UNKNOWN_EVENT = b'{"type":"brand_new_event","note":"injected by harness-fake-codex"}'
UNKNOWN_ITEM = (
    b'{"type":"item.completed","item":{"id":"item_unknown","type":"brand_new_item",'
    b'"note":"injected by harness-fake-codex"}}'
)

#: Signals a step may die by. Only signals whose default action terminates the process: a fake that "dies" by
#: SIGCHLD or SIGSTOP would instead keep running or stop, and the SDK under test would hang.
SIGNALS: dict[str, int] = {
    name: int(getattr(_signal, "SIG" + name))
    for name in (
        "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE",
        "ALRM", "TERM",
    )
    if hasattr(_signal, "SIG" + name)
}  # fmt: skip

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class MalformedLine:
    """``faults.malformed_line``: ``text`` printed as-is after source line ``after``."""

    after: int
    text: str


@dataclass(frozen=True)
class BigLine:
    """``faults.big_line``: a valid ``item.completed`` agent_message line of exactly ``bytes`` bytes, not
    counting its newline (so a limit of N bytes is probed with N and N + 1)."""

    after: int
    bytes: int


@dataclass(frozen=True)
class Faults:
    """The ``faults`` of one step; the defaults are a well-behaved codex (exit 0, no delays)."""

    exit_code: int = 0
    signal: str | None = None
    stderr: str | None = None
    delay_before_ms: float = 0
    delay_between_ms: float = 0
    hang_after_line: int | None = None
    ignore_sigterm: bool = False
    malformed_line: MalformedLine | None = None
    cut_last_line: bool = False
    big_line: BigLine | None = None
    unknown_event_after: int | None = None
    unknown_item_after: int | None = None
    close_stdout_after: int | None = None
    exit_before_stdin: bool = False
    echo_stdin_after: int | None = None

    @property
    def signal_number(self) -> int | None:
        return SIGNALS[self.signal] if self.signal is not None else None

    def insert_count(self) -> int:
        """How many lines the faults add to the step's source lines."""
        return sum(
            x is not None
            for x in (
                self.malformed_line,
                self.big_line,
                self.unknown_event_after,
                self.unknown_item_after,
                self.echo_stdin_after,
            )
        )


@dataclass(frozen=True)
class Step:
    """One invocation's worth of output.

    ``lines`` are the source lines without their newline; ``final_newline`` is False only for a replayed
    fixture whose last line has none (replay is byte-exact).
    """

    index: int
    kind: Literal["replay", "lines", "events"]
    lines: tuple[bytes, ...]
    final_newline: bool = True
    fixture: Path | None = None
    resume: str | None = None
    faults: Faults = field(default_factory=Faults)
    description: str | None = None


@dataclass(frozen=True)
class Plan:
    """A validated plan. Build it with :func:`load_plan` or :meth:`Plan.from_mapping`."""

    steps: tuple[Step, ...]
    base_dir: Path
    source: Path | None = None
    description: str | None = None

    @classmethod
    def from_mapping(cls, data: Any, *, base_dir: Path, source: Path | None = None) -> Plan:
        """Validate an already-parsed plan (e.g. embedded in a scenario); ``replay`` paths resolve against
        ``base_dir``. Errors name ``source`` (when given) and the field, but no line: there is no YAML to
        point at.

        >>> events = [{"type": "thread.started", "thread_id": "t1"}, {"type": "turn.started"}]
        >>> plan = Plan.from_mapping({"steps": [{"events": events, "faults": {"exit_code": 2}}]}, base_dir=Path("."))
        >>> step = plan.steps[0]
        >>> step.kind, step.lines, step.faults.exit_code
        ('events', (b'{"type":"thread.started","thread_id":"t1"}', b'{"type":"turn.started"}'), 2)
        >>> Plan.from_mapping({"steps": []}, base_dir=Path("."), source=Path("plan.yaml"))
        Traceback (most recent call last):
            ...
        harness.errors.PlanError: plan.yaml: steps: a plan needs at least one step
        """
        return _Builder(source, base_dir, {}, {}).plan(data)


def load_plan(path: Path) -> Plan:
    """Load a YAML or JSON plan file; ``replay`` paths are relative to the file's directory.

    A mistake is located at its YAML line and column:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "plan.yaml"
    ...     _ = path.write_text("steps:\\n  - lines: ['not json']\\n    faults: {exit_code: 256}\\n")
    ...     try:
    ...         load_plan(path)
    ...     except PlanError as exc:
    ...         print(str(exc).replace(folder, "DIR"))
    DIR/plan.yaml:3:25: steps[0].faults.exit_code: must be between 0 and 255, got 256
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"cannot read plan: {exc}", path=path) from None
    values: dict[Path_, tuple[int, int]] = {}
    keys: dict[Path_, tuple[int, int]] = {}
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanError(
                f"invalid JSON: {exc.msg}", path=path, line=exc.lineno, column=exc.colno
            ) from None
        # JSON is (almost always) YAML too: borrow YAML's marks for line numbers when both agree.
        try:
            ydata = _compose(text, path, values, keys)
        except PlanError:
            ydata = None
        if ydata != data:
            values.clear()
            keys.clear()
    else:
        data = _compose(text, path, values, keys)
    return _Builder(path, path.parent, values, keys).plan(data)


def _compose(
    text: str, path: Path, values: dict[Path_, tuple[int, int]], keys: dict[Path_, tuple[int, int]]
) -> Any:
    """Parse YAML into plain data while recording the line/column of every value and key, by path.

    Duplicate and non-string keys are errors here (PyYAML would silently keep the last duplicate)."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise PlanError(
                f"invalid YAML: {exc.problem or exc.context}",
                path=path,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            ) from None
        if node is None:
            return None

        def where(n: yaml.Node) -> tuple[int, int]:
            return (n.start_mark.line + 1, n.start_mark.column + 1)

        def convert(n: yaml.Node, p: Path_) -> Any:
            values[p] = where(n)
            if isinstance(n, yaml.MappingNode):
                loader.flatten_mapping(n)
                out: dict[str, Any] = {}
                for k_node, v_node in n.value:
                    key = loader.construct_object(k_node, deep=True)
                    line, column = where(k_node)
                    if not isinstance(key, str):
                        raise PlanError(
                            f"mapping keys must be strings, got {key!r}",
                            path=path, line=line, column=column, field=_dotted(p) or None,
                        )  # fmt: skip
                    if key in out:
                        raise PlanError(
                            "duplicate key", path=path, line=line, column=column, field=_dotted((*p, key))
                        )
                    keys[(*p, key)] = (line, column)
                    out[key] = convert(v_node, (*p, key))
                return out
            if isinstance(n, yaml.SequenceNode):
                return [convert(item, (*p, i)) for i, item in enumerate(n.value)]
            return loader.construct_object(n, deep=True)

        try:
            return convert(node, ())
        except yaml.constructor.ConstructorError as exc:
            mark = exc.problem_mark
            raise PlanError(
                f"invalid YAML: {exc.problem}",
                path=path,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            ) from None
    finally:
        loader.dispose()


def _dotted(p: Path_) -> str:
    out = ""
    for part in p:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


_PLAN_KEYS = {"steps", "description"}
_STEP_KEYS = {"replay", "lines", "events", "resume", "faults", "description"}
_FAULT_KEYS = {
    "exit_code", "signal", "stderr", "delay_before_ms", "delay_between_ms", "hang_after_line",
    "ignore_sigterm", "malformed_line", "cut_last_line", "big_line", "unknown_event", "unknown_item",
    "close_stdout_after", "exit_before_stdin", "echo_stdin",
}  # fmt: skip


class _Builder:
    """Walks parsed plan data, raising a located PlanError at the first problem."""

    def __init__(
        self,
        source: Path | None,
        base_dir: Path,
        values: dict[Path_, tuple[int, int]],
        keys: dict[Path_, tuple[int, int]],
    ) -> None:
        self.source = source
        self.base_dir = Path(base_dir)
        self.values = values
        self.keys = keys

    def error(self, p: Path_, message: str, *, at_key: bool = False) -> PlanError:
        loc = (self.keys.get(p) if at_key else None) or self.values.get(p) or self.keys.get(p)
        line, column = loc if loc else (None, None)
        return PlanError(message, path=self.source, line=line, column=column, field=_dotted(p) or None)

    # -- typed getters -------------------------------------------------------------------------------------

    def mapping(self, value: Any, p: Path_, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(p, f"expected a mapping, got {_kind(value)}")
        for key in value:
            if not isinstance(key, str):
                raise self.error(p, f"mapping keys must be strings, got {key!r}")
            if key not in allowed:
                raise self.error(
                    (*p, key), f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})", at_key=True
                )
        return dict(value)

    def integer(self, value: Any, p: Path_, *, low: int = 0, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(p, f"expected an integer, got {_kind(value)}")
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise self.error(p, f"must be {bound}, got {value}")
        return value

    def millis(self, value: Any, p: Path_) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(p, f"expected a number of milliseconds, got {_kind(value)}")
        if value < 0:
            raise self.error(p, f"must be >= 0, got {value}")
        return value

    def boolean(self, value: Any, p: Path_) -> bool:
        if not isinstance(value, bool):
            raise self.error(p, f"expected true or false, got {_kind(value)}")
        return value

    def string(self, value: Any, p: Path_) -> str:
        if not isinstance(value, str):
            raise self.error(p, f"expected a string, got {_kind(value)}")
        return value

    def line_text(self, value: Any, p: Path_) -> str:
        text = self.string(value, p)
        if "\n" in text:
            raise self.error(p, "a line must not contain a newline")
        return text

    # -- the plan ------------------------------------------------------------------------------------------

    def plan(self, data: Any) -> Plan:
        top = self.mapping(data, (), _PLAN_KEYS)
        if "steps" not in top:
            raise self.error((), "missing required key 'steps'")
        steps_value = top["steps"]
        if not isinstance(steps_value, list):
            raise self.error(("steps",), f"expected a list of steps, got {_kind(steps_value)}")
        if not steps_value:
            # A fake with no step can only ever answer "no step left": always a mistake in the plan, so say so
            # at load time rather than at the SDK's first turn.
            raise self.error(("steps",), "a plan needs at least one step")
        description = self.string(top["description"], ("description",)) if "description" in top else None
        steps = tuple(self.step(value, i) for i, value in enumerate(steps_value))
        return Plan(steps=steps, base_dir=self.base_dir, source=self.source, description=description)

    def step(self, data: Any, index: int) -> Step:
        p: Path_ = ("steps", index)
        raw = self.mapping(data, p, _STEP_KEYS)
        sources = [k for k in ("replay", "lines", "events") if k in raw]
        if len(sources) != 1:
            what = "none" if not sources else " and ".join(sources)
            raise self.error(p, f"a step needs exactly one of replay, lines, events (got {what})")
        kind: Literal["replay", "lines", "events"] = sources[0]
        fixture: Path | None = None
        final_newline = True
        if kind == "replay":
            fixture, lines, final_newline = self.replay(raw["replay"], (*p, "replay"))
        elif kind == "lines":
            value = raw["lines"]
            if not isinstance(value, list):
                raise self.error((*p, "lines"), f"expected a list of strings, got {_kind(value)}")
            lines = tuple(self.line_text(v, (*p, "lines", i)).encode() for i, v in enumerate(value))
        else:
            value = raw["events"]
            if not isinstance(value, list):
                raise self.error((*p, "events"), f"expected a list of events, got {_kind(value)}")
            lines = tuple(self.event(v, (*p, "events", i)) for i, v in enumerate(value))
        resume = None
        if "resume" in raw:
            resume = self.string(raw["resume"], (*p, "resume"))
            if not resume or resume.startswith("-"):
                raise self.error((*p, "resume"), "must be a non-empty thread id not starting with '-'")
        faults = (
            self.faults(raw.get("faults", {}), (*p, "faults"), len(lines)) if "faults" in raw else Faults()
        )
        description = self.string(raw["description"], (*p, "description")) if "description" in raw else None
        return Step(
            index=index,
            kind=kind,
            lines=lines,
            final_newline=final_newline,
            fixture=fixture,
            resume=resume,
            faults=faults,
            description=description,
        )

    def replay(self, value: Any, p: Path_) -> tuple[Path, tuple[bytes, ...], bool]:
        name = self.string(value, p)
        if not name:
            raise self.error(p, "expected a fixture path, got an empty string")
        path = Path(name)
        if not path.is_absolute():
            path = self.base_dir / path
        try:
            data = path.read_bytes()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise self.error(p, f"cannot read fixture {path}: {reason}") from None
        if not data:
            return path, (), True
        final_newline = data.endswith(b"\n")
        body = data[:-1] if final_newline else data
        return path, tuple(body.split(b"\n")), final_newline

    def event(self, value: Any, p: Path_) -> bytes:
        if not isinstance(value, Mapping):
            raise self.error(p, f"an event must be a mapping, got {_kind(value)} (use 'lines' for raw text)")
        self.json_value(value, p)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()

    def json_value(self, value: Any, p: Path_) -> None:
        """Reject what YAML can express but JSON cannot (dates, NaN, non-string keys)."""
        if value is None or isinstance(value, bool | int | str):
            return
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.error(p, "NaN and infinity are not JSON")
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.json_value(item, (*p, i))
            return
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise self.error(p, f"JSON object keys must be strings, got {key!r}")
                self.json_value(item, (*p, key))
            return
        raise self.error(p, f"not a JSON value: {_kind(value)} (quote it to make it a string)")

    def faults(self, data: Any, p: Path_, source_lines: int) -> Faults:
        raw = self.mapping(data, p, _FAULT_KEYS)

        def after(key: str, container: Any, extra: set[str] | None = None) -> dict[str, Any]:
            sub = self.mapping(container, (*p, key), {"after"} | (extra or set()))
            for needed in ("after", *sorted(extra or ())):
                if needed not in sub:
                    raise self.error((*p, key), f"missing required key {needed!r}")
            self.integer(sub["after"], (*p, key, "after"), high=source_lines)
            return sub

        kw: dict[str, Any] = {}
        if "exit_code" in raw:
            kw["exit_code"] = self.integer(raw["exit_code"], (*p, "exit_code"), high=255)
        if "signal" in raw:
            kw["signal"] = self.signal(raw["signal"], (*p, "signal"))
        if "stderr" in raw:
            kw["stderr"] = self.string(raw["stderr"], (*p, "stderr"))
        for key in ("delay_before_ms", "delay_between_ms"):
            if key in raw:
                kw[key] = self.millis(raw[key], (*p, key))
        for key in ("ignore_sigterm", "cut_last_line", "exit_before_stdin"):
            if key in raw:
                kw[key] = self.boolean(raw[key], (*p, key))
        if "malformed_line" in raw:
            sub = after("malformed_line", raw["malformed_line"], {"text"})
            text = self.line_text(sub["text"], (*p, "malformed_line", "text"))
            kw["malformed_line"] = MalformedLine(after=sub["after"], text=text)
        if "big_line" in raw:
            sub = after("big_line", raw["big_line"], {"bytes"})
            size = self.integer(
                sub["bytes"], (*p, "big_line", "bytes"), low=BIG_LINE_MIN_BYTES, high=BIG_LINE_MAX_BYTES
            )
            kw["big_line"] = BigLine(after=sub["after"], bytes=size)
        for key in ("unknown_event", "unknown_item", "echo_stdin"):
            if key in raw:
                kw[f"{key}_after"] = after(key, raw[key])["after"]
        emitted = source_lines + Faults(**kw).insert_count()
        for key in ("hang_after_line", "close_stdout_after"):
            if key in raw:
                kw[key] = self.integer(raw[key], (*p, key), high=emitted)
        faults = Faults(**kw)
        self.conflicts(raw, p)
        return faults

    def conflicts(self, raw: Mapping[str, Any], p: Path_) -> None:
        """Combinations that cannot both happen are errors rather than a silent precedence rule."""
        exclusive = [
            ("hang_after_line", "close_stdout_after"),
            ("hang_after_line", "signal"),
            ("hang_after_line", "exit_code"),
            ("signal", "exit_code"),
            ("exit_before_stdin", "echo_stdin"),
        ]
        for a, b in exclusive:
            if a in raw and b in raw:
                raise self.error((*p, b), f"cannot be combined with {a}", at_key=True)

    def signal(self, value: Any, p: Path_) -> str:
        allowed = ", ".join(SIGNALS)
        if isinstance(value, int) and not isinstance(value, bool):
            for name, number in SIGNALS.items():
                if number == value:
                    return name
            raise self.error(p, f"signal {value} is not one that terminates a process (allowed: {allowed})")
        if isinstance(value, str):
            name = value.upper().removeprefix("SIG")
            if name in SIGNALS:
                return name
            raise self.error(p, f"unknown or non-terminating signal {value!r} (allowed: {allowed})")
        raise self.error(p, f"expected a signal name or number, got {_kind(value)}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {value!r}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {value!r}" if len(value) <= 40 else "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__
