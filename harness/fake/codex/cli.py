"""``harness-fake-codex`` in Python: the fake codex driven by the environment alone.

``HARNESS_FAKE_PLAN`` names the plan (required), ``HARNESS_FAKE_LOG`` the invocation log (optional; without it
nothing is recorded and, unless ``HARNESS_FAKE_STATE`` names a state directory, every invocation takes the first
matching step). The perl launcher (``launcher.pl``) runs this only on a cache miss; run directly (the Python
console script) it does the same as the launcher: exec the cached compiled fake when it is fresh (without
importing YAML or the compiler), else compile into the cache first. Either way the behaviour is exactly that of
:func:`harness.fake.build_fake`'s output.
"""

from __future__ import annotations

import os
import sys

from harness.errors import HarnessError
from harness.fake.codex.cache import compile_cached, lookup, normalize_path

__all__ = ["main"]

TYPE_CHECKING = False  # keep the start-up lean: this runs on every invocation of the Python console script
if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run as codex with ``argv`` (default ``sys.argv[1:]``): exec the compiled plan; return only on error
    (exit status 2, like a codex usage error, with a one-line message on stderr)."""
    args = list(sys.argv[1:] if argv is None else argv)
    plan_env = os.environ.get("HARNESS_FAKE_PLAN")
    if not plan_env:
        print("harness-fake-codex: HARNESS_FAKE_PLAN is not set (it names the plan file)", file=sys.stderr)
        return 2
    plan_path = normalize_path(plan_env)
    try:
        exe = lookup(plan_path) or compile_cached(plan_path)
    except HarnessError as exc:
        print(f"harness-fake-codex: {exc}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["HARNESS_FAKE_PLAN"] = plan_path  # the compiled fake compares this to its baked path: no loop
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(exe, [str(exe), *args], env)
    return 2  # pragma: no cover - execve does not return


if __name__ == "__main__":
    sys.exit(main())
