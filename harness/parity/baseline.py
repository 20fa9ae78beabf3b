"""Baselines as *findings*: each root cause of an implementation's divergence, matched leaf by leaf
(docs/baselines.md, format 2).

``baselines/<implementation>.yaml``::

    format: 2
    implementation: openai-agents
    findings:
      prompt-dash-argument:
        reason: passes `-` as the prompt argument (TS passes none; both write the prompt on stdin)
        issue: https://github.com/openai/openai-agents-python/issues/NNNN          # optional
        scenarios: ["errors/*", "items/*"]                                         # optional globs; default all
        match:
          - path: invocations/*/argv/*          # a JSON-pointer pattern from the observation's root
            change: added                       # optional: changed | added | removed
            observed: "-"                       # optional: the observed leaf value (or observed_matches: REGEX)
    nondeterministic:                           # whole-scenario escape hatch, for races only
      faults/exit_before_stdin_run:
        reason: races a codex that exits before reading stdin ...

The comparison yields every differing leaf (:mod:`harness.parity.leaves`); each must be explained by a finding
whose scenario globs include the scenario and one of whose matchers matches the leaf, else the result is
``diverged`` and the report lists the unexplained leaves first. A finding that explains nothing in a run that
compared all its scenarios is *stale* and fails the run, so a baseline never rots and never hides a new
difference behind an old excuse. Files are validated strictly: a problem is a :class:`BaselineError` naming
``file:line:column: field: message`` (exit status 2).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from harness._atomic import write_text_atomic
from harness.errors import _LocatedError
from harness.parity.leaves import Change, Leaf, generalize, matches_pattern, split_pointer
from harness.report.model import PARTS, BaselineNote, BaselineProblem, LeafDiff, Result, Status

__all__ = [
    "FORMAT",
    "TODO_REASON",
    "Baseline",
    "BaselineError",
    "Finding",
    "Judgement",
    "Matcher",
    "Nondeterministic",
    "APPSERVER_EXTRA_PARTS",
    "baseline_parts",
    "baseline_path",
    "judge_result",
    "load_baseline",
    "load_baselines",
    "problems",
    "propose_findings",
    "render_baseline",
    "write_baseline",
]

#: The baseline file format this module reads and writes.
FORMAT = 2

#: The reason a proposed finding gets from ``--update-baseline``; a human replaces it with the explanation.
TODO_REASON = "TODO: explain"

_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_URL = re.compile(r"https?://\S+")
_ID = re.compile(r"[a-z0-9][a-z0-9_-]*(?:/[a-z0-9][a-z0-9_-]*)+")
_TOP_KEYS = ("format", "implementation", "findings", "nondeterministic")
_FINDING_KEYS = ("reason", "issue", "scenarios", "match")
_MATCHER_KEYS = ("part", "path", "change", "observed", "observed_matches", "expected", "expected_matches")
_ABSENT: Any = object()


class BaselineError(_LocatedError):
    """A baseline file that is not valid (located as ``file:line:column: field: message``)."""


@dataclasses.dataclass(frozen=True)
class Matcher:
    """Which leaves a finding explains: a pointer pattern, optionally the kind of change and the values."""

    path: str
    change: Change | None = None
    observed: Any = _ABSENT
    observed_matches: str | None = None
    expected: Any = _ABSENT
    expected_matches: str | None = None

    @property
    def part(self) -> str:
        return split_pointer(self.path)[0] if self.path else ""

    def matches(self, leaf: Leaf) -> bool:
        if not matches_pattern(split_pointer(self.path), leaf.path):
            return False
        if self.change is not None and leaf.change is not self.change:
            return False
        return _value_ok(leaf.observed, leaf.change is not Change.REMOVED, self.observed, self.observed_matches) and (
            _value_ok(leaf.expected, leaf.change is not Change.ADDED, self.expected, self.expected_matches)
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.change is not None:
            out["change"] = self.change.value
        for key in ("observed", "expected"):
            if getattr(self, key) is not _ABSENT:
                out[key] = getattr(self, key)
            if getattr(self, f"{key}_matches") is not None:
                out[f"{key}_matches"] = getattr(self, f"{key}_matches")
        return out


def _value_ok(value: Any, present: bool, literal: Any, regex: str | None) -> bool:
    if literal is not _ABSENT and (not present or value != literal):
        return False
    return not (regex is not None and (not present or re.search(regex, _text(value)) is None))


def _text(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclasses.dataclass(frozen=True)
class Finding:
    """One root cause: a name, the explanation, where it applies, and the leaves it explains."""

    name: str
    reason: str
    match: tuple[Matcher, ...]
    issue: str | None = None
    scenarios: tuple[str, ...] = ("*",)
    line: int = 0
    column: int = 0

    def applies_to(self, scenario: str) -> bool:
        return any(fnmatch.fnmatchcase(scenario, glob) for glob in self.scenarios)

    def explains(self, scenario: str, leaf: Leaf) -> bool:
        return self.applies_to(scenario) and any(m.matches(leaf) for m in self.match)

    def note(self) -> BaselineNote:
        return BaselineNote(entry=self.name, reason=self.reason, issue=self.issue)


@dataclasses.dataclass(frozen=True)
class Nondeterministic:
    """A whole scenario whose behaviour is not deterministic (a race): any difference in it is explained."""

    scenario: str
    reason: str
    line: int = 0
    column: int = 0

    def note(self) -> BaselineNote:
        return BaselineNote(entry=f"nondeterministic:{self.scenario}", reason=self.reason)


@dataclasses.dataclass(frozen=True)
class Baseline:
    """The baseline of one implementation (``path`` is where it was read from or will be written to)."""

    implementation: str
    path: Path
    findings: tuple[Finding, ...] = ()
    nondeterministic: tuple[Nondeterministic, ...] = ()

    def location(self, line: int, column: int) -> str:
        return f"{self.path}:{line}:{column}" if line else str(self.path)

    def escape_for(self, scenario: str) -> Nondeterministic | None:
        return next((n for n in self.nondeterministic if n.scenario == scenario), None)


#: The parts an app-server observation adds to the portable ones (harness.scenario.transports.appserver).
APPSERVER_EXTRA_PARTS: tuple[str, ...] = ("requests", "replies", "divergence")


def baseline_parts(implementation: str) -> tuple[str, ...]:
    """The observation parts a finding of ``implementation`` may name: every part for the reference, the portable
    parts of both transports for any SDK behind an adapter (exec: ``invocations`` …; app-server: ``replies`` …)."""
    from harness.report.model import PORTABLE_PARTS, REFERENCE

    return PARTS if implementation == REFERENCE else (*PORTABLE_PARTS, *APPSERVER_EXTRA_PARTS)


def baseline_path(directory: Path, implementation: str) -> Path:
    """``<directory>/<implementation>.yaml``."""
    return Path(directory) / f"{implementation}.yaml"


# ------------------------------------------------------------------------------------------ loading


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _value(node: yaml.Node) -> Any:
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and _value(node) is None


class _Reader:
    """Strict reading of one file's node tree, every error located."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node, message: str, field: str | None = None) -> BaselineError:
        line, column = _pos(node)
        return BaselineError(message, path=self.path, line=line, column=column, field=field)

    def mapping(self, node: yaml.Node, field: str | None) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, "expected a mapping", field)
        seen: dict[str, int] = {}
        out: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            key = _value(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise self.fail(key_node, "keys must be strings", field)
            if key in seen:
                raise self.fail(key_node, f"duplicate key {key!r} (first at line {seen[key]})", field)
            seen[key] = _pos(key_node)[0]
            out.append((key, key_node, value_node))
        return out

    def string(self, node: yaml.Node, field: str) -> str:
        value = _value(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(node, "expected a non-empty string", field)
        return value

    def strings(self, node: yaml.Node, field: str) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise self.fail(node, "expected a non-empty list of strings", field)
        return tuple(self.string(item, field) for item in node.value)

    def unknown(self, key: str, node: yaml.Node, allowed: Sequence[str], field: str | None) -> BaselineError:
        return self.fail(node, f"unknown key {key!r} (expected: {', '.join(allowed)})", field)


def _matcher(reader: _Reader, node: yaml.Node, field: str, parts: Collection[str]) -> Matcher:
    values: dict[str, Any] = {}
    part_node: yaml.Node | None = None
    for key, key_node, value_node in reader.mapping(node, field):
        if key not in _MATCHER_KEYS:
            raise reader.unknown(key, key_node, _MATCHER_KEYS, field)
        if key in ("path", "part", "observed_matches", "expected_matches"):
            values[key] = reader.string(value_node, f"{field}.{key}")
            if key == "part":
                part_node = value_node
        elif key == "change":
            text = reader.string(value_node, f"{field}.change")
            if text not in {c.value for c in Change}:
                raise reader.fail(value_node, "expected one of: changed, added, removed", f"{field}.change")
            values[key] = Change(text)
        else:
            values[key] = _value(value_node)
        if key.endswith("_matches"):
            try:
                re.compile(values[key])
            except re.error as exc:
                raise reader.fail(value_node, f"not a regular expression: {exc}", f"{field}.{key}") from None
    if "path" not in values:
        raise reader.fail(node, "missing 'path'", field)
    first = split_pointer(values["path"])[0]
    part = values.pop("part", None)
    if part is not None and first not in (part, "*", "**"):
        assert part_node is not None
        raise reader.fail(part_node, f"part {part!r} does not match the path's first segment {first!r}", field)
    if first not in ("*", "**") and not any(fnmatch.fnmatchcase(p, first) for p in parts):
        raise reader.fail(
            node, f"path {values['path']!r} names no compared part (expected one of: {', '.join(parts)})", field
        )
    return Matcher(**values)


def _finding(reader: _Reader, name: str, key_node: yaml.Node, node: yaml.Node, parts: Collection[str]) -> Finding:
    if not _NAME.fullmatch(name):
        raise reader.fail(key_node, f"{name!r} is not a finding name (lower case, digits, - _ .)", "findings")
    fields = {key: (key_node_, value) for key, key_node_, value in reader.mapping(node, name)}
    for key, (k_node, _) in fields.items():
        if key not in _FINDING_KEYS:
            raise reader.unknown(key, k_node, _FINDING_KEYS, name)
    if "reason" not in fields:
        raise reader.fail(key_node, "missing 'reason'", name)
    if "match" not in fields:
        raise reader.fail(key_node, "missing 'match' (a list of matchers)", name)
    reason = reader.string(fields["reason"][1], f"{name}.reason")
    issue: str | None = None
    if "issue" in fields and not _is_null(fields["issue"][1]):
        issue = reader.string(fields["issue"][1], f"{name}.issue")
        if not _URL.fullmatch(issue):
            raise reader.fail(fields["issue"][1], "expected an http(s) URL", f"{name}.issue")
    scenarios: tuple[str, ...] = ("*",)
    if "scenarios" in fields:
        scenarios = reader.strings(fields["scenarios"][1], f"{name}.scenarios")
    match_node = fields["match"][1]
    if not isinstance(match_node, yaml.SequenceNode) or not match_node.value:
        raise reader.fail(match_node, "expected a non-empty list of matchers", f"{name}.match")
    matchers = tuple(
        _matcher(reader, item, f"{name}.match[{index}]", parts) for index, item in enumerate(match_node.value)
    )
    line, column = _pos(key_node)
    return Finding(name, reason, matchers, issue, scenarios, line, column)


def load_baseline(path: Path, *, implementation: str, parts: Collection[str] = PARTS) -> Baseline:
    """Read and validate ``path``; a missing file is an empty baseline. Raises :class:`BaselineError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Baseline(implementation, path)
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"cannot read: {exc}", path=path) from None
    try:
        root = yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise BaselineError(f"invalid YAML: {exc.problem or exc}", path=path, line=line, column=column) from None
    if root is None:
        return Baseline(implementation, path)
    reader = _Reader(path)
    top = {key: (key_node, value) for key, key_node, value in reader.mapping(root, None)}
    for key, (key_node, _) in top.items():
        if key not in _TOP_KEYS:
            hint = (
                " (format 1 keyed entries by scenario:part; run `harness baseline migrate`)"
                if key == "divergences"
                else ""
            )
            raise reader.fail(key_node, f"unknown key {key!r} (expected: {', '.join(_TOP_KEYS)}){hint}")
    if "format" not in top or _value(top["format"][1]) != FORMAT:
        node = top["format"][1] if "format" in top else root
        raise reader.fail(node, f"expected 'format: {FORMAT}' (older files: `harness baseline migrate FILE`)", "format")
    if "implementation" not in top:
        raise reader.fail(root, "missing 'implementation'")
    found = reader.string(top["implementation"][1], "implementation")
    if found != implementation:
        raise reader.fail(
            top["implementation"][1],
            f"this file is the baseline of {implementation!r} (its file name), not {found!r}",
            "implementation",
        )
    findings: list[Finding] = []
    if "findings" in top and not _is_null(top["findings"][1]):
        for name, key_node, value_node in reader.mapping(top["findings"][1], "findings"):
            findings.append(_finding(reader, name, key_node, value_node, parts))
    escapes: list[Nondeterministic] = []
    if "nondeterministic" in top and not _is_null(top["nondeterministic"][1]):
        for scenario, key_node, value_node in reader.mapping(top["nondeterministic"][1], "nondeterministic"):
            if not _ID.fullmatch(scenario):
                raise reader.fail(
                    key_node,
                    f"{scenario!r} is not a scenario id (<area>/<name>, or deeper for generated scenarios)",
                    "nondeterministic",
                )
            fields = {k: (kn, v) for k, kn, v in reader.mapping(value_node, scenario)}
            for key, (k_node, _) in fields.items():
                if key != "reason":
                    raise reader.unknown(key, k_node, ("reason",), scenario)
            if "reason" not in fields:
                raise reader.fail(key_node, "missing 'reason' (say what is racy)", scenario)
            line, column = _pos(key_node)
            escapes.append(
                Nondeterministic(scenario, reader.string(fields["reason"][1], f"{scenario}.reason"), line, column)
            )
    return Baseline(implementation, path, tuple(findings), tuple(escapes))


def load_baselines(directory: Path, parts_by_implementation: Mapping[str, Sequence[str]]) -> dict[str, Baseline]:
    """The baselines of the given implementations from ``directory`` (missing files are empty baselines).

    A ``.yaml``/``.yml`` file in the directory that names no known implementation is an error too, so a typo
    in a file name cannot silently disable a baseline.
    """
    from harness.adapters.registry import ADAPTERS

    directory = Path(directory)
    if directory.is_dir():
        known = {spec.id for spec in ADAPTERS} | set(parts_by_implementation)
        for file in sorted(directory.iterdir()):
            if file.suffix in (".yaml", ".yml") and file.stem not in known:
                raise BaselineError(
                    f"no implementation named {file.stem!r} (known: {', '.join(sorted(known))})", path=file
                )
            if file.suffix == ".yml":
                raise BaselineError("baseline files end in .yaml", path=file)
    return {
        impl: load_baseline(baseline_path(directory, impl), implementation=impl, parts=parts)
        for impl, parts in parts_by_implementation.items()
    }


# ------------------------------------------------------------------------------------------ judging


@dataclasses.dataclass(frozen=True)
class Judgement:
    """How a baseline changes one compared result: its status, every leaf with the finding that explains it
    (unexplained ones first), and the findings that applied."""

    status: Status
    leaves: tuple[LeafDiff, ...]
    notes: tuple[BaselineNote, ...]
    summary: str = ""


def _leaf_diff(leaf: Leaf, finding: str | None) -> LeafDiff:
    return LeafDiff(leaf.pointer, leaf.change.value, leaf.expected, leaf.observed, finding)


def judge_result(
    baseline: Baseline | None, scenario: str, leaves: Sequence[Leaf], *, expectations_failed: bool
) -> Judgement:
    """The verdict of a compared result whose differing ``leaves`` are known (no baseline: every leaf is
    unexplained)."""
    escape = baseline.escape_for(scenario) if baseline is not None else None
    if escape is not None:
        status = Status.KNOWN_DIVERGENCE if (leaves or expectations_failed) else Status.PASSED
        name = escape.note().entry
        return Judgement(status, tuple(_leaf_diff(leaf, name) for leaf in leaves), (escape.note(),))
    findings = baseline.findings if baseline is not None else ()
    judged: list[LeafDiff] = []
    used: dict[str, Finding] = {}
    for leaf in leaves:
        finding = next((f for f in findings if f.explains(scenario, leaf)), None)
        judged.append(_leaf_diff(leaf, finding.name if finding else None))
        if finding is not None:
            used.setdefault(finding.name, finding)
    ordered = tuple(sorted(judged, key=lambda d: d.finding is not None))  # stable: unexplained first
    notes = tuple(f.note() for f in used.values())
    unexplained = [d for d in judged if d.finding is None]
    if unexplained:
        shown = ", ".join(d.path for d in unexplained[:5]) + (" ..." if len(unexplained) > 5 else "")
        return Judgement(Status.DIVERGED, ordered, notes, f"{len(unexplained)} unexplained difference(s): {shown}")
    if expectations_failed:
        return Judgement(Status.DIVERGED, ordered, notes)
    if leaves:
        return Judgement(Status.KNOWN_DIVERGENCE, ordered, notes)
    return Judgement(Status.PASSED, (), ())


def problems(
    baseline: Baseline,
    results: Iterable[Result],
    scenario_ids: Collection[str],
) -> list[BaselineProblem]:
    """What fails the run in the baseline itself: a stale finding (it explains nothing although every
    scenario it applies to ran and at least one was compared), a finding whose globs name no scenario, and a
    nondeterministic entry naming a scenario that does not exist."""
    mine = [r for r in results if r.implementation == baseline.implementation]
    ran = {r.scenario for r in mine}
    compared = {r.scenario for r in mine if r.agrees is not None}
    used = {name for r in mine for name in r.explained_by}
    out: list[BaselineProblem] = []
    for finding in baseline.findings:
        scope = [s for s in scenario_ids if finding.applies_to(s)]
        where = baseline.location(finding.line, finding.column)
        if not scope:
            out.append(
                BaselineProblem(
                    baseline.implementation,
                    where,
                    finding.name,
                    f"its scenarios {list(finding.scenarios)} match no scenario: remove or fix the globs",
                )
            )
            continue
        if finding.name in used or not set(scope) <= ran or not (set(scope) & compared):
            continue
        out.append(
            BaselineProblem(
                baseline.implementation,
                where,
                finding.name,
                "stale: it explains no difference any more; remove it (or fix its matchers)",
            )
        )
    for escape in baseline.nondeterministic:
        if escape.scenario not in scenario_ids:
            out.append(
                BaselineProblem(
                    baseline.implementation,
                    baseline.location(escape.line, escape.column),
                    f"nondeterministic:{escape.scenario}",
                    f"no scenario {escape.scenario!r}",
                )
            )
    return out


# ------------------------------------------------------------------------------------------ proposing


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60].strip("-") or "finding"


def propose_findings(baseline: Baseline, results: Iterable[Result]) -> Baseline:
    """The baseline plus one proposed finding per group of unexplained leaves, grouped by (generalized
    path, change, observed value): named after the path, reason :data:`TODO_REASON`, limited to the scenarios
    where the group occurred. Existing findings keep their text and order; stale ones are left for a human
    to remove (the run says which)."""
    import json

    groups: dict[tuple[str, str, str], tuple[Matcher, list[str]]] = {}
    for result in results:
        if result.implementation != baseline.implementation:
            continue
        for diff in result.unexplained:
            leaf = Leaf.from_dict({"path": diff.path, "change": diff.change, "observed": diff.observed})
            observed = leaf.observed if leaf.change is not Change.REMOVED else _ABSENT
            scalar = not isinstance(observed, Mapping | list)
            key = (
                generalize(leaf.path),
                leaf.change.value,
                json.dumps(observed, sort_keys=True, default=str) if scalar else "",
            )
            if key not in groups:
                matcher = Matcher(generalize(leaf.path), leaf.change, observed if scalar else _ABSENT)
                groups[key] = (matcher, [])
            if result.scenario not in groups[key][1]:
                groups[key][1].append(result.scenario)
    taken = {f.name for f in baseline.findings}
    new: list[Finding] = []
    for (path, change, _), (matcher, scenarios) in sorted(groups.items()):
        name = _slug(f"{path}-{change}")
        base, n = name, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name)
        new.append(Finding(name, TODO_REASON, (matcher,), scenarios=tuple(sorted(scenarios))))
    return dataclasses.replace(baseline, findings=baseline.findings + tuple(new))


# ------------------------------------------------------------------------------------------ writing


def _quote(value: Any) -> str:
    """A YAML flow scalar for any JSON value (JSON is YAML), line separators escaped."""
    import json

    quoted = json.dumps(value, ensure_ascii=False)
    return quoted.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


def render_baseline(baseline: Baseline) -> str:
    """The file text: a fixed header comment, findings in their order, then the nondeterministic scenarios."""
    lines = [
        f"# Findings: why {baseline.implementation} differs from the goldens (the reference SDK's behaviour).",
        "# Each finding is one root cause and the leaves it explains (docs/baselines.md). A difference no finding",
        "# explains fails `harness parity`, and so does a finding that explains nothing (stale). Propose new ones with",
        f"# `harness parity --impl {baseline.implementation} --update-baseline`, then explain each.",
        f"format: {FORMAT}",
        f"implementation: {baseline.implementation}",
    ]
    if not baseline.findings:
        lines.append("findings: {}")
    else:
        lines.append("findings:")
    for finding in baseline.findings:
        lines.append(f"  {finding.name}:")
        lines.append(f"    reason: {_quote(finding.reason)}")
        if finding.issue:
            lines.append(f"    issue: {_quote(finding.issue)}")
        if finding.scenarios != ("*",):
            lines.append(f"    scenarios: [{', '.join(_quote(s) for s in finding.scenarios)}]")
        lines.append("    match:")
        for matcher in finding.match:
            fields = matcher.to_dict()
            lines.append("      - " + "\n        ".join(f"{key}: {_quote(value)}" for key, value in fields.items()))
    if baseline.nondeterministic:
        lines.append("nondeterministic:")
        for escape in baseline.nondeterministic:
            lines.append(f"  {_quote(escape.scenario)}:")
            lines.append(f"    reason: {_quote(escape.reason)}")
    return "\n".join(lines) + "\n"


def write_baseline(baseline: Baseline) -> Path:
    """Write the baseline atomically to its path; return the path."""
    write_text_atomic(baseline.path, render_baseline(baseline))
    return baseline.path
