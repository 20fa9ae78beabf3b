"""``harness-fake-codex``: the fake codex driven by the environment alone.

``HARNESS_FAKE_PLAN`` names the plan (required), ``HARNESS_FAKE_LOG`` the invocation log (optional; without it
nothing is recorded and, unless ``HARNESS_FAKE_STATE`` names a state directory, every invocation takes the
first matching step). The plan is compiled once into a cache directory keyed by its path and content, and the
compiled executable is exec'ed, so the behaviour is exactly that of :func:`harness.fake.build_fake`'s output;
only the Python start-up is extra.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.errors import HarnessError
from harness.fake.compile import compile_cached
from harness.fake.plan import load_plan

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run as codex with ``argv`` (default ``sys.argv[1:]``): exec the compiled plan; return only on error
    (exit status 2, like a codex usage error, with a one-line message on stderr)."""
    args = list(sys.argv[1:] if argv is None else argv)
    plan_env = os.environ.get("HARNESS_FAKE_PLAN")
    if not plan_env:
        print("harness-fake-codex: HARNESS_FAKE_PLAN is not set (it names the plan file)", file=sys.stderr)
        return 2
    plan_path = Path(plan_env).absolute()
    try:
        plan = load_plan(plan_path)
        exe = compile_cached(plan, plan_path)
    except HarnessError as exc:
        print(f"harness-fake-codex: {exc}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["HARNESS_FAKE_PLAN"] = str(plan_path)  # the compiled fake compares this to its baked path: no loop
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(exe, [str(exe), *args], env)
    return 2  # pragma: no cover - execve does not return


if __name__ == "__main__":
    sys.exit(main())
