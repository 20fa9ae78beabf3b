"""The transport seam: what the runner, the matrix and the pytest plugin need from one codex interface.

A scenario names its ``transport`` (``exec`` by default, ``app-server``). Everything that differs between the
two -- which fake is built, how the reference SDK drives it, which part of the observation the fake itself
reports, what a portable case carries and how the observation is normalized -- sits behind this one protocol,
so no caller branches on the transport's name (style-anchors.md, "Growing the house": a new transport is a
capability, not a fork).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from harness.reference.telemetry import TelemetryBus
    from harness.scenario.model import Scenario

__all__ = ["Prepared", "Transport"]


class Prepared(Protocol):
    """The fake built for one run: the executable an SDK is pointed at (``fake``), the hermetic environment of
    its child (``base_env``; ``passed_env`` with the scenario's ``options.codex.env``), and the run's workdir."""

    @property
    def fake(self) -> Path: ...

    @property
    def workdir(self) -> Path: ...

    @property
    def base_env(self) -> dict[str, str]: ...

    @property
    def passed_env(self) -> dict[str, str]: ...


class Transport(Protocol):
    """One codex interface. ``capability`` is what an adapter must announce to get such cases (``None``: every
    adapter); ``parts`` are the observation parts every SDK is compared on."""

    @property
    def name(self) -> str: ...

    @property
    def capability(self) -> str | None: ...

    @property
    def parts(self) -> tuple[str, ...]: ...

    def prepare(self, scenario: Scenario, workdir: Path) -> Any:
        """Create the run's directories in ``workdir`` and build the scenario's fake there (a :class:`Prepared`)."""
        ...

    async def run_reference(
        self, scenario: Scenario, prepared: Any, telemetry: TelemetryBus | None
    ) -> list[dict[str, Any]]:
        """Drive the reference SDK through the scenario against the fake: one ``{mode, events, result, error}``
        record per turn run (an SDK failure is data in ``error``; only a harness failure raises)."""
        ...

    def fake_side(self, scenario: Scenario, prepared: Any) -> dict[str, Any]:
        """The parts of the observation the fake reports itself, once the client is done (never the SDK's word)."""
        ...

    def case(self, scenario: Scenario, prepared: Any) -> dict[str, Any]:
        """The portable case an adapter runs (``harness/adapters/schemas/case.json``)."""
        ...

    def normalize(
        self, scenario: Scenario, prepared: Any, raw: dict[str, Any], cid: str | None = None
    ) -> dict[str, Any]:
        """``raw`` (fake side + SDK side) normalized so it is stable across runs and machines."""
        ...
