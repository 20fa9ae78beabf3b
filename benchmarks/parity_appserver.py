"""Wall time of ``harness parity -k appserver``: every app-server scenario through the reference client and the
fake app-server (initialize, thread/start, a turn with its approvals, the fake's report), goldens compared.

Run ``python benchmarks/parity_appserver.py [--rounds N] [-n WORKERS] [--impl IDS | --peers]`` from the project
root. It runs the real CLI (``python -m harness parity -k appserver --out <tmp>``) ``--rounds`` times and prints the
best and median wall time, the number of scenarios, and the mean per scenario. ``--peers`` runs the reference with
the three app-server SDKs (installed with ``python -m harness.adapters.install all-appserver``) and also prints each
implementation's busy time (the sum of its case durations) from the best round's report. Reports go to a temp
directory.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = "reference,openai-codex,codex-python-sdk-unofficial,codex-python-sdk"


def busy_seconds(report: Path) -> dict[str, float]:
    """Per implementation, the sum of its case durations in a ``parity.json`` (JSON lines: header, then results)."""
    busy: dict[str, float] = collections.defaultdict(float)
    for line in report.read_text(encoding="utf-8").splitlines()[1:]:
        row = json.loads(line)
        if "implementation" in row:
            busy[row["implementation"]] += float(row.get("duration_s") or 0.0)
    return dict(busy)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-n", "--workers", type=int, default=1)
    parser.add_argument("--impl", default="reference")
    parser.add_argument("--peers", action="store_true", help=f"--impl {PEERS}")
    args = parser.parse_args()
    if args.peers:
        args.impl = PEERS
    scenarios = len(list((ROOT / "scenarios" / "appserver").glob("*.yaml")))
    times: list[float] = []
    busy: dict[str, float] = {}
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
            if times[-1] == min(times):
                busy = busy_seconds(Path(out) / "parity.json")
    best, median = min(times), statistics.median(times)
    print(f"harness parity -k appserver --impl {args.impl} -n {args.workers}: {scenarios} scenarios")
    print(f"  wall time best {best:.2f} s, median {median:.2f} s over {args.rounds} rounds "
          f"({best / max(scenarios, 1) * 1000:.0f} ms per scenario, process start included)")
    for impl, seconds in busy.items():
        print(f"  {impl}: busy {seconds:.2f} s ({seconds / max(scenarios, 1) * 1000:.0f} ms per scenario)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
