"""Helpers for tests that run the fake codex: build from a mapping, run it, and check nothing is left behind.

Kept in the package (not in a conftest) so that scenario and adapter tests can use the same leftover check:
a fake that survives its test would make later tests flaky and hide SDKs that fail to reap their child.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.fake.codex.compile import build_fake
from harness.fake.codex.plan import Plan

__all__ = [
    "LEAK_TOKEN_VAR",
    "build_from_mapping",
    "leftover_processes",
    "proc_entries",
    "token_leaks",
    "wait_no_leftovers",
]

#: Environment variable carrying a per-test token: every process a test starts inherits it, grandchildren too.
LEAK_TOKEN_VAR = "HARNESS_LEAK_TOKEN"


def build_from_mapping(data: Any, tmp_path: Path, *, name: str = "fake") -> tuple[Path, Path]:
    """Build ``data`` (a plan mapping; replay paths relative to ``tmp_path``) into ``tmp_path/name``;
    return ``(executable, log_path)``."""
    plan = Plan.from_mapping(data, base_dir=tmp_path)
    log = tmp_path / f"{name}.log.jsonl"
    return build_fake(plan, tmp_path / name, log_path=log), log


def leftover_processes(marker: str | Path) -> list[tuple[int, str]]:
    """Live (non-zombie) processes whose command line contains ``marker``, as ``(pid, cmdline)``.

    Linux only (reads /proc); elsewhere returns ``[]``."""
    marker = str(marker)
    found: list[tuple[int, str]] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
        if marker in cmdline and state != "Z":
            found.append((int(entry.name), cmdline.strip()))
    return found


def wait_no_leftovers(marker: str | Path, timeout: float = 2.0) -> list[tuple[int, str]]:
    """Poll :func:`leftover_processes` until none or ``timeout``; return what is still alive."""
    deadline = time.monotonic() + timeout
    while True:
        left = leftover_processes(marker)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


def proc_entries() -> Iterator[tuple[int, bytes, str]]:
    """``(pid, environ, stat)`` of every readable process (Linux /proc)."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                environ = fh.read()
            with open(f"/proc/{name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        yield int(name), environ, stat


def token_leaks(token: str) -> list[str]:
    """Live processes carrying ``LEAK_TOKEN_VAR=token`` in their environment, and zombie children of this process.

    Matching on an inherited environment variable finds grandchildren (a ``sleep`` started by a fake) that a
    command-line match would miss."""
    marker = f"{LEAK_TOKEN_VAR}={token}".encode()
    found = []
    me = os.getpid()
    for pid, environ, stat in proc_entries():
        fields = stat.rsplit(")", 1)[1].split()
        state, ppid = fields[0], int(fields[1])
        if pid != me and marker in environ.split(b"\0") and state != "Z":
            found.append(f"{pid} alive: {stat[:80]}")
        elif ppid == me and state == "Z":
            found.append(f"{pid} zombie child: {stat[:80]}")
    return found
