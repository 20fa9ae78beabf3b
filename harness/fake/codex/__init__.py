"""The fake ``codex`` for ``codex exec --json``: replays fixture transcripts, injects faults, records invocations.

A plan (YAML/JSON, ``docs/fake-codex.md``) says what each invocation prints and which faults it injects.
:func:`build_fake` compiles it into a directory whose ``codex`` executable any SDK, in any language, can be
pointed at (``harness fake-codex build PLAN -o DIR`` from a shell); it costs a couple of milliseconds per
invocation instead of a Python start-up, and appends one JSON record per invocation to the log, read back with
:func:`read_log`. ``harness-fake-codex`` is the same fake driven by ``HARNESS_FAKE_PLAN``/``HARNESS_FAKE_LOG``
alone: a perl launcher (:func:`launcher_path`) over a compile cache (:mod:`.cache`), so only a cache miss pays for
Python.

Names are imported on first use, so that the launcher's Python side (:mod:`.cli`, :mod:`.cache`) starts without
loading YAML and the compiler.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the launcher's Python side ~3 ms
if TYPE_CHECKING:
    from harness.fake.codex.cache import cache_root, compile_cached
    from harness.fake.codex.compile import build_fake
    from harness.fake.codex.launcher import launcher_path, write_launcher
    from harness.fake.codex.log import ImageRecord, Invocation, read_log
    from harness.fake.codex.plan import BigLine, Faults, MalformedLine, Plan, Step, load_plan

__all__ = [
    "BigLine",
    "Faults",
    "ImageRecord",
    "Invocation",
    "MalformedLine",
    "Plan",
    "Step",
    "build_fake",
    "cache_root",
    "compile_cached",
    "launcher_path",
    "load_plan",
    "read_log",
    "write_launcher",
]

#: Where each public name is defined (module under this package).
_HOME = {
    "BigLine": "plan",
    "Faults": "plan",
    "ImageRecord": "log",
    "Invocation": "log",
    "MalformedLine": "plan",
    "Plan": "plan",
    "Step": "plan",
    "build_fake": "compile",
    "cache_root": "cache",
    "compile_cached": "cache",
    "launcher_path": "launcher",
    "load_plan": "plan",
    "read_log": "log",
    "write_launcher": "launcher",
}


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
