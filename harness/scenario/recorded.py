"""Recorded cases become scenarios: a *manifest* (``scenarios/recorded.yaml``) names the case catalogue and the CLI
versions, and the loader expands it into one replay scenario per (case, version, mode).

Why generate instead of hand-writing one YAML per fixture: the catalogue (``cases/exec.yaml``) already says what
the SDK was asked (prompt, argv extras, seed files, env) and ``fixtures/real/index.json`` what codex did (exit
code, signal, event sequence). Writing that again by hand drifts; deriving it keeps every transcript of a
recorded version replayed, and is what live mode (:mod:`harness.scenario.transports.live`) needs: the case that
scripted the fake model is still attached to the scenario (:class:`~harness.scenario.model.RecordedCase`).

A generated scenario is ordinary scenario data (the ``schema.json`` shape), built here and validated by the same
loader as a hand-written file; its id is ``<manifest stem>/<version slug>/<case>_<mode>``
(``recorded/0_171_0/agent_message_run``). Manifest format (docs/scenarios.md, "Recorded cases")::

    recorded:
      catalogue: cases/exec.yaml          # relative to the project root
      versions: ["0.171.0"]               # fixtures/real/<version>/ must hold the transcripts
      modes: [run, streamed]              # default both
      skip: {case_id: reason}             # cases not generated at all (optional)
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import ScenarioError
from harness.scenario.model import RecordedCase

__all__ = [
    "MANIFEST_KEY",
    "Generated",
    "Manifest",
    "expand_manifest",
    "is_manifest",
    "load_manifest",
    "version_slug",
]

#: The top-level key that makes a YAML file directly under ``scenarios/`` a manifest.
MANIFEST_KEY = "recorded"
_MODES = ("run", "streamed")
#: Images a recorded case seeds are staged from here (the same bytes as the catalogue's ``tiny.png``).
_IMAGE_STAGE = "fixtures/synthetic/images/tiny.png"
#: What codex prints on stderr when it reads the prompt from stdin without a `-` (fixtures/real/*/image_input).
_STDIN_NOTE = "Reading prompt from stdin...\n"


#: The timeout of every generated scenario (seconds).
_TIMEOUT_S = 10


def version_slug(version: str) -> str:
    """``0.171.0`` -> ``0_171_0`` (an id segment)."""
    return re.sub(r"[^a-z0-9]+", "_", version.lower()).strip("_")


def is_manifest(file: Path, root: Path) -> bool:
    """A scenario-root-level YAML file (``scenarios/<name>.yaml``) is a manifest, never a scenario."""
    try:
        return len(file.relative_to(root).parts) == 1
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True)
class Manifest:
    """A validated manifest: where the catalogue is, which versions and modes to generate, what to leave out."""

    path: Path
    catalogue: str
    versions: tuple[str, ...]
    modes: tuple[str, ...] = _MODES
    skip: Mapping[str, str] = dataclasses.field(default_factory=dict)
    line: int = 1
    #: Cases replayed but never run live, with the reason (e.g. a racy item order).
    replay_only: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def area(self) -> str:
        """The first id segment of every generated scenario (the manifest's file stem)."""
        return self.path.stem


@dataclasses.dataclass(frozen=True)
class Generated:
    """One generated scenario: its id, the scenario data (schema.json shape) and the case it came from."""

    id: str
    data: dict[str, Any]
    recorded: RecordedCase


def _fail(message: str, manifest: Path, line: int = 1, field: str | None = None) -> ScenarioError:
    return ScenarioError(message, path=manifest, line=line, column=1, field=field)


def load_manifest(file: Path, data: Any, line: int = 1) -> Manifest:
    """A :class:`Manifest` from the parsed YAML of ``file`` (one-line errors naming the field)."""
    if not isinstance(data, Mapping) or set(data) != {MANIFEST_KEY} or not isinstance(data[MANIFEST_KEY], Mapping):
        raise _fail(
            f"a file directly under scenarios/ is a manifest: a mapping with one key {MANIFEST_KEY!r} "
            "(scenario files live at scenarios/<area>/<name>.yaml)",
            file,
        )
    raw = data[MANIFEST_KEY]
    unknown = sorted(set(raw) - {"catalogue", "versions", "modes", "skip", "replay_only"})
    if unknown:
        raise _fail(f"unknown key {unknown[0]!r} (allowed: catalogue, modes, replay_only, skip, versions)", file, line,
                    f"{MANIFEST_KEY}.{unknown[0]}")
    catalogue = raw.get("catalogue")
    if not isinstance(catalogue, str) or Path(catalogue).is_absolute():
        raise _fail("catalogue: a path relative to the project root", file, line, f"{MANIFEST_KEY}.catalogue")
    versions = raw.get("versions")
    if not isinstance(versions, list) or not versions or not all(isinstance(v, str) for v in versions):
        raise _fail("versions: a non-empty list of CLI versions", file, line, f"{MANIFEST_KEY}.versions")
    modes = raw.get("modes", list(_MODES))
    if not isinstance(modes, list) or not modes or any(m not in _MODES for m in modes):
        raise _fail(f"modes: a non-empty list of {', '.join(_MODES)}", file, line, f"{MANIFEST_KEY}.modes")
    given: dict[str, dict[str, str]] = {}
    for name in ("skip", "replay_only"):
        value = raw.get(name, {})
        if not isinstance(value, Mapping) or not all(isinstance(v, str) and v for v in value.values()):
            raise _fail(f"{name}: a mapping case id -> reason", file, line, f"{MANIFEST_KEY}.{name}")
        given[name] = {str(k): v for k, v in value.items()}
    return Manifest(file, catalogue, tuple(versions), tuple(modes), given["skip"], line, given["replay_only"])


def expand_manifest(manifest: Manifest, project_root: Path) -> list[Generated]:
    """Every scenario the manifest stands for, in catalogue order: one per (case, version, mode) whose transcripts
    all exist under ``fixtures/real/<version>/``."""
    from harness.real.catalogue import CatalogueError, load_catalogue

    where = f"{MANIFEST_KEY}.catalogue"
    try:
        cases = load_catalogue([project_root / manifest.catalogue])
    except CatalogueError as exc:
        raise _fail(f"cannot load the catalogue: {exc}", manifest.path, manifest.line, where) from None
    known = {case.id for case in cases}
    for key, names in (("skip", manifest.skip), ("replay_only", manifest.replay_only)):
        for name in names:
            if name not in known:
                raise _fail(f"{key}: unknown case {name!r}", manifest.path, manifest.line, f"{MANIFEST_KEY}.{key}")
    index = _index(project_root)
    out: list[Generated] = []
    for version in manifest.versions:
        folder = project_root / "fixtures" / "real" / version
        if not folder.is_dir():
            raise _fail(f"versions: no recordings at fixtures/real/{version}", manifest.path, manifest.line,
                        f"{MANIFEST_KEY}.versions")
        for case in cases:
            if case.id in manifest.skip:
                continue
            files = [f"fixtures/real/{version}/{turn.file}.jsonl" for turn in case.turns]
            if not all((project_root / f).is_file() for f in files):
                continue
            for mode in manifest.modes:
                out.append(_generate(manifest, case, version, mode, files, index))
    return out


def _index(project_root: Path) -> dict[str, Mapping[str, Any]]:
    """``fixtures/real/index.json`` transcripts by their ``<version>/<file>`` path."""
    try:
        data = json.loads((project_root / "fixtures" / "real" / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(t["file"]): t for t in data.get("transcripts", []) if isinstance(t, Mapping) and "file" in t}


@dataclasses.dataclass
class _Mapped:
    """A case's argv extras in SDK terms: options, live-only config, what cannot be said through the SDK."""

    thread: dict[str, Any] = dataclasses.field(default_factory=dict)
    turn: dict[str, Any] = dataclasses.field(default_factory=dict)
    images: list[str] = dataclasses.field(default_factory=list)
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    not_live: list[str] = dataclasses.field(default_factory=list)


def _toml_scalar(text: str) -> Any:
    """The value of a ``-c key=value`` as codex parses it (TOML; a bare word is a string)."""
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _map_argv(case: Any, turn: Any) -> _Mapped:
    mapped = _Mapped()
    argv = list(turn.argv)
    i = 0
    while i < len(argv):
        flag = argv[i]
        value = argv[i + 1] if i + 1 < len(argv) else ""
        if flag == "-c" and "=" in value:
            key, _, text = value.partition("=")
            if "{" in text:  # a scratch path ({python}, {mcp_server}): no stable SDK option can name it
                mapped.not_live.append(f"-c {key} names a scratch path")
            node = mapped.config
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = _toml_scalar(text)
        elif flag == "-s":
            mapped.thread["sandbox_mode"] = value
        elif flag == "-m":
            mapped.thread["model"] = value
        elif flag == "--output-schema":
            name = value.removeprefix("{ws}/")
            mapped.turn["output_schema"] = json.loads(case.files[name].decode("utf-8"))
        elif flag == "-o":
            pass  # the last message file: codex's stdout is the same without it
        elif flag == "--image":
            mapped.images.append(value.removeprefix("{ws}/"))
        elif flag == "resume":
            pass  # a later turn on the same Thread: the SDK passes `resume <id>` itself
        else:
            mapped.not_live.append(f"argv {flag} has no SDK option")
            i += 1
            continue
        i += 2
    return mapped


def _expectations(entries: Sequence[Mapping[str, Any] | None], mode: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(faults, expect)`` of the last turn from its index entry: the recorded exit/signal become faults (a replay
    copies neither), and the terminal event and error kind become expectations."""
    last = entries[-1] or {}
    faults: dict[str, Any] = {}
    expect: dict[str, Any] = {}
    events = list(last.get("events") or [])
    signal, code = last.get("killed_by_signal"), last.get("exit_code")
    if signal:
        faults["signal"] = signal
        expect["error.kind"] = "signal"
    elif code:
        faults["exit_code"] = code
        # run() raises the turn.failed it read; run_streamed() yields it and then raises the exit (TS semantics).
        failed = mode == "run" and bool(events) and events[-1] == "turn.failed"
        expect["error.kind"] = "turn_failed" if failed else "exit"
    else:
        expect["error"] = None
    if mode == "streamed" and events:
        terminal = events[-1]
        key = "events.-1.type" if terminal in ("turn.completed", "turn.failed") else "events.count"
        expect[key] = terminal if key.endswith("type") else len(events)
    return faults, expect


def _generate(
    manifest: Manifest, case: Any, version: str, mode: str, files: list[str], index: Mapping[str, Any]
) -> Generated:
    sid = f"{manifest.area}/{version_slug(version)}/{case.id}_{mode}"
    entries = [index.get(f.removeprefix("fixtures/real/")) for f in files]
    turns: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    not_live: list[str] = []
    # `harness record` always passes --skip-git-repo-check (the scratch workspace is no git repository).
    thread_options: dict[str, Any] = {"skip_git_repo_check": True}
    turn_options: dict[str, Any] = {}
    config: dict[str, Any] = {}
    for position, (turn, fixture) in enumerate(zip(case.turns, files, strict=True)):
        mapped = _map_argv(case, turn)
        not_live += mapped.not_live
        if turn.stdin == "argv":
            not_live.append("the prompt is a positional argument (an SDK sends it on stdin)")
        if turn.signal is not None:
            not_live.append(f"codex got {turn.signal.name} from outside (an SDK would abort with SIGTERM)")
        if turn.stdin == "stdin" and mapped.images:
            not_live.append("`-` after --image (an SDK passes no `-`)")
        thread_options |= mapped.thread
        turn_options |= mapped.turn
        config |= mapped.config
        step: dict[str, Any] = {"replay": fixture}
        if position == len(case.turns) - 1:
            faults, expect = _expectations(entries, mode)
            if faults and turn.stdin != "argv":
                # An SDK sends the prompt on stdin without a `-`, and then codex says so on stderr (the recorded
                # stdin_no_dash cases show it), which a failed turn's error carries.
                faults["stderr"] = _STDIN_NOTE
            if faults:
                step["faults"] = faults
        steps.append(step)
        sdk_input: Any = turn.prompt
        if mapped.images:
            sdk_input = [{"type": "text", "text": turn.prompt}]
            # The catalogue seeds tiny.png into the recording's workspace: the scenario stages the same bytes, so
            # replay and live runs pass a file that exists (any other image argument is passed as it was).
            sdk_input += [
                {"type": "local_image", "stage": _IMAGE_STAGE} if image == "tiny.png" else
                {"type": "local_image", "path": image}
                for image in mapped.images
            ]
        turns.append({"input": sdk_input, "mode": mode})
    data: dict[str, Any] = {
        "title": f"recorded case {case.id} (codex {version}), {mode}",
        "description": f"Generated from {manifest.catalogue} by {manifest.path.name}: replays "
        + ", ".join(files)
        + (f". {case.note}" if case.note else ""),
        "tags": ["recorded", *(t for t in case.tags if re.fullmatch(r"[a-z][a-z0-9_]*", t))],
        "plan": {"steps": steps},
        "expect": expect,
        # A replay takes milliseconds and a live run seconds; an SDK that hangs costs timeout + the adapter
        # margin in the matrix, so keep it short.
        "timeout": _TIMEOUT_S,
    }
    # The case's `-c` overrides go through the SDK's `config` option, which passes them as `-c` flags again.
    options: dict[str, Any] = {"codex": {"config": config}} if config else {}
    options["thread"] = thread_options
    if turn_options:
        options["turn"] = turn_options
    if options:
        data["options"] = options
    if len(turns) == 1:
        data["input"], data["mode"] = turns[0]["input"], mode
    else:
        data["turns"] = turns
    recorded = RecordedCase(
        case=case.id,
        version=version,
        catalogue=manifest.catalogue,
        transcripts=tuple(files),
        live=not not_live and case.id not in manifest.replay_only,
        not_live_reason="; ".join(r for r in dict.fromkeys([*not_live, manifest.replay_only.get(case.id, "")]) if r),
    )
    return Generated(sid, data, recorded)
