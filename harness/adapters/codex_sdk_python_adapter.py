"""Peer adapter for ``codex-sdk-python`` (Vectorfy, module ``codex_sdk``), a third-party exec-JSONL SDK.

Run it with the interpreter of the venv that holds the SDK (``harness.adapters.install.install_python``)::

    <cache>/codex-sdk-python/venv/bin/python harness/adapters/codex_sdk_python_adapter.py

Mapping of a case (docs/adapters-peers.md):

- ``CodexOptions(codex_path_override=<codex_path>, base_url, api_key, env, config_overrides=<config>)``: the
  SDK's ``config_overrides`` mapping is the counterpart of the TS ``config`` object (it encodes nested
  mappings as TOML inline tables where TS flattens them to dotted keys -- a divergence the argv shows). The TS
  ``configOverrides`` raw strings have no counterpart: such cases are **skipped**.
- ``ThreadOptions`` takes every protocol thread option under the same snake_case name.
- ``TurnOptions(output_schema)``; there is no idle timeout, so cases with ``idle_timeout`` are **skipped**.
- Errors by class: ``CodexCLIError`` -> exit (signal for a negative code), ``CodexParseError`` -> parse
  (including ``Unknown item type: X`` / ``Unknown event type: X``: the SDK rejects unknown types),
  ``TurnFailedError`` -> turn_failed, ``CodexAbortError`` -> abort; an un-wrapped ``ValueError: Separator is
  not found, and chunk exceed the limit`` (64 KiB ``StreamReader`` limit) -> line_too_long.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.adapters import _common
else:  # run as a script: its own folder is sys.path[0], so the sibling imports without harness installed
    import _common

SDK_MODULE = "codex_sdk"
DISTRIBUTION = "codex-sdk-python"


class CodexSdkPythonDriver(_common.TsShapedDriver):
    name = "codex-sdk-python"
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

    def check(self, case: Mapping[str, Any]) -> None:
        if _common.given(case.get("codex_options"), "config_overrides"):
            raise _common.Skip(
                "codex-sdk-python: no raw --config strings (CodexOptions.config_overrides is a mapping; "
                "the TS configOverrides list has no counterpart)"
            )
        for turn in case.get("turns") or []:
            if _common.given(turn.get("turn_options"), "idle_timeout"):
                raise _common.Skip("codex-sdk-python: TurnOptions has no idle timeout (output_schema and signal only)")

    def open_codex(self, case: Mapping[str, Any], codex_path: str) -> Any:
        codex_options = case.get("codex_options") or {}
        options: dict[str, Any] = {"codex_path_override": codex_path}
        for key in ("base_url", "api_key", "env"):
            if codex_options.get(key) is not None:
                options[key] = codex_options[key]
        if _common.given(codex_options, "config"):
            options["config_overrides"] = codex_options["config"]
        return self._sdk.Codex(self._sdk.CodexOptions(**options))

    def _thread_options(self, case: Mapping[str, Any]) -> Any:
        options = {k: v for k, v in (case.get("thread_options") or {}).items() if v is not None}
        return self._sdk.ThreadOptions(**options)

    def start_thread(self, codex: Any, case: Mapping[str, Any]) -> Any:
        return codex.start_thread(self._thread_options(case))

    def resume_thread(self, codex: Any, thread_id: str, case: Mapping[str, Any]) -> Any:
        return codex.resume_thread(thread_id, self._thread_options(case))

    def abort_signal(self) -> tuple[Any, Callable[[], None]]:
        controller = self._sdk.AbortController()
        return controller.signal, controller.abort

    def turn_options(self, turn_options: Mapping[str, Any], signal: Any) -> Any:
        return self._sdk.TurnOptions(output_schema=turn_options.get("output_schema"), signal=signal)

    def classify(self, exc: BaseException, mode: str) -> str:
        common = _common.common_kind(exc)
        if common is not None:
            return common
        sdk = self._sdk
        if isinstance(exc, sdk.CodexCLIError):
            return _common.exit_kind(int(exc.exit_code))
        if isinstance(exc, sdk.CodexParseError):
            return "parse"
        if isinstance(exc, sdk.TurnFailedError):
            return "turn_failed"
        if isinstance(exc, sdk.CodexAbortError):
            return "abort"
        if isinstance(exc, sdk.CodexError):
            message = str(exc)
            if "binary not found" in message:
                return "binary_missing"
            if "must be" in message:  # output_schema must be a plain JSON object, max_threads must be ...
                return "invalid_options"
        if isinstance(exc, TypeError):  # e.g. an unknown ThreadOptions keyword
            return "invalid_options"
        return "unknown"


def main() -> int:
    return _common.serve(CodexSdkPythonDriver)


if __name__ == "__main__":
    sys.exit(main())
