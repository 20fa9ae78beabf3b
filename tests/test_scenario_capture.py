"""Telemetry and logs in observations: captured per scenario, so parallel scenarios never mix."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.golden.store import read_golden
from harness.reference.telemetry import correlation
from harness.scenario import compare, load_scenario, observe, run_scenario

REPO = Path(__file__).resolve().parents[1]
IDS = ("telemetry/failed_turn_run", "telemetry/two_turns_completed", "auto/retry_then_success", "structured/valid")


def test_raw_telemetry_and_logs_have_one_correlation_id_and_no_timestamps(tmp_path: Path) -> None:
    scenario = load_scenario(REPO / "scenarios" / "telemetry" / "failed_turn_run.yaml")
    raw = run_scenario(scenario, workdir=tmp_path)
    telemetry, logs = raw["telemetry"], raw["logs"]
    assert telemetry and len(logs) == len(telemetry)
    assert {tuple(sorted(t)) for t in telemetry} == {("correlation_id", "measurements", "metadata", "name")}
    cids = {t["correlation_id"] for t in telemetry} | {entry["correlation_id"] for entry in logs}
    assert len(cids) == 1 and next(iter(cids)).startswith("scenario-")
    assert [entry["message"] for entry in logs] == [t["name"] for t in telemetry]
    levels = {entry["message"]: entry["level"] for entry in logs}
    assert levels == {
        "codex.turn.start": "INFO",
        "codex.event": "DEBUG",
        "codex.thread.start": "INFO",
        "codex.turn.exception": "WARNING",
        "codex.thread.stop": "INFO",
    }
    exception = next(t for t in telemetry if t["name"] == "codex.turn.exception")
    assert isinstance(exception["measurements"]["duration_ms"], float)


def test_parallel_scenarios_do_not_mix_and_the_logger_is_restored() -> None:
    logger = logging.getLogger("harness.reference")
    level, handlers = logger.level, list(logger.handlers)
    scenarios = [load_scenario(REPO / "scenarios" / f"{sid}.yaml") for sid in IDS] * 3
    stop = threading.Event()

    def noise() -> None:
        # Another user of the same logger, under its own correlation id, all along.
        with correlation("noise-correlation"):
            while not stop.is_set():
                logger.warning("noise from elsewhere")
                stop.wait(0.001)

    noisy = threading.Thread(target=noise)
    noisy.start()
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            observations = list(pool.map(observe, scenarios))
    finally:
        stop.set()
        noisy.join()
    for scenario, observed in zip(scenarios, observations, strict=True):
        golden = read_golden(scenario.id, scenario.golden_root)
        assert golden is not None, scenario.id
        comparison = compare(golden, observed)
        assert comparison.agrees, f"{scenario.id}:\n{comparison.unified_diff}"
        assert all(entry["message"] != "noise from elsewhere" for entry in observed["logs"])
        assert {t["correlation_id"] for t in observed["telemetry"]} == {"<cid:1>"}
    assert logger.level == level and logger.handlers == handlers
