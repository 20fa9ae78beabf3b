"""Benchmark: typed ``parse`` per line vs ``json.loads`` per line on the real transcripts.

Why: the event domain promises typed parsing at least as fast as ``json.loads`` into dicts, so that the
reference SDK and the harness never pay for typing. Builds >= 100k lines by repeating every line of
``fixtures/real``, times both per line (best of several rounds; bytes input as a stream reader gets it, then
str input), and prints the ratio ``json_time / typed_time`` (>= 1.0 means typed parsing is at least as fast).

Run: ``python benchmarks/parse.py [--lines N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.reference.events import parse

ROOT = Path(__file__).resolve().parent.parent


def corpus(min_lines: int) -> list[bytes]:
    """Every non-empty line of every real transcript, repeated until there are at least ``min_lines``."""
    base = [
        line
        for path in sorted((ROOT / "fixtures" / "real").glob("*/*.jsonl"))
        for line in path.read_bytes().split(b"\n")
        if line
    ]
    repeats = -(-min_lines // len(base))
    return base * repeats


def best_time(fn: Callable[[bytes], Any], lines: list[bytes], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for line in lines:
            fn(line)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    lines = corpus(args.lines)
    for line in lines[: len(lines) // max(1, len(lines) // 200)]:  # warm up both paths
        json.loads(line)
        parse(line)
    n = len(lines)
    print(f"lines: {n} ({sum(map(len, lines)) / n:.0f} bytes average), best of {args.rounds} rounds")
    ratios = {}
    for label, data in (("bytes", lines), ("str", [line.decode("utf-8") for line in lines])):
        json_time = best_time(json.loads, data, args.rounds)
        typed_time = best_time(parse, data, args.rounds)
        ratios[label] = json_time / typed_time
        print(f"[{label} input] json.loads: {json_time / n * 1e6:.2f} us/line   typed parse: "
              f"{typed_time / n * 1e6:.2f} us/line   ratio (json_time / typed_time): {ratios[label]:.2f}")
    print(f"ratio (json_time / typed_time): {ratios['bytes']:.2f}  (bytes, as read from codex's stdout)")


if __name__ == "__main__":
    main()
