"""Wall time of ``harness parity --impl reference,openai-agents,ts,codex-sdk-python,openai-codex-sdk,ai-sdk-codex``
over the whole scenario corpus, and where the time goes per implementation.

Run ``python benchmarks/parity_matrix.py [-n WORKERS ...] [--impl IDS]`` from the project root. For each
worker count it runs the matrix in-process through the same code as the CLI (``run_matrix``, the committed
baselines, no report files) and prints:

- the wall time of the whole matrix (target: < 60 s on a 2-core machine, all six implementations);
- per implementation: the wall time of a run of that implementation alone (``alone``), the sum of its case
  durations inside the matrix run (``busy``; > wall when cases overlap), the adapter processes started, and
  its statuses.

Implementations that are not installed are reported, not fatal (their cases are skipped).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALL = "reference,openai-agents,ts,codex-sdk-python,openai-codex-sdk,ai-sdk-codex"
TARGET_S = 60.0


def _run(ids: list[str], workers: int) -> tuple[float, object]:
    from harness.parity.baseline import load_baselines
    from harness.parity.matrix import driver_for, run_matrix
    from harness.report.model import PARTS, PORTABLE_PARTS, REFERENCE, Selection
    from harness.report.parity import default_backend, make_header

    backend = default_backend()
    scenarios = backend.load_all(Path("scenarios"))
    baselines = load_baselines(Path("baselines"), {i: PARTS if i == REFERENCE else PORTABLE_PARTS for i in ids})
    header = make_header(scenarios, argv=["benchmark"], selection=Selection())
    started = time.perf_counter()
    drivers = [driver_for(i, backend, workers=workers) for i in ids]
    try:
        run = run_matrix(
            scenarios,
            drivers,
            backend=backend,
            golden_root=Path("golden"),
            header=header,
            workers=workers,
            baselines=baselines,
            scenario_ids={s.id for s in scenarios},
        )
    finally:
        for driver in drivers:
            driver.close()
    return time.perf_counter() - started, run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--workers", type=int, action="append", help="worker threads (repeatable; default 2)")
    parser.add_argument("--impl", default=ALL, help=f"implementations (default {ALL})")
    parser.add_argument("--no-alone", action="store_true", help="skip the per-implementation solo runs")
    args = parser.parse_args()
    os.chdir(ROOT)
    ids = [i for i in args.impl.split(",") if i]
    print(f"{os.cpu_count()} CPU(s); implementations: {', '.join(ids)}")
    status = 0
    for workers in args.workers or [2]:
        wall, run = _run(ids, workers)
        report = run.report  # type: ignore[attr-defined]
        scenarios = len(report.scenario_ids)
        verdict = "ok" if wall < TARGET_S else f"OVER the {TARGET_S:.0f} s target"
        print(f"\n-n {workers}: {scenarios} scenarios x {len(ids)} implementations = {len(report.results)} results")
        print(f"  matrix wall time: {wall:.1f} s ({verdict}); report ok: {report.ok}")
        for info in report.header.implementations:
            counts = Counter(r.status.value for r in report.results if r.implementation == info.id)
            alone = ""
            if not args.no_alone:
                solo, _ = _run([info.id], workers)
                alone = f"alone {solo:5.1f} s  "
            busy = run.busy_s.get(info.id, 0.0)  # type: ignore[attr-defined]
            procs = run.processes.get(info.id, 0)  # type: ignore[attr-defined]
            problem = f"  [{info.problem}]" if info.problem else ""
            print(
                f"  {info.id:18} {alone}busy {busy:5.1f} s  processes {procs}  "
                + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                + problem
            )
        if wall >= TARGET_S:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
