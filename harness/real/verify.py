"""``harness verify``: is the tree still the evidence it claims to be?

Five checks over one project tree, each a :class:`Check` (a small protocol, so a caller or a test can run any
subset or add its own):

- ``binary``: every version in ``codex.lock`` that is installed in the cache has the locked size and sha256
  (always hashed in full: the install stamp is a speed-up for ``harness install``, not evidence). A locked version
  that is not installed is a *note* (``harness install --cli V`` fixes it) unless ``require_binaries``.
- ``fixture``: every transcript ``fixtures/real/<V>/*.jsonl`` has an ``index.json`` entry with its sha256 and size,
  the version of its folder and the case of its ``.meta.json``; every index entry has its file; a version's binary
  in the index is the locked one.
- ``scenario``: every scenario file loads (:func:`harness.scenario.load_all`) and every fixture it replays exists.
- ``golden``: every golden has a scenario and every scenario a golden (``golden/<id>.json``).
- ``baseline``: the baselines load for every registered implementation.

Why one command: each of these used to fail somewhere else, late (a test, a parity run, a confused reviewer).
A problem is data (:class:`Problem`, one line ``check: path: message``); only a failure to verify at all is a
:class:`~harness.errors.HarnessError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.errors import HarnessError
from harness.real.install import binary_path, cache_root, sha256_file
from harness.real.lock import LockEntry, LockError, LockFile, version_key

__all__ = [
    "BaselineCheck",
    "BinaryCheck",
    "Check",
    "DEFAULT_CHECKS",
    "FixtureCheck",
    "GoldenCheck",
    "Outcome",
    "Problem",
    "ScenarioCheck",
    "Tree",
    "VerifyError",
    "VerifyReport",
    "verify_tree",
]


class VerifyError(HarnessError):
    """The tree cannot be verified at all (not a project folder)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong: which check, where (a path relative to the tree, or a version), and why."""

    check: str
    path: str
    message: str

    def line(self) -> str:
        """``what: where: why``, the CLI's one line per problem."""
        return f"{self.check}: {self.path}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "path": self.path, "message": self.message}


@dataclass(frozen=True)
class Tree:
    """Where a project's evidence lives. :meth:`at` gives the standard layout under one root."""

    root: Path
    lock: Path
    cache: Path
    fixtures: Path
    scenarios: Path
    golden: Path
    baselines: Path

    @classmethod
    def at(cls, root: Path, *, cache: Path | None = None) -> Tree:
        """The layout of a checkout at ``root``; ``cache`` defaults to ``$HARNESS_CODEX_CACHE`` (or its default)."""
        root = Path(root).resolve()
        if not (root / "codex.lock").is_file() and not (root / "fixtures").is_dir():
            raise VerifyError(f"{root}: not a project tree (no codex.lock and no fixtures/)")
        return cls(
            root=root,
            lock=root / "codex.lock",
            cache=cache if cache is not None else cache_root(),
            fixtures=root / "fixtures" / "real",
            scenarios=root / "scenarios",
            golden=root / "golden",
            baselines=root / "baselines",
        )

    def rel(self, path: Path) -> str:
        """``path`` relative to the root when inside it (problems name project paths, not machine paths)."""
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class Outcome:
    """What one check saw: problems, notes (not failures), and how many things it looked at (for the summary)."""

    problems: tuple[Problem, ...] = ()
    notes: tuple[Problem, ...] = ()
    counted: int = 0


