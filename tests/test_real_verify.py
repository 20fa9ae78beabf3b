"""``harness verify``: the committed tree is consistent, and each kind of breakage is named on one line."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import harness.real as real_pkg
import harness.real.verify as verify_mod
from harness import cli
from harness.real.install import CACHE_ENV, binary_path, ensure_installed
from harness.real.lock import LockFile, default_lock_path
from harness.real.verify import DEFAULT_CHECKS, Outcome, Problem, Tree, verify_tree

pytestmark = pytest.mark.usefixtures("no_leaks")

PROJECT = default_lock_path().parent
COPIED = (
    "codex.lock",
    "cases",
    "fixtures/real",
    "fixtures/appserver",
    "fixtures/synthetic",
    "scenarios",
    "golden",
    "baselines",
)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.app, ["verify", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's evidence, with an empty binary cache (binaries are 'not installed' notes)."""
    root = tmp_path / "tree"
    for part in COPIED:
        source = PROJECT / part
        if source.is_dir():
            shutil.copytree(source, root / part)
        else:
            (root / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / part)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "empty-cache"))
    return root


def _flip_byte(path: Path, offset: int) -> None:
    st = path.stat()
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x01]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime: a stamp alone would not notice


def test_public_names_sorted_and_resolvable() -> None:
    assert verify_mod.__all__ == sorted(verify_mod.__all__)
    assert all(hasattr(verify_mod, name) for name in verify_mod.__all__)
    assert {"Problem", "Tree", "VerifyError", "VerifyReport", "verify_tree"} <= set(real_pkg.__all__)


def test_committed_tree_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = LockFile.load(default_lock_path())
    for version in lock.entries:
        ensure_installed(version)
    monkeypatch.chdir(PROJECT)
    code, out, err = _run("--require-binaries")
    assert code == 0, out
    assert out.count("\n") == 1 and out.startswith(f"verified {len(lock.entries)} binaries, ")
    assert out.rstrip().endswith(": ok") and err == ""
    code, out, _ = _run("--json")
    document = json.loads(out)
    assert code == 0 and document["ok"] is True and document["problems"] == []
    assert document["counts"]["binaries"] == len(lock.entries)
    index = json.loads((PROJECT / "fixtures/real/index.json").read_text(encoding="utf-8"))
    assert document["counts"]["fixtures"] == len(index["transcripts"])


def test_a_flipped_fixture_byte_is_named(tree: Path) -> None:
    fixture = tree / "fixtures/real/0.171.0/shell_ok.jsonl"
    _flip_byte(fixture, 10)
    code, out, err = _run("--root", str(tree))
    assert code == 1
    problems = out.splitlines()[:-1]
    assert len(problems) == 1
    assert problems[0].startswith("fixture: fixtures/real/0.171.0/shell_ok.jsonl: sha256 ")
    assert "does not match index.json" in problems[0]
    assert out.splitlines()[-1].endswith(": 1 problem")
    assert "note: binary: 0.171.0: locked but not installed" in err  # no binaries here: notes, not problems
    document = json.loads(_run("--root", str(tree), "--json")[1])
    assert document["ok"] is False
    assert [(p["check"], p["path"]) for p in document["problems"]] == [
        ("fixture", "fixtures/real/0.171.0/shell_ok.jsonl")
    ]


def test_a_missing_golden_is_named(tree: Path) -> None:
    (tree / "golden/options/output_schema.json").unlink()
    code, out, _ = _run("--root", str(tree))
    assert code == 1
    assert (
        out.splitlines()[0] == "golden: golden/options/output_schema.json: scenario options/output_schema has no golden"
    )


