"""``harness drift A B``: what changed in the real CLI's behaviour between two recorded versions.

Input is two folders of transcripts as ``harness record`` writes them (``<name>.jsonl``, ``<name>.meta.json``,
``wire/<name>.requests.jsonl``). Each transcript is reduced to its *shape* (:class:`Shape`): the event and item
type sequences, the set of JSON keys seen per event type and per item type, the exit status, the stderr lines
normalized (paths, ids, timestamps, durations), the error messages, and what codex sent to the model (request
count, header names and values, body keys and values outside the conversation, tools offered by name). Other
values are ignored on purpose: thread ids, texts and timings differ on every run, so a value diff would drown the
one new field that breaks an SDK; the values that are kept are normalized the same way (ids, times, version
numbers, long numbers).

Transcripts present in both versions are compared one by one (:class:`TranscriptDrift`); the version-wide view
(:attr:`Drift.changes`) unions the shapes of those common transcripts, so a case recorded only by the newer
catalogue never masquerades as a new CLI field. Rendering is a :class:`DriftRenderer`: Markdown for the committed
report, rich for the terminal; identical change lists are grouped so one new header in 43 transcripts is one row.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.table import Table

from harness.errors import HarnessError

__all__ = [
    "Drift",
    "DriftError",
    "DriftRenderer",
    "MarkdownRenderer",
    "RichRenderer",
    "SeqChange",
    "SetChange",
    "Shape",
    "TranscriptDrift",
    "ValueChange",
    "Version",
    "compare_versions",
    "load_version",
    "normalize_stderr",
    "resolve_version_dir",
    "shape_of",
]


class DriftError(HarnessError):
    """A version folder that cannot be compared (missing, empty)."""


# ------------------------------------------------------------------------------------------------ shapes


@dataclass(frozen=True)
class Shape:
    """One transcript reduced to what an SDK depends on (no values)."""

    name: str
    case: str
    events: tuple[str, ...]
    #: ``item.<x>:<item type>`` per item event, as in index.json.
    items: tuple[str, ...]
    #: ``(scope, keys)`` sorted by scope: ``("event turn.completed", ("type", "usage", "usage.input_tokens"))``,
    #: ``("item command_execution", (...))``, ``("request headers", ...)``, ``("request body", ...)``,
    #: ``("request tools", ...)``.
    keys: tuple[tuple[str, tuple[str, ...]], ...]
    #: ``"0"``, ``"1"``, a signal name, or ``"?"`` without a meta file.
    exit: str
    stderr: tuple[str, ...]
    #: Model requests codex made (``None`` without a wire file).
    requests: int | None

    def key_map(self) -> dict[str, frozenset[str]]:
        return {scope: frozenset(keys) for scope, keys in self.keys}


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"\b[0-9a-fA-F]{16,}\b")
_PATH = re.compile(r"(?<![\w.])/(?:[\w.@+-]+/)*([\w.@+-]+)")
_DURATION = re.compile(r"\b\d+(\.\d+)?\s?(ns|µs|us|ms|s|m)\b")


def normalize_stderr(text: str) -> tuple[str, ...]:
    """Non-blank stderr lines with the run-specific parts replaced: ANSI colours dropped, timestamps ``<time>``,
    uuids ``<id>``, long hex ``<hex>``, absolute paths ``<path>/basename``, durations ``<dur>``."""
    lines = []
    for raw in _ANSI.sub("", text).splitlines():
        line = _TIME.sub("<time>", _USERINFO.sub("<redacted>@", raw.strip()))
        line = _UUID.sub("<id>", line)
        line = _HEX.sub("<hex>", line)
        line = _PATH.sub(lambda m: f"<path>/{m.group(1)}", line)
        line = _DURATION.sub("<dur>", line)
        if line:
            lines.append(line)
    return tuple(lines)


_VERSION_NUMBER = re.compile(r"\b\d+\.\d+\.\d+\b")
_BIG_NUMBER = re.compile(r"\b\d{10,}\b")
_LONG_TEXT = 160
#: Headers whose value is the request itself (length, host), never compared by value.
_UNCOMPARED_HEADERS = frozenset({"content-length", "host"})
#: A header or body path whose value may be a credential: its value never reaches a report (only its name).
_SECRET_NAME = re.compile(
    r"(^|[_-])(auth\w*|api[_-]?key|access[_-]?key|token|secret|passw\w*|cookie|credentials?)($|[_-])", re.IGNORECASE
)
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def _normalize_value(text: str) -> str:
    """A run-independent spelling of one value: ids, times and version numbers replaced, long text elided."""
    text = _USERINFO.sub("<redacted>@", text)
    text = _UUID.sub("<id>", _TIME.sub("<time>", text))
    text = _BIG_NUMBER.sub("<n>", _VERSION_NUMBER.sub("<V>", _HEX.sub("<hex>", text)))
    return text if len(text) <= _LONG_TEXT else f"<text {len(text)} chars>"


def _leaves(value: Any, prefix: str) -> Iterator[str]:
    """``path=value`` per scalar leaf (a JSON-object string is opened: codex sends metadata that way)."""
    if isinstance(value, str) and value.startswith("{"):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, f"{prefix}.{key}" if prefix else str(key))
    elif (
        isinstance(value, list)
        and all(not isinstance(v, dict | list) for v in value)
        and not _SECRET_NAME.search(prefix)
    ):
        yield f"{prefix}={_normalize_value(json.dumps(value, ensure_ascii=False))}"
    elif isinstance(value, list):
        for child in value:
            yield from _leaves(child, f"{prefix}[]")
    elif _SECRET_NAME.search(prefix.rsplit(".", 1)[-1]):
        yield f"{prefix}=<redacted>"
    else:
        shown = value if isinstance(value, str) else json.dumps(value)
        yield f"{prefix}={_normalize_value(shown)}"


def _error_messages(data: dict[str, Any]) -> Iterator[str]:
    kind = data.get("type")
    if kind == "error" and isinstance(data.get("message"), str):
        yield data["message"]
    error = data.get("error")
    if kind == "turn.failed" and isinstance(error, dict) and isinstance(error.get("message"), str):
        yield error["message"]
    item = data.get("item")
    if isinstance(item, dict) and item.get("type") == "error" and isinstance(item.get("message"), str):
        yield item["message"]


def _paths(value: Any, prefix: str, out: set[str], skip: str | None = None) -> None:
    if isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            out.add(f"{prefix}.{key} (duplicate key)" if prefix else f"{key} (duplicate key)")
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.add(path)
            if path != skip:
                _paths(child, path, out)
    elif isinstance(value, list):
        for child in value:
            _paths(child, f"{prefix}[]", out)


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers keys it had more than once (codex 0.169+ prints a web_search item
    with two ``id`` keys; a plain dict would hide that shape)."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        keys = [k for k, _ in pairs]
        obj.duplicates = tuple(sorted({k for k in keys if keys.count(k) > 1}))
    return obj


def _lines(raw: bytes) -> Iterator[Any]:
    for line in raw.split(b"\n"):
        if line.strip():
            try:
                yield json.loads(line, object_pairs_hook=_object)
            except ValueError:
                yield None


def _wire_keys(path: Path, keys: dict[str, set[str]]) -> int | None:
    if not path.is_file():
        return None
    count = 0
    for record in _lines(path.read_bytes()):
        if not isinstance(record, dict):
            continue
        count += 1
        headers = record.get("headers")
        if isinstance(headers, dict):
            keys.setdefault("request headers", set()).update(str(h).lower() for h in headers)
            values = keys.setdefault("request header values", set())
            for header, value in headers.items():
                if str(header).lower() not in _UNCOMPARED_HEADERS:
                    values.update(_leaves(value, str(header).lower()))
        body = record.get("body")
        if isinstance(body, dict):
            body_keys = keys.setdefault("request body", set())
            body_values = keys.setdefault("request body values", set())
            for key, value in body.items():
                body_keys.add(key)
                if key not in ("input", "tools"):  # input is the conversation; tools are listed by name below
                    _paths(value, key, body_keys)
                    body_values.update(_leaves(value, key))
            tools = keys.setdefault("request tools", set())
            for tool in body.get("tools") or []:
                if isinstance(tool, dict):
                    name = tool.get("name")
                    tools.add(f"{tool.get('type')}:{name}" if name else str(tool.get("type")))
    return count


def shape_of(jsonl: Path) -> Shape:
    """The shape of one transcript file (its meta and wire files beside it are optional)."""
    name = jsonl.name.removesuffix(".jsonl")
    events: list[str] = []
    items: list[str] = []
    keys: dict[str, set[str]] = {}
    for data in _lines(jsonl.read_bytes()):
        if not isinstance(data, dict):
            events.append("(not json)" if data is None else "(not an object)")
            continue
        kind = str(data.get("type"))
        events.append(kind)
        _paths(data, "", keys.setdefault(f"event {kind}", set()), skip="item")
        messages = [_normalize_value(" ".join(normalize_stderr(m))) for m in _error_messages(data)]
        if messages:
            keys.setdefault("error messages", set()).update(messages)
        item = data.get("item")
        if isinstance(item, dict):
            item_type = str(item.get("type"))
            if kind.startswith("item."):
                items.append(f"{kind}:{item_type}")
            _paths(item, "", keys.setdefault(f"item {item_type}", set()))
    meta: Any = None
    meta_path = jsonl.with_name(f"{name}.meta.json")
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DriftError(f"{meta_path}: not readable JSON: {exc}") from None
    meta = meta if isinstance(meta, dict) else {}
    exit_ = meta.get("killed_by_signal") or meta.get("exit_code")
    requests = _wire_keys(jsonl.parent / "wire" / f"{name}.requests.jsonl", keys)
    return Shape(
        name=name,
        case=str(meta.get("case") or name),
        events=tuple(events),
        items=tuple(items),
        keys=tuple((scope, tuple(sorted(keys[scope]))) for scope in sorted(keys)),
        exit="?" if exit_ is None else str(exit_),
        stderr=normalize_stderr(str(meta.get("stderr_tail") or "")),
        requests=requests,
    )


@dataclass(frozen=True)
class Version:
    """One folder of transcripts: its label (the CLI version of its metas), binary and shapes by name."""

    label: str
    path: Path
    binary_sha256: str | None
    shapes: tuple[Shape, ...]

    def by_name(self) -> dict[str, Shape]:
        return {s.name: s for s in self.shapes}


def resolve_version_dir(arg: str, fixtures: Path | None = None) -> Path:
    """``arg`` as a folder, else ``<fixtures>/<arg>`` (default ``fixtures/real/``)."""
    from harness.real.record import default_out_dir

    given = Path(arg)
    if given.is_dir():
        return given
    root = fixtures or default_out_dir()
    if (root / arg).is_dir():
        return root / arg
    raise DriftError(f"{arg}: neither a folder nor a version in {root}")


def load_version(path: Path) -> Version:
    """Every ``*.jsonl`` transcript directly in ``path``."""
    files = sorted(p for p in Path(path).glob("*.jsonl") if p.is_file())
    if not files:
        raise DriftError(f"{path}: no transcripts (*.jsonl) to compare")
    labels: set[str] = set()
    digests: set[str] = set()
    for file in files:
        meta_path = file.with_name(file.name.removesuffix(".jsonl") + ".meta.json")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict):
            if isinstance(meta.get("cli_version"), str):
                labels.add(meta["cli_version"])
            if isinstance(meta.get("binary_sha256"), str):
                digests.add(meta["binary_sha256"])
    label = labels.pop() if len(labels) == 1 else Path(path).name
    digest = digests.pop() if len(digests) == 1 else None
    return Version(label, Path(path), digest, tuple(shape_of(f) for f in files))


# ----------------------------------------------------------------------------------------------- changes


@dataclass(frozen=True)
class SeqChange:
    """A type sequence that changed: ``ops`` like ``-error@2`` (old index), ``+item.started:x@3`` (new index)."""

    what: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    ops: tuple[str, ...]

    def line(self) -> str:
        return f"{self.what}: {' '.join(self.ops)}"


@dataclass(frozen=True)
class SetChange:
    """Keys (or types) added to / removed from one scope."""

    scope: str
    added: tuple[str, ...]
    removed: tuple[str, ...]

    def line(self) -> str:
        parts = [f"+{k}" for k in self.added] + [f"-{k}" for k in self.removed]
        return f"{self.scope}: {' '.join(parts)}"


@dataclass(frozen=True)
class ValueChange:
    """A single value that changed (exit status, request count)."""

    what: str
    old: str
    new: str

    def line(self) -> str:
        return f"{self.what}: {self.old} → {self.new}"


Change = SeqChange | SetChange | ValueChange


def _seq(what: str, old: tuple[str, ...], new: tuple[str, ...]) -> SeqChange | None:
    if old == new:
        return None
    ops: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag in ("delete", "replace"):
            ops.extend(f"-{old[i]}@{i}" for i in range(i1, i2))
        if tag in ("insert", "replace"):
            ops.extend(f"+{new[j]}@{j}" for j in range(j1, j2))
    return SeqChange(what, old, new, tuple(ops))


def _sets(old: Mapping[str, frozenset[str]], new: Mapping[str, frozenset[str]]) -> list[SetChange]:
    """Per scope present in both, keys added/removed; scopes (event/item types) new or gone are type changes."""
    changes: list[SetChange] = []
    for kind in ("event", "item", "request", "error"):
        old_types = {s for s in old if s.startswith(kind + " ")}
        new_types = {s for s in new if s.startswith(kind + " ")}
        if kind in ("event", "item") and old_types != new_types:
            changes.append(
                SetChange(
                    f"{kind} types",
                    tuple(sorted(s.split(" ", 1)[1] for s in new_types - old_types)),
                    tuple(sorted(s.split(" ", 1)[1] for s in old_types - new_types)),
                )
            )
        for scope in sorted(old_types & new_types):
            if old[scope] != new[scope]:
                changes.append(
                    SetChange(scope, tuple(sorted(new[scope] - old[scope])), tuple(sorted(old[scope] - new[scope])))
                )
    return changes


@dataclass(frozen=True)
class TranscriptDrift:
    """One transcript present in both versions, and what changed in it (``changes`` empty: nothing)."""

    name: str
    case: str
    changes: tuple[Change, ...]

    def lines(self) -> tuple[str, ...]:
        return tuple(c.line() for c in self.changes)


def _stderr(old: tuple[str, ...], new: tuple[str, ...]) -> SetChange | None:
    if old == new:
        return None
    added = [line for line in new if line not in old]
    removed = [line for line in old if line not in new]
    return SetChange("stderr", tuple(added), tuple(removed)) if added or removed else None


def _compare_one(old: Shape, new: Shape) -> TranscriptDrift:
    changes: list[Change] = []
    for change in (_seq("events", old.events, new.events), _seq("items", old.items, new.items)):
        if change is not None:
            changes.append(change)
    changes.extend(_sets(old.key_map(), new.key_map()))
    if old.exit != new.exit:
        changes.append(ValueChange("exit", old.exit, new.exit))
    stderr = _stderr(old.stderr, new.stderr)
    if stderr is not None:
        changes.append(stderr)
    if old.requests != new.requests:
        changes.append(ValueChange("model requests", str(old.requests), str(new.requests)))
    return TranscriptDrift(new.name, new.case, tuple(changes))


def _union(shapes: Iterable[Shape]) -> dict[str, frozenset[str]]:
    merged: dict[str, set[str]] = {}
    for shape in shapes:
        for scope, keys in shape.keys:
            merged.setdefault(scope, set()).update(keys)
    return {scope: frozenset(keys) for scope, keys in merged.items()}


@dataclass(frozen=True)
class Drift:
    """Two versions compared."""

    old: Version
    new: Version
    #: ``(name, case)`` of transcripts only in the old / new folder.
    only_old: tuple[tuple[str, str], ...]
    only_new: tuple[tuple[str, str], ...]
    transcripts: tuple[TranscriptDrift, ...]
    #: Version-wide: types and keys over the union of the common transcripts.
    changes: tuple[SetChange, ...]

    @property
    def changed(self) -> tuple[TranscriptDrift, ...]:
        return tuple(t for t in self.transcripts if t.changes)

    @property
    def unchanged(self) -> tuple[TranscriptDrift, ...]:
        return tuple(t for t in self.transcripts if not t.changes)

    def groups(self) -> list[tuple[tuple[str, ...], tuple[TranscriptDrift, ...]]]:
        """Changed transcripts grouped by identical change lines, largest group first."""
        grouped: dict[tuple[str, ...], list[TranscriptDrift]] = {}
        for t in self.changed:
            grouped.setdefault(t.lines(), []).append(t)
        return sorted(((k, tuple(v)) for k, v in grouped.items()), key=lambda kv: (-len(kv[1]), kv[1][0].name))


def compare_versions(old_dir: Path, new_dir: Path) -> Drift:
    """Compare the transcripts of two version folders."""
    old, new = load_version(old_dir), load_version(new_dir)
    old_by, new_by = old.by_name(), new.by_name()
    common = sorted(set(old_by) & set(new_by))
    return Drift(
        old=old,
        new=new,
        only_old=tuple((n, old_by[n].case) for n in sorted(set(old_by) - set(new_by))),
        only_new=tuple((n, new_by[n].case) for n in sorted(set(new_by) - set(old_by))),
        transcripts=tuple(_compare_one(old_by[n], new_by[n]) for n in common),
        changes=tuple(_sets(_union(old_by[n] for n in common), _union(new_by[n] for n in common))),
    )


# -------------------------------------------------------------------------------------------- rendering


class DriftRenderer(Protocol):
    """Turns a :class:`Drift` into text."""

    def render(self, drift: Drift) -> str:
        """The whole report."""
        ...


def _names(transcripts: Iterable[TranscriptDrift]) -> str:
    return ", ".join(t.name if t.name == t.case else f"{t.name} ({t.case})" for t in transcripts)


def _where(path: Path) -> str:
    """A folder as the report shows it: relative to the project when inside it, else ``<scratch>/<name>``."""
    from harness.corpus import builtin_corpus

    project = builtin_corpus().root
    try:
        return Path(path).resolve().relative_to(project).as_posix()
    except ValueError:
        return f"<scratch>/{Path(path).name}"


def _sha(digest: str | None) -> str:
    return digest[:12] if digest else "unknown"


@dataclass(frozen=True)
class MarkdownRenderer:
    """The committed report (``reports/drift-A-B.md``); ``note`` is a paragraph put under the header (where the
    folders came from, when that is not obvious)."""

    note: str = ""

    def render(self, drift: Drift) -> str:
        old, new = drift.old.label, drift.new.label
        out = [
            f"# Drift: codex {old} → {new}",
            "",
            f"Generated by `harness drift {_where(drift.old.path)} {_where(drift.new.path)}`: transcript *shapes* "
            "compared (event/item type sequences, keys per event/item type, exit status, normalized stderr and "
            "error messages; model requests: count, header names and values, body keys and values outside the "
            "conversation, tools by name). Ids, times, version numbers and texts are normalized away.",
            "",
            *([self.note, ""] if self.note else []),
            "| | old | new |",
            "|---|---|---|",
            f"| CLI | {old} | {new} |",
            f"| binary sha256 | `{_sha(drift.old.binary_sha256)}…` | `{_sha(drift.new.binary_sha256)}…` |",
            f"| transcripts | {len(drift.old.shapes)} | {len(drift.new.shapes)} |",
            "",
            f"**{len(drift.transcripts)}** transcripts in both: **{len(drift.changed)}** changed, "
            f"{len(drift.unchanged)} unchanged; {len(drift.only_old)} only in {old}, {len(drift.only_new)} only in "
            f"{new}.",
            "",
            "## Version-wide (union over the common transcripts)",
            "",
        ]
        if drift.changes:
            out += ["| scope | added | removed |", "|---|---|---|"]
            out += [f"| {c.scope} | {_md_list(c.added)} | {_md_list(c.removed)} |" for c in drift.changes]
        else:
            out.append("No event or item type, key, header, body key or tool appeared or disappeared.")
        out += ["", "## Per transcript", ""]
        if not drift.changed:
            out.append("No transcript changed.")
        for lines, members in drift.groups():
            out.append(f"**{len(members)} transcript{'s' if len(members) != 1 else ''}**: {_names(members)}")
            out.append("")
            out += [f"- `{line}`" for line in lines]
            out.append("")
        if drift.unchanged:
            out += ["", f"Unchanged: {_names(drift.unchanged)}."]
        for label, only in ((old, drift.only_old), (new, drift.only_new)):
            if only:
                names = ", ".join(n if n == c else f"{n} ({c})" for n, c in only)
                out += ["", f"## Only in {label}", "", names + "."]
        return "\n".join(_squeeze(out)).rstrip() + "\n"


def _md_list(values: tuple[str, ...]) -> str:
    return " ".join(f"`{v}`" for v in values) or "–"


def _squeeze(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return out


@dataclass(frozen=True)
class RichRenderer:
    """The terminal view: the same content as tables (colour only when ``color``)."""

    width: int = 120
    color: bool = False

    def render(self, drift: Drift) -> str:
        buffer = io.StringIO()
        console = Console(file=buffer, width=self.width, force_terminal=self.color, no_color=not self.color)
        old, new = drift.old.label, drift.new.label
        console.print(
            f"[bold]codex {old} → {new}[/]: {len(drift.transcripts)} in both, [bold]{len(drift.changed)}[/] changed, "
            f"{len(drift.only_old)} only in {old}, {len(drift.only_new)} only in {new}"
        )
        if drift.changes:
            table = Table(title="version-wide", title_justify="left")
            for column in ("scope", "added", "removed"):
                table.add_column(column, overflow="fold")
            for c in drift.changes:
                table.add_row(c.scope, " ".join(c.added), " ".join(c.removed))
            console.print(table)
        if drift.changed:
            table = Table(title="per transcript", title_justify="left")
            table.add_column("transcripts", overflow="fold", ratio=1)
            table.add_column("changes", overflow="fold", ratio=2)
            for lines, members in drift.groups():
                table.add_row(_names(members), "\n".join(lines))
            console.print(table)
        for label, only in ((old, drift.only_old), (new, drift.only_new)):
            if only:
                console.print(f"only in {label}: " + ", ".join(n for n, _ in only))
        return buffer.getvalue()
