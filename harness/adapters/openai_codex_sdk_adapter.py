"""Peer adapter for ``openai-codex-sdk`` (module ``openai_codex_sdk``), a third-party exec-JSONL SDK (its
metadata names OpenAI as author; it is not OpenAI's).

Run it with the interpreter of the venv that holds the SDK (``harness.adapters.install.install_python``)::

    <cache>/openai-codex-sdk/venv/bin/python harness/adapters/openai_codex_sdk_adapter.py

Mapping of a case (docs/adapters-peers.md):

- ``CodexOptions(codex_path_override=<codex_path>, base_url, api_key, env)`` (pydantic, extra keys forbidden).
  There is no config option at all: cases with ``config`` / ``config_overrides`` are **skipped**.
- ``ThreadOptions``: every protocol thread option except ``web_search_mode`` (only the legacy
  ``web_search_enabled``, sent as ``features.web_search_request``): cases with ``web_search_mode`` are
  **skipped**. Values outside the SDK's literals (e.g. effort ``xhigh``) fail validation -> invalid_options.
- ``TurnOptions(output_schema)``; no idle timeout, so cases with ``idle_timeout`` are **skipped**.
- Errors by class: ``ThreadRunError`` -> turn_failed, ``EventParseError`` -> parse, ``CodexExecError`` -> exit
  (signal for a negative code; binary_missing for ``Codex CLI not found``), ``AbortError`` -> abort, pydantic
  ``ValidationError`` -> invalid_options, ``ValueError: Separator is not found, and chunk exceed the limit``
  (64 KiB ``StreamReader`` limit) -> line_too_long.
- Known bug visible in the fake's argv: a resumed turn with images sends ``--image <f> resume <id>``.
"""

from __future__ import annotations

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

SDK_MODULE = "openai_codex_sdk"
DISTRIBUTION = "openai-codex-sdk"

_EXIT = re.compile(r"^Codex Exec exited with code (-?\d+)")
_UNSUPPORTED = {
    ("codex_options", "config"): "CodexOptions has no config option (point env CODEX_HOME at a config.toml)",
    ("codex_options", "config_overrides"): "CodexOptions has no config overrides",
    ("thread_options", "web_search_mode"): "ThreadOptions has no web_search_mode (only web_search_enabled)",
}


class OpenaiCodexSdkDriver(_common.TsShapedDriver):
    name = "openai-codex-sdk"
    sdk = SDK_MODULE
    distribution = DISTRIBUTION
    capabilities: tuple[str, ...] = (
        "run",
        "streamed",
        "resume",
        "local_image",
        "output_schema",
        "abort",
        "walk_away",
    )

    def __init__(self) -> None:
        self._sdk: Any = importlib.import_module(SDK_MODULE)
        self._errors: Any = importlib.import_module(f"{SDK_MODULE}.errors")
        pydantic: Any = importlib.import_module("pydantic")
        self._validation_error: type[BaseException] = pydantic.ValidationError

    def check(self, case: Mapping[str, Any]) -> None:
        for (section, key), reason in _UNSUPPORTED.items():
            if _common.given(case.get(section), key):
                raise _common.Skip(f"openai-codex-sdk: {reason}")
        for turn in case.get("turns") or []:
            if _common.given(turn.get("turn_options"), "idle_timeout"):
                raise _common.Skip("openai-codex-sdk: TurnOptions has no idle timeout (output_schema and signal only)")

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
        controller = self._sdk.AbortController()
        return controller.signal, controller.abort

    def turn_options(self, turn_options: Mapping[str, Any], signal: Any) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if turn_options.get("output_schema") is not None:
            options["output_schema"] = turn_options["output_schema"]
        if signal is not None:
            options["signal"] = signal
        return options

    def classify(self, exc: BaseException, mode: str) -> str:
        common = _common.common_kind(exc)
        if common is not None:
            return common
        errors = self._errors
        if isinstance(exc, self._validation_error):
            return "invalid_options"
        if isinstance(exc, errors.ThreadRunError):
            return "turn_failed"
        if isinstance(exc, errors.EventParseError):
            return "parse"
        if isinstance(exc, self._sdk.AbortError):
            return "abort"
        if isinstance(exc, errors.CodexExecError):
            message = str(exc)
            match = _EXIT.match(message)
            if match:
                return _common.exit_kind(int(match.group(1)))
            if message.startswith("Codex CLI not found"):
                return "binary_missing"
        if isinstance(exc, TypeError):  # an invalid input entry
            return "invalid_options"
        return "unknown"


def main() -> int:
    return _common.serve(OpenaiCodexSdkDriver)


if __name__ == "__main__":
    sys.exit(main())
