"""Every real recording replays against the raw scripted client with no divergence, through the real process."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest

from harness.fake.appserver import (
    ScriptedClient,
    build_fake_appserver,
    discover_recordings,
    load_recording,
    read_report,
)
from harness.fake.appserver.driver import DriveOutcome, Driver
from harness.fake.appserver.reference_driver import ReferenceClientDriver
from harness.fake.appserver.report import ReplayReport

CORPUS = (Path(__file__).resolve().parents[1] / "fixtures" / "appserver")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "appserver"


async def _one(path: Path, client: Driver, sem: asyncio.Semaphore) -> tuple[Path, ReplayReport, DriveOutcome]:
    async with sem:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "ws").mkdir()
            codex = build_fake_appserver(load_recording(path), root / "fake", report_path=root / "r.json", timeout=5)
            outcome = await client.drive(load_recording(path), codex, root / "ws")
            return path, read_report(root / "r.json"), outcome


def _replay_all(paths: list[Path], client: Driver) -> list[str]:
    async def main() -> list[tuple[Path, ReplayReport, DriveOutcome]]:
        sem = asyncio.Semaphore(4)
        return await asyncio.gather(*(_one(p, client, sem) for p in paths))

    problems = []
    for path, report, outcome in asyncio.run(main()):
        if not report.ok or not report.complete or not outcome.completed or outcome.exit_code not in (0, None):
            summary = report.divergence.summary() if report.divergence else f"end={report.end}"
            problems.append(f"{path}: {summary}; client {outcome}")
    return problems


def test_discovery_finds_both_versions_top_level_and_sdk_but_not_exec_or_wire() -> None:
    paths = discover_recordings([CORPUS])
    rel = {p.relative_to(CORPUS).as_posix() for p in paths}
    assert any(r.startswith("0.171.0/sdk/") for r in rel) and any(r.startswith("0.163.0/sdk/") for r in rel)
    assert "0.171.0/minimal_turn.jsonl" in rel and "0.163.0/minimal_turn.jsonl" in rel
    assert not any("/exec/" in r or "/wire/" in r for r in rel)
    # as many as the corpus README announces: 27 + 33 drive scenarios, 12 SDK ones per version
    assert len(paths) == 27 + 33 + 12 + 12


def test_every_corpus_recording_replays_without_divergence(no_leaks: str) -> None:
    paths = discover_recordings([CORPUS])
    assert _replay_all(paths, ScriptedClient(timeout=20)) == []


@pytest.mark.parametrize("style", ["int", "str"])
def test_own_request_ids_of_either_type_are_echoed(no_leaks: str, style: str) -> None:
    paths = [p for p in discover_recordings([FIXTURES])]
    assert _replay_all(paths, ScriptedClient(timeout=20, id_style=style)) == []  # type: ignore[arg-type]


def test_a_client_that_never_waits_for_notifications_replays_too(no_leaks: str) -> None:
    """Loose ordering: sending each request as soon as the previous response arrived (not waiting for
    thread/started and friends) matches the recording as well."""
    assert _replay_all(discover_recordings([FIXTURES]), ScriptedClient(timeout=20, eager=True)) == []


def test_every_corpus_recording_replays_with_the_reference_client(no_leaks: str) -> None:
    """``--impl reference``: the reference SDK client, with a scripted handler, behaves as recorded."""
    assert _replay_all(discover_recordings([CORPUS]), ReferenceClientDriver(timeout=20)) == []
