"""Cost of one fake-codex invocation, side by side: compiled fake vs. a plain Python-script fake.

Run ``python benchmarks/fake_codex.py [--runs N]``. Each contender answers the same invocation (read the
prompt on stdin, pick the next step, append a JSON log record, print the agent_message fixture); the runs are
interleaved so machine noise hits all of them alike. ``sh + cat`` is the floor the compiled fake aims at;
the ``harness-fake-codex`` console script (Python start-up, plan load, then exec of the compiled fake) is
shown for scale. The target: compiled median <= 10 ms and <= 0.1x the Python-script fake.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.fake import Plan, build_fake

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "real" / "0.169.0" / "agent_message.jsonl"

# What a hand-written Python fake does; deliberately minimal (json/os/sys only, no YAML, no harness import).
PYTHON_FAKE = r"""
import fcntl, json, os, sys
plan = json.load(open(os.environ["BENCH_PLAN"]))
log = os.environ["BENCH_LOG"]
with open(log + ".state", "a+") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    f.seek(0)
    step = len(f.read().split())
    f.write(f"{step}\n")
stdin = sys.stdin.read()
keys = ("CODEX_API_KEY", "CODEX_INTERNAL_ORIGINATOR_OVERRIDE", "OPENAI_BASE_URL", "CODEX_HOME",
        "OPENAI_API_KEY", "PATH")
env = {k: os.environ.get(k) for k in keys}
rec = {"step": step, "argv": sys.argv[1:], "stdin": stdin, "cwd": os.getcwd(), "env": env,
       "output_schema": None}
fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
os.write(fd, (json.dumps(rec, ensure_ascii=False) + "\n").encode())
os.close(fd)
with open(plan["steps"][step]["replay"], "rb") as f:
    sys.stdout.buffer.write(f.read())
"""


def time_one(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, input=b"Say hello", stdout=subprocess.DEVNULL, env=env, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{cmd[0]} exited {result.returncode}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--console-runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fake-codex-bench-") as tmp_name:
        tmp = Path(tmp_name)
        steps = [{"replay": str(FIXTURE)}] * (args.runs + args.console_runs)
        exe = build_fake(
            Plan.from_mapping({"steps": steps}, base_dir=tmp), tmp / "fake", log_path=tmp / "c.jsonl"
        )
        plan_json = tmp / "plan.json"
        plan_json.write_text(json.dumps({"steps": steps}))
        plan_yaml = tmp / "plan.yaml"
        plan_yaml.write_text(json.dumps({"steps": steps}))
        script = tmp / "fake.py"
        script.write_text(PYTHON_FAKE)
        env = {**os.environ, "BENCH_PLAN": str(plan_json), "BENCH_LOG": str(tmp / "p.jsonl")}
        env.pop("HARNESS_FAKE_PLAN", None)
        env.pop("HARNESS_FAKE_LOG", None)
        argv = ["exec", "--experimental-json", "--model", "gpt-5", "--skip-git-repo-check"]
        contenders = {
            "compiled fake": [str(exe), *argv],
            "python-script fake": [sys.executable, str(script), *argv],
            "sh + cat (floor)": ["/bin/sh", "-c", f"cat >/dev/null; cat '{FIXTURE}'"],
        }
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for name, cmd in contenders.items():  # warm-up: page cache, pyc files
            time_one(cmd, env)
            times[name].clear()
        for _ in range(args.runs - 1):
            for name, cmd in contenders.items():
                times[name].append(time_one(cmd, env))
        console_env = {
            **env,
            "HARNESS_FAKE_PLAN": str(plan_yaml),
            "HARNESS_FAKE_LOG": str(tmp / "h.jsonl"),
            "HARNESS_FAKE_CACHE": str(tmp / "cache"),
        }
        console_cmd = [sys.executable, "-m", "harness.fake.cli", *argv]
        time_one(console_cmd, console_env)
        times["harness-fake-codex"] = [
            time_one(console_cmd, console_env) for _ in range(args.console_runs - 1)
        ]
    med = {name: statistics.median(ts) * 1000 for name, ts in times.items()}
    for name, ms in med.items():
        print(f"{name:22s} median {ms:8.2f} ms  (n={len(times[name])})")
    ratio = med["compiled fake"] / med["python-script fake"]
    print(f"ratio compiled / python-script: {ratio:.3f}")
    ok = med["compiled fake"] <= 10 and ratio <= 0.1
    print("target (<= 10 ms and <= 0.1x):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
