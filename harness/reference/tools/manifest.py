"""Tool manifests: a YAML or JSON file declaring dynamic tools, checked the way codex would check them.

The format (documented in ``docs/tools.md``) mirrors ``thread/start`` ``dynamicTools`` with the wire's own key
names, so an entry can be pasted from a recording::

    version: 1                      # optional; 1 is the only version
    tools:                          # top-level function tools
      - name: lookup_weather
        description: Look up the weather for a city.
        inputSchema: {type: object, properties: {city: {type: string}}, required: [city]}
    namespaces:                     # groups; the only place deferLoading may be true
      - name: weather
        description: Weather tools
        tools:
          - {name: forecast, description: …, inputSchema: {type: object}, deferLoading: true}

Every problem is a :class:`ManifestError` located as ``file:line:column: field: message`` (PyYAML node marks;
JSON files are checked with :mod:`json` first, for JSON's own syntax errors and values, and then composed with the
YAML loader for the marks). Nothing here raises for a bad file: :func:`check_manifest` returns all problems, and
:func:`load_manifest` raises the first one.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import _LocatedError
from harness.reference.tools.rules import (
    namespace_description_problem,
    namespace_name_problem,
    schema_problems,
    tool_name_problem,
)

__all__ = [
    "Manifest",
    "ManifestError",
    "ManifestNamespace",
    "ManifestTool",
    "check_manifest",
    "load_manifest",
]

JsonPath = tuple[str | int, ...]
#: ``$comment`` (as in JSON Schema) is allowed on every object: JSON manifests have no other way to carry a note.
_TOP_KEYS = ("$comment", "version", "tools", "namespaces")
_TOOL_KEYS = ("$comment", "type", "name", "description", "inputSchema", "deferLoading")
_TOOL_REQUIRED = ("name", "description", "inputSchema")
_NAMESPACE_KEYS = ("$comment", "type", "name", "description", "tools")
_NAMESPACE_REQUIRED = ("name", "description", "tools")


class ManifestError(_LocatedError):
    """One problem in a tool manifest, located as ``file:line:column: field: message``."""


@dataclass(frozen=True, slots=True)
class ManifestTool:
    """A function tool of a manifest (``deferLoading`` only ever true inside a namespace)."""

    name: str
    description: str
    input_schema: Mapping[str, Any]
    defer_loading: bool = False

    def to_spec(self) -> dict[str, Any]:
        """The ``dynamicTools`` entry (``deferLoading`` written only when true, as codex clients do)."""
        spec: dict[str, Any] = {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "inputSchema": json.loads(json.dumps(self.input_schema)),
        }
        if self.defer_loading:
            spec["deferLoading"] = True
        return spec


@dataclass(frozen=True, slots=True)
class ManifestNamespace:
    """A namespace of a manifest and its tools."""

    name: str
    description: str
    tools: tuple[ManifestTool, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    """A checked manifest: its top-level tools and namespaces, in file order."""

    path: Path
    tools: tuple[ManifestTool, ...]
    namespaces: tuple[ManifestNamespace, ...]

    def dynamic_tools(self) -> list[dict[str, Any]]:
        """The ``thread/start`` ``dynamicTools`` param list: the functions first, then the namespaces."""
        specs = [tool.to_spec() for tool in self.tools]
        specs.extend(
            {"type": "namespace", "name": ns.name, "description": ns.description,
             "tools": [tool.to_spec() for tool in ns.tools]}
            for ns in self.namespaces
        )
        return specs


# ------------------------------------------------------------------------------------------------- positions


class _Positions:
    """Line/column (1-based) of every value and mapping key of a composed YAML document, by JSON path."""

    def __init__(self) -> None:
        self.values: dict[JsonPath, tuple[int, int]] = {}
        self.keys: dict[JsonPath, tuple[int, int]] = {}
        self.duplicates: list[tuple[JsonPath, tuple[int, int]]] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: JsonPath = ()) -> Any:
        self.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node, deep=True)
                key = key if isinstance(key, str) else str(key)
                child = (*path, key)
                where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in result:
                    self.duplicates.append((child, where))
                    continue
                self.keys[child] = where
                result[key] = self.build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self._constructor.construct_object(node, deep=True)

    def at(self, path: JsonPath) -> tuple[int, int]:
        """The value at ``path``, or its nearest ancestor that exists."""
        while path and path not in self.values:
            path = path[:-1]
        return self.values.get(path, (1, 1))

    def key_at(self, path: JsonPath) -> tuple[int, int]:
        """The key naming ``path`` (falls back to the value)."""
        return self.keys.get(path) or self.at(path)


def _field(path: Sequence[str | int]) -> str | None:
    """``("namespaces", 0, "tools", 1, "name")`` → ``namespaces[0].tools[1].name``; the root → ``None``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or None