def test_a_tampered_binary_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    version = "0.169.0"
    installed = ensure_installed(version)
    cache = tmp_path / "cache"
    copy = binary_path(version, cache=cache)
    copy.parent.mkdir(parents=True)
    shutil.copy2(installed, copy)
    stamp = installed.parent.parent / ".verified.json"
    if stamp.exists():
        shutil.copy2(stamp, copy.parent.parent / stamp.name)
    _flip_byte(copy, copy.stat().st_size // 2)
    monkeypatch.setenv(CACHE_ENV, str(cache))
    code, out, err = _run("--root", str(PROJECT))
    assert code == 1
    problems = out.splitlines()[:-1]
    assert len(problems) == 1
    assert problems[0].startswith(f"binary: {copy}: sha256 ")
    assert (
        f"does not match codex.lock ({LockFile.load(default_lock_path()).entries[version].binary_sha256})"
        in (problems[0])
    )
    assert "note: binary: 0.171.0: locked but not installed" in err


def test_a_wrong_size_binary_is_named_without_hashing(tree: Path, tmp_path: Path) -> None:
    fake = binary_path("0.171.0", cache=tmp_path / "empty-cache")
    fake.parent.mkdir(parents=True)
    fake.write_bytes(b"#!/bin/sh\n")
    code, out, _ = _run("--root", str(tree))
    assert code == 1
    locked = LockFile.load(tree / "codex.lock").entries["0.171.0"].binary_size
    assert out.splitlines()[0] == f"binary: {fake}: size 10 bytes, codex.lock says {locked}"


def test_missing_binaries_are_notes_unless_required(tree: Path) -> None:
    code, out, err = _run("--root", str(tree))
    assert code == 0 and out.rstrip().endswith(": ok")
    versions = LockFile.load(tree / "codex.lock").entries
    assert err.count("locked but not installed") == len(versions)
    assert "`harness install --cli 0.163.0`" in err
    code, out, _ = _run("--root", str(tree), "--require-binaries")
    assert code == 1
    assert sum(line.startswith("binary: ") for line in out.splitlines()) == len(versions)


def test_index_and_files_must_agree_both_ways(tree: Path) -> None:
    index_path = tree / "fixtures/real/index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    by_file = {e["file"]: e for e in index["transcripts"]}
    by_file["0.169.0/fail_400.jsonl"]["case"] = "fail_401"
    by_file["0.171.0/shell_ok.jsonl"]["version"] = "0.169.0"
    index["transcripts"] = [e for e in index["transcripts"] if e["file"] != "0.171.0/todo_list.jsonl"]
    index_path.write_text(json.dumps(index), encoding="utf-8")
    (tree / "fixtures/real/0.163.0/agent_message.jsonl").unlink()
    code, out, _ = _run("--root", str(tree))
    assert code == 1
    lines = out.splitlines()[:-1]
    assert (
        "fixture: fixtures/real/0.169.0/fail_400.jsonl: index.json says case 'fail_401', meta says 'fail_400'" in lines
    )
    assert "fixture: fixtures/real/0.171.0/shell_ok.jsonl: index.json says CLI 0.169.0, the folder is 0.171.0" in lines
    assert any(line.startswith("fixture: fixtures/real/0.171.0/todo_list.jsonl: not in index.json") for line in lines)
    assert "fixture: fixtures/real/0.163.0/agent_message.jsonl: listed in index.json but the file is missing" in lines
    # every scenario replaying the deleted transcript is named too
    users = [
        s for s in (tree / "scenarios").rglob("*.yaml") if "fixtures/real/0.163.0/agent_message.jsonl" in s.read_text()
    ]
    replaying = [line for line in lines if line.startswith("scenario: ")]
    assert len(replaying) == len(users)
    assert all("0.163.0/agent_message.jsonl" in line for line in replaying)


def test_a_scenario_replaying_a_missing_fixture_and_a_stray_golden(tree: Path) -> None:
    scenario = next(s for s in sorted((tree / "scenarios").rglob("*.yaml")) if "fixtures/real/" in s.read_text())
    text = scenario.read_text(encoding="utf-8")
    replayed = text.split("fixtures/real/", 1)[1].split(".jsonl", 1)[0]
    (tree / "fixtures/real" / f"{replayed}.jsonl").unlink()
    stray = tree / "golden/nowhere/orphan.json"
    stray.parent.mkdir()
    stray.write_text("{}\n", encoding="utf-8")
    code, out, _ = _run("--root", str(tree))
    assert code == 1
    lines = out.splitlines()
    rel = scenario.relative_to(tree).as_posix()
    assert any(line.startswith(f"scenario: {rel}: ") and "fixture file not found" in line for line in lines)
    assert "golden: golden/nowhere/orphan.json: no scenario nowhere/orphan for this golden" in lines
    # the broken scenario still owns its golden: no "no scenario for this golden" for it
    sid = rel.removeprefix("scenarios/").removesuffix(".yaml")
    assert not any(f"no scenario {sid} " in line for line in lines)


def test_a_broken_baseline_is_named(tree: Path) -> None:
    (tree / "baselines/ts.yaml").write_text("format: 2\nfindings: [\n", encoding="utf-8")
    code, out, _ = _run("--root", str(tree))
    assert code == 1
    assert out.splitlines()[0].startswith("baseline: baselines/ts.yaml: ")
    (tree / "baselines/ts.yaml").unlink()
    (tree / "baselines/typo.yaml").write_text("format: 2\n", encoding="utf-8")
    code, out, _ = _run("--root", str(tree))
    assert code == 1 and out.splitlines()[0].startswith("baseline: baselines/typo.yaml: ")
    assert "no implementation named 'typo'" in out


def test_not_a_tree_is_a_harness_failure(tmp_path: Path) -> None:
    code, out, err = _run("--root", str(tmp_path / "nothing"))
    assert code == 2 and out == ""
    assert err.strip().startswith("error: ") and "not a project tree" in err and "\n" not in err.strip()


class _FakeCheck:
    """A check double: reports what it is told to."""

    def __init__(self, name: str, problems: int, counted: int) -> None:
        self.name, self.noun, self._problems, self._counted = name, f"{name}s", problems, counted

    def run(self, tree: Tree) -> Outcome:
        found = tuple(Problem(self.name, f"p{i}", "wrong") for i in range(self._problems))
        return Outcome(found, (), self._counted)


def test_verify_aggregates_checks_in_order(tree: Path) -> None:
    report = verify_tree(Tree.at(tree), [_FakeCheck("alpha", 0, 3), _FakeCheck("beta", 2, 1)])
    assert not report.ok
    assert [p.line() for p in report.problems] == ["beta: p0: wrong", "beta: p1: wrong"]
    assert report.summary() == "verified 3 alphas, 1 betas: 2 problems"
    clean = verify_tree(Tree.at(tree), [_FakeCheck("alpha", 0, 1)])
    assert clean.ok and clean.to_dict() == {"ok": True, "problems": [], "notes": [], "counts": {"alphas": 1}}
    assert [c.name for c in DEFAULT_CHECKS] == ["binary", "fixture", "scenario", "golden", "baseline"]
