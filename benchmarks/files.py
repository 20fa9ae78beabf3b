"""Benchmark: the file store's stage throughput against a plain ``shutil.copy``, and the cost of a dedup hit.

Why: staging is on the path of every turn with attachments, so it must cost about what copying the file costs.
Three cases, each in a fresh temp directory, best of a few rounds:

* small: many 4 KiB files (per-file overhead dominates: locks, sidecar, fsyncs);
* large: one 64 MiB file (hashing + copying dominate);
* dedup hit: staging content that is already stored (hash, two locks, sidecar refresh), in µs.

Both ``durable=True`` (the default: fsync of file and directory) and ``durable=False`` are shown; the baseline
``shutil.copy`` does not fsync, so compare it with the second.

Run: ``python3 benchmarks/files.py [--small-count N] [--large-mib M] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.reference.files import FileStore
from harness.reference.telemetry import TelemetryBus


def best(rounds: int, setup: Callable[[Path], Callable[[], None]]) -> float:
    """The best wall time of ``rounds`` runs, each in a fresh directory that ``setup`` prepares."""
    times = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="files-bench-") as tmp:
            run = setup(Path(tmp))
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    return min(times)


def write_sources(directory: Path, count: int, size: int) -> list[Path]:
    directory.mkdir()
    paths = []
    for index in range(count):
        path = directory / f"{index}.bin"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def copy_case(count: int, size: int) -> Callable[[Path], Callable[[], None]]:
    def setup(tmp: Path) -> Callable[[], None]:
        sources = write_sources(tmp / "src", count, size)
        target = tmp / "dst"
        target.mkdir()

        def run() -> None:
            for path in sources:
                shutil.copy(path, target / path.name)

        return run

    return setup


def stage_case(count: int, size: int, durable: bool) -> Callable[[Path], Callable[[], None]]:
    def setup(tmp: Path) -> Callable[[], None]:
        sources = write_sources(tmp / "src", count, size)
        store = FileStore(tmp / "store", telemetry=TelemetryBus(), durable=durable)

        def run() -> None:
            for path in sources:
                store.stage(path)

        return run

    return setup


def dedup_cost(durable: bool, hits: int) -> float:
    """Microseconds per stage of 4 KiB bytes that are already stored."""
    with tempfile.TemporaryDirectory(prefix="files-bench-") as tmp:
        store = FileStore(Path(tmp) / "store", telemetry=TelemetryBus(), durable=durable)
        data = os.urandom(4096)
        store.stage(data)
        start = time.perf_counter()
        for _ in range(hits):
            store.stage(data)
        return (time.perf_counter() - start) / hits * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-count", type=int, default=1000)
    parser.add_argument("--large-mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hits", type=int, default=2000)
    args = parser.parse_args()
    small, large = (args.small_count, 4096), (1, args.large_mib << 20)
    rows = []
    for label, (count, size) in (("small 4 KiB", small), (f"large {args.large_mib} MiB", large)):
        megabytes = count * size / 1e6
        baseline = best(args.rounds, copy_case(count, size))
        fast = best(args.rounds, stage_case(count, size, durable=False))
        durable = best(args.rounds, stage_case(count, size, durable=True))
        rows.append((f"{label} x{count}", megabytes / baseline, megabytes / fast, megabytes / durable))
    print(f"{'case':<22}{'shutil.copy MB/s':>18}{'stage MB/s':>14}{'stage+fsync MB/s':>18}")
    for label, copy_rate, fast_rate, durable_rate in rows:
        print(f"{label:<22}{copy_rate:>18.1f}{fast_rate:>14.1f}{durable_rate:>18.1f}")
    print(
        f"dedup hit (4 KiB bytes): {dedup_cost(False, args.hits):.1f} µs, "
        f"with fsync: {dedup_cost(True, max(1, args.hits // 10)):.1f} µs"
    )


if __name__ == "__main__":
    main()
