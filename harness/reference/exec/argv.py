"""Pure construction of the ``codex exec`` command line, environment and stdin, as the TS SDK 0.163.0 builds
them.

Nothing here touches the process or the file system, so the argv can be compared to recorded TS argv
(``fixtures/argv/typescript-codex-sdk.json``) without spawning anything. The order of flags is part of the
contract, not a detail: the CLI's ``--image`` is greedy and swallows a following ``resume <id>``
(sdk-behaviour.md §1.2, §4.5), and ``-c`` after ``resume`` discards earlier ones. So the order below is copied
from ``CodexExec.run`` of the TS SDK line by line, including its truthiness tests (an empty model string emits
no ``--model``). The sandbox-related flags (model, sandbox, working directory, extra directories, network
access, approval policy) come from the one table in :mod:`harness.reference.sandbox_map`, which the app-server
thread reads too; this function only decides where each row goes.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeAlias

from harness.reference.errors import InvalidOptionsError
from harness.reference.options import CodexOptions, ThreadOptions, TurnOptions
from harness.reference.sandbox_map import exec_args

__all__ = [
    "ORIGINATOR_ENV",
    "Input",
    "InputPart",
    "build_argv",
    "build_env",
    "flatten_config",
    "normalize_input",
    "to_toml_value",
]

ORIGINATOR_ENV = "CODEX_INTERNAL_ORIGINATOR_OVERRIDE"

#: One part of a structured input: ``{"type": "text", "text": ...}`` or ``{"type": "local_image", "path":
#: ...}``.
InputPart: TypeAlias = Mapping[str, Any]
#: A turn's input, as the TS ``Input``: a prompt string or a list of parts.
Input: TypeAlias = str | Sequence[InputPart]

_TOML_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def normalize_input(value: Input) -> tuple[str, list[str]]:
    """Split an input into the stdin prompt and the ``--image`` paths (TS ``normalizeInput``).

    Text parts are joined with a blank line; image parts become ``--image`` flags in their order. Unknown part
    types are ignored, as in TS; a part that is not a mapping, or lacks its string field, is rejected because
    it could only come from a caller bug.
    """
    if isinstance(value, str):
        return value, []
    if isinstance(value, bytes) or not isinstance(value, Sequence):
        raise InvalidOptionsError(
            f"input must be a string or a list of input parts, got {type(value).__name__}"
        )
    texts: list[str] = []
    images: list[str] = []
    for index, part in enumerate(value):
        if not isinstance(part, Mapping):
            raise InvalidOptionsError(f"input[{index}] must be an object, got {type(part).__name__}")
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise InvalidOptionsError(f"input[{index}].text must be a string")
            texts.append(text)
        elif kind == "local_image":
            path = part.get("path")
            if isinstance(path, os.PathLike):
                path = os.fspath(path)
            if not isinstance(path, str):
                raise InvalidOptionsError(f"input[{index}].path must be a string")
            images.append(path)
    return "\n\n".join(texts), images


def _js_number(value: float) -> str:
    """``String(value)`` as JavaScript prints a finite double (ECMA-262 Number::toString).

    Python's ``repr`` gives the same shortest digits but a different layout (``1e-07`` vs ``1e-7``, ``1.0`` vs
    ``1``), and config values must be byte-identical to what the TS SDK passes.
    """
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = exponent + k  # value = 0.digits * 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


def _json_string(value: str) -> str:
    """``JSON.stringify`` of a string: non-ASCII kept verbatim, control characters escaped."""
    return json.dumps(value, ensure_ascii=False)


def _format_toml_key(key: str) -> str:
    return key if _TOML_BARE_KEY.match(key) else _json_string(key)


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidOptionsError("Codex config override keys must be non-empty strings")
    return key


def to_toml_value(value: object, path: str) -> str:
    """Render one config value as a TOML literal (TS ``toTomlValue``), raising the TS texts on bad values.

    Python has no ``undefined``, so ``None`` is JS ``null`` and always an error. Tuples count as arrays and
    any mapping as a plain object. Other types are reported by their Python type name where TS reports
    ``typeof``.
    """
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidOptionsError(f"Codex config override at {path} must be a finite number")
        return _js_number(value)
    if isinstance(value, list | tuple):
        rendered = [to_toml_value(item, f"{path}[{index}]") for index, item in enumerate(value)]
        return "[" + ", ".join(rendered) + "]"
    if isinstance(value, Mapping):
        parts = []
        for key, child in value.items():
            key = _check_key(key)
            parts.append(f"{_format_toml_key(key)} = {to_toml_value(child, f'{path}.{key}')}")
        return "{" + ", ".join(parts) + "}"
    if value is None:
        raise InvalidOptionsError(f"Codex config override at {path} cannot be null")
    raise InvalidOptionsError(f"Unsupported Codex config override value at {path}: {type(value).__name__}")


def flatten_config(config: object) -> list[str]:
    """Flatten ``CodexOptions.config`` to ``key.path=value`` strings (TS ``serializeConfigOverrides``).

    Nested objects become dotted paths; an empty nested object becomes ``path={}``; objects inside arrays
    become inline tables. Dotted paths keep the raw key (TS does not quote path segments), only inline-table
    keys are quoted when they are not bare.
    """
    if not isinstance(config, Mapping):
        raise InvalidOptionsError("Codex config overrides must be a plain object")
    overrides: list[str] = []
    _flatten(config, "", overrides)
    return overrides


def _flatten(value: Mapping[Any, Any], prefix: str, overrides: list[str]) -> None:
    if not value:
        if prefix:
            overrides.append(f"{prefix}={{}}")
        return
    for key, child in value.items():
        key = _check_key(key)
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(child, Mapping):
            _flatten(child, path, overrides)
        else:
            overrides.append(f"{path}={to_toml_value(child, path)}")


def build_argv(
    codex_options: CodexOptions | None = None,
    thread_options: ThreadOptions | None = None,
    turn_options: TurnOptions | None = None,
    *,
    thread_id: str | None = None,
    images: Sequence[str] = (),
    output_schema_path: str | None = None,
) -> list[str]:
    """The arguments after the executable, in the TS SDK 0.163.0 order (sdk-behaviour.md §2.1).

    ``thread_id`` is the id to resume (``None`` for a new thread); ``images`` come from
    :func:`normalize_input`; ``output_schema_path`` is the temp file written by
    :mod:`harness.reference.schema_file` (the schema itself is not rendered here, so this function stays
    pure).
    """
    client = codex_options or CodexOptions()
    thread = thread_options or ThreadOptions()
    turn = turn_options or TurnOptions()
    argv = ["exec", "--experimental-json"]

    if client.config is not None:
        for override in flatten_config(client.config):
            argv += ["--config", override]
    for raw in client.config_overrides or ():
        argv += ["--config", raw]
    if client.base_url:
        argv += ["--config", f"openai_base_url={_json_string(client.base_url)}"]

    argv += exec_args("model", thread.model)
    if thread.thread_source and not thread_id:
        argv += ["--thread-source", thread.thread_source]
    argv += exec_args("sandbox_mode", thread.sandbox_mode)
    argv += exec_args("working_directory", thread.working_directory)
    argv += exec_args("additional_directories", thread.additional_directories)
    if thread.skip_git_repo_check:
        argv.append("--skip-git-repo-check")
    if output_schema_path:
        argv += ["--output-schema", output_schema_path]
    if turn.cyber_access_program:
        argv += ["--cyber-access-program", turn.cyber_access_program]
    if thread.model_reasoning_effort:
        argv += ["--config", f'model_reasoning_effort="{thread.model_reasoning_effort}"']
    argv += exec_args("network_access_enabled", thread.network_access_enabled)
    if thread.web_search_mode:
        argv += ["--config", f'web_search="{thread.web_search_mode}"']
    elif thread.web_search_enabled is True:
        argv += ["--config", 'web_search="live"']
    elif thread.web_search_enabled is False:
        argv += ["--config", 'web_search="disabled"']
    argv += exec_args("approval_policy", thread.approval_policy)

    if thread_id:
        argv += ["resume", thread_id]
    for image in images:
        argv += ["--image", image]
    return argv


def build_env(
    codex_options: CodexOptions | None = None, *, base_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The child's environment (TS ``CodexExec.run``).

    Starts from ``CodexOptions.env`` when given (a full replacement: nothing of ours leaks), else from
    ``base_env`` (default: ``os.environ`` at call time). The originator is set only if unset, so a caller's
    override wins; ``CODEX_API_KEY`` is set from ``api_key``. The TS SDK also prepends its bundled ``rg``
    directory to ``PATH`` when it resolved the binary itself; we never bundle one, so we never touch ``PATH``.
    """
    client = codex_options or CodexOptions()
    source = client.env if client.env is not None else (os.environ if base_env is None else base_env)
    env = dict(source)
    if not env.get(ORIGINATOR_ENV):
        env[ORIGINATOR_ENV] = client.originator
    if client.api_key:
        env["CODEX_API_KEY"] = client.api_key
    return env
