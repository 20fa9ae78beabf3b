"""YAML scenario files -> validated :class:`Scenario` values, or :class:`ScenarioError` naming file, line and
column.

The file is *composed* (not just loaded) so every value keeps its YAML node: a JSON-Schema error path such as
``plan/steps/0/faults/exit_code`` is mapped back to the line and column where that value (or, for an unknown
key,
the key itself) is written. Checks, in order:

1. YAML syntax, duplicate mapping keys;
2. ``schema.json`` (types, unknown keys, enums, required keys), every error reported, sorted by position;
3. cross-field rules: reserved keys, ``input`` xor ``turns``, one source per plan step, fixture files exist,
   expectation keys, input parts, plan steps >= turns, the fake's own plan check;
4. across files: the id derived from the path is well formed and unique.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from harness.errors import HarnessError, ScenarioError
from harness.scenario.model import (
    RESERVED_KEYS,
    ApprovalsSpec,
    AutoSpec,
    Expectation,
    Mode,
    RecordedCase,
    Scenario,
    ThreadMode,
    ToolSpec,
    TransportName,
    TurnSpec,
    WalkAway,
    parse_expect_key,
)
from harness.scenario.select import matches_keyword

__all__ = [
    "SCENARIO_SUFFIXES",
    "find_scenario_files",
    "load_all",
    "load_file",
    "load_scenario",
    "scenario_id",
    "scenario_ids",
    "scenarios_root_of",
    "schema",
    "validate_paths",
]

SCENARIO_SUFFIXES: tuple[str, ...] = (".yaml", ".yml")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
#: Tags become pytest markers; these would change how pytest runs the item.
_FORBIDDEN_TAGS = frozenset({"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings"})
_VERSION = re.compile(r"^\d+\.\d+\.\d+")

JsonPath = tuple[str | int, ...]
Position = tuple[int, int]  # 1-based line, column


@functools.cache
def schema() -> dict[str, Any]:
    """The scenario JSON Schema (draft 2020-12) shipped in the package."""
    text = resources.files("harness.scenario").joinpath("schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


# ----------------------------------------------------------------------------------------------------
# ids and roots


def scenarios_root_of(path: Path) -> Path:
    """The ``scenarios`` directory a file belongs to: its nearest ancestor of that name, else its
    grandparent."""
    for parent in path.parents:
        if parent.name == "scenarios":
            return parent
    return path.parent.parent


def scenario_id(path: Path, root: Path | None = None) -> str:
    """``<area>/<name>`` for ``<root>/<area>/<name>.yaml`` (no check; see :func:`load_scenario`)."""
    root = scenarios_root_of(path) if root is None else root
    try:
        rel = path.relative_to(root)
    except ValueError:
        rel = Path(path.parent.name) / path.name
    return rel.with_suffix("").as_posix()


def find_scenario_files(paths: Iterable[Path]) -> list[Path]:
    """Files named by ``paths``, directories expanded to their ``*.yaml``/``*.yml`` files, sorted, no
    repeats."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.suffix in SCENARIO_SUFFIXES and child.is_file():
                    found.setdefault(child, None)
        else:
            found.setdefault(path, None)
    return list(found)


# ----------------------------------------------------------------------------------------------------
# YAML with positions


class _Composed:
    """Plain data built from a YAML node tree, with the position of every value and every mapping key."""

    def __init__(self) -> None:
        self.values: dict[JsonPath, Position] = {}
        self.keys: dict[JsonPath, Position] = {}
        self.duplicates: list[tuple[JsonPath, Position]] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: JsonPath = ()) -> Any:
        self.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    key = str(key)
                child = (*path, key)
                pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in result:
                    self.duplicates.append((child, pos))
                    continue
                self.keys[child] = pos
                result[key] = self.build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self._constructor.construct_object(node, deep=True)

    def at(self, path: JsonPath) -> Position:
        """Position of the value at ``path`` (or of its nearest ancestor)."""
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, (1, 1))

    def key_at(self, path: JsonPath) -> Position:
        """Position of the key naming ``path`` (falls back to the value)."""
        return self.keys.get(path) or self.at(path)


