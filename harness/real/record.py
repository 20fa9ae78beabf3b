"""``harness record``: run catalogue cases with the real codex in the sandbox and write fixtures.

Per case: a scratch folder outside ``/tmp`` (``ws/`` the workspace, ``home/`` the ``CODEX_HOME`` with the offline
``config.toml``, ``userhome/`` an empty ``HOME``), seeded files, a job file; then the sandboxed worker
(:mod:`.worker`) runs the turns against the fake model. Back on the host the outputs are written to
``<out>/<V>/<file>.jsonl`` (codex's stdout byte for byte, except that the scratch paths are rewritten to the
corpus's neutral ones, ``/srv/rec/ws`` etc., so fixtures do not depend on the recording machine),
``<file>.meta.json`` (corpus shape), ``wire/<file>.requests.jsonl`` (tool schemas reduced to names, long texts
cut, credentials redacted) and ``<out>/index.json``. Cases run in parallel (``workers``, default 2).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import harness.real.mcp_echo as _mcp_echo
from harness._atomic import write_text_atomic
from harness.errors import HarnessError
from harness.real.catalogue import Case, Turn
from harness.real.install import binary_path, cache_root
from harness.real.lock import LockFile, default_lock_path, version_key
from harness.real.sandbox import (
    FAKE_PORT,
    Isolation,
    NetnsIsolation,
    minimal_env,
    offline_config,
    redact_env,
    render_toml,
)

__all__ = [
    "NEUTRAL_PATHS",
    "RecordError",
    "RecordRun",
    "Recording",
    "default_out_dir",
    "record",
    "scratch_root",
    "sequence_of",
    "update_index",
]

#: Where scratch folders go in the recorded files (as in the shared corpus).
NEUTRAL_PATHS = {
    "ws": "/srv/rec/ws",
    "home": "/srv/rec/home",
    "userhome": "/srv/rec/userhome",
    "mcp_log": "/srv/rec/mcp.jsonl",
    "root": "/srv/rec",
    "mcp_server": "/opt/recorder/mcp_echo_server.py",
    "python": "/usr/bin/python3",
}
_TEXT_CUT = 2000
_STDERR_TAIL = 2048


class RecordError(HarnessError):
    """A recording that could not be made at all (sandbox refused, worker crashed, ...)."""


def default_out_dir() -> Path:
    """Where recordings go: the checkout's ``fixtures/real``; with an installed harness, ``./fixtures/real`` (never
    into site-packages)."""
    from harness.corpus import builtin_corpus

    corpus = builtin_corpus()
    return corpus.fixtures / "real" if corpus.origin == "checkout" else Path("fixtures/real")


def scratch_root() -> Path:
    """Scratch folders: ``$HARNESS_REAL_SCRATCH`` or ``~/.cache/codex-parity-harness/scratch`` (not ``/tmp``:
    codex warns about a ``CODEX_HOME`` under a temporary dir)."""
    configured = os.environ.get("HARNESS_REAL_SCRATCH")
    return Path(configured) if configured else Path.home() / ".cache" / "codex-parity-harness" / "scratch"


@dataclass(frozen=True)
class Recording:
    """One transcript written."""

    case: str
    file: str
    exit_code: int | None
    killed_by_signal: str | None
    expected: int | str
    wall_time_s: float
    events: tuple[str, ...]
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class RecordRun:
    """All recordings of one ``harness record``."""

    version: str
    out: Path
    recordings: tuple[Recording, ...]
    wall_time_s: float

    @property
    def problems(self) -> list[str]:
        return [f"{r.file}: {p}" for r in self.recordings for p in r.problems]


def sequence_of(stdout: bytes) -> tuple[list[str], list[str]]:
    """``(events, items)`` as in index.json: event types, and ``item.<x>:<item type>`` for item events."""
    events: list[str] = []
    items: list[str] = []
    for raw in stdout.split(b"\n"):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            events.append("(not json)")
            continue
        kind = str(data.get("type")) if isinstance(data, dict) else "(not an object)"
        events.append(kind)
        item = data.get("item") if isinstance(data, dict) else None
        if kind.startswith("item.") and isinstance(item, dict):
            items.append(f"{kind}:{item.get('type')}")
    return events, items


@dataclass
class _Scratch:
    root: Path
    ws: Path = field(init=False)
    home: Path = field(init=False)
    userhome: Path = field(init=False)
    mcp_log: Path = field(init=False)
    job: Path = field(init=False)

    def __post_init__(self) -> None:
        self.ws, self.home, self.userhome = self.root / "ws", self.root / "home", self.root / "userhome"
        self.mcp_log, self.job = self.root / "mcp.jsonl", self.root / "job" / "job.json"
        for folder in (self.ws, self.home, self.userhome, self.job.parent):
            folder.mkdir(parents=True)

    def placeholders(self) -> dict[str, str]:
        return {
            "{ws}": str(self.ws),
            "{python}": sys.executable,
            "{mcp_server}": str(Path(_mcp_echo.__file__).resolve()),
            "{mcp_log}": str(self.mcp_log),
        }

    def neutralize(self, text: str, cache: Path) -> str:
        pairs = [
            (str(self.ws), NEUTRAL_PATHS["ws"]),
            (str(self.userhome), NEUTRAL_PATHS["userhome"]),
            (str(self.home), NEUTRAL_PATHS["home"]),
            (str(self.mcp_log), NEUTRAL_PATHS["mcp_log"]),
            (str(self.root), NEUTRAL_PATHS["root"]),
            (str(Path(_mcp_echo.__file__).resolve()), NEUTRAL_PATHS["mcp_server"]),
            (sys.executable, NEUTRAL_PATHS["python"]),
            (str(cache), "$HARNESS_CODEX_CACHE"),
        ]
        for real, neutral in pairs:
            text = text.replace(real, neutral)
        return text


def _expand(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for key, real in names.items():
            value = value.replace(key, real)
        return value
    if isinstance(value, list):
        return [_expand(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, names) for k, v in value.items()}
    return value


def _turn_argv(binary: Path, turn: Turn, names: Mapping[str, str]) -> list[str]:
    argv = [str(binary), "exec", "--json", "--skip-git-repo-check", *_expand(list(turn.argv), names)]
    if turn.stdin == "stdin":
        argv.append("-")
    elif turn.stdin == "argv":
        argv.append(turn.prompt)
    return argv


def _abridge(record: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(record)
    body = out.get("body")
    if isinstance(body, dict):
        body = dict(body)
        if isinstance(body.get("tools"), list):
            body["tools"] = [
                {"type": t.get("type"), "name": t.get("name")} for t in body["tools"] if isinstance(t, dict)
            ]
        body = _cut(body)
        out["body"] = body
    return out


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _TEXT_CUT:
        return value[:_TEXT_CUT] + f"…[cut {len(value) - _TEXT_CUT} chars]"
    if isinstance(value, list):
        return [_cut(v) for v in value]
    if isinstance(value, dict):
        return {k: _cut(v) for k, v in value.items()}
    return value


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _expected_ok(expected: int | str, exit_code: int | None, killed: str | None) -> bool:
    return killed == expected if isinstance(expected, str) else (killed is None and exit_code == expected)


class _Recorder:
    def __init__(self, version: str, binary: Path, digest: str, out: Path, isolation: Isolation, cache: Path) -> None:
        self.version, self.binary, self.digest = version, binary, digest
        self.out, self.isolation, self.cache = out, isolation, cache

    def record_case(self, case: Case) -> list[Recording]:
        scratch_root().mkdir(parents=True, exist_ok=True)
        scratch = _Scratch(scratch_root() / f"{case.id}-{uuid.uuid4().hex[:8]}")
        try:
            return self._record_in(case, scratch)
        finally:
            shutil.rmtree(scratch.root, ignore_errors=True)

    def _record_in(self, case: Case, scratch: _Scratch) -> list[Recording]:
        names = scratch.placeholders()
        config_toml = render_toml(offline_config(FAKE_PORT, overrides=_expand(dict(case.config), names)))
        (scratch.home / "config.toml").write_text(config_toml, encoding="utf-8")
        for name, data in case.files.items():
            target = scratch.ws / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        turns = []
        for turn in case.turns:
            env = minimal_env(scratch.home, scratch.userhome, changes=_expand(dict(turn.env), names))
            turns.append(
                {
                    "file": turn.file,
                    "argv": _turn_argv(self.binary, turn, names),
                    "stdin": None if turn.stdin == "argv" else turn.prompt,
                    "env": env,
                    "signal": turn.signal.name if turn.signal else None,
                    "signal_after_s": turn.signal.after_s if turn.signal else 0.0,
                    "timeout_s": turn.timeout_s,
                }
            )
        job = {
            "case": case.id,
            "cwd": str(scratch.ws),
            "outdir": str(scratch.job.parent),
            "server": case.server,
            "port": FAKE_PORT,
            "script": list(case.script_data),
            "turns": turns,
        }
        scratch.job.write_text(json.dumps(job), encoding="utf-8")
        argv = self.isolation.wrap([sys.executable, "-m", "harness.real.worker", str(scratch.job)])
        timeout = sum(t.timeout_s for t in case.turns) + 30
        done = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=timeout, stdin=subprocess.DEVNULL
        )
        result_path = scratch.job.with_name("result.json")
        if not result_path.exists():
            detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RecordError(f"{case.id}: the sandboxed worker failed (exit {done.returncode}): {detail}")
        result = json.loads(result_path.read_text(encoding="utf-8"))
        if "error" in result:
            raise RecordError(f"{case.id}: {result['error']}")
        collected = {
            name: (scratch.ws / name).read_text(encoding="utf-8", errors="replace")
            for name in case.collect
            if (scratch.ws / name).exists()
        }
        mcp_lines = scratch.mcp_log.read_text(encoding="utf-8") if scratch.mcp_log.exists() else ""
        return [
            self._write_turn(case, turn, job_turn, res, result, scratch, config_toml, collected, mcp_lines)
            for turn, job_turn, res in zip(case.turns, turns, result["turns"], strict=True)
        ]

    def _write_turn(
        self,
        case: Case,
        turn: Turn,
        job_turn: Mapping[str, Any],
        res: Mapping[str, Any],
        result: Mapping[str, Any],
        scratch: _Scratch,
        config_toml: str,
        collected: Mapping[str, str],
        mcp_lines: str,
    ) -> Recording:
        def neutral(text: str) -> str:
            return scratch.neutralize(text, self.cache)

        folder = self.out / self.version
        stdout = neutral(Path(res["stdout_path"]).read_bytes().decode("utf-8", "surrogateescape")).encode(
            "utf-8", "surrogateescape"
        )
        _write_bytes_atomic(folder / f"{turn.file}.jsonl", stdout)
        requests = [_abridge(r) for r in res["requests"]]
        wire_text = "".join(neutral(json.dumps(r, ensure_ascii=False)) + "\n" for r in requests)
        write_text_atomic(folder / "wire" / f"{turn.file}.requests.jsonl", wire_text)
        mcp_file = None
        if mcp_lines and turn is case.turns[-1]:
            mcp_file = f"wire/{turn.file}.mcp.jsonl"
            write_text_atomic(folder / mcp_file, neutral(mcp_lines))
        lines = [line for line in stdout.split(b"\n") if line]
        stderr = str(res["stderr"])
        meta: dict[str, Any] = {
            "case": case.id,
            "file": f"{turn.file}.jsonl",
            "cli_version": self.version,
            "binary": neutral(str(self.binary)),
            "binary_sha256": self.digest,
            "argv": [neutral(a) for a in res["argv"]],
            "cwd": NEUTRAL_PATHS["ws"],
            "stdin": job_turn["stdin"],
            "stdin_note": "stdin was /dev/null" if job_turn["stdin"] is None else None,
            "env": redact_env({k: neutral(v) for k, v in job_turn["env"].items()}),
            "config_toml_path": f"{NEUTRAL_PATHS['home']}/config.toml",
            "config_toml": neutral(config_toml),
            "fake_server": {
                "script": "harness.fake.responses (scripted)" if case.server else None,
                "keyword": case.keyword,
                "env": {},
                "port": FAKE_PORT if case.server else None,
                "responses_scripted": result.get("script_expected"),
                "responses_used": result.get("script_used"),
            },
            "seed_files": sorted(case.files),
            "collected_files": {k: neutral(v) for k, v in collected.items()} or None,
            "exit_code": res["exit_code"],
            "killed_by_signal": res["killed_by_signal"],
            "signal_sent": res["signal_sent"],
            "killed_after_timeout": res["killed_after_timeout"],
            "stderr_tail": neutral(stderr[-_STDERR_TAIL:]),
            "stderr_bytes": res["stderr_bytes"],
            "stdout_bytes": len(stdout),
            "stdout_lines": len(lines),
            "max_line_bytes": max((len(line) for line in lines), default=0),
            "wall_time_s": res["wall_time_s"],
            "requests_to_fake_server": len(res["requests"]),
            "requests_file": f"wire/{turn.file}.requests.jsonl",
            "mcp_log_file": mcp_file,
            "recorded_at": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
            "network": "unshare -n (loopback only)",
            "catalogue": {"case": case.id, "source": Path(case.source).name, "expect_exit": turn.expect_exit},
            "note": case.note,
        }
        write_text_atomic(folder / f"{turn.file}.meta.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
        events, _items = sequence_of(stdout)
        problems = []
        if not _expected_ok(turn.expect_exit, res["exit_code"], res["killed_by_signal"]):
            got = res["killed_by_signal"] or res["exit_code"]
            problems.append(f"expected exit {turn.expect_exit}, got {got}")
        if res["killed_after_timeout"]:
            problems.append(f"killed after {turn.timeout_s} s timeout")
        if result.get("script_exhausted"):
            problems.append(f"codex made more model requests than the {result.get('script_expected')} scripted")
        return Recording(
            case.id,
            turn.file,
            res["exit_code"],
            res["killed_by_signal"],
            turn.expect_exit,
            res["wall_time_s"],
            tuple(events),
            tuple(problems),
        )


def update_index(out: Path, version: str, recordings: Iterable[Recording], versions_entry: Mapping[str, Any]) -> None:
    """Merge this run into ``<out>/index.json`` (one entry per transcript file, corpus shape)."""
    index_path = out / "index.json"
    data: dict[str, Any] = {"versions": {}, "transcripts": []}
    if index_path.exists():
        data = json.loads(index_path.read_text(encoding="utf-8"))
    data.setdefault("versions", {})[version] = dict(versions_entry)
    entries = {e["file"]: e for e in data.get("transcripts", []) if isinstance(e, dict) and "file" in e}
    for rec in recordings:
        path = out / version / f"{rec.file}.jsonl"
        raw = path.read_bytes()
        meta = json.loads((out / version / f"{rec.file}.meta.json").read_text(encoding="utf-8"))
        events, items = sequence_of(raw)
        name = f"{version}/{rec.file}.jsonl"
        entries[name] = {
            "version": version,
            "case": rec.case,
            "file": name,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "bytes": len(raw),
            "exit_code": meta["exit_code"],
            "killed_by_signal": meta["killed_by_signal"],
            "events": events,
            "items": items,
            "keyword": meta["fake_server"]["keyword"],
            "note": meta["note"],
        }
    data["versions"] = {v: data["versions"][v] for v in sorted(data["versions"], key=version_key, reverse=True)}
    data["transcripts"] = sorted(
        entries.values(), key=lambda e: (tuple(-k for k in version_key(e["version"])), e["file"])
    )
    write_text_atomic(index_path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")


def record(
    cases: Iterable[Case],
    version: str,
    *,
    out: Path | None = None,
    workers: int = 2,
    isolation: Isolation | None = None,
    cache: Path | None = None,
    lock_path: Path | None = None,
    progress: Callable[[Recording], None] | None = None,
) -> RecordRun:
    """Record ``cases`` with codex ``version`` (installed and matching the lock) into ``out``."""
    from harness.real.install import install

    out = out or default_out_dir()
    cache = cache or cache_root()
    lock_path = lock_path or default_lock_path()
    installed = install(version, cache=cache, lock_path=lock_path)
    binary = binary_path(version, cache=cache)
    entry = LockFile.load(lock_path).entries.get(version) or installed.entry
    recorder = _Recorder(version, binary, entry.binary_sha256, out, isolation or NetnsIsolation(), cache)
    t0 = time.monotonic()
    recordings: list[Recording] = []
    case_list = list(cases)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for batch in pool.map(recorder.record_case, case_list):
            for rec in batch:
                recordings.append(rec)
                if progress is not None:
                    progress(rec)
    versions_entry = {
        "binary_path_when_recorded": f"$HARNESS_CODEX_CACHE/{version}/bin/codex",
        "source": entry.source,
        "package": entry.package,
        "sha256": entry.binary_sha256,
        "size": entry.binary_size,
    }
    update_index(out, version, recordings, versions_entry)
    return RecordRun(version, out, tuple(recordings), round(time.monotonic() - t0, 3))


def recordings_to_json(run: RecordRun) -> str:
    return json.dumps(
        {
            "version": run.version,
            "out": str(run.out),
            "wall_time_s": run.wall_time_s,
            "recordings": [asdict(r) for r in run.recordings],
            "problems": run.problems,
        },
        indent=2,
    )
