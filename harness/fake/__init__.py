"""The fakes of the harness, one per thing an SDK talks to: :mod:`.codex` (the ``codex exec --json`` binary),
:mod:`.appserver` (``codex app-server``) and :mod:`.responses` (the model's Responses API).

The fake codex's public names are re-exported here (``from harness.fake import build_fake, read_log, Plan``), as
they were before the fakes got a package each; they are imported on first use, so importing another fake does not
load the codex compiler and YAML.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the launcher's Python side ~3 ms
if TYPE_CHECKING:
    from harness.fake.codex import (
        BigLine,
        Faults,
        ImageRecord,
        Invocation,
        MalformedLine,
        Plan,
        Step,
        build_fake,
        load_plan,
        read_log,
    )

__all__ = [
    "BigLine",
    "Faults",
    "ImageRecord",
    "Invocation",
    "MalformedLine",
    "Plan",
    "Step",
    "build_fake",
    "load_plan",
    "read_log",
]


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("harness.fake.codex"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