def field_name(path: Sequence[str | int]) -> str | None:
    """``("plan", "steps", 0, "faults")`` -> ``plan.steps[0].faults``; the root -> ``None``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or None


# ----------------------------------------------------------------------------------------------------
# schema errors -> messages

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value:g})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _types(expected: Any) -> str:
    names = [expected] if isinstance(expected, str) else list(expected)
    return " or ".join(_TYPE_NAMES.get(n, n) for n in names)


def _schema_errors(data: Any, composed: _Composed, file: Path) -> list[ScenarioError]:
    out: list[ScenarioError] = []
    for error in _validator().iter_errors(data):
        out.extend(_convert(error, composed, file))
    return out


def _convert(error: jsonschema.ValidationError, composed: _Composed, file: Path) -> list[ScenarioError]:
    path: JsonPath = tuple(error.absolute_path)
    line, column = composed.at(path)
    kind = error.validator
    value = error.validator_value
    instance = error.instance

    def err(message: str, at: JsonPath = path, *, key: bool = False) -> ScenarioError:
        ln, col = composed.key_at(at) if key else composed.at(at)
        return ScenarioError(message, path=file, line=ln, column=col, field=field_name(at))

    if kind == "additionalProperties" and isinstance(instance, dict):
        sub_schema = error.schema if isinstance(error.schema, dict) else {}
        allowed = sorted(sub_schema.get("properties", {}))
        extra = [k for k in instance if k not in allowed]
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return [err(f"unknown key {k!r}{hint}", (*path, k), key=True) for k in extra]
    if kind == "required":
        match = re.match(r"^'(.+)' is a required property$", error.message)
        name = match.group(1) if match else error.message
        return [err(f"missing required key {name!r}")]
    if kind == "type":
        return [err(f"expected {_types(value)}, got {_describe(instance)}")]
    if kind == "enum":
        options = value if isinstance(value, list) else [value]
        return [err(f"must be one of {', '.join(str(v) for v in options)}; got {_describe(instance)}")]
    if kind in ("anyOf", "oneOf"):
        context = list(error.context or ())
        same_place = [c for c in context if tuple(c.absolute_path) == path]
        if context and all(c.validator == "type" for c in same_place) and len(same_place) == len(context):
            names = [c.validator_value for c in context]
            return [err(f"expected {' or '.join(_types(n) for n in names)}, got {_describe(instance)}")]
        deeper = [c for c in context if len(c.absolute_path) > len(path)]
        if deeper:
            best = jsonschema.exceptions.best_match(deeper)
            if best is not None:
                return _convert(best, composed, file)
        return [err(error.message)]
    if kind == "minItems":
        return [err("must not be empty" if value == 1 else f"needs at least {value} entries")]
    if kind == "minLength":
        return [err("must not be empty")]
    if kind == "uniqueItems":
        return [err("has duplicate entries")]
    if kind == "pattern":
        return [err(f"{instance!r} does not match the pattern {value}")]
    if kind == "minimum":
        return [err(f"must be >= {value}, got {instance}")]
    if kind == "maximum":
        return [err(f"must be <= {value}, got {instance}")]
    if kind == "exclusiveMinimum":
        return [err(f"must be > {value}, got {instance}")]
    return [err(error.message)]


# ----------------------------------------------------------------------------------------------------
# one file


def _check_any(file: Path, root: Path | None = None) -> tuple[list[Scenario], list[ScenarioError]]:
    """A scenario file (one scenario) or a manifest at the scenarios root (many, :mod:`.recorded`)."""
    from harness.scenario.recorded import is_manifest

    root = scenarios_root_of(file) if root is None else root
    if is_manifest(file, root):
        return _check_manifest(file, root)
    scenario, errors = _check_file(file, root)
    return ([scenario] if scenario is not None else []), errors


def _check_manifest(file: Path, root: Path) -> tuple[list[Scenario], list[ScenarioError]]:
    """Expand a manifest and validate every generated scenario as if it were a file; errors name the manifest."""
    from harness.scenario.recorded import expand_manifest, load_manifest

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        generated = expand_manifest(load_manifest(file, data), root.parent)
    except ScenarioError as exc:
        return [], [exc]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [], [ScenarioError(f"cannot read the manifest: {exc}", path=file, line=1, column=1)]
    scenarios: list[Scenario] = []
    errors: list[ScenarioError] = []
    for entry in generated:
        composed = _Composed()
        node = yaml.compose(yaml.safe_dump(entry.data, sort_keys=False), Loader=yaml.SafeLoader)
        assert node is not None  # a generated scenario is a non-empty mapping
        built = composed.build(node)
        problems = _schema_errors(built, composed, file)
        scenario = None
        if not problems:
            scenario, problems = _build(file, root, built, composed, sid=entry.id, recorded=entry.recorded)
        errors += [ScenarioError(f"{entry.id}: {e.message}", path=file, line=1, column=1, field=e.field)
                   for e in problems]
        if scenario is not None:  # positions inside the generated text mean nothing to a reader: the manifest's
            expect = tuple(dataclasses.replace(e, line=1, column=1) for e in scenario.expect)
            scenarios.append(dataclasses.replace(scenario, expect=expect))
    return scenarios, errors


def _check_file(file: Path, root: Path | None = None) -> tuple[Scenario | None, list[ScenarioError]]:
    root = scenarios_root_of(file) if root is None else root
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [ScenarioError("no such scenario file", path=file)]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ScenarioError(f"cannot read scenario file: {exc}", path=file)]

    composed = _Composed()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = composed.build(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        # Where the construct began (an unclosed quote, a flow collection) beats where the parser gave up,
        # which for an unterminated quote is the end of the file.
        mark = exc.context_mark or exc.problem_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context_mark is not None and exc.context and exc.problem:
            end = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark is not None else ""
            problem = f"{exc.problem}{end} {exc.context}"
        return None, [
            ScenarioError(
                f"invalid YAML: {problem}",
                path=file,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            )
        ]
    except yaml.YAMLError as exc:
        return None, [ScenarioError(f"invalid YAML: {exc}", path=file)]
    if data is None:
        return None, [ScenarioError("empty scenario file", path=file, line=1, column=1)]

    errors: list[ScenarioError] = [
        ScenarioError(f"duplicate key {p[-1]!r}", path=file, line=pos[0], column=pos[1], field=field_name(p))
        for p, pos in composed.duplicates
    ]
    errors.extend(_check_id(file, root))
    errors.extend(_schema_errors(data, composed, file))
    if errors:
        return None, _sorted(errors)

    scenario, more = _build(file, root, data, composed)
    return (scenario if not more else None), _sorted(more)


def _sorted(errors: list[ScenarioError]) -> list[ScenarioError]:
    return sorted(errors, key=lambda e: (str(e.path), e.line or 0, e.column or 0, e.message))


def _check_id(file: Path, root: Path) -> list[ScenarioError]:
    try:
        rel = file.relative_to(root)
    except ValueError:
        return []
    if len(rel.parts) != 2:
        return [
            ScenarioError(
                f"scenario files live at {root.name}/<area>/<name>.yaml; got {root.name}/{rel.as_posix()}",
                path=file,
                line=1,
                column=1,
            )
        ]
    bad = [part for part in (rel.parts[0], Path(rel.parts[1]).stem) if not _SLUG.match(part)]
    if bad:
        return [
            ScenarioError(
                f"{bad[0]!r} in the scenario id is not a lowercase slug ([a-z0-9][a-z0-9_-]*)",
                path=file,
                line=1,
                column=1,
            )
        ]
    return []


def _build(
    file: Path, root: Path, data: dict[str, Any], composed: _Composed, *, sid: str | None = None,
    recorded: RecordedCase | None = None,
) -> tuple[Scenario | None, list[ScenarioError]]:
    errors: list[ScenarioError] = []

    def err(message: str, at: JsonPath, *, key: bool = False) -> None:
        line, column = composed.key_at(at) if key else composed.at(at)
        errors.append(ScenarioError(message, path=file, line=line, column=column, field=field_name(at)))

    for name in RESERVED_KEYS:
        if name in data:
            err(
                f"{name!r} is reserved for a later version of the scenario format and not supported yet",
                (name,),
                key=True,
            )

    for index, tag in enumerate(data.get("tags", [])):
        if tag in _FORBIDDEN_TAGS:
            err(f"{tag!r} is a pytest marker with a meaning of its own; choose another tag", ("tags", index))

    transport = TransportName(data.get("transport", TransportName.EXEC))

    # input xor turns
    turns: list[TurnSpec] = []
    options = data.get("options", {})
    if "turns" in data:
        for name in ("input", "mode", "abort_after_ms", "auto", "interrupt", "walk_away", "close_client"):
            if name in data:
                err(
                    f"{name!r} cannot be combined with 'turns': give each turn its own {name}",
                    (name,),
                    key=True,
                )
        for index, raw in enumerate(data["turns"]):
            if index == 0 and raw.get("thread") == ThreadMode.RESUME:
                err("the first turn cannot resume: there is no earlier thread", ("turns", 0, "thread"))
            mode = Mode(raw.get("mode", Mode.RUN))
            turns.append(
                TurnSpec(
                    input=_input(raw["input"]),
                    mode=mode,
                    turn_options=dict(raw.get("turn", {})),
                    thread=ThreadMode(raw.get("thread", ThreadMode.SAME)),
                    abort_after_ms=raw.get("abort_after_ms"),
                    auto=_auto(raw, mode, ("turns", index), err),
                    interrupt=raw.get("interrupt"),
                    walk_away=_walk_away(raw, mode, ("turns", index), err),
                    close_client=_close_client(raw),
                    line=composed.at(("turns", index))[0],
                )
            )
            _check_parts(raw["input"], ("turns", index, "input"), err, root.parent, transport)
    elif "input" in data:
        mode = Mode(data.get("mode", Mode.RUN))
        turns.append(
            TurnSpec(
                input=_input(data["input"]),
                mode=mode,
                abort_after_ms=data.get("abort_after_ms"),
                auto=_auto(data, mode, (), err),
                interrupt=data.get("interrupt"),
                walk_away=_walk_away(data, mode, (), err),
                close_client=_close_client(data),
                line=composed.at(("input",))[0],
            )
        )
        _check_parts(data["input"], ("input",), err, root.parent, transport)
    else:
        err("missing required key 'input' (or 'turns' for a multi-turn scenario)", ())

    # plan
    project_root = root.parent
    fixtures: list[str] = []
    versions: list[str] = []
    if transport is TransportName.APP_SERVER:
        _check_appserver(data, turns, project_root, fixtures, versions, err)
        steps: list[Any] = []
    else:
        _check_exec_only(data, err)
        steps = data["plan"]["steps"]
    for index, step in enumerate(steps):
        sources = [k for k in ("replay", "lines", "events") if k in step]
        if len(sources) != 1:
            got = ", ".join(sources) if sources else "none"
            err(f"a step needs exactly one of replay, lines, events (got {got})", ("plan", "steps", index))
        replay = step.get("replay")
        if isinstance(replay, str):
            at: JsonPath = ("plan", "steps", index, "replay")
            if Path(replay).is_absolute():
                err(f"fixture path must be relative to the project root: {replay}", at)
            elif not (project_root / replay).is_file():
                err(f"fixture file not found: {replay} (paths are relative to the project root)", at)
            else:
                if replay not in fixtures:
                    fixtures.append(replay)
                version = _cli_version(project_root / replay)
                if version and version not in versions:
                    versions.append(version)
    if transport is TransportName.EXEC and turns and len(steps) < len(turns):
        err(
            f"the plan has {len(steps)} step(s) but the scenario runs {len(turns)} turns: one step per turn",
            ("plan", "steps"),
        )

    # expectations
    expectations: list[Expectation] = []
    for key, value in data.get("expect", {}).items():
        at = ("expect", key)
        try:
            path, op = parse_expect_key(key)
        except ValueError as exc:
            err(str(exc), at, key=True)
            continue
        if op == "exists" and not isinstance(value, bool):
            err(f"'exists' takes true or false, got {_describe(value)}", at)
            continue
        if op == "matches":
            if not isinstance(value, str):
                err(f"'matches' takes a regular expression string, got {_describe(value)}", at)
                continue
            try:
                re.compile(value)
            except re.error as exc:
                err(f"invalid regular expression: {exc}", at)
                continue
        line, column = composed.key_at(at)
        expectations.append(Expectation(key=key, path=path, op=op, value=value, line=line, column=column))

    if not errors and transport is TransportName.EXEC:
        errors.extend(_check_plan_with_fake(file, project_root, data["plan"], composed))
    if errors:
        return None, errors

    return (
        Scenario(
            id=sid or scenario_id(file, root),
            path=file,
            root=root,
            title=data["title"],
            description=data.get("description", ""),
            tags=tuple(data.get("tags", ())),
            plan=data["plan"],
            turns=tuple(turns),
            codex_options=dict(options.get("codex", {})),
            thread_options=dict(options.get("thread", {})),
            turn_options=dict(options.get("turn", {})),
            expect=tuple(expectations),
            timeout=float(data.get("timeout", 30.0)),
            fixtures=tuple(fixtures),
            cli_versions=tuple(versions),
            line=1,
            transport=transport,
            approvals=_approvals(data.get("approvals")),
            tools=tuple(ToolSpec.from_dict(raw) for raw in data.get("tools", ())),
            thread_params=dict(options.get("thread_params", {})),
            recorded=recorded,
        ),
        [],
    )


#: Keys (top level, per turn, in ``options``) that only an app-server scenario may use.
_APPSERVER_ONLY = ("approvals", "tools", "interrupt", "close_client")


def _check_exec_only(data: Mapping[str, Any], err: Any) -> None:
    """An exec scenario cannot use the app-server keys (codex exec has no approvals to answer, §8)."""
    for name in _APPSERVER_ONLY:
        if name in data:
            err(f"{name!r} applies only to transport: app-server", (name,), key=True)
    for index, raw in enumerate(data.get("turns", ())):
        if "interrupt" in raw:
            err("'interrupt' applies only to transport: app-server", ("turns", index, "interrupt"), key=True)
        if "close_client" in raw:
            err("'close_client' applies only to transport: app-server", ("turns", index, "close_client"), key=True)
    if "thread_params" in data.get("options", {}):
        err("'thread_params' applies only to transport: app-server", ("options", "thread_params"), key=True)


def _check_appserver(
    data: Mapping[str, Any], turns: list[TurnSpec], project_root: Path, fixtures: list[str], versions: list[str],
    err: Any,
) -> None:
    """The recording exists and parses, its faults are valid, and the turns use what the app-server has."""
    from harness.fake.appserver import RecordingError, load_recording, parse_faults

    recording = data["plan"]["recording"]
    at: JsonPath = ("plan", "recording")
    if Path(recording).is_absolute():
        err(f"recording path must be relative to the project root: {recording}", at)
    elif not (project_root / recording).is_file():
        err(f"recording not found: {recording} (paths are relative to the project root)", at)
    else:
        try:
            load_recording(project_root / recording)
        except RecordingError as exc:
            err(f"invalid recording: {exc}", at)
        else:
            fixtures.append(recording)
            version = _cli_version(project_root / recording)
            if version:
                versions.append(version)
    if "faults" in data["plan"]:
        try:
            parse_faults(data["plan"]["faults"])
        except HarnessError as exc:
            err(getattr(exc, "message", str(exc)), ("plan", "faults"))
    for name in ("turn",):
        if name in data.get("options", {}):
            err("app-server scenarios take no 'options.turn' (turn/start params) yet", ("options", name), key=True)
    for index, turn in enumerate(turns):
        where: JsonPath = ("turns", index) if "turns" in data else ()
        if turn.mode is Mode.AUTO:
            err("mode auto is the exec reference SDK's loop; an app-server turn is run or streamed", (*where, "mode"))
        if turn.thread is ThreadMode.RESUME:
            err("thread/resume is not supported on the app-server transport yet", (*where, "thread"))
        if turn.abort_after_ms is not None:
            err("use 'interrupt' on the app-server transport, not abort_after_ms", (*where, "abort_after_ms"),
                key=True)
        if turn.turn_options:
            err("app-server turns take no 'turn' options yet", (*where, "turn"), key=True)
        if turn.close_client is not None and index < len(turns) - 1:
            err("'close_client' closes the client: no turn can follow it (make it the last turn)",
                (*where, "close_client"), key=True)
        if turn.close_client is not None and turn.interrupt is not None:
            err("'close_client' and 'interrupt' are two ways to end the turn: choose one", (*where, "close_client"),
                key=True)


def _approvals(raw: Mapping[str, Any] | None) -> ApprovalsSpec | None:
    return ApprovalsSpec.from_dict(raw) if raw is not None else None


def _auto(raw: Mapping[str, Any], mode: Mode, at: JsonPath, err: Any) -> AutoSpec | None:
    """The :class:`AutoSpec` of a turn (``raw`` is the scenario or a ``turns`` entry); ``auto`` needs mode auto."""
    spec = raw.get("auto")
    if mode is not Mode.AUTO:
        if spec is not None:
            err(f"'auto' applies only to mode: auto (this turn's mode is {mode})", (*at, "auto"), key=True)
        return None
    spec = spec or {}
    return AutoSpec(policy=dict(spec.get("policy", {})), tool_results=dict(spec.get("tool_results", {})))


def _close_client(raw: Mapping[str, Any]) -> str | None:
    """When an app-server leak probe closes the client (the schema checked the shape and the value)."""
    spec = raw.get("close_client")
    return str(spec["when"]) if isinstance(spec, Mapping) else None


def _walk_away(raw: Mapping[str, Any], mode: Mode, at: JsonPath, err: Any) -> WalkAway | None:
    """The leak probe of a turn (the schema checked its shape); walking away needs a stream to walk away from."""
    spec = raw.get("walk_away")
    if spec is None:
        return None
    if mode is not Mode.STREAMED:
        err(f"'walk_away' applies only to mode: streamed (this turn's mode is {mode})", (*at, "walk_away"), key=True)
        return None
    return WalkAway(how=str(spec["how"]), after_events=int(spec["after_events"]))


def _input(raw: str | list[dict[str, Any]]) -> str | tuple[Mapping[str, Any], ...]:
    return raw if isinstance(raw, str) else tuple(dict(part) for part in raw)


_STAGE_KEYS = ("stage", "ttl", "sweep_before_turn")


def _check_parts(raw: Any, at: JsonPath, err: Any, project_root: Path, transport: TransportName) -> None:
    """A text part has ``text``; a local_image part names its file by ``path`` (handed to codex as written) or by
    ``stage`` (a project file the exec runner stages into the run's file store; ``ttl`` and ``sweep_before_turn``
    go with it)."""
    if isinstance(raw, str):
        return
    for index, part in enumerate(raw):
        kind = part["type"]
        if kind == "text":
            if "text" not in part:
                err("a text part needs 'text'", (*at, index))
            for key in ("path", *_STAGE_KEYS):
                if key in part:
                    err(f"a text part takes no {key!r}", (*at, index, key), key=True)
            continue
        if "text" in part:
            err(f"a {kind} part takes no 'text'", (*at, index, "text"), key=True)
        if "path" not in part and "stage" not in part:
            err(f"a {kind} part needs 'path'", (*at, index))
        elif "path" in part and "stage" in part:
            err(f"a {kind} part takes 'path' or 'stage', not both", (*at, index, "stage"), key=True)
        if "stage" not in part:
            for key in _STAGE_KEYS[1:]:
                if key in part:
                    err(f"{key!r} applies only to a staged file ('stage')", (*at, index, key), key=True)
        elif transport is not TransportName.EXEC:
            err(f"'stage' is supported on the exec transport only (not {transport})", (*at, index, "stage"), key=True)
        elif not (project_root / part["stage"]).is_file():
            err(f"stage file not found: {part['stage']} (relative to the project root)", (*at, index, "stage"))


def _cli_version(fixture: Path) -> str | None:
    meta = fixture.with_name(fixture.name.removesuffix(".jsonl") + ".meta.json")
    try:
        version = json.loads(meta.read_text(encoding="utf-8")).get("cli_version")
    except (OSError, ValueError, AttributeError):
        version = None
    if isinstance(version, str):
        return version
    return fixture.parent.name if _VERSION.match(fixture.parent.name) else None


def _parse_field(dotted: str) -> JsonPath:
    """``steps[0].faults.x`` -> ``("steps", 0, "faults", "x")`` (the fake's field names)."""
    out: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", dotted):
        out.append(int(index) if index else name)
    return tuple(out)


def _check_plan_with_fake(file: Path, project_root: Path, plan: Any, composed: _Composed) -> list[ScenarioError]:
    """Let the fake codex check the plan too (its rules may be stricter than the schema's)."""
    try:
        from harness.fake import Plan
    except ImportError:  # pragma: no cover - the fake is a sibling layer; absent only mid-development
        return []
    try:
        Plan.from_mapping(plan, base_dir=project_root, source=file)
    except HarnessError as exc:
        message = getattr(exc, "message", str(exc))
        sub = getattr(exc, "field", None) or ""
        at: JsonPath = ("plan", *_parse_field(sub))
        line, column = composed.at(at)
        return [ScenarioError(message, path=file, line=line, column=column, field=field_name(at))]
    return []


# ----------------------------------------------------------------------------------------------------
# public API


def load_scenario(path: Path | str, *, root: Path | None = None) -> Scenario:
    """Load one scenario file; raise the first :class:`ScenarioError` (by position) if it is malformed."""
    scenarios = load_file(path, root=root)
    if len(scenarios) != 1:
        raise ScenarioError(f"a manifest stands for {len(scenarios)} scenarios; use load_file()", path=Path(path))
    return scenarios[0]


def load_file(path: Path | str, *, root: Path | None = None) -> list[Scenario]:
    """Every scenario of one file: one for a scenario file, the generated ones for a manifest
    (``scenarios/recorded.yaml``); raise the first :class:`ScenarioError` (by position) if any is malformed."""
    scenarios, errors = _check_any(Path(path), root)
    if errors:
        raise errors[0]
    return scenarios


def scenario_ids(file: Path, root: Path | None = None) -> list[str]:
    """The ids a file owns (a manifest: every generated id; a broken manifest: none), e.g. to find unused goldens."""
    from harness.scenario.recorded import expand_manifest, is_manifest, load_manifest

    root = scenarios_root_of(file) if root is None else root
    if not is_manifest(file, root):
        return [scenario_id(file, root)]
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        return [entry.id for entry in expand_manifest(load_manifest(file, data), root.parent)]
    except (ScenarioError, OSError, UnicodeDecodeError, yaml.YAMLError):
        return []


def _duplicates(loaded: Iterable[tuple[Path, str]]) -> list[ScenarioError]:
    seen: dict[str, Path] = {}
    errors: list[ScenarioError] = []
    for file, sid in loaded:
        if sid in seen:
            errors.append(
                ScenarioError(
                    f"duplicate scenario id {sid!r} (also defined in {seen[sid]})",
                    path=file,
                    line=1,
                    column=1,
                )
            )
        else:
            seen[sid] = file
    return errors


def validate_paths(paths: Iterable[Path | str]) -> list[ScenarioError]:
    """Every problem in the scenario files named by ``paths`` (directories are searched), for ``harness
    validate``.

    Returns an empty list when all files are valid. Never raises for a malformed file.
    """
    files = find_scenario_files(Path(p) for p in paths)
    errors: list[ScenarioError] = []
    ids: list[tuple[Path, str]] = []
    for file in files:
        _found, file_errors = _check_any(file)
        errors.extend(file_errors)
        ids.extend((file, sid) for sid in scenario_ids(file))
    errors.extend(_duplicates(ids))
    return _sorted(errors)


def load_all(
    root: Path | str = Path("scenarios"),
    paths: Iterable[Path | str] | None = None,
    *,
    keyword: str | None = None,
    tags: Collection[str] = (),
) -> list[Scenario]:
    """Load and select scenarios, sorted by id.

    ``paths`` (files or directories) default to ``root``. ``keyword`` is a ``-k``-style expression over the
    id,
    the title and the tags (``shell and not fail``); ``tags`` keeps scenarios with at least one of them. The
    first
    :class:`ScenarioError` of any file (or a duplicate id) is raised.
    """
    root = Path(root)
    files = find_scenario_files(Path(p) for p in (paths if paths is not None else [root]))
    scenarios: list[Scenario] = []
    for file in files:
        scenarios.extend(load_file(file))
    duplicates = _duplicates((s.path, s.id) for s in scenarios)
    if duplicates:
        raise duplicates[0]
    selected = [
        s
        for s in scenarios
        if (not tags or set(tags) & set(s.tags))
        and (keyword is None or matches_keyword(keyword, s.id, s.title, s.tags))
    ]
    return sorted(selected, key=lambda s: s.id)