def _yaml_syntax_error(path: Path, exc: yaml.MarkedYAMLError) -> ManifestError:
    """Locate a YAML syntax error where the problem starts: an unclosed quote, bracket or brace is reported at
    its opening (the context mark), anything else where the parser stopped (the problem mark)."""
    problem = exc.problem or "invalid YAML"
    context = exc.context or ""
    unclosed = "end of stream" in problem or "<stream end>" in problem or context.startswith("while parsing a flow")
    mark = exc.context_mark if unclosed and exc.context_mark is not None else exc.problem_mark or exc.context_mark
    text = f"{context}: {problem}" if context else problem
    if mark is not exc.problem_mark and exc.problem_mark is not None:
        text += f" (noticed at line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1})"
    return ManifestError(
        f"invalid YAML: {text}",
        path=path,
        line=mark.line + 1 if mark is not None else None,
        column=mark.column + 1 if mark is not None else None,
    )


def _parse(path: Path) -> tuple[Any, _Positions, list[ManifestError]]:
    """The document's data and positions, or the syntax errors that prevent reading it."""
    positions = _Positions()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, positions, [ManifestError("no such manifest file", path=path)]
    except (OSError, UnicodeDecodeError) as exc:
        return None, positions, [ManifestError(f"cannot read manifest file: {exc}", path=path)]
    json_data: Any = None
    is_json = path.suffix.lower() == ".json"
    if is_json:
        try:
            json_data = json.loads(text, object_pairs_hook=_first_wins)
        except json.JSONDecodeError as exc:
            return None, positions, [ManifestError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno,
                                                   column=exc.colno)]
        # JSON forbids raw tabs inside strings, so outside them a tab is plain whitespace; YAML refuses it as
        # indentation. One space for one tab keeps every column.
        text = text.replace("\t", " ")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = positions.build(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        return None, positions, [_yaml_syntax_error(path, exc)]
    except yaml.YAMLError as exc:  # not marked: nothing better than the file
        return None, positions, [ManifestError(f"invalid YAML: {exc}", path=path)]
    if is_json:
        data = json_data  # JSON's values (1e5 is a number), YAML's positions
    if data is None:
        return None, positions, [ManifestError("empty manifest: expected a mapping with 'tools' and/or "
                                               "'namespaces'", path=path, line=1, column=1)]
    return data, positions, []


def _first_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Keep the first of duplicate JSON keys, as the YAML side does (the duplicate is reported from there)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        result.setdefault(key, value)
    return result


# ---------------------------------------------------------------------------------------------------- checks


class _Checker:
    def __init__(self, path: Path, positions: _Positions) -> None:
        self.path = path
        self.positions = positions
        self.errors: list[ManifestError] = []

    def err(self, message: str, at: JsonPath, *, key: bool = False) -> None:
        line, column = self.positions.key_at(at) if key else self.positions.at(at)
        self.errors.append(ManifestError(message, path=self.path, line=line, column=column, field=_field(at)))

    def keys(self, data: Mapping[str, Any], at: JsonPath, allowed: Sequence[str], required: Sequence[str],
             what: str) -> None:
        for name in data:
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                shown = [a for a in allowed if a != "$comment"]
                hint = f" (did you mean {close[0]!r}?)" if close else f" (allowed: {', '.join(shown)})"
                self.err(f"unknown key {name!r} in {what}{hint}", (*at, name), key=True)
        for name in required:
            if name not in data:
                self.err(f"{what} is missing required key {name!r}", at)

    def manifest(self, data: Any) -> Manifest | None:
        if not isinstance(data, Mapping):
            self.err(f"a manifest must be a mapping with 'tools' and/or 'namespaces', not {_kind(data)}", ())
            return None
        self.keys(data, (), _TOP_KEYS, (), "the manifest")
        if "version" in data and (data["version"] != 1 or isinstance(data["version"], bool)):
            self.err(f"unsupported manifest version {data['version']!r}: expected 1", ("version",))
        tools = self.tool_list(data, ("tools",), namespace=None)
        namespaces: list[ManifestNamespace] = []
        raw_namespaces = data.get("namespaces", [])
        if not isinstance(raw_namespaces, list):
            self.err(f"'namespaces' must be a list, not {_kind(raw_namespaces)}", ("namespaces",))
            raw_namespaces = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_namespaces):
            ns = self.namespace(raw, ("namespaces", index))
            if ns is None:
                continue
            if ns.name in seen:
                self.err(f"duplicate namespace {ns.name!r} (first declared at namespaces[{seen[ns.name]}])",
                         ("namespaces", index, "name"))
                continue
            seen[ns.name] = index
            namespaces.append(ns)
        if "tools" not in data and "namespaces" not in data:
            self.err("the manifest declares no tools: add 'tools' and/or 'namespaces'", ())
        if self.errors:
            return None
        return Manifest(self.path, tuple(tools), tuple(namespaces))

    def tool_list(self, data: Mapping[str, Any], at: JsonPath, namespace: str | None) -> list[ManifestTool]:
        key = str(at[-1])
        raw_tools = data.get(key, [])
        if not isinstance(raw_tools, list):
            self.err(f"{key!r} must be a list, not {_kind(raw_tools)}", at)
            return []
        tools: list[ManifestTool] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_tools):
            tool = self.tool(raw, (*at, index), namespace)
            if tool is None:
                continue
            if tool.name in seen:
                where = f" in namespace {namespace!r}" if namespace else ""
                first = _field((*at, seen[tool.name]))
                self.err(f"duplicate tool name {tool.name!r}{where} (first declared at {first})",
                         (*at, index, "name"))
                continue
            seen[tool.name] = index
            tools.append(tool)
        return tools

    def tool(self, raw: Any, at: JsonPath, namespace: str | None) -> ManifestTool | None:
        if not isinstance(raw, Mapping):
            self.err(f"a tool must be a mapping, not {_kind(raw)}", at)
            return None
        before = len(self.errors)
        if raw.get("type", "function") == "namespace":
            self.err("a namespace cannot be nested in a namespace or listed under 'tools'", (*at, "type"))
            return None
        self.keys(raw, at, _TOOL_KEYS, _TOOL_REQUIRED, "a tool")
        if "type" in raw and raw["type"] != "function":
            self.err(f"tool type must be 'function', not {raw['type']!r}", (*at, "type"))
        name = raw.get("name")
        if "name" in raw and (problem := tool_name_problem(name)) is not None:
            self.err(problem, (*at, "name"))
        description = raw.get("description")
        if "description" in raw and (not isinstance(description, str) or not description.strip()):
            self.err("description must be a non-empty string (the model reads it to choose the tool)",
                     (*at, "description"))
        schema = raw.get("inputSchema")
        if "inputSchema" in raw:
            for pointer, message in schema_problems(schema):
                self.err(message, (*at, "inputSchema", *_pointer_path(pointer, schema)))
        defer = raw.get("deferLoading", False)
        if not isinstance(defer, bool):
            self.err(f"deferLoading must be true or false, not {defer!r}", (*at, "deferLoading"))
        elif defer and namespace is None:
            self.err(
                f"deferred dynamic tool must include a namespace: {name} (codex rejects thread/start with -32600);"
                " move it into a namespace or drop deferLoading",
                (*at, "deferLoading"),
            )
        if len(self.errors) != before or not isinstance(schema, Mapping):
            return None
        return ManifestTool(str(name), str(description), dict(schema), bool(defer))

    def namespace(self, raw: Any, at: JsonPath) -> ManifestNamespace | None:
        if not isinstance(raw, Mapping):
            self.err(f"a namespace must be a mapping, not {_kind(raw)}", at)
            return None
        before = len(self.errors)
        self.keys(raw, at, _NAMESPACE_KEYS, _NAMESPACE_REQUIRED, "a namespace")
        if "type" in raw and raw["type"] != "namespace":
            self.err(f"namespace type must be 'namespace', not {raw['type']!r}", (*at, "type"))
        name = raw.get("name")
        if "name" in raw and (problem := namespace_name_problem(name)) is not None:
            self.err(problem, (*at, "name"))
        if "description" in raw and (problem := namespace_description_problem(raw["description"])) is not None:
            self.err(problem, (*at, "description"))
        label = name if isinstance(name, str) else None
        tools = self.tool_list(raw, (*at, "tools"), namespace=label or "?") if "tools" in raw else []
        if "tools" in raw and isinstance(raw["tools"], list) and not raw["tools"]:
            self.err(f"namespace {label!r} must contain at least one tool", (*at, "tools"))
        if len(self.errors) != before:
            return None
        return ManifestNamespace(str(name), str(raw["description"]), tuple(tools))


