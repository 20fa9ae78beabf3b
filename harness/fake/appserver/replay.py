"""Replay recordings against a client implementation: build the fake, drive the client, read the verdict.

This is what ``harness appserver replay`` runs for each recording. Everything per recording lives in one
temporary directory (the fake, its report, the client's workspace), removed afterwards.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.fake.appserver.build import build_fake_appserver
from harness.fake.appserver.driver import DriveOutcome, Driver, ScriptedClient
from harness.fake.appserver.engine import DEFAULT_TIMEOUT
from harness.fake.appserver.faults import Faults
from harness.fake.appserver.recording import Recording, RecordingError, load_recording
from harness.fake.appserver.report import ReplayReport, read_report

__all__ = [
    "DRIVERS",
    "ReplayResult",
    "UnknownImplementationError",
    "discover_recordings",
    "make_driver",
    "replay_recording",
]


class UnknownImplementationError(HarnessError):
    """``--impl`` names no known client driver."""


def _reference_driver(timeout: float) -> Driver:
    from harness.fake.appserver.reference_driver import ReferenceClientDriver

    return ReferenceClientDriver(timeout=timeout * 3 + 5, request_timeout=timeout + 1)


def _scripted_driver(timeout: float) -> Driver:
    return ScriptedClient(timeout=timeout * 3 + 5, idle_timeout=timeout + 1)


#: ``--impl`` id -> driver factory. The argument is the fake's timeout (seconds it waits for the client's next
#: message); a driver gives up on a silent server a second later, and on the whole session well after, so the
#: fake reports first.
DRIVERS: dict[str, Callable[[float], Driver]] = {
    "reference": _reference_driver,
    "scripted": _scripted_driver,
}


def _register_peer_drivers() -> None:
    """The app-server peer SDKs (docs/adapters-peers.md): each runs in its own venv through an adapter script."""
    from harness.adapters.appserver_peers import PEER_IDS, driver_factory

    for peer_id in PEER_IDS:
        DRIVERS[peer_id] = driver_factory(peer_id)


_register_peer_drivers()


def make_driver(impl: str, *, timeout: float) -> Driver:
    """The driver for ``impl`` (``scripted``, ``reference``), for a fake with ``timeout``."""
    try:
        factory = DRIVERS[impl]
    except KeyError:
        raise UnknownImplementationError(
            f"unknown implementation {impl!r} (known: {', '.join(sorted(DRIVERS))})") from None
    return factory(timeout)


@dataclass(frozen=True)
class ReplayResult:
    """One recording replayed against one client implementation."""

    recording: Path
    impl: str
    report: ReplayReport
    outcome: DriveOutcome

    @property
    def ok(self) -> bool:
        """The client behaved as recorded: no divergence, and the whole session was exchanged (unless a fault
        made that impossible on purpose)."""
        if not self.report.ok:
            return False
        return self.report.complete or bool(self.report.faults)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recording": str(self.recording),
            "impl": self.impl,
            "ok": self.ok,
            "complete": self.report.complete,
            "end": self.report.end,
            "divergence": self.report.divergence.to_dict() if self.report.divergence else None,
            "client": {"completed": self.outcome.completed, "error": self.outcome.error,
                       "fake_exit_code": self.outcome.exit_code},
        }


def discover_recordings(paths: Iterable[Path | str]) -> list[Path]:
    """The ``.jsonl`` recordings named by ``paths``: files as given, folders searched recursively, skipping
    ``exec/`` (``codex exec --json`` output, not JSON-RPC) and ``wire/`` (model-server traffic)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for candidate in sorted(path.rglob("*.jsonl")):
                parts = set(candidate.relative_to(path).parts[:-1])
                if parts & {"exec", "wire"}:
                    continue
                found.append(candidate)
        elif path.is_file():
            found.append(path)
        else:
            raise RecordingError("no such file or directory", path=path)
    return found


async def _areplay(recording: Recording, driver: Driver, *, timeout: float,
                   faults: Mapping[str, Any] | Faults | None) -> tuple[ReplayReport, DriveOutcome]:
    with tempfile.TemporaryDirectory(prefix="appserver-replay-") as tmp:
        root = Path(tmp)
        workdir = root / "ws"
        workdir.mkdir()
        report_path = root / "report.json"
        codex = build_fake_appserver(recording, root / "fake", faults=faults, report_path=report_path,
                                     timeout=timeout)
        outcome = await driver.drive(recording, codex, workdir)
        return read_report(report_path), outcome


def replay_recording(recording: Recording | Path | str, driver: Driver, *, timeout: float = DEFAULT_TIMEOUT,
                     faults: Mapping[str, Any] | Faults | None = None) -> ReplayResult:
    """Replay one recording against ``driver`` (a bad recording raises :class:`RecordingError`)."""
    rec = recording if isinstance(recording, Recording) else load_recording(recording)
    report, outcome = asyncio.run(_areplay(rec, driver, timeout=timeout, faults=faults))
    return ReplayResult(recording=rec.path, impl=driver.name, report=report, outcome=outcome)
