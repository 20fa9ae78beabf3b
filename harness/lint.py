"""``harness lint``: a self-check of the fixture transcript corpus (``harness-lessons.md`` §8).

Every ``*.jsonl`` under the given paths is one ``codex exec --json`` transcript. Two kinds, told apart by where the
file lives:

* **real** — ``<root>/<version>/<case>.jsonl`` (the folder is a version such as ``0.169.0``; ``<root>`` holds
  ``index.json``). Ground truth recorded from a real CLI: the lines must be valid, canonical and in the order of
  ``exec-protocol.md`` §5, the ``.meta.json`` beside it must agree with it, and ``index.json`` must record its
  sha256.
* **synthetic** — any other ``*.jsonl``. Hand-written odd shapes: only JSON validity and the byte-exact round trip
  are checked, plus a row for the file in the ``README.md`` of its folder.

``wire/`` folders (the requests codex sent) are skipped when walking a directory. Each problem is a
:class:`Finding` with an explicit :class:`Severity`: ``error`` (exit status 1) or ``warning`` (reported, exit
status 0). An unreadable path is a harness failure (:class:`~harness.errors.FixtureError`, exit status 2). The rules
and their codes are listed in ``docs/lint.md``.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from harness.errors import FixtureError
from harness.reference._jsoncodec import ExtraFields
from harness.reference._node import Node
from harness.reference.errors import EventParseError
from harness.reference.events import ThreadEvent, UnknownEvent, UnknownItem, parse, serialize

__all__ = [
    "DEFAULT_PATHS",
    "Finding",
    "LintResult",
    "Severity",
    "TranscriptSummary",
    "default_lint_paths",
    "lint_paths",
]

#: What ``harness lint`` checks without arguments (relative to the working directory, the repository root).
DEFAULT_PATHS: tuple[Path, ...] = (Path("fixtures/real"), Path("fixtures/synthetic"))


def default_lint_paths() -> list[Path]:
    """:data:`DEFAULT_PATHS` when the working directory has ``fixtures/``, else the built-in corpus's (an
    installed harness run from an SDK's repository lints the fixtures it ships)."""
    if Path("fixtures").is_dir():
        return list(DEFAULT_PATHS)
    from harness.corpus import builtin_corpus

    return [builtin_corpus().root / path for path in DEFAULT_PATHS]

_VERSION_DIR = re.compile(r"^\d+\.\d+\.\d+(?:[-+.][0-9A-Za-z.+-]+)?$")
_README_ROW = re.compile(r"^\|\s*`([^`]+\.jsonl)`\s*\|")
_AT_CHAR = re.compile(r" at char (\d+)$")

_TERMINAL = ("turn.completed", "turn.failed")
_ITEM_EVENTS = ("item.started", "item.updated", "item.completed")
#: Items the CLI prints only as ``item.completed`` (§5 rules 2 and 5).
_COMPLETED_ONLY = frozenset({"agent_message", "reasoning", "error"})
#: Items the current processor starts before completing (§5 rules 6 and 7).
_STARTED_FIRST = frozenset(
    {"command_execution", "file_change", "mcp_tool_call", "web_search", "collab_tool_call", "todo_list"}
)


class Severity(enum.StrEnum):
    """How bad a finding is. Only ``error`` fails the lint (exit status 1)."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem: where (``path``, 1-based ``line`` and ``column`` when known), how bad, which rule, what."""

    path: str
    line: int | None
    severity: Severity
    code: str
    message: str
    column: int | None = None
    suggestion: dict[str, Any] | None = None

    def render(self) -> str:
        """``path:line: severity: message [code]`` (``path: severity: …`` for a whole-file finding)."""
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.severity}: {self.message} [{self.code}]"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": str(self.severity),
            "code": self.code,
            "message": self.message,
        }
        if self.suggestion is not None:
            data["suggestion"] = self.suggestion
        return data


