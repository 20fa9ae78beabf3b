"""Benchmark: typed ``parse`` per line vs ``json.loads`` per line on the real transcripts, for bytes and str.

Why: the event domain promises typed, byte-exact parsing at least twice as fast as ``json.loads`` into dicts,
so that neither the reference SDK nor the harness ever pays for typing. This builds >= 100k lines by repeating
every line of ``fixtures/real``, checks that each distinct line round-trips (``serialize(parse(line)) ==
line``: the speed is worth nothing without that), then times both functions per line on the *same* input type:
bytes (as a stream reader gets them from codex's stdout) and str. A last, informational figure times whole
streams: ``iter_events`` over a BytesIO against ``readline`` + ``json.loads``.

The machine this runs on is usually shared, so the timing is built to resist load drift: the lines are cut into
blocks, ``json.loads`` and ``parse`` run back to back on each block in every round, and each block keeps its
best time per function; the totals are the sums of those minima. Ratios are ``json_time / typed_time`` (2.0
means typed parsing takes half the time of ``json.loads``).

Run: ``python3 benchmarks/parse.py [--lines N] [--rounds R] [--check]`` (``--check`` exits 1 when a ratio is
below the 2.0 target).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.reference.events import iter_events, parse, serialize

ROOT = Path(__file__).resolve().parent.parent
TARGET = 2.0
BLOCK = 2000


def real_lines() -> list[bytes]:
    """Every non-empty line of every real transcript, in a stable order."""
    return [
        line
        for path in sorted((ROOT / "fixtures" / "real").glob("*/*.jsonl"))
        for line in path.read_bytes().split(b"\n")
        if line
    ]


def corpus(min_lines: int) -> list[bytes]:
    """The real lines, repeated until there are at least ``min_lines``."""
    base = real_lines()
    return base * -(-min_lines // len(base))


def check_round_trip(lines: Sequence[bytes]) -> None:
    """Refuse to time a parser that is not exact."""
    for line in set(lines):
        for given in (line, line.decode("utf-8")):
            if serialize(parse(given)).encode("utf-8") != line:
                sys.exit(f"round trip broken for {type(given).__name__} input: {line[:120]!r}")


def _time(fn: Callable[[Any], Any], block: Sequence[Any]) -> float:
    start = time.perf_counter()
    for line in block:
        fn(line)
    return time.perf_counter() - start


def interleaved(fns: Sequence[Callable[[Any], Any]], data: Sequence[Any], rounds: int) -> list[float]:
    """Total time of each function over ``data``: per block, the best of ``rounds`` back-to-back runs."""
    blocks = [data[i : i + BLOCK] for i in range(0, len(data), BLOCK)]
    best = [[float("inf")] * len(blocks) for _ in fns]
    for _ in range(rounds):
        for b, block in enumerate(blocks):
            for f, fn in enumerate(fns):
                best[f][b] = min(best[f][b], _time(fn, block))
    return [sum(per_block) for per_block in best]


def stream_times(lines: Sequence[bytes], rounds: int) -> tuple[float, float]:
    """Best whole-stream times of reading the lines from a BytesIO: ``json.loads`` per ``readline`` vs
    ``iter_events`` (what an SDK does with codex's stdout), rounds interleaved."""
    blob = b"\n".join(lines) + b"\n"

    def with_json() -> None:
        for line in io.BytesIO(blob):
            json.loads(line)

    def with_events() -> None:
        for _ in iter_events(io.BytesIO(blob)):
            pass

    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for i, fn in enumerate((with_json, with_events)):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best[0], best[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if a ratio is below {TARGET}")
    args = parser.parse_args()
    lines = corpus(args.lines)
    check_round_trip(lines)
    n = len(lines)
    print(f"lines: {n} ({sum(map(len, lines)) / n:.0f} bytes average), blocks of {BLOCK}, best of {args.rounds}")
    ratios: dict[str, float] = {}
    for label, data in (("bytes", lines), ("str", [line.decode("utf-8") for line in lines])):
        _time(json.loads, data[:BLOCK])  # warm up both paths
        _time(parse, data[:BLOCK])
        json_time, typed_time = interleaved((json.loads, parse), data, args.rounds)
        ratios[label] = json_time / typed_time
        print(
            f"[{label} input] json.loads: {json_time / n * 1e6:.3f} us/line   "
            f"typed parse: {typed_time / n * 1e6:.3f} us/line"
        )
    stream_json, stream_typed = stream_times(lines, args.rounds)
    print(
        f"[stream] readline + json.loads: {stream_json / n * 1e6:.3f} us/line   "
        f"iter_events: {stream_typed / n * 1e6:.3f} us/line   (ratio {stream_json / stream_typed:.2f}, informational)"
    )
    for label in ("str", "bytes"):
        print(f"ratio {label:5s} (json.loads / typed parse, both on {label} input): {ratios[label]:.2f}")
    met = all(ratio >= TARGET for ratio in ratios.values())
    print(f"target: both ratios >= {TARGET}: {'met' if met else 'NOT met'}")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
