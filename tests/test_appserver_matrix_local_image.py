"""A local image on the app-server (issue 13): a ``{type: local_image, path}`` input part reaches codex as
``{"type": "localImage", "path": <absolute>}`` in ``turn/start``; the fake app-server compares that with the
synthetic session ``fixtures/synthetic/appserver/local_image_turn.jsonl``, so a client that drops the image, keeps
the path relative or spells the part otherwise diverges there.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.adapters import install
from harness.parity.baseline import baseline_parts, load_baselines
from harness.parity.matrix import driver_for, run_matrix
from harness.report.model import Selection, Status
from harness.report.parity import default_backend, make_header
from harness.scenario import load_all
from harness.scenario.model import Mode, TurnSpec
from harness.scenario.transports.appserver import AppServerTransport, drive_reference, thread_params, workdir_turns

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = "appserver/local_image"


def _scenario() -> Any:
    (found,) = [s for s in load_all(ROOT / "scenarios") if s.id == SCENARIO]
    return found


def test_workdir_turns_makes_relative_image_paths_absolute(tmp_path: Path) -> None:
    parts = ({"type": "text", "text": "look"}, {"type": "local_image", "path": "a.png"},
             {"type": "local_image", "path": "/abs/b.png"})
    turns = (TurnSpec(input=parts), TurnSpec(input="plain", mode=Mode.STREAMED))
    resolved = workdir_turns(turns, tmp_path)
    assert resolved[0].input == ({"type": "text", "text": "look"},
                                 {"type": "local_image", "path": str(tmp_path / "a.png")},
                                 {"type": "local_image", "path": "/abs/b.png"})
    assert resolved[1] == turns[1]
    assert parts[1]["path"] == "a.png" and turns[0].input == parts  # the scenario's own turns are left alone


def _drive(turn_input: Any, workdir: Path) -> dict[str, Any]:
    """The reference client through the fake of the local-image scenario, with ``turn_input``: the fake's side."""
    scenario = _scenario()
    transport = AppServerTransport()
    prepared = transport.prepare(scenario, workdir)
    turns = (dataclasses.replace(scenario.turns[0], input=turn_input),)
    asyncio.run(drive_reference(prepared.fake, workdir=prepared.workdir, env=prepared.passed_env, config=None,
                                params=thread_params(scenario, prepared.workdir), turns=turns, approvals=None,
                                tools=(), timeout=5.0))
    return transport.fake_side(scenario, prepared)


def test_the_fake_accepts_the_absolute_local_image(tmp_path: Path) -> None:
    image = {"type": "local_image", "path": str(tmp_path / "pixel.png")}
    side = _drive(({"type": "text", "text": "Describe the image"}, image), tmp_path)
    assert side["divergence"] is None
    turn_start = next(r for r in side["requests"] if r["method"] == "turn/start")
    assert turn_start["params"]["input"][1]["type"] == "localImage"


@pytest.mark.parametrize("turn_input", [
    ({"type": "text", "text": "Describe the image"},),                                             # dropped
    ({"type": "text", "text": "Describe the image"}, {"type": "local_image", "path": "pixel.png"}),  # relative
    ({"type": "text", "text": "Describe the image"}, {"type": "image", "path": "<w>/pixel.png"}),    # spelling
], ids=["dropped", "relative", "spelling"])
def test_the_fake_rejects_any_other_image_input(turn_input: Any, tmp_path: Path) -> None:
    parts = tuple({**p, "path": str(tmp_path / "pixel.png")} if p.get("path") == "<w>/pixel.png" else p
                  for p in turn_input)
    side = _drive(parts, tmp_path)
    assert side["divergence"] is not None
    assert (side["divergence"]["reason"], side["divergence"]["method"]) == ("params_differ", "turn/start")


@pytest.fixture(scope="module")
def installed() -> Iterator[None]:
    for key in install.APPSERVER_PEERS:
        install.install(key)  # idempotent; a failure raises with pip's reason
    yield


def test_local_image_across_the_matrix(installed: None) -> None:
    everything = load_all(ROOT / "scenarios")
    peers = ("reference", *install.APPSERVER_PEERS)
    backend = default_backend()
    drivers = [driver_for(peer, backend, workers=1) for peer in peers]
    baselines = load_baselines(ROOT / "baselines", {p: baseline_parts(p) for p in peers if p != "reference"})
    header = make_header([_scenario()], argv=["test"], selection=Selection())
    try:
        run = run_matrix([_scenario()], drivers, backend=backend, golden_root=ROOT / "golden", header=header,
                         baselines=baselines, scenario_ids={s.id for s in everything})
    finally:
        for driver in drivers:
            driver.close()
    got = {r.implementation: r for r in run.report.results}
    assert got["reference"].status is Status.PASSED
    expected = [{"text": "Describe the image", "type": "text"}, {"path": "<workdir>/pixel.png", "type": "localImage"}]
    for impl in ("reference", "openai-codex", "codex-python-sdk-unofficial"):
        observation = got[impl].observation
        assert observation is not None and observation["divergence"] is None, got[impl].summary
        assert observation["requests"][3]["params"]["input"] == expected
    assert got["openai-codex"].status is Status.KNOWN_DIVERGENCE  # typed models: detail null in the echo
    # codex-python-sdk builds text-only input itself: it announces no local_image and the case is skipped
    assert got["codex-python-sdk"].status is Status.SKIPPED
    assert "local_image" in (got["codex-python-sdk"].skip_reason or "")