@dataclass
class TranscriptSummary:
    """What one transcript shows: its kind, CLI version, event and item sequence, how the turn ended."""

    path: str
    kind: Literal["real", "synthetic"]
    version: str | None = None
    lines: int = 0
    events: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    outcome: str | None = None
    exit_code: int | None = None

    def describe(self) -> str:
        """One line for ``harness lint -v``."""
        head = f"{self.kind} {self.version}" if self.version else self.kind
        text = f"{head}, {self.lines} line(s)"
        if self.kind == "real":
            text += f", {self.outcome or 'no terminal event'}"
            if self.exit_code is not None:
                text += f" (exit {self.exit_code})"
        kinds = list(dict.fromkeys(i.split(":", 1)[1] for i in self.items))
        if kinds:
            text += "; items: " + ", ".join(kinds)
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "version": self.version,
            "lines": self.lines,
            "events": self.events,
            "items": self.items,
            "outcome": self.outcome,
            "exit_code": self.exit_code,
        }


@dataclass
class LintResult:
    """Every finding and transcript summary of one lint run."""

    findings: list[Finding] = field(default_factory=list)
    transcripts: list[TranscriptSummary] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity is Severity.WARNING for f in self.findings)

    @property
    def exit_status(self) -> int:
        """0 when clean or warnings only, 1 when any error was found."""
        return 1 if self.errors else 0

    def summary(self) -> str:
        real = sum(t.kind == "real" for t in self.transcripts)
        synthetic = len(self.transcripts) - real
        return (
            f"linted {len(self.transcripts)} transcript(s) ({real} real, {synthetic} synthetic): "
            f"{self.errors} error(s), {self.warnings} warning(s)"
        )

    def render_lines(self, *, verbose: bool = False) -> list[str]:
        """The text report: findings in order, per-transcript ``info`` lines with ``verbose``, then the summary."""
        lines: list[str] = []
        if verbose:
            lines.extend(f"{t.path}: info: {t.describe()}" for t in self.transcripts)
        lines.extend(f.render() for f in self.findings)
        lines.append(self.summary())
        return lines

    def to_json(self) -> str:
        return json.dumps(
            {
                "findings": [f.to_dict() for f in self.findings],
                "transcripts": [t.to_dict() for t in self.transcripts],
                "summary": {
                    "transcripts": len(self.transcripts),
                    "errors": self.errors,
                    "warnings": self.warnings,
                    "exit_status": self.exit_status,
                },
            },
            indent=2,
            ensure_ascii=False,
        )


# --------------------------------------------------------------------------------------------------- discovery


def _is_real(path: Path) -> bool:
    return bool(_VERSION_DIR.match(path.parent.name))


#: Folders below a fixture root that hold other protocols' JSON lines, not ``codex exec --json`` transcripts:
#: ``wire/`` (model requests), ``appserver/`` (JSON-RPC sessions, checked by harness.fake.appserver's reader),
#: ``mcp/`` (MCP traffic).
_NOT_TRANSCRIPTS = ("wire", "appserver", "mcp")


def _walk(directory: Path) -> list[Path]:
    """Every ``*.jsonl`` below ``directory``, skipping the folders of :data:`_NOT_TRANSCRIPTS`."""
    found = []
    for path in directory.rglob("*.jsonl"):
        if any(part in _NOT_TRANSCRIPTS for part in path.relative_to(directory).parts[:-1]):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found)


def lint_paths(paths: Sequence[Path]) -> LintResult:
    """Lint every transcript under ``paths`` (files or directories).

    Raises :class:`~harness.errors.FixtureError` for a path that does not exist or cannot be read, and when the
    paths hold no transcript at all (an empty selection is never a silent green run).
    """
    linter = _Linter()
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise FixtureError("no such file or directory", path=path)
        if path.is_dir():
            linter.walked.append(path.resolve())
            files.extend(_walk(path))
        else:
            files.append(path)
    if not files:
        raise FixtureError("no *.jsonl transcripts here", path=", ".join(str(p) for p in paths))
    seen: set[Path] = set()
    for path in files:
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        linter.lint_file(path)
    linter.check_coverage()
    return linter.result


# ------------------------------------------------------------------------------------------------- the linter


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FixtureError(f"cannot read: {exc.strerror or exc}", path=path) from None


def _line_of(text: str, needle: str) -> int | None:
    """The 1-based line of the first occurrence of ``needle`` in ``text``."""
    index = text.find(needle)
    return None if index == -1 else text.count("\n", 0, index) + 1


