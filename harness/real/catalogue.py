"""The case catalogue (``cases/*.yaml``): what to record with the real codex, as data.

A case is one or more *turns* (``resume_two_turns`` has two, each written to its own transcript). A turn says how
codex is invoked (prompt, stdin mode, argv extras, env changes, a signal after ``turn.started``) and the case says
what the fake model answers (a script, :func:`harness.fake.responses.parse_script`), which files seed the
workspace, and which config overrides go into ``config.toml``. The format is documented in ``docs/real-codex.md``.

Errors are one line, ``cases/exec.yaml:LINE: cases[i].field: message`` (:class:`CatalogueError`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from harness.errors import _LocatedError
from harness.fake.responses import Script, ScriptError, parse_script

__all__ = [
    "STDIN_MODES",
    "Case",
    "CatalogueError",
    "Signal",
    "Turn",
    "default_cases_dir",
    "load_catalogue",
    "select_cases",
]

StdinMode = Literal["stdin", "stdin_no_dash", "argv"]
#: ``stdin``: prompt on stdin, ``-`` appended; ``stdin_no_dash``: prompt on stdin, no positional (``--image`` is
#: greedy); ``argv``: the prompt is the positional argument, stdin is ``/dev/null``.
STDIN_MODES: tuple[str, ...] = ("stdin", "stdin_no_dash", "argv")
_ID = re.compile(r"[a-z0-9][a-z0-9_]*")
_SIGNALS = ("SIGINT", "SIGTERM", "SIGKILL")


class CatalogueError(_LocatedError):
    """A case catalogue that cannot be loaded."""


@dataclass(frozen=True)
class Signal:
    """Send ``name`` to codex ``after_s`` seconds after it printed ``turn.started``."""

    name: str
    after_s: float = 1.0


@dataclass(frozen=True)
class Turn:
    """One ``codex exec`` invocation; ``file`` names its transcript (``<file>.jsonl``)."""

    file: str
    prompt: str
    stdin: StdinMode = "stdin"
    argv: tuple[str, ...] = ()
    env: Mapping[str, str | None] = field(default_factory=dict)
    signal: Signal | None = None
    expect_exit: int | str = 0
    timeout_s: float = 60.0


@dataclass(frozen=True)
class Case:
    """A catalogue entry."""

    id: str
    turns: tuple[Turn, ...]
    script: Script
    server: bool = True
    config: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, bytes] = field(default_factory=dict)
    collect: tuple[str, ...] = ()
    keyword: str | None = None
    note: str | None = None
    tags: tuple[str, ...] = ()
    source: str = ""
    #: The ``model`` list as written (JSON-able): what the sandboxed worker receives and parses again.
    script_data: tuple[Any, ...] = ()

    @property
    def files_written(self) -> tuple[str, ...]:
        return tuple(turn.file for turn in self.turns)


def default_cases_dir() -> Path:
    """``cases/`` of the built-in corpus (the checkout's root, or the installed package's ``_corpus``)."""
    from harness.corpus import builtin_corpus

    return builtin_corpus().cases


def load_catalogue(paths: list[Path] | None = None) -> tuple[Case, ...]:
    """Every case of ``paths`` (files or folders of ``*.yaml``; default ``cases/``), ids unique."""
    files: list[Path] = []
    for path in paths or [default_cases_dir()]:
        if path.is_dir():
            files.extend(sorted(path.glob("*.yaml")))
        elif path.exists():
            files.append(path)
        else:
            raise CatalogueError("no such file or directory", path=path)
    cases: list[Case] = []
    seen: dict[str, Path] = {}
    transcripts: dict[str, str] = {}
    for file in files:
        for case in _load_file(file):
            if case.id in seen:
                raise CatalogueError(f"duplicate case id {case.id!r} (also in {seen[case.id]})", path=file, field="id")
            seen[case.id] = file
            for name in case.files_written:
                if name in transcripts and transcripts[name] != case.id:
                    raise CatalogueError(f"transcript {name} is also written by {transcripts[name]}", path=file)
                transcripts[name] = case.id
            cases.append(case)
    return tuple(cases)


def select_cases(cases: tuple[Case, ...], names: list[str]) -> tuple[Case, ...]:
    """The cases named (by case id or by a turn's transcript name), in catalogue order."""
    by_name = {case.id: case for case in cases} | {t.file: case for case in cases for t in case.turns}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise CatalogueError(f"unknown case {unknown[0]!r} (see cases/*.yaml)")
    wanted = {by_name[name].id for name in names}
    return tuple(case for case in cases if case.id in wanted)


def _load_file(path: Path) -> list[Case]:
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise CatalogueError(
            str(exc.problem), path=path, line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise CatalogueError("a catalogue is a mapping with a `cases` list", path=path, line=1)
    lines = _case_lines(root)
    out = []
    for index, raw in enumerate(data["cases"]):
        line = lines[index] if index < len(lines) else None
        where = f"cases[{index}]"
        try:
            out.append(_case(raw, where, path))
        except (ScriptError, _Bad) as exc:
            raise CatalogueError(str(exc), path=path, line=line) from None
    return out


def _case_lines(root: Any) -> list[int]:
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if getattr(key, "value", None) == "cases" and isinstance(value, yaml.SequenceNode):
            return [node.start_mark.line + 1 for node in value.value]
    return []


class _Bad(Exception):
    pass


_CASE_KEYS = {
    "id",
    "prompt",
    "stdin",
    "argv",
    "env",
    "signal",
    "expect_exit",
    "timeout_s",
    "turns",
    "model",
    "server",
    "config",
    "files",
    "collect",
    "keyword",
    "note",
    "tags",
}
_TURN_KEYS = {"file", "prompt", "stdin", "argv", "env", "signal", "expect_exit", "timeout_s"}


def _case(raw: Any, where: str, path: Path) -> Case:
    if not isinstance(raw, dict):
        raise _Bad(f"{where}: a case is a mapping")
    _only(raw, _CASE_KEYS, where)
    case_id = raw.get("id")
    if not isinstance(case_id, str) or not _ID.fullmatch(case_id):
        raise _Bad(f"{where}.id: a lower_snake_case id")
    where = f"{where} ({case_id})"
    if "turns" in raw:
        if "prompt" in raw:
            raise _Bad(f"{where}: prompt belongs in each of turns")
        turns_raw = raw["turns"]
        if not isinstance(turns_raw, list) or not turns_raw:
            raise _Bad(f"{where}.turns: a non-empty list")
        turns = tuple(_turn(t, f"{where}.turns[{i}]", None) for i, t in enumerate(turns_raw))
    else:
        turns = (_turn({k: v for k, v in raw.items() if k in _TURN_KEYS}, where, case_id),)
    server = raw.get("server", True)
    if not isinstance(server, bool):
        raise _Bad(f"{where}.server: true or false")
    script = parse_script(raw.get("model", []), f"{where}.model")
    if server and not script.responses:
        raise _Bad(f"{where}.model: scripted answers are required (or server: false)")
    config = raw.get("config", {})
    if not isinstance(config, dict):
        raise _Bad(f"{where}.config: a mapping of dotted keys to values")
    files = raw.get("files", {})
    if not isinstance(files, dict):
        raise _Bad(f"{where}.files: a mapping name -> text (or {{base64: ...}})")
    collect = raw.get("collect", [])
    tags = raw.get("tags", [])
    if not _str_list(collect) or not _str_list(tags):
        raise _Bad(f"{where}: collect and tags are lists of strings")
    return Case(
        id=case_id,
        turns=turns,
        script=script,
        server=server,
        config=dict(config),
        files={str(k): _file(v, f"{where}.files.{k}") for k, v in files.items()},
        collect=tuple(collect),
        keyword=_opt_str(raw.get("keyword"), f"{where}.keyword"),
        note=_opt_str(raw.get("note"), f"{where}.note"),
        tags=tuple(tags),
        source=str(path),
        script_data=tuple(raw.get("model", [])),
    )


def _turn(raw: Any, where: str, default_file: str | None) -> Turn:
    if not isinstance(raw, dict):
        raise _Bad(f"{where}: a turn is a mapping")
    _only(raw, _TURN_KEYS, where)
    file = raw.get("file", default_file)
    if not isinstance(file, str) or not _ID.fullmatch(file):
        raise _Bad(f"{where}.file: the transcript name (lower_snake_case)")
    prompt = raw.get("prompt")
    if not isinstance(prompt, str):
        raise _Bad(f"{where}.prompt: a string")
    stdin = raw.get("stdin", "stdin")
    if stdin not in STDIN_MODES:
        raise _Bad(f"{where}.stdin: one of {', '.join(STDIN_MODES)}")
    argv = raw.get("argv", [])
    if not _str_list(argv):
        raise _Bad(f"{where}.argv: a list of strings")
    env = raw.get("env", {})
    if not isinstance(env, dict) or not all(v is None or isinstance(v, str) for v in env.values()):
        raise _Bad(f"{where}.env: a mapping name -> string (null removes it)")
    signal = raw.get("signal")
    parsed_signal = None
    if signal is not None:
        if isinstance(signal, str):
            signal = {"name": signal}
        if not isinstance(signal, dict) or signal.get("name") not in _SIGNALS:
            raise _Bad(f"{where}.signal: {{name: {'|'.join(_SIGNALS)}, after_s: seconds}}")
        parsed_signal = Signal(str(signal["name"]), float(signal.get("after_s", 1.0)))
    expect = raw.get("expect_exit", 0)
    if not (isinstance(expect, int) and not isinstance(expect, bool)) and expect not in _SIGNALS:
        raise _Bad(f"{where}.expect_exit: an exit code or a signal name")
    timeout = raw.get("timeout_s", 60.0)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise _Bad(f"{where}.timeout_s: seconds (> 0)")
    return Turn(file, prompt, stdin, tuple(argv), dict(env), parsed_signal, expect, float(timeout))


def _file(value: Any, where: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and isinstance(value.get("base64"), str):
        return base64.b64decode(value["base64"])
    raise _Bad(f"{where}: text, or {{base64: ...}}")


def _only(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise _Bad(f"{where}: unknown field {unknown[0]!r}")


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _opt_str(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _Bad(f"{where}: a string")
    return value
