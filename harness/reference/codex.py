"""The client entry point, ``Codex`` (TS ``new Codex(options)``): resolves the binary once, makes threads.

The executable is resolved when the client is built, as in TS (whose constructor throws when the bundled
binary is missing), so a broken installation fails before the first turn. Config validation, on the other
hand, happens when a turn builds its argv, because that is where TS raises it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.reference.exec.transport import CodexExec
from harness.reference.options import CodexOptions, ThreadOptions
from harness.reference.telemetry import TelemetryBus, default_bus
from harness.reference.thread import Thread
from harness.reference.usage import UsageLedger

__all__ = ["Codex"]


def _coerce(options: Any, cls: type[Any]) -> Any:
    if options is None:
        return cls()
    if isinstance(options, cls):
        return options
    if isinstance(options, Mapping):
        return cls.from_mapping(options)
    raise TypeError(f"expected {cls.__name__}, a mapping or None, got {type(options).__name__}")


class Codex:
    """A Codex client. ``options`` may be a :class:`CodexOptions` or a mapping (snake_case or TS camelCase
    keys).

    ``exec`` injects a transport: a :class:`CodexExec` with non-default limits, or a test double whose
    ``run()`` yields canned lines. ``telemetry`` is the bus every thread reports to (default: the process-wide
    :func:`~harness.reference.telemetry.default_bus`).
    """

    def __init__(
        self,
        options: CodexOptions | Mapping[str, Any] | None = None,
        *,
        exec: CodexExec | None = None,
        telemetry: TelemetryBus | None = None,
    ):
        self.options: CodexOptions = _coerce(options, CodexOptions)
        self._exec = exec if exec is not None else CodexExec(self.options.codex_path_override)
        self.telemetry = telemetry if telemetry is not None else default_bus()
        #: Usage of every thread this client runs, keyed by thread id: a thread resumed through this client
        #: continues from the cumulative value it last reported, so its next turn is not counted in full again.
        self.usage = UsageLedger()

    @property
    def exec(self) -> CodexExec:
        """The transport every thread of this client uses."""
        return self._exec

    def start_thread(self, options: ThreadOptions | Mapping[str, Any] | None = None) -> Thread:
        """A new thread; its id is known after the first turn's ``thread.started``."""
        return Thread(
            self._exec, self.options, _coerce(options, ThreadOptions), telemetry=self.telemetry, ledger=self.usage
        )

    def resume_thread(
        self, thread_id: str, options: ThreadOptions | Mapping[str, Any] | None = None
    ) -> Thread:
        """A thread continuing a previous session: every turn passes ``resume <thread_id>``."""
        return Thread(
            self._exec,
            self.options,
            _coerce(options, ThreadOptions),
            thread_id,
            telemetry=self.telemetry,
            ledger=self.usage,
        )
