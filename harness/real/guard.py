"""``python -m harness.real.guard -- CMD...``: check from inside that the namespace is loopback-only, then exec.

The last line of defence: whatever wrapped us (``unshare --net`` or nothing at all), CMD only runs when
``/proc/self/net/dev`` lists nothing but ``lo``. ``HARNESS_NET_DEV`` points the check at another file (tests).
Refusal: one line on stderr, exit 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from harness.real.sandbox import NET_DEV, SandboxError, require_loopback_only

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Check, then replace this process with ``argv`` (after an optional ``--``)."""
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print("error: harness.real.guard: no command given", file=sys.stderr)
        return 2
    try:
        require_loopback_only(Path(os.environ.get("HARNESS_NET_DEV", str(NET_DEV))))
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"error: cannot run {command[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 127
    return 0  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
