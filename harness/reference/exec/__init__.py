"""The exec transport: ``codex exec --experimental-json``, prompt on stdin, one JSON event per line.

- :mod:`.argv`: pure functions from options to argv/env, in the TypeScript SDK's exact order;
- :mod:`.transport`: spawning codex, reading lines (64 MiB), idle timeout, cancellation, the stderr tail;
- :mod:`.schema_file`: the per-turn ``--output-schema`` temp file.

The turn pipeline (:mod:`harness.reference.thread`) talks to it through :class:`CodexExec`.
"""

from harness.reference.exec.argv import (
    ORIGINATOR_ENV,
    Input,
    InputPart,
    build_argv,
    build_env,
    flatten_config,
    normalize_input,
    to_toml_value,
)
from harness.reference.exec.schema_file import SCHEMA_DIR_PREFIX, OutputSchemaFile, render_schema
from harness.reference.exec.transport import (
    DEFAULT_KILL_GRACE,
    DEFAULT_LINE_LIMIT,
    DEFAULT_STDERR_TAIL,
    CodexExec,
    find_codex_path,
    iterate_sync,
    run_coroutine_sync,
)

__all__ = [
    "DEFAULT_KILL_GRACE",
    "DEFAULT_LINE_LIMIT",
    "DEFAULT_STDERR_TAIL",
    "ORIGINATOR_ENV",
    "SCHEMA_DIR_PREFIX",
    "CodexExec",
    "Input",
    "InputPart",
    "OutputSchemaFile",
    "build_argv",
    "build_env",
    "find_codex_path",
    "flatten_config",
    "iterate_sync",
    "normalize_input",
    "render_schema",
    "run_coroutine_sync",
    "to_toml_value",
]
