"""The fake ``codex`` executable: replays fixture transcripts, injects faults, records invocations.

A plan (YAML/JSON, ``docs/fake-codex.md``) says what each invocation prints and which faults it injects.
:func:`build_fake` compiles it into a directory whose ``codex`` executable any SDK, in any language, can be
pointed at; it costs a couple of milliseconds per invocation instead of a Python start-up, and appends one
JSON record per invocation to the log, read back with :func:`read_log`. ``harness-fake-codex`` (:mod:`.cli`)
is the same fake driven by ``HARNESS_FAKE_PLAN``/``HARNESS_FAKE_LOG`` alone.
"""

from harness.fake.compile import build_fake
from harness.fake.log import Invocation, read_log
from harness.fake.plan import BigLine, Faults, MalformedLine, Plan, Step, load_plan

__all__ = [
    "BigLine",
    "Faults",
    "Invocation",
    "MalformedLine",
    "Plan",
    "Step",
    "build_fake",
    "load_plan",
    "read_log",
]
