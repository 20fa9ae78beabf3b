"""Wall time of ``harness parity -k appserver``: every app-server scenario through the reference client and the
fake app-server (initialize, thread/start, a turn with its approvals, the fake's report), goldens compared.

Run ``python benchmarks/parity_appserver.py [--rounds N] [-n WORKERS] [--impl IDS]`` from the project root. It
runs the real CLI (``python -m harness parity -k appserver --out <tmp>``) ``--rounds`` times and prints the
best and median wall time, the number of scenarios, and the mean per scenario. Reports go to a temp directory.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-n", "--workers", type=int, default=1)
    parser.add_argument("--impl", default="reference")
    args = parser.parse_args()
    scenarios = len(list((ROOT / "scenarios" / "appserver").glob("*.yaml")))
    times: list[float] = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-appserver-") as out:
            argv = [sys.executable, "-m", "harness", "parity", "-k", "appserver", "--impl", args.impl,
                    "-n", str(args.workers), "--out", out]
            started = time.perf_counter()
            done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - started)
            if done.returncode != 0:
                sys.stderr.write(done.stdout[-2000:] + done.stderr[-2000:])
                print(f"harness parity exited {done.returncode}")
                return done.returncode
    best, median = min(times), statistics.median(times)
    print(f"harness parity -k appserver --impl {args.impl} -n {args.workers}: {scenarios} scenarios")
    print(f"  wall time best {best:.2f} s, median {median:.2f} s over {args.rounds} rounds "
          f"({best / max(scenarios, 1) * 1000:.0f} ms per scenario, process start included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
