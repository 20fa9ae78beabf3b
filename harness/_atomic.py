"""Atomic file writes: every file the harness produces is written to a temp file beside it, then renamed.

A reader (a concurrent pytest-xdist worker, a CI step, a person) therefore sees either the old file or the new one,
never a half-written one, and an interrupted run leaves nothing truncated behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_text_atomic"]


def write_text_atomic(path: Path, text: str, *, mode: int = 0o644, redact: bool = True) -> None:
    """Write ``text`` (UTF-8, ``\\n`` newlines) to ``path`` through a temp file in the same directory and
    :func:`os.replace`; the temp file is removed if anything fails.

    Every file the harness writes passes here, so this is where :func:`harness.redact.redact_text` is the last
    net: a secret that slipped past normalization still never reaches a golden, report or baseline
    (``redact=False`` only for files that are code, such as a generated launcher)."""
    if redact:
        from harness.redact import redact_text

        text = redact_text(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
