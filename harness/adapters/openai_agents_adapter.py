"""Peer adapter for ``openai-agents`` (module ``agents.extensions.experimental.codex``), the OpenAI-maintained
Python port of the TypeScript Codex SDK.

Run it with the interpreter of the venv that holds the SDK (``harness.adapters.install.install_python``)::

    <cache>/openai-agents/venv/bin/python harness/adapters/openai_agents_adapter.py

Mapping of a case (docs/adapters-peers.md):

- ``CodexOptions(codex_path_override=<codex_path>, base_url, api_key, env)``; the SDK has no ``config`` /
  ``config_overrides`` option, so cases that set them are **skipped**.
- ``ThreadOptions`` takes every protocol thread option under the same snake_case name.
- ``TurnOptions(output_schema, idle_timeout_seconds=<idle_timeout>)``.
- Errors are all ``RuntimeError`` (options: ``agents.exceptions.UserError``), so kinds come from the message:
  ``Codex exec exited with code N: ...`` -> exit (signal when N < 0), ``Failed to parse event: ...`` -> parse,
  ``Codex stream error: ...`` -> stream_error (the port raises on a top-level ``error`` event during
  ``run()``; TS ignores it), ``Codex stream idle for ...`` -> idle_timeout, any other ``RuntimeError`` out of
  ``run()`` -> turn_failed (its message is the ``turn.failed`` message).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.adapters import _common
else:  # run as a script: its own folder is sys.path[0], so the sibling imports without harness installed
    import _common

SDK_MODULE = "agents.extensions.experimental.codex"
DISTRIBUTION = "openai-agents"

_EXIT = re.compile(r"^Codex exec exited with code (-?\d+)")
_UNSUPPORTED_CODEX_OPTIONS = {
    "config": "CodexOptions has no config option (codex_path_override, base_url, api_key, env and "
    "codex_subprocess_stream_limit_bytes only)",
    "config_overrides": "CodexOptions has no config_overrides option",
}


class AgentsDriver(_common.TsShapedDriver):
    name = "openai-agents"
    sdk = SDK_MODULE
    distribution = DISTRIBUTION
    capabilities: tuple[str, ...] = (
        "run",
        "streamed",
        "resume",
        "local_image",
        "output_schema",
        "idle_timeout",
        "abort",
        "walk_away",
    )

    def __init__(self) -> None:
        self._sdk: Any = importlib.import_module(SDK_MODULE)
        exceptions: Any = importlib.import_module("agents.exceptions")
        self._user_error: type[BaseException] = exceptions.UserError

    def check(self, case: Mapping[str, Any]) -> None:
        codex_options = case.get("codex_options") or {}
        for key, reason in _UNSUPPORTED_CODEX_OPTIONS.items():
            if _common.given(codex_options, key):
                raise _common.Skip(f"openai-agents: {reason}")

    def open_codex(self, case: Mapping[str, Any], codex_path: str) -> Any:
        codex_options = case.get("codex_options") or {}
        options: dict[str, Any] = {"codex_path_override": codex_path}
        for key in ("base_url", "api_key", "env"):
            if codex_options.get(key) is not None:
                options[key] = codex_options[key]
        return self._sdk.Codex(options)

    @staticmethod
    def _thread_options(case: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in (case.get("thread_options") or {}).items() if v is not None}

    def start_thread(self, codex: Any, case: Mapping[str, Any]) -> Any:
        return codex.start_thread(self._thread_options(case))

    def resume_thread(self, codex: Any, thread_id: str, case: Mapping[str, Any]) -> Any:
        return codex.resume_thread(thread_id, self._thread_options(case))

    def abort_signal(self) -> tuple[Any, Callable[[], None]]:
        # TurnOptions.signal is an asyncio.Event; setting it terminates the child (SIGTERM), which the port
        # then reports as "Codex exec exited with code -15" -- it has no abort error of its own.
        event = asyncio.Event()
        return event, event.set

    def turn_options(self, turn_options: Mapping[str, Any], signal: Any) -> Any:
        options: dict[str, Any] = {}
        if turn_options.get("output_schema") is not None:
            options["output_schema"] = turn_options["output_schema"]
        if turn_options.get("idle_timeout") is not None:
            options["idle_timeout_seconds"] = turn_options["idle_timeout"]
        if signal is not None:
            options["signal"] = signal
        return self._sdk.TurnOptions(**options)

    def classify(self, exc: BaseException, mode: str) -> str:
        common = _common.common_kind(exc)
        if common is not None:
            return common
        if isinstance(exc, self._user_error):
            return "invalid_options"
        if type(exc) is RuntimeError:
            message = str(exc)
            match = _EXIT.match(message)
            if match:
                return _common.exit_kind(int(match.group(1)))
            if message.startswith("Failed to parse event: "):
                return "parse"
            if message.startswith("Codex stream error: "):
                return "stream_error"
            if message.startswith("Codex stream idle for "):
                return "idle_timeout"
            if message.startswith(("Codex subprocess has no ", "Unsupported platform")):
                return "unknown"
            # run() raises RuntimeError(<turn.failed message>); run_streamed() never raises for turn.failed.
            return "turn_failed" if mode == "run" else "unknown"
        return "unknown"


def main() -> int:
    return _common.serve(AgentsDriver)


if __name__ == "__main__":
    sys.exit(main())