@dataclass
class _Collect:
    """An :class:`Outcome` being built."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    counted: int = 0

    def done(self) -> Outcome:
        return Outcome(tuple(self.problems), tuple(self.notes), self.counted)


class Check(Protocol):
    """One consistency check over a :class:`Tree`."""

    @property
    def name(self) -> str:
        """The ``check`` of its problems (``binary``)."""
        ...

    @property
    def noun(self) -> str:
        """What it counts, plural, for the summary line (``binaries``)."""
        ...

    def run(self, tree: Tree) -> Outcome:
        """Look at the tree; never raise for what is wrong in it (that is a problem), only for a failed look."""
        ...


# ------------------------------------------------------------------------------------------------ binary


@dataclass(frozen=True)
class BinaryCheck:
    """Installed binaries equal their ``codex.lock`` pin (size first, then the full sha256, two at a time)."""

    require_binaries: bool = False
    name: str = "binary"
    noun: str = "binaries"

    def run(self, tree: Tree) -> Outcome:
        out = _Collect()
        try:
            lock = LockFile.load(tree.lock)
        except LockError as exc:
            out.problems.append(Problem(self.name, tree.rel(tree.lock), str(exc).removeprefix(f"{tree.lock}: ")))
            return out.done()
        present: list[tuple[LockEntry, Path]] = []
        for version in sorted(lock.entries, key=version_key, reverse=True):
            entry = lock.entries[version]
            binary = binary_path(version, cache=tree.cache)
            if not binary.is_file():
                missing = Problem(
                    self.name, version, f"locked but not installed in {tree.cache}; `harness install --cli {version}`"
                )
                (out.problems if self.require_binaries else out.notes).append(missing)
                continue
            size = binary.stat().st_size
            if size != entry.binary_size:
                out.problems.append(
                    Problem(self.name, str(binary), f"size {size} bytes, codex.lock says {entry.binary_size}")
                )
                continue
            present.append((entry, binary))
        with ThreadPoolExecutor(max_workers=2) as pool:  # hashlib releases the GIL: two binaries at once
            digests = list(pool.map(lambda pair: sha256_file(pair[1]), present))
        for (entry, binary), digest in zip(present, digests, strict=True):
            if digest != entry.binary_sha256:
                out.problems.append(
                    Problem(
                        self.name,
                        str(binary),
                        f"sha256 {digest} does not match codex.lock ({entry.binary_sha256}) for {entry.version}; "
                        f"delete {binary.parent.parent} and `harness install --cli {entry.version}`",
                    )
                )
        out.counted = len(present)
        return out.done()


# ----------------------------------------------------------------------------------------------- fixture


def _read_json(path: Path) -> tuple[Any, str | None]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except FileNotFoundError:
        return None, "missing"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"not readable JSON: {exc}"


@dataclass(frozen=True)
class FixtureCheck:
    """Transcripts and ``fixtures/real/index.json`` agree both ways (sha256, bytes, version, case)."""

    name: str = "fixture"
    noun: str = "fixtures"

    def run(self, tree: Tree) -> Outcome:
        out = _Collect()
        index_path = tree.fixtures / "index.json"
        files = sorted(p for p in tree.fixtures.glob("*/*.jsonl") if p.is_file())
        out.counted = len(files)
        data, error = _read_json(index_path)
        if error is not None or not isinstance(data, dict) or not isinstance(data.get("transcripts"), list):
            why = error or "no `transcripts` list"
            out.problems.append(Problem(self.name, tree.rel(index_path), why))
            return out.done()
        entries: dict[str, Mapping[str, Any]] = {}
        for position, entry in enumerate(data["transcripts"]):
            if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
                out.problems.append(Problem(self.name, tree.rel(index_path), f"transcripts[{position}]: no `file`"))
                continue
            if entry["file"] in entries:
                out.problems.append(Problem(self.name, tree.rel(index_path), f"{entry['file']}: listed twice"))
            entries[entry["file"]] = entry
        for path in files:
            out.problems.extend(self._one(tree, path, entries.get(path.relative_to(tree.fixtures).as_posix())))
        for name in sorted(entries):
            if not (tree.fixtures / name).is_file():
                out.problems.append(
                    Problem(self.name, tree.rel(tree.fixtures / name), "listed in index.json but the file is missing")
                )
        out.problems.extend(self._versions(tree, data, index_path))
        return out.done()

    def _one(self, tree: Tree, path: Path, entry: Mapping[str, Any] | None) -> Iterator[Problem]:
        where = tree.rel(path)
        if entry is None:
            yield Problem(self.name, where, "not in index.json (record it with `harness record`, never by hand)")
            return
        raw = path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        if entry.get("sha256") != digest:
            yield Problem(self.name, where, f"sha256 {digest} does not match index.json ({entry.get('sha256')})")
        if "bytes" in entry and entry["bytes"] != len(raw):
            yield Problem(self.name, where, f"{len(raw)} bytes, index.json says {entry['bytes']}")
        folder = path.parent.name
        if entry.get("version", folder) != folder:
            yield Problem(self.name, where, f"index.json says CLI {entry.get('version')}, the folder is {folder}")
        meta_path = path.with_name(path.name.removesuffix(".jsonl") + ".meta.json")
        meta, error = _read_json(meta_path)
        if error is not None or not isinstance(meta, dict):
            yield Problem(self.name, tree.rel(meta_path), error or "not a JSON object")
            return
        if meta.get("cli_version") != folder:
            yield Problem(self.name, tree.rel(meta_path), f"cli_version {meta.get('cli_version')!r}, folder {folder}")
        if "case" in entry and meta.get("case") != entry["case"]:
            yield Problem(self.name, where, f"index.json says case {entry['case']!r}, meta says {meta.get('case')!r}")

    def _versions(self, tree: Tree, data: Mapping[str, Any], index_path: Path) -> Iterator[Problem]:
        versions = data.get("versions") if isinstance(data.get("versions"), dict) else {}
        assert isinstance(versions, dict)
        try:
            lock = LockFile.load(tree.lock)
        except LockError:
            return  # BinaryCheck reports it
        for version, info in sorted(versions.items()):
            locked = lock.entries.get(version)
            recorded = info.get("sha256") if isinstance(info, dict) else None
            if locked is not None and recorded != locked.binary_sha256:
                yield Problem(
                    self.name,
                    tree.rel(index_path),
                    f"versions.{version}: recorded with binary {recorded}, codex.lock pins {locked.binary_sha256}",
                )


# ---------------------------------------------------------------------------------------------- scenario


def _load_scenarios(tree: Tree) -> tuple[list[Any], list[Problem], set[str]]:
    """Scenarios that load, one problem per file that does not, and the ids of *all* scenario files (a broken
    file still owns its golden)."""
    from harness.errors import ScenarioError
    from harness.scenario.load import find_scenario_files, load_all, load_file, scenario_ids

    if not tree.scenarios.is_dir():
        return [], [Problem("scenario", tree.rel(tree.scenarios), "no scenarios folder")], set()
    files = find_scenario_files([tree.scenarios])
    ids = {sid for f in files for sid in scenario_ids(f, tree.scenarios)}  # a manifest owns many
    try:
        return load_all(tree.scenarios), [], ids
    except ScenarioError:
        pass
    loaded: list[Any] = []
    problems: list[Problem] = []
    for file in files:
        try:
            loaded.extend(load_file(file, root=tree.scenarios))
        except ScenarioError as exc:
            problems.append(Problem("scenario", tree.rel(file), _strip_location(str(exc), file)))
    if not problems:  # every file loads alone: load_all refused a duplicate id
        try:
            load_all(tree.scenarios)
        except ScenarioError as exc:
            problems.append(Problem("scenario", tree.rel(exc.path or tree.scenarios), exc.message))
    return loaded, problems, ids


def _strip_location(message: str, file: Path) -> str:
    return message.removeprefix(f"{file}:").lstrip()


@dataclass(frozen=True)
class ScenarioCheck:
    """Scenario files load and every fixture they replay exists."""

    name: str = "scenario"
    noun: str = "scenarios"

    def run(self, tree: Tree) -> Outcome:
        scenarios, problems, _ids = _load_scenarios(tree)
        out = _Collect(problems=problems, counted=len(scenarios) + len(problems))
        for scenario in scenarios:
            for fixture in scenario.fixtures:
                if not (scenario.project_root / fixture).is_file():
                    out.problems.append(
                        Problem(self.name, tree.rel(scenario.path), f"replays {fixture}, which does not exist")
                    )
        return out.done()


@dataclass(frozen=True)
class GoldenCheck:
    """Goldens and scenarios pair up one to one."""

    name: str = "golden"
    noun: str = "goldens"

    def run(self, tree: Tree) -> Outcome:
        from harness.golden.store import golden_path, list_goldens

        _scenarios, _problems, ids = _load_scenarios(tree)
        goldens = set(list_goldens(tree.golden))
        out = _Collect(counted=len(goldens))
        for sid in sorted(ids - goldens):
            out.problems.append(
                Problem(self.name, tree.rel(golden_path(sid, tree.golden)), f"scenario {sid} has no golden")
            )
        for sid in sorted(goldens - ids):
            out.problems.append(
                Problem(self.name, tree.rel(golden_path(sid, tree.golden)), f"no scenario {sid} for this golden")
            )
        return out.done()


@dataclass(frozen=True)
class BaselineCheck:
    """``baselines/<impl>.yaml`` load with the parts each registered implementation is compared on."""

    name: str = "baseline"
    noun: str = "baselines"

    def run(self, tree: Tree) -> Outcome:
        from harness.adapters.registry import ADAPTERS
        from harness.parity.baseline import BaselineError, baseline_parts, load_baselines

        parts = {spec.id: baseline_parts(spec.id) for spec in ADAPTERS}
        out = _Collect()
        try:
            out.counted = sum(1 for b in load_baselines(tree.baselines, parts).values() if b.path.is_file())
        except BaselineError as exc:
            where = tree.rel(exc.path) if exc.path is not None else tree.rel(tree.baselines)
            location = ":".join(str(n) for n in (exc.line, exc.column) if n is not None)
            field_ = f"{exc.field}: " if exc.field else ""
            out.problems.append(
                Problem(self.name, where, f"{location + ': ' if location else ''}{field_}{exc.message}")
            )
        return out.done()


DEFAULT_CHECKS: tuple[Check, ...] = (BinaryCheck(), FixtureCheck(), ScenarioCheck(), GoldenCheck(), BaselineCheck())


# ---------------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class VerifyReport:
    """Every problem (and note) of one run, and how many things each check looked at."""

    problems: tuple[Problem, ...]
    notes: tuple[Problem, ...]
    #: ``(noun, how many)`` per check, in order: ``("binaries", 3)``.
    counts: tuple[tuple[str, int], ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: what was verified, and the verdict."""
        seen = ", ".join(f"{n} {noun}" for noun, n in self.counts)
        verdict = "ok" if self.ok else f"{len(self.problems)} problem{'' if len(self.problems) == 1 else 's'}"
        return f"verified {seen}: {verdict}"

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document: ``{"ok", "problems": [{"check", "path", "message"}], "notes", "counts"}``."""
        return {
            "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
            "notes": [p.to_dict() for p in self.notes],
            "counts": dict(self.counts),
        }


def verify_tree(tree: Tree, checks: Sequence[Check] | Iterable[Check] = DEFAULT_CHECKS) -> VerifyReport:
    """Run ``checks`` over ``tree``."""
    problems: list[Problem] = []
    notes: list[Problem] = []
    counts: list[tuple[str, int]] = []
    for check in checks:
        outcome = check.run(tree)
        problems.extend(outcome.problems)
        notes.extend(outcome.notes)
        counts.append((check.noun, outcome.counted))
    return VerifyReport(tuple(problems), tuple(notes), tuple(counts))
