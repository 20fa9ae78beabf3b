"""Old home of ``harness-fake-codex`` (now :mod:`harness.fake.codex.cli`), kept because ``pyproject.toml``'s console
script ``harness.fake.cli:main`` and ``harness fake-codex`` name it; ``main`` is looked up at call time so that a
test can monkeypatch it here."""

from __future__ import annotations

import sys

from harness.fake.codex.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
