"""Refreshing goldens under pytest-xdist loses nothing: ten ``-n 2 --snapshot-update`` runs, byte-identical goldens.

Each scenario owns one golden file, written through a temp file and ``os.replace``; two workers never write the
same file and a reader never sees a torn one. The run is on a copy of a few repository scenarios (and the fixtures
they replay) in ``tmp_path``, so the repository's own goldens are never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = [
    "turns/agent_message_run",
    "turns/agent_message_streamed",
    "errors/fail_500_streamed",
    "resume/same_thread_run",
    "options/output_schema",
    "faults/malformed_line_run",
    "faults/big_line_streamed",
    "faults/signal_streamed",
]


def _copy_project(dest: Path) -> None:
    from harness.scenario import load_scenario

    for sid in SCENARIOS:
        source = REPO / "scenarios" / f"{sid}.yaml"
        target = dest / "scenarios" / f"{sid}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        for fixture in load_scenario(source).fixtures:
            for suffix in (".jsonl", ".meta.json"):
                src = REPO / fixture.removesuffix(".jsonl")
                src = src.with_name(src.name + suffix)
                if src.exists():
                    (dest / src.relative_to(REPO)).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dest / src.relative_to(REPO))


def _goldens(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "golden").rglob("*")) if p.is_file()}


def _refresh(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "pytest", "scenarios", "-n", "2", "--snapshot-update", "-q",
            "-p", "no:cacheprovider", "-W", "ignore:Benchmarks are automatically disabled",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


@pytest.mark.slow
def test_ten_parallel_refreshes_are_byte_identical(tmp_path: Path) -> None:
    _copy_project(tmp_path)
    first: dict[str, bytes] | None = None
    for attempt in range(10):
        if first is not None:
            # Perturb: one golden missing, one stale, one torn -- the refresh must restore all of them.
            names = sorted(first)
            (tmp_path / names[attempt % len(names)]).unlink()
            (tmp_path / names[(attempt + 1) % len(names)]).write_text('{"stale": true}\n')
            (tmp_path / names[(attempt + 2) % len(names)]).write_bytes(first[names[(attempt + 2) % len(names)]][:40])
        result = _refresh(tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        goldens = _goldens(tmp_path)
        assert len(goldens) == len(SCENARIOS)
        if first is None:
            first = goldens
        assert goldens == first, f"refresh {attempt + 1} differs"
        assert not list((tmp_path / "golden").rglob("*.tmp"))
    assert first is not None
    # The copies agree with the repository's own goldens byte for byte (paths and cwd are normalized away).
    for name, data in first.items():
        assert (REPO / name).read_bytes() == data, name
