"""The hermetic layout of one scenario run, shared by every transport, and small value helpers.

Hermetic: the codex child (fake codex or fake app-server) gets a fixed environment
(``PATH=/usr/local/bin:/usr/bin:/bin``, ``HOME`` and ``CODEX_HOME`` inside the workdir, ``LANG=C.UTF-8``,
``TMPDIR`` inside the workdir) plus the scenario's ``options.codex.env``, so nothing reaches a real CLI, the
user's config or the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["BASE_PATH", "Layout", "error_record", "plain"]

#: The ``PATH`` of the codex child: system directories only, identical on every machine that runs the harness.
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


class Layout:
    """The directories of one run inside its workdir: a private ``HOME``, ``CODEX_HOME`` and ``TMPDIR``, and the
    folder the fake is built in. Both transports use it, so every codex child sees the same hermetic base."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.home = workdir / "home"
        self.codex_home = workdir / "codex-home"
        self.tmp = workdir / "tmp"
        self.fake_dir = workdir / "fake"
        self.log = workdir / "invocations.jsonl"

    def create(self) -> None:
        """Make the directories (idempotent)."""
        for directory in (self.home, self.codex_home, self.tmp, self.fake_dir):
            directory.mkdir(parents=True, exist_ok=True)

    def env(self, extra: Mapping[str, str]) -> dict[str, str]:
        """The codex child's environment: the hermetic base with ``extra`` laid over it."""
        base = {
            "PATH": BASE_PATH,
            "HOME": str(self.home),
            "CODEX_HOME": str(self.codex_home),
            "LANG": "C.UTF-8",
            "TMPDIR": str(self.tmp),
        }
        return base | dict(extra)


def plain(value: Any) -> Any:
    """A JSON-able copy (dataclasses and other values through ``str``, as a report would write them)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def error_record(exc: BaseException) -> dict[str, Any]:
    """``observation.error`` for an exception of the SDK under test: a CodexError's ``to_dict()`` (its
    canonical kind), anything else ``unexpected``."""
    from harness.reference.errors import CodexError

    if isinstance(exc, CodexError):
        data: dict[str, Any] = plain(exc.to_dict())
        return data
    return {"kind": "unexpected", "class": type(exc).__name__, "message": str(exc)}
