"""Shared fixtures of the harness's own tests."""

from __future__ import annotations

import fnmatch
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.fake.testing import LEAK_TOKEN_VAR, token_leaks

#: Test files that need Linux, and why. On any other platform (the macOS CI job) their tests are skipped with this
#: reason, which ``-ra`` prints in the job log; on Linux they always run. A single test can say the same with
#: ``@pytest.mark.linux_only("reason")``.
LINUX_ONLY: dict[str, str] = {
    "test_real_*.py": "the real codex runs only in a loopback-only Linux network namespace (unshare -n, /proc, ip)",
    "test_html_chromium.py": "the HTML report is rendered by Debian's chromium package (/usr/bin/chromium)",
}


def linux_only_reason(path: Path, platform: str = sys.platform) -> str | None:
    """Why the tests of ``path`` cannot run on ``platform`` (``None``: they run)."""
    if platform.startswith("linux"):
        return None
    for pattern, reason in LINUX_ONLY.items():
        if fnmatch.fnmatch(path.name, pattern):
            return f"needs Linux: {reason}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip Linux-only tests off Linux, naming the reason (never on Linux)."""
    for item in items:
        marker = item.get_closest_marker("linux_only")
        reason = linux_only_reason(item.path)
        if marker is not None and not sys.platform.startswith("linux"):
            reason = f"needs Linux: {marker.args[0] if marker.args else 'Linux-only'}"
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def no_leaks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """Fail the test if it leaves a process (child or grandchild), a zombie child, or a temp file behind.

    Every process the test starts inherits a per-test token in its environment; ``tempfile`` is pointed at a
    private directory that must be empty afterwards (schema files included)."""
    token = uuid.uuid4().hex
    monkeypatch.setenv(LEAK_TOKEN_VAR, token)
    private_tmp = tmp_path / "private-tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    yield token
    deadline = time.monotonic() + 1.0
    while (leaked := token_leaks(token)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert leaked == []
    assert list(private_tmp.iterdir()) == []
