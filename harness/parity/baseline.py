"""Baselines: the known divergences of one implementation from the golden (docs/baselines.md).

``baselines/<implementation>.yaml``::

    implementation: openai-agents
    divergences:
      "errors/fail_500_run:error":
        reason: raises "Codex stream error: ..." on the top-level error event before turn.failed
        issue: https://github.com/openai/openai-agents-python/issues/NNNN     # optional
      "faults/unknown_item_run":        # a whole scenario: any part may differ
        reason: ...

An entry names a scenario id, or ``scenario:part`` where *part* is a top-level observation key the
implementation is compared on (``invocations``, ``events``, ``result``, ``error``, ``earlier_turns``; the
reference also ``telemetry`` and ``logs``). The rules (MCP conformance / wpt, harness-lessons §3):

==========  ======================================  =====================================
the part    in the baseline                         verdict
==========  ======================================  =====================================
differs     listed (the part, or the whole scenario)  ``known_divergence`` (does not fail)
differs     not listed                              ``diverged`` (fails)
agrees      listed                                  ``stale`` (fails: remove the entry)
==========  ======================================  =====================================

An entry naming a scenario that does not exist fails the run too; a scenario that was skipped or errored
keeps its entries untouched. Files are validated strictly: any problem is a :class:`BaselineError` naming
``file:line:column`` (exit status 2).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from harness._atomic import write_text_atomic
from harness.errors import _LocatedError
from harness.report.model import PARTS, BaselineNote, BaselineProblem, Result, Status

__all__ = [
    "TODO_REASON",
    "Baseline",
    "BaselineError",
    "Entry",
    "apply_baseline",
    "baseline_path",
    "load_baseline",
    "load_baselines",
    "problems",
    "render_baseline",
    "update_baseline",
    "write_baseline",
]

#: The reason a new entry gets from ``--update-baseline``; a human replaces it with the explanation.
TODO_REASON = "TODO: explain"

_ID = re.compile(r"[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*")
_URL = re.compile(r"https?://\S+")
_TOP_KEYS = ("implementation", "divergences")
_ENTRY_KEYS = ("reason", "issue")


class BaselineError(_LocatedError):
    """A baseline file that is not valid (located as ``file:line:column: field: message``)."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One known divergence: ``part`` is ``None`` for a whole scenario."""

    scenario: str
    part: str | None
    reason: str
    issue: str | None = None
    line: int = 0
    column: int = 0

    @property
    def key(self) -> str:
        """``scenario`` or ``scenario:part``, as written in the file."""
        return self.scenario if self.part is None else f"{self.scenario}:{self.part}"

    def note(self, *, stale: bool = False) -> BaselineNote:
        return BaselineNote(entry=self.key, reason=self.reason, issue=self.issue, stale=stale)


@dataclasses.dataclass(frozen=True)
class Baseline:
    """The baseline of one implementation (``path`` is where it was read from or will be written to)."""

    implementation: str
    path: Path
    entries: tuple[Entry, ...] = ()

    def for_scenario(self, scenario: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.scenario == scenario]

    def location(self, entry: Entry) -> str:
        return f"{self.path}:{entry.line}:{entry.column}" if entry.line else str(self.path)


def baseline_path(directory: Path, implementation: str) -> Path:
    """``<directory>/<implementation>.yaml``."""
    return Path(directory) / f"{implementation}.yaml"


