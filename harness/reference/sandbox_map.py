"""One table from the SDK-neutral thread options to what each codex transport is given.

The same option reaches codex two ways: ``codex exec`` takes flags and ``--config key=value`` overrides
(``--sandbox workspace-write``, ``--add-dir DIR``, ``--config approval_policy="untrusted"``), and
``codex app-server`` takes ``thread/start`` params (``"sandbox": "workspace-write"``, ``"approvalPolicy":
"untrusted"``, and ``config`` for what has no param of its own). Written out twice, the two spellings drift;
here each option is one :class:`SandboxOption` row naming both, and both the exec argv builder
(:mod:`harness.reference.exec.argv`) and the app-server thread (:func:`thread_start_params`) read it.

Ground truth: the exec side is the TypeScript SDK's argv (``fixtures/argv/typescript-codex-sdk.json``, copied
flag by flag in ``CodexExec.run``); the app-server side is what the official Python SDK sends on ``thread/start``
(``corpus/appserver/*/sdk/*.jsonl``: ``approvalPolicy``, ``sandbox``, ``cwd``) and the schema's
``ThreadStartParams``, where ``config`` is a free-form object of the same keys ``--config`` takes. Values pass
through verbatim (an invalid sandbox mode is codex's to reject, and that rejection is what a scenario observes).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

__all__ = [
    "SANDBOX_OPTIONS",
    "SandboxOption",
    "exec_args",
    "option",
    "thread_start_params",
]

ExecForm = Literal["flag", "repeated_flag", "config_string", "config_bool"]


@dataclasses.dataclass(frozen=True)
class SandboxOption:
    """One thread option and its spelling on each transport.

    ``exec_form`` says how :func:`exec_args` renders the value after ``exec_key``: ``flag`` (``--sandbox
    VALUE``), ``repeated_flag`` (``--add-dir`` once per entry), ``config_string`` (``--config
    key="VALUE"``, the TS SDK's quoting) or ``config_bool`` (``--config key=true|false``). On the app-server the
    value goes to the ``thread/start`` param ``param``, or, when there is none, under ``config`` at the dotted
    ``config_key``."""

    name: str
    exec_form: ExecForm
    exec_key: str
    param: str | None = None
    config_key: str | None = None

    def exec_args(self, value: Any) -> list[str]:
        """The exec arguments for ``value`` (``[]`` when the TS SDK would send nothing: unset or empty)."""
        if self.exec_form == "config_bool":
            if value is None:
                return []
            return ["--config", f"{self.exec_key}={'true' if value else 'false'}"]
        if not value:
            return []
        if self.exec_form == "flag":
            return [self.exec_key, str(value)]
        if self.exec_form == "repeated_flag":
            out: list[str] = []
            for entry in value:
                out += [self.exec_key, str(entry)]
            return out
        return ["--config", f'{self.exec_key}="{value}"']

    def present(self, value: Any) -> bool:
        """Whether the app-server gets this option (the same truthiness rule as exec)."""
        return value is not None if self.exec_form == "config_bool" else bool(value)


#: The table. Row order is irrelevant to exec (the argv builder places each row where the TS SDK does) and is
#: the order of the keys in ``thread/start``.
SANDBOX_OPTIONS: Final[tuple[SandboxOption, ...]] = (
    SandboxOption("working_directory", "flag", "--cd", param="cwd"),
    SandboxOption("approval_policy", "config_string", "approval_policy", param="approvalPolicy"),
    SandboxOption("sandbox_mode", "flag", "--sandbox", param="sandbox"),
    SandboxOption("model", "flag", "--model", param="model"),
    SandboxOption(
        "additional_directories", "repeated_flag", "--add-dir", config_key="sandbox_workspace_write.writable_roots"
    ),
    SandboxOption(
        "network_access_enabled",
        "config_bool",
        "sandbox_workspace_write.network_access",
        config_key="sandbox_workspace_write.network_access",
    ),
)

_BY_NAME: Final[dict[str, SandboxOption]] = {row.name: row for row in SANDBOX_OPTIONS}


def option(name: str) -> SandboxOption:
    """The row of thread option ``name`` (``KeyError`` for an option the table does not map)."""
    return _BY_NAME[name]


def exec_args(name: str, value: Any) -> list[str]:
    """``codex exec`` arguments for thread option ``name`` = ``value`` (see :meth:`SandboxOption.exec_args`)."""
    return _BY_NAME[name].exec_args(value)


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    node = target
    *parents, leaf = dotted.split(".")
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[leaf] = value


def thread_start_params(
    thread_options: Mapping[str, Any] | Any,
    *,
    cwd: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``thread/start`` params for ``thread_options`` (a mapping of snake_case names, or an object with those
    attributes, such as :class:`~harness.reference.options.ThreadOptions`).

    ``cwd`` is used when ``working_directory`` is not set (an app-server thread always names its workspace: the
    fake app-server maps the recorded one onto it). ``extra`` params are laid over the result verbatim (e.g.
    ``approvalsReviewer``, ``dynamicTools``); a ``config`` in ``extra`` is merged with the table's ``config``
    entries, ``extra`` winning."""
    get = thread_options.get if isinstance(thread_options, Mapping) else lambda n: getattr(thread_options, n, None)
    params: dict[str, Any] = {}
    config: dict[str, Any] = {}
    for row in SANDBOX_OPTIONS:
        value = get(row.name)
        if row.name == "working_directory" and not value:
            value = cwd
        if not row.present(value):
            continue
        if row.param is not None:
            params[row.param] = list(value) if isinstance(value, tuple) else value
        elif row.config_key is not None:
            _set_dotted(config, row.config_key, list(value) if isinstance(value, Sequence) and not isinstance(
                value, str) else value)
    extra = dict(extra or {})
    extra_config = extra.pop("config", None)
    if isinstance(extra_config, Mapping):
        config = _merge(config, extra_config)
    if config:
        params["config"] = config
    params.update(extra)
    return params


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