def _line_of_key(text: str, key: str, value: str) -> int | None:
    """The 1-based line of ``"key": "value"`` (any spacing) in a JSON text."""
    match = re.search(rf'"{re.escape(key)}"\s*:\s*"{re.escape(value)}"', text)
    return None if match is None else text.count("\n", 0, match.start()) + 1


def _first_difference(a: str, b: str) -> int:
    """The 1-based column of the first character where ``a`` and ``b`` differ."""
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index + 1
    return min(len(a), len(b)) + 1


def _why_not_canonical(original: str, column: int) -> str:
    char = original[column - 1 : column]
    if char == "\r":
        return "a carriage return (CRLF line ending?); codex ends lines with \\n only"
    if char in (" ", "\t"):
        return "whitespace between JSON tokens; codex prints compact JSON"
    if char == "\ufeff":
        return "a byte-order mark"
    return "serialize() prints something else here"


def _item_ref(event: ThreadEvent) -> tuple[str | None, str | None]:
    """(id, type) of an item event's item, also for an event that only parsed tolerantly."""
    item: Any = getattr(event, "item", None)
    if item is None and isinstance(event, UnknownEvent):
        item = event.fields.get("item")
    if isinstance(item, Node):
        item_id, item_type = getattr(item, "id", None), getattr(item, "type", None)
    elif isinstance(item, dict):
        item_id, item_type = item.get("id"), item.get("type")
    else:
        return None, None
    return (
        item_id if isinstance(item_id, str) and item_id else None,
        str(item_type) if isinstance(item_type, str) else None,
    )


