"""Reading ``parity.json`` back into a :class:`~harness.report.model.Report`, strictly.

A report is our own output, so anything wrong with it is reported as a :class:`ReportError` naming
``file:line`` (and the field), never as a ``KeyError`` traceback. A report without its footer is
rejected: the run that wrote it did not finish, and comparing against it would hide failures.
Unknown keys and unknown record types are ignored so that additive format changes
(more implementations, baselines) do not break older readers; a newer ``format_version`` is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.errors import ReportError
from harness.report.model import (
    FORMAT_VERSION,
    PARTS,
    BaselineNote,
    BaselineProblem,
    Counts,
    Footer,
    HarnessFailure,
    Header,
    Implementation,
    LeafDiff,
    Report,
    Result,
    Selection,
    Status,
)

__all__ = ["parse_report", "read_report"]


class _FieldError(Exception):
    """A bad field inside one record; the caller adds the file and line."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _get(obj: Mapping[str, Any], key: str, typ: type | tuple[type, ...], *, optional: bool = False) -> Any:
    if key not in obj:
        if optional:
            return None
        raise _FieldError(key, "missing")
    value = obj[key]
    if value is None and optional:
        return None
    # bool is an int subclass; a count of True is a corrupt report, not 1
    if isinstance(value, bool) and bool not in (typ if isinstance(typ, tuple) else (typ,)):
        raise _FieldError(key, f"expected {_names(typ)}, got a boolean")
    if not isinstance(value, typ):
        raise _FieldError(key, f"expected {_names(typ)}, got {type(value).__name__}")
    return value


def _names(typ: type | tuple[type, ...]) -> str:
    types = typ if isinstance(typ, tuple) else (typ,)
    return " or ".join(t.__name__ for t in types)


def _strings(obj: Mapping[str, Any], key: str) -> tuple[str, ...]:
    values = _get(obj, key, list, optional=True) or []
    if not all(isinstance(v, str) for v in values):
        raise _FieldError(key, "expected a list of strings")
    return tuple(values)