# ------------------------------------------------------------------------------------------ loading


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _scalar(node: yaml.Node) -> Any:
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def _mapping(node: yaml.Node, path: Path, field: str | None) -> list[tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        line, column = _pos(node)
        raise BaselineError("expected a mapping", path=path, line=line, column=column, field=field)
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
        line, column = _pos(key_node)
        if not isinstance(key, str):
            raise BaselineError("keys must be strings", path=path, line=line, column=column, field=field)
        if key in seen:
            raise BaselineError(
                f"duplicate key {key!r} (first at line {seen[key]})", path=path, line=line, column=column, field=field
            )
        seen[key] = line
    return list(node.value)


def _string(node: yaml.Node, path: Path, field: str) -> str:
    value = _scalar(node) if isinstance(node, yaml.ScalarNode) else None
    if not isinstance(value, str) or not value.strip():
        line, column = _pos(node)
        raise BaselineError("expected a non-empty string", path=path, line=line, column=column, field=field)
    return value


def _entry(key_node: yaml.Node, value_node: yaml.Node, path: Path, parts: Collection[str]) -> Entry:
    key: str = _scalar(key_node)
    line, column = _pos(key_node)
    scenario, sep, part = key.partition(":")
    if not _ID.fullmatch(scenario):
        raise BaselineError(
            f"{key!r} is not a scenario id (<area>/<name>) or <area>/<name>:<part>",
            path=path,
            line=line,
            column=column,
            field="divergences",
        )
    if sep and part not in parts:
        why = (
            f"unknown part {part!r}"
            if part not in PARTS
            else f"part {part!r} is not compared for this implementation (reference only)"
        )
        raise BaselineError(
            f"{why}; expected one of: {', '.join(parts)}", path=path, line=line, column=column, field=key
        )
    reason: str | None = None
    issue: str | None = None
    for field_node, field_value in _mapping(value_node, path, key):
        name = _scalar(field_node)
        if name == "reason":
            reason = _string(field_value, path, f"{key}.reason")
        elif name == "issue":
            if not (isinstance(field_value, yaml.ScalarNode) and _scalar(field_value) is None):
                issue = _string(field_value, path, f"{key}.issue")
                if not _URL.fullmatch(issue):
                    f_line, f_column = _pos(field_value)
                    raise BaselineError(
                        "expected an http(s) URL", path=path, line=f_line, column=f_column, field=f"{key}.issue"
                    )
        else:
            f_line, f_column = _pos(field_node)
            raise BaselineError(
                f"unknown key {name!r} (expected: {', '.join(_ENTRY_KEYS)})",
                path=path,
                line=f_line,
                column=f_column,
                field=key,
            )
    if reason is None:
        raise BaselineError("missing 'reason'", path=path, line=line, column=column, field=key)
    return Entry(scenario, part or None, reason, issue, line, column)


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
    found_impl: str | None = None
    entries: list[Entry] = []
    for key_node, value_node in _mapping(root, path, None):
        name = _scalar(key_node)
        if name == "implementation":
            found_impl = _string(value_node, path, "implementation")
            if found_impl != implementation:
                line, column = _pos(value_node)
                raise BaselineError(
                    f"this file is the baseline of {implementation!r} (its file name), not {found_impl!r}",
                    path=path,
                    line=line,
                    column=column,
                    field="implementation",
                )
        elif name == "divergences":
            if isinstance(value_node, yaml.ScalarNode) and _scalar(value_node) is None:
                continue
            for entry_key, entry_value in _mapping(value_node, path, "divergences"):
                entries.append(_entry(entry_key, entry_value, path, parts))
        else:
            line, column = _pos(key_node)
            raise BaselineError(
                f"unknown key {name!r} (expected: {', '.join(_TOP_KEYS)})", path=path, line=line, column=column
            )
    if found_impl is None:
        raise BaselineError("missing 'implementation'", path=path, line=1, column=1)
    whole = {e.scenario: e for e in entries if e.part is None}
    for entry in entries:
        if entry.part is not None and entry.scenario in whole:
            raise BaselineError(
                f"{entry.scenario} is listed whole (line {whole[entry.scenario].line}) and by part; keep one",
                path=path,
                line=entry.line,
                column=entry.column,
                field=entry.key,
            )
    return Baseline(implementation, path, tuple(entries))


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
class Verdict:
    """How a baseline changes a compared result."""

    status: Status
    notes: tuple[BaselineNote, ...]
    summary: str


def apply_baseline(
    entries: Sequence[Entry], diverging: Sequence[str], *, expectations_failed: bool = False
) -> Verdict:
    """The verdict of a compared result whose ``diverging`` parts are known, under ``entries`` (this
    scenario's baseline entries)."""
    whole = next((e for e in entries if e.part is None), None)
    if whole is not None:
        if diverging or expectations_failed:
            return Verdict(Status.KNOWN_DIVERGENCE, (whole.note(),), "")
        return Verdict(
            Status.STALE, (whole.note(stale=True),), f"stale baseline entry {whole.key}: the scenario now agrees"
        )
    listed = {e.part: e for e in entries if e.part is not None}
    notes = tuple(e.note(stale=e.part not in diverging) for e in entries)
    unlisted = [p for p in diverging if p not in listed]
    stale = [e.key for e in entries if e.part not in diverging]
    if unlisted or expectations_failed:
        return Verdict(Status.DIVERGED, notes, "")
    if stale:
        return Verdict(Status.STALE, notes, f"stale baseline entr{'y' if len(stale) == 1 else 'ies'} "
                       f"{', '.join(stale)}: the part now agrees; remove it (harness parity --update-baseline)")
    if diverging:
        return Verdict(Status.KNOWN_DIVERGENCE, notes, "")
    return Verdict(Status.PASSED, (), "")


def problems(baseline: Baseline, scenario_ids: Collection[str]) -> list[BaselineProblem]:
    """Entries that fail the run by themselves: they name a scenario that does not exist."""
    return [
        BaselineProblem(
            implementation=baseline.implementation,
            location=baseline.location(entry),
            entry=entry.key,
            message=f"no scenario {entry.scenario!r}: remove the entry (harness parity --update-baseline)",
        )
        for entry in baseline.entries
        if entry.scenario not in scenario_ids
    ]


def update_baseline(baseline: Baseline, results: Iterable[Result], scenario_ids: Collection[str]) -> Baseline:
    """The baseline that lists exactly the divergences of ``results`` (this implementation's), keeping:

    - the reason and issue of every entry that still applies (a whole-scenario entry stays whole while the
      scenario still diverges in any part);
    - every entry of an existing scenario that was not compared in this run (not selected, skipped, errored).

    Entries for divergences that stopped, and for scenarios that do not exist, are dropped; new ones get
    the reason :data:`TODO_REASON`.
    """
    compared = {r.scenario: r for r in results if r.compared_parts and r.agrees is not None}
    by_scenario: dict[str, list[Entry]] = {}
    for entry in baseline.entries:
        by_scenario.setdefault(entry.scenario, []).append(entry)
    out: list[Entry] = []
    for scenario in sorted(set(by_scenario) | set(compared)):
        existing = by_scenario.get(scenario, [])
        result = compared.get(scenario)
        if result is None:
            if scenario in scenario_ids:
                out.extend(existing)
            continue
        diverging = list(result.diverging_parts)
        whole = next((e for e in existing if e.part is None), None)
        if whole is not None and (diverging or result.failed_expectations):
            out.append(whole)
            continue
        listed = {e.part: e for e in existing}
        for part in diverging:
            kept = listed.get(part)
            out.append(kept if kept is not None else Entry(scenario, part, TODO_REASON))
    return dataclasses.replace(baseline, entries=tuple(sorted(out, key=_order)))


# ------------------------------------------------------------------------------------------ writing


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is a subset of it), line separators escaped."""
    import json

    quoted = json.dumps(text, ensure_ascii=False)
    return quoted.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


def _order(entry: Entry) -> tuple[str, int]:
    """Scenario id, then the whole-scenario entry, then parts in :data:`PARTS` order."""
    return entry.scenario, -1 if entry.part is None else PARTS.index(entry.part)


def render_baseline(baseline: Baseline) -> str:
    """The file text: a fixed header comment, entries sorted by scenario then part (in :data:`PARTS` order)."""
    entries = sorted(baseline.entries, key=_order)
    lines = [
        f"# Known divergences of {baseline.implementation} from the goldens (the reference SDK's behaviour).",
        "# Entries: <scenario id> or <scenario id>:<part>; see docs/baselines.md. A divergence not listed fails",
        "# `harness parity`, and so does an entry that no longer diverges (stale). Regenerate with",
        f"# `harness parity --impl {baseline.implementation} --update-baseline` (reasons are kept).",
        f"implementation: {baseline.implementation}",
    ]
    if not entries:
        lines.append("divergences: {}")
    else:
        lines.append("divergences:")
        for entry in entries:
            lines.append(f"  {_quote(entry.key)}:")
            lines.append(f"    reason: {_quote(entry.reason)}")
            if entry.issue:
                lines.append(f"    issue: {_quote(entry.issue)}")
    return "\n".join(lines) + "\n"


def write_baseline(baseline: Baseline) -> Path:
    """Write the baseline atomically to its path; return the path."""
    write_text_atomic(baseline.path, render_baseline(baseline))
    return baseline.path