def _pointer_path(pointer: str, document: Any) -> JsonPath:
    """A JSON pointer back to path parts (list indexes as ints, so positions are found)."""
    if not pointer:
        return ()
    parts: list[str | int] = []
    node = document
    for raw in pointer[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit():
            index = int(part)
            parts.append(index)
            node = node[index] if index < len(node) else None
        else:
            parts.append(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return tuple(parts)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


# ---------------------------------------------------------------------------------------------------- public


def check_manifest(path: Path | str) -> list[ManifestError]:
    """Every problem of the manifest at ``path``, sorted by position (empty when it is valid).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "tools.yaml"
    ...     _ = path.write_text("tools:\\n  - name: lookup weather\\n    description: Weather.\\n")
    ...     for problem in check_manifest(path):
    ...         print(str(problem).replace(folder, "DIR"))
    DIR/tools.yaml:2:5: tools[0]: a tool is missing required key 'inputSchema'
    DIR/tools.yaml:2:11: tools[0].name: tool name must match ^[a-zA-Z0-9_-]+$: 'lookup weather'
    """
    return _check(Path(path))[1]


def load_manifest(path: Path | str) -> Manifest:
    """The checked manifest; raises the first :class:`ManifestError` when there is any problem."""
    manifest, errors = _check(Path(path))
    if errors or manifest is None:
        raise errors[0]
    return manifest


def _check(path: Path) -> tuple[Manifest | None, list[ManifestError]]:
    data, positions, errors = _parse(path)
    if errors:
        return None, errors
    checker = _Checker(path, positions)
    for dup_path, (line, column) in positions.duplicates:
        checker.errors.append(
            ManifestError(f"duplicate key {dup_path[-1]!r}", path=path, line=line, column=column,
                          field=_field(dup_path))
        )
    manifest = checker.manifest(data)
    ordered = sorted(checker.errors, key=lambda e: (e.line or 0, e.column or 0, e.field or "", e.message))
    return (manifest if not ordered else None), ordered