def _mapping(obj: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    value = _get(obj, key, dict, optional=True)
    return None if value is None else dict(value)


def _header(obj: Mapping[str, Any]) -> Header:
    version = _get(obj, "format_version", int)
    if version > FORMAT_VERSION:
        raise _FieldError(
            "format_version",
            f"report format {version} is newer than this harness reads (<= {FORMAT_VERSION}); "
            "upgrade the harness",
        )
    if version < 1:
        raise _FieldError("format_version", f"invalid format version {version}")
    implementations = []
    for index, raw in enumerate(_get(obj, "implementations", list, optional=True) or []):
        if not isinstance(raw, dict):
            raise _FieldError(f"implementations[{index}]", "expected an object")
        try:
            implementations.append(
                Implementation(
                    id=_get(raw, "id", str),
                    name=_get(raw, "name", str),
                    version=_get(raw, "version", str),
                    language=_get(raw, "language", str, optional=True) or "python",
                    sdk=_get(raw, "sdk", str, optional=True) or "",
                    homepage=_get(raw, "homepage", str, optional=True),
                    capabilities=_strings(raw, "capabilities"),
                    compared=_strings(raw, "compared") if "compared" in raw else PARTS,
                    problem=_get(raw, "problem", str, optional=True),
                    driver=_get(raw, "driver", str, optional=True) or "in-process",
                )
            )
        except _FieldError as exc:
            raise _FieldError(f"implementations[{index}].{exc.field}", exc.message) from None
    selection_raw = _get(obj, "selection", dict, optional=True) or {}
    try:
        selection = Selection(
            keyword=_get(selection_raw, "keyword", str, optional=True),
            tags=_strings(selection_raw, "tags"),
            scenarios=_get(selection_raw, "scenarios", str, optional=True) or "scenarios",
            shard=_get(selection_raw, "shard", str, optional=True),
            golden=_get(selection_raw, "golden", str, optional=True) or "golden",
        )
    except _FieldError as exc:
        raise _FieldError(f"selection.{exc.field}", exc.message) from None
    return Header(
        harness_version=_get(obj, "harness_version", str),
        python=_get(obj, "python", str),
        platform=_get(obj, "platform", str),
        started_at=_get(obj, "started_at", str),
        cli_versions=_strings(obj, "cli_versions"),
        implementations=tuple(implementations),
        argv=_strings(obj, "argv"),
        selection=selection,
        format_version=version,
    )


def _result(obj: Mapping[str, Any]) -> Result:
    raw_status = _get(obj, "status", str)
    try:
        status = Status(raw_status)
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise _FieldError("status", f"unknown status {raw_status!r} (expected one of {allowed})") from None
    failure = None
    failure_raw = _get(obj, "harness_error", dict, optional=True)
    if failure_raw is not None:
        try:
            failure = HarnessFailure(
                type=_get(failure_raw, "type", str),
                message=_get(failure_raw, "message", str),
                traceback=_get(failure_raw, "traceback", str, optional=True),
            )
        except _FieldError as exc:
            raise _FieldError(f"harness_error.{exc.field}", exc.message) from None
    return Result(
        scenario=_get(obj, "scenario", str),
        implementation=_get(obj, "implementation", str),
        status=status,
        title=_get(obj, "title", str, optional=True) or "",
        tags=_strings(obj, "tags"),
        agrees=_get(obj, "agrees", bool, optional=True),
        observation=_mapping(obj, "observation"),
        golden=_mapping(obj, "golden"),
        summary=_get(obj, "summary", str, optional=True) or "",
        diff=_get(obj, "diff", str, optional=True) or "",
        failed_expectations=_strings(obj, "failed_expectations"),
        harness_error=failure,
        skip_reason=_get(obj, "skip_reason", str, optional=True),
        duration_s=float(_get(obj, "duration_s", (int, float), optional=True) or 0.0),
        compared_parts=_strings(obj, "compared_parts"),
        diverging_parts=_strings(obj, "diverging_parts"),
        baseline=_notes(obj),
        adapter_stderr=_get(obj, "adapter_stderr", str, optional=True) or "",
        issue_url=_get(obj, "issue_url", str, optional=True),
        leaves=_leaves(obj),
        attempts=_strings(obj, "attempts"),
    )


def _leaves(obj: Mapping[str, Any]) -> tuple[LeafDiff, ...]:
    leaves = []
    for index, raw in enumerate(_get(obj, "leaves", list, optional=True) or []):
        if not isinstance(raw, dict):
            raise _FieldError(f"leaves[{index}]", "expected an object")
        try:
            change = _get(raw, "change", str)
            if change not in ("changed", "added", "removed"):
                raise _FieldError("change", f"unknown change {change!r} (expected changed, added or removed)")
            leaves.append(
                LeafDiff(
                    path=_get(raw, "path", str),
                    change=change,
                    expected=raw.get("expected"),
                    observed=raw.get("observed"),
                    finding=_get(raw, "finding", str, optional=True),
                )
            )
        except _FieldError as exc:
            raise _FieldError(f"leaves[{index}].{exc.field}", exc.message) from None
    return tuple(leaves)


def _notes(obj: Mapping[str, Any]) -> tuple[BaselineNote, ...]:
    notes = []
    for index, raw in enumerate(_get(obj, "baseline", list, optional=True) or []):
        if not isinstance(raw, dict):
            raise _FieldError(f"baseline[{index}]", "expected an object")
        try:
            notes.append(
                BaselineNote(
                    entry=_get(raw, "entry", str),
                    reason=_get(raw, "reason", str),
                    issue=_get(raw, "issue", str, optional=True),
                    stale=bool(_get(raw, "stale", bool, optional=True)),
                )
            )
        except _FieldError as exc:
            raise _FieldError(f"baseline[{index}].{exc.field}", exc.message) from None
    return tuple(notes)


def _baseline_problem(obj: Mapping[str, Any]) -> BaselineProblem:
    return BaselineProblem(
        implementation=_get(obj, "implementation", str),
        location=_get(obj, "location", str),
        entry=_get(obj, "entry", str),
        message=_get(obj, "message", str),
    )


def _footer(obj: Mapping[str, Any]) -> Footer:
    if _get(obj, "complete", bool) is not True:
        raise _FieldError("complete", "footer says the run did not complete")
    counts_raw = _get(obj, "counts", dict)
    try:
        counts = Counts(
            passed=_get(counts_raw, "passed", int),
            diverged=_get(counts_raw, "diverged", int),
            errored=_get(counts_raw, "errored", int),
            skipped=_get(counts_raw, "skipped", int),
            known_divergence=_get(counts_raw, "known_divergence", int, optional=True) or 0,
            stale=_get(counts_raw, "stale", int, optional=True) or 0,
            flaky=_get(counts_raw, "flaky", int, optional=True) or 0,
        )
    except _FieldError as exc:
        raise _FieldError(f"counts.{exc.field}", exc.message) from None
    return Footer(counts=counts, finished_at=_get(obj, "finished_at", str))


def parse_report(lines: Iterable[str], path: Path | str = "<report>") -> Report:
    """Parse JSON lines into a Report; every problem is a :class:`ReportError` at ``path:line``."""
    header: Header | None = None
    footer: Footer | None = None
    footer_line = 0
    results: dict[tuple[str, str], tuple[int, Result]] = {}
    problems: list[BaselineProblem] = []
    last_line = 0
    for number, text in enumerate(lines, start=1):
        last_line = number
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ReportError(
                f"not a JSON line: {exc.msg}", path=path, line=number, column=exc.colno
            ) from None
        if not isinstance(obj, dict):
            raise ReportError(f"expected a JSON object, got {type(obj).__name__}", path=path, line=number)
        record = obj.get("record")
        if footer is not None:
            raise ReportError(
                f"{record or 'line'} after the footer (line {footer_line})", path=path, line=number
            )
        try:
            if header is None:
                if record != "header":
                    raise ReportError(
                        f"missing header: the first line is {record!r}, expected 'header'",
                        path=path,
                        line=number,
                    )
                header = _header(obj)
            elif record == "header":
                raise ReportError("a second header", path=path, line=number)
            elif record == "result":
                result = _result(obj)
                if result.key in results:
                    first = results[result.key][0]
                    raise ReportError(
                        f"duplicate result for {result.scenario} ({result.implementation}); "
                        f"first at line {first}",
                        path=path,
                        line=number,
                    )
                results[result.key] = (number, result)
            elif record == "baseline_problem":
                problems.append(_baseline_problem(obj))
            elif record == "footer":
                footer = _footer(obj)
                footer_line = number
            # any other record type is a later, additive extension: ignored on purpose
        except _FieldError as exc:
            raise ReportError(exc.message, path=path, line=number, field=exc.field) from None
    if header is None:
        raise ReportError("empty report: no header, no results", path=path)
    if footer is None:
        raise ReportError(
            "missing footer: the run that wrote this report did not finish", path=path, line=last_line
        )
    ordered = tuple(sorted((r for _, r in results.values()), key=lambda r: r.key))
    actual = Counts.of(ordered)
    if actual != footer.counts:
        raise ReportError(
            f"footer counts {footer.counts.as_dict()} disagree with the results {actual.as_dict()}",
            path=path,
            line=footer_line,
            field="counts",
        )
    return Report(header=header, results=ordered, footer=footer, baseline_problems=tuple(problems))


def read_report(path: Path) -> Report:
    """Read and validate a report written by :func:`~harness.report.writer.write_json`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError("no such report file", path=path) from None
    except IsADirectoryError:
        raise ReportError("is a directory, not a report file", path=path) from None
    except UnicodeDecodeError as exc:
        raise ReportError(f"not UTF-8 text: {exc.reason}", path=path) from None
    except OSError as exc:
        raise ReportError(f"cannot read report: {exc.strerror}", path=path) from None
    # Split on \n only: str.splitlines() would also break a raw U+2028 (or \x85) inside a JSON string.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return parse_report(lines, path)
