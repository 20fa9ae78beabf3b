"""Old home of the fake-codex test helpers (now :mod:`harness.fake.codex.testing`), kept because
``tests/conftest.py`` and other tests import ``harness.fake.testing``."""

from harness.fake.codex.testing import (
    LEAK_TOKEN_VAR,
    build_from_mapping,
    leftover_processes,
    proc_entries,
    token_leaks,
    wait_no_leftovers,
)

__all__ = [
    "LEAK_TOKEN_VAR",
    "build_from_mapping",
    "leftover_processes",
    "proc_entries",
    "token_leaks",
    "wait_no_leftovers",
]