def _extra_fields(node: Any, path: str) -> Iterator[tuple[str, str, bool]]:
    """(JSON path, key, is_duplicate) for every field the typed model does not know, depth first."""
    if isinstance(node, Node):
        infos = msgspec.structs.fields(type(node))
        known = {i.encode_name for i in infos} | {"type"}
        extras = node.extra_fields
        if isinstance(extras, ExtraFields) and not isinstance(node, (UnknownEvent, UnknownItem)):
            for key, _ in extras.pairs:
                yield path, key, key in known
        for info in infos:
            if info.name in ("_layout", "extra_fields"):
                continue
            yield from _extra_fields(getattr(node, info.name), f"{path}.{info.encode_name}")
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _extra_fields(value, f"{path}[{index}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _extra_fields(value, f"{path}.{key}")


@dataclass
class _Index:
    path: Path
    text: str
    entries: dict[str, dict[str, Any]]


class _Linter:
    def __init__(self) -> None:
        self.result = LintResult()
        self.walked: list[Path] = []
        self._indexes: dict[Path, _Index | None] = {}
        self._readmes: dict[Path, tuple[Path, dict[str, int] | None]] = {}

    # -- helpers

    def add(
        self,
        path: Path | str,
        line: int | None,
        severity: Severity,
        code: str,
        message: str,
        *,
        column: int | None = None,
        suggestion: dict[str, Any] | None = None,
    ) -> None:
        self.result.findings.append(Finding(str(path), line, severity, code, message, column, suggestion))

    def error(self, path: Path | str, line: int | None, code: str, message: str, **extra: Any) -> None:
        self.add(path, line, Severity.ERROR, code, message, **extra)

    def warn(self, path: Path | str, line: int | None, code: str, message: str, **extra: Any) -> None:
        self.add(path, line, Severity.WARNING, code, message, **extra)

    def _under_walked(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved == d or resolved.is_relative_to(d) for d in self.walked)

    # -- per file

    def lint_file(self, path: Path) -> None:
        data = _read_bytes(path)
        real = _is_real(path)
        summary = TranscriptSummary(str(path), "real" if real else "synthetic")
        if real:
            summary.version = path.parent.name
        self.result.transcripts.append(summary)
        events = self._lint_lines(path, data, real, summary)
        if real:
            self._lint_real(path, data, events, summary)
        else:
            self._lint_synthetic(path, data)

    def _lint_lines(
        self, path: Path, data: bytes, real: bool, summary: TranscriptSummary
    ) -> list[tuple[int, ThreadEvent]]:
        """JSON validity and byte-exact round trip of every line (both kinds); strictness for real ones."""
        raw_lines = data.split(b"\n")
        if raw_lines[-1] == b"":
            raw_lines.pop()
        elif real:
            self.warn(
                path, len(raw_lines), "final-newline", "no newline at end of file; codex ends every line with \\n"
            )
        summary.lines = len(raw_lines)
        if not raw_lines and not real:
            self.warn(path, None, "empty", "empty file: no transcript lines")
        events: list[tuple[int, ThreadEvent]] = []
        for number, raw in enumerate(raw_lines, start=1):
            if not raw.strip():
                self.error(path, number, "blank-line", "blank line; codex never prints one")
                continue
            try:
                event = parse(raw, strict=False)
            except EventParseError as exc:
                reason = exc.reason
                column = None
                match = _AT_CHAR.search(reason)
                if match:
                    column = int(match.group(1)) + 1
                    reason = f"{reason[: match.start()]} at column {column}"
                self.error(path, number, "invalid-json", f"not a JSON event: {reason}", column=column)
                continue
            original = raw.decode("utf-8", "replace")  # parse() has already checked it
            again = serialize(event)
            if again != original:
                column = _first_difference(original, again)
                self.error(
                    path,
                    number,
                    "round-trip",
                    f"does not round-trip byte-exactly: first difference at column {column}, "
                    f"{_why_not_canonical(original, column)} (line has {original[column - 1 : column + 11]!r}, "
                    f"serialize() gives {again[column - 1 : column + 11]!r})",
                    column=column,
                )
            if real:
                self._lint_strict(path, number, raw)
            events.append((number, event))
            summary.events.append(event.type)
            if event.type in _ITEM_EVENTS:
                _, item_type = _item_ref(event)
                summary.items.append(f"{event.type}:{item_type}")
        return events

    def _lint_strict(self, path: Path, number: int, raw: bytes) -> None:
        """Real lines: shapes and fields the typed model does not know are warnings (a newer CLI may add them)."""
        try:
            strict = parse(raw, strict=True)
        except EventParseError as exc:
            self.warn(
                path,
                number,
                "unknown-shape",
                f"strict parse: {exc.reason} (unknown to the typed model; new in this CLI version?)",
            )
            return
        for where, key, duplicate in _extra_fields(strict, "$"):
            if duplicate:
                self.warn(path, number, "duplicate-key", f"duplicate key `{key}` at {where}")
            else:
                self.warn(
                    path,
                    number,
                    "unknown-field",
                    f"unknown field `{key}` at {where} (not in the typed model; new in this CLI version?)",
                )

    # -- real transcripts

    def _lint_real(
        self, path: Path, data: bytes, events: list[tuple[int, ThreadEvent]], summary: TranscriptSummary
    ) -> None:
        meta = self._lint_meta(path, data)
        terminal = self._lint_order(path, events)
        summary.outcome = terminal[1] if terminal else ("interrupted" if meta and _interrupted(meta) else None)
        if meta is not None:
            exit_code = meta.get("exit_code")
            summary.exit_code = exit_code if isinstance(exit_code, int) else None
        self._lint_terminal(path, events, terminal, meta)
        self._lint_index(path, data, summary, meta)

    def _lint_order(self, path: Path, events: list[tuple[int, ThreadEvent]]) -> tuple[int, str] | None:
        """§5 ordering: thread.started, warning items, turn.started, items, terminal. Returns the terminal."""
        if not events:
            self.error(path, None, "order", "empty transcript: no thread.started")
            return None
        first_line, first = events[0]
        thread_lines = [n for n, e in events if e.type == "thread.started"]
        if not thread_lines:
            self.error(path, first_line, "order", f"missing thread.started: first event is {first.type}")
        elif first.type != "thread.started":
            self.error(
                path,
                thread_lines[0],
                "order",
                f"thread.started must be the first event (line {first_line} is {first.type})",
            )
        for number in thread_lines[1:]:
            self.error(path, number, "order", f"second thread.started (first at line {thread_lines[0]})")

        turn_started: int | None = None
        terminal: tuple[int, str] | None = None
        open_items: dict[str, tuple[int, str | None]] = {}
        closed_items: dict[str, int] = {}
        for number, event in events:
            kind = event.type
            if kind == "thread.started":
                continue
            if terminal is not None:
                self.error(path, number, "order", f"{kind} after the turn ended ({terminal[1]} at line {terminal[0]})")
                continue
            if kind == "turn.started":
                if turn_started is not None:
                    self.error(path, number, "order", f"second turn.started (first at line {turn_started})")
                turn_started = number
                continue
            if turn_started is None and not (kind == "item.completed" and _item_ref(event)[1] == "error"):
                self.error(
                    path, number, "order", f"{kind} before turn.started (only warning `error` items may precede it)"
                )
            if kind in _TERMINAL:
                terminal = (number, kind)
            elif kind in _ITEM_EVENTS:
                self._item_event(path, number, event, open_items, closed_items)
        if turn_started is None:
            self.error(path, None, "order", "no turn.started")
        for item_id, (number, item_type) in open_items.items():
            self.error(path, number, "item-lifecycle", f"item {item_id} ({item_type}) started but never completed")
        return terminal

    def _item_event(
        self,
        path: Path,
        number: int,
        event: ThreadEvent,
        open_items: dict[str, tuple[int, str | None]],
        closed_items: dict[str, int],
    ) -> None:
        kind = event.type
        item_id, item_type = _item_ref(event)
        if item_id is None:
            self.error(path, number, "item-lifecycle", f"{kind} whose item has no id")
            return
        if kind != "item.completed" and item_type in _COMPLETED_ONLY:
            self.error(
                path,
                number,
                "item-lifecycle",
                f"{kind} for {item_type} item {item_id}; {item_type} items appear only as item.completed",
            )
            return
        if item_id in closed_items:
            self.error(
                path,
                number,
                "item-lifecycle",
                f"{kind} reuses item id {item_id}, completed at line {closed_items[item_id]}",
            )
            return
        started = open_items.get(item_id)
        if kind == "item.started":
            if started is not None:
                self.error(
                    path, number, "item-lifecycle", f"item.started for {item_id}, already started at line {started[0]}"
                )
            else:
                open_items[item_id] = (number, item_type)
            return
        if started is not None and started[1] != item_type:
            self.error(
                path,
                number,
                "item-lifecycle",
                f"{kind} of {item_id} has type {item_type}, but it started as {started[1]} at line {started[0]}",
            )
        if kind == "item.updated":
            if started is None:
                self.error(path, number, "item-lifecycle", f"item.updated for {item_id}, which never started")
            return
        open_items.pop(item_id, None)
        closed_items[item_id] = number
        if started is None and item_type in _STARTED_FIRST:
            self.warn(
                path,
                number,
                "item-not-started",
                f"{item_type} item {item_id} completed without item.started "
                "(the current processor starts it first; only the legacy one did not)",
            )

    def _lint_terminal(
        self,
        path: Path,
        events: list[tuple[int, ThreadEvent]],
        terminal: tuple[int, str] | None,
        meta: dict[str, Any] | None,
    ) -> None:
        """A turn ends in turn.completed/turn.failed unless the meta records an interrupt; exit code agrees."""
        if not events:
            return
        meta_name = _meta_path(path).name
        interrupted = meta is not None and _interrupted(meta)
        if terminal is None:
            if not interrupted:
                why = f"and {meta_name} records no interrupt (signal_sent / killed_by_signal / killed_after_timeout)"
                if meta is None:
                    why = f"and there is no readable {meta_name} to record an interrupt"
                self.error(
                    path, events[-1][0], "terminal", f"the turn never ends: no turn.completed or turn.failed, {why}"
                )
            return
        number, kind = terminal
        if meta is None:
            return
        if interrupted:
            self.warn(
                path,
                number,
                "terminal",
                f"{meta_name} records an interrupt, yet the turn ended with {kind} (signal after the turn?)",
            )
        if meta.get("killed_by_signal") is not None:
            return
        exit_code = meta.get("exit_code")
        if kind == "turn.completed" and exit_code != 0:
            self.error(
                path,
                number,
                "exit-code",
                f"turn.completed but {meta_name} records exit_code {json.dumps(exit_code)} (expected 0)",
            )
        elif kind == "turn.failed" and (type(exit_code) is not int or exit_code == 0):
            self.error(
                path,
                number,
                "exit-code",
                f"turn.failed but {meta_name} records exit_code {json.dumps(exit_code)} (expected non-zero)",
            )

    def _lint_meta(self, path: Path, data: bytes) -> dict[str, Any] | None:
        """The ``.meta.json`` beside a real transcript: present, valid, naming the file and the folder's version."""
        meta_path = _meta_path(path)
        if not meta_path.exists():
            self.error(
                path, None, "meta", f"no {_meta_name(path)} beside it (it records argv, exit code and cli_version)"
            )
            return None
        text = _read_bytes(meta_path).decode("utf-8", "replace")
        try:
            meta = json.loads(text)
        except json.JSONDecodeError as exc:
            self.error(meta_path, exc.lineno, "meta", f"not valid JSON: {exc.msg}", column=exc.colno)
            return None
        if not isinstance(meta, dict):
            self.error(meta_path, 1, "meta", "not a JSON object")
            return None
        version = path.parent.name
        cli_version = meta.get("cli_version")
        if cli_version is None:
            self.error(meta_path, None, "meta", "records no cli_version")
        elif cli_version != version:
            self.error(
                meta_path,
                _line_of(text, '"cli_version"'),
                "meta",
                f"cli_version {json.dumps(cli_version)} does not match the folder {version}",
            )
        named = meta.get("file")
        if named is not None and named != path.name:
            self.error(meta_path, _line_of(text, '"file"'), "meta", f"file {json.dumps(named)} is not {path.name}")
        if "exit_code" not in meta:
            self.error(meta_path, None, "meta", "records no exit_code")
        self._lint_stdout_stats(meta_path, text, meta, data)
        return meta

    def _lint_stdout_stats(self, meta_path: Path, text: str, meta: dict[str, Any], data: bytes) -> None:
        """``stdout_lines`` must match (a truncated copy). Byte counts are not compared: the recorded paths were
        rewritten after recording (``/srv/rec/ws``), so ``stdout_bytes``/``max_line_bytes`` legitimately differ."""
        recorded = meta.get("stdout_lines")
        actual = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
        if isinstance(recorded, int) and not isinstance(recorded, bool) and recorded != actual:
            self.error(
                meta_path,
                _line_of(text, '"stdout_lines"'),
                "meta",
                f"stdout_lines is {recorded} but the transcript has {actual} line(s) (copied incompletely?)",
            )

    # -- index.json

    def _index(self, root: Path) -> _Index | None:
        key = root.resolve()
        if key not in self._indexes:
            self._indexes[key] = self._load_index(root)
        return self._indexes[key]

    def _load_index(self, root: Path) -> _Index | None:
        index_path = root / "index.json"
        if not index_path.exists():
            self.error(index_path, None, "index", "missing: every real transcript needs an entry here")
            return None
        text = _read_bytes(index_path).decode("utf-8", "replace")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self.error(index_path, exc.lineno, "index", f"not valid JSON: {exc.msg}", column=exc.colno)
            return None
        transcripts = data.get("transcripts") if isinstance(data, dict) else None
        if not isinstance(transcripts, list):
            self.error(index_path, None, "index", "has no `transcripts` list")
            return None
        entries: dict[str, dict[str, Any]] = {}
        for entry in transcripts:
            if isinstance(entry, dict) and isinstance(entry.get("file"), str):
                if entry["file"] in entries:
                    self.error(
                        index_path,
                        _line_of_key(text, "file", entry["file"]),
                        "index",
                        f"{entry['file']} is listed twice",
                    )
                entries[entry["file"]] = entry
            else:
                self.error(index_path, None, "index", "an entry without a `file` string")
        return _Index(index_path, text, entries)

    def _lint_index(self, path: Path, data: bytes, summary: TranscriptSummary, meta: dict[str, Any] | None) -> None:
        root = path.parent.parent
        index = self._index(root)
        if index is None:
            return
        name = f"{path.parent.name}/{path.name}"
        digest = hashlib.sha256(data).hexdigest()
        entry = index.entries.get(name)
        if entry is None:
            suggestion: dict[str, Any] = {
                "version": path.parent.name,
                "case": (meta or {}).get("case", path.name.removesuffix(".jsonl")),
                "file": name,
                "sha256": digest,
                "bytes": len(data),
                "exit_code": (meta or {}).get("exit_code"),
                "killed_by_signal": (meta or {}).get("killed_by_signal"),
                "events": summary.events,
                "items": summary.items,
            }
            self.error(
                path,
                None,
                "index",
                f"not listed in {index.path}; add: {json.dumps(suggestion, ensure_ascii=False)}",
                suggestion=suggestion,
            )
            return
        if entry.get("sha256") != digest:
            self.error(
                path,
                None,
                "sha256",
                f"sha256 {digest} does not match index.json ({entry.get('sha256')}); real transcripts are never edited",
            )
        if entry.get("bytes") is not None and entry.get("bytes") != len(data):
            self.error(path, None, "sha256", f"{len(data)} bytes, index.json records {entry['bytes']}")
        if entry.get("version") not in (None, path.parent.name):
            self.error(path, None, "index", f"index.json files it under version {entry['version']}")
        for key in ("events", "items"):
            recorded = entry.get(key)
            actual = getattr(summary, key)
            if recorded is not None and recorded != actual:
                self.error(
                    path,
                    None,
                    "index",
                    f"index.json records {key} {json.dumps(recorded)}, the transcript has {json.dumps(actual)}",
                )
        if meta is not None:
            for key in ("exit_code", "killed_by_signal"):
                if key in entry and key in meta and entry[key] != meta[key]:
                    self.error(
                        path,
                        None,
                        "index",
                        f"index.json records {key} {json.dumps(entry[key])}, "
                        f"{_meta_path(path).name} {json.dumps(meta[key])}",
                    )

    # -- synthetic transcripts

    def _readme_rows(self, folder: Path) -> dict[str, int] | None:
        key = folder.resolve()
        if key not in self._readmes:
            readme = folder / "README.md"
            if not readme.is_file():
                self._readmes[key] = (folder, None)
            else:
                rows: dict[str, int] = {}
                text = _read_bytes(readme).decode("utf-8", "replace")
                for number, line in enumerate(text.splitlines(), start=1):
                    match = _README_ROW.match(line)
                    if match:
                        rows.setdefault(match.group(1), number)
                self._readmes[key] = (folder, rows)
        return self._readmes[key][1]

    def _lint_synthetic(self, path: Path, data: bytes) -> None:
        rows = self._readme_rows(path.parent)
        if rows is None:
            self.error(
                path,
                None,
                "readme",
                f"no {path.parent / 'README.md'} describes it (a table row: | `{path.name}` | models | why |)",
            )
        elif path.name not in rows:
            self.error(
                path,
                None,
                "readme",
                f"not described in {path.parent / 'README.md'} (add a row: | `{path.name}` | models | why |)",
            )

    # -- whole-corpus checks

    def check_coverage(self) -> None:
        """Index entries and README rows that name files no longer there (only inside walked directories)."""
        for key, index in self._indexes.items():
            if index is None:
                continue
            for name, _entry in index.entries.items():
                target = key / name
                if self._under_walked(target.parent) and not target.exists():
                    self.error(
                        index.path,
                        _line_of_key(index.text, "file", name),
                        "index",
                        f"lists {name}, which does not exist",
                    )
        for folder, rows in self._readmes.values():
            if rows is None or not self._under_walked(folder):
                continue
            for name, number in rows.items():
                if not (folder / name).exists():
                    self.error(folder / "README.md", number, "readme", f"describes {name}, which does not exist")


def _meta_path(path: Path) -> Path:
    return path.with_name(_meta_name(path))


def _meta_name(path: Path) -> str:
    """``case.jsonl`` -> ``case.meta.json``."""
    return path.name.removesuffix(".jsonl") + ".meta.json"


def _interrupted(meta: dict[str, Any]) -> bool:
    return (
        meta.get("signal_sent") is not None
        or meta.get("killed_by_signal") is not None
        or meta.get("killed_after_timeout") is True
    )
