"""Shared fixtures of the harness's own tests."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.fake.testing import LEAK_TOKEN_VAR, token_leaks


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
