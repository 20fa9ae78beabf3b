"""Background sweeping: a thread (:class:`BackgroundSweeper`) or an asyncio task (:class:`AsyncSweeper`).

Both sweep once per ``interval`` and stop cleanly: ``stop()`` wakes the sleeper, lets a sweep in progress finish
(a sweep never waits for a lock, so that is quick) and joins the thread or awaits the task, so nothing outlives the
``with`` block. A failing sweep (say, a disk error) is logged and counted, and the next interval tries again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from harness.reference.files.values import SweepResult

if TYPE_CHECKING:
    from harness.reference.files.store import FileStore

__all__ = ["AsyncSweeper", "BackgroundSweeper"]

_LOGGER = logging.getLogger("harness.reference.files")


class _Tally:
    def __init__(self) -> None:
        self.sweeps = 0
        self.failures = 0
        self.last: SweepResult | None = None

    def run(self, store: FileStore) -> None:
        try:
            self.last = store.sweep()
        except Exception:
            self.failures += 1
            _LOGGER.exception("background sweep of %s failed", store.root)
        finally:
            self.sweeps += 1


def _check_interval(interval: float) -> None:
    if not interval > 0:
        raise ValueError(f"sweep interval must be > 0 seconds, got {interval!r}")


class BackgroundSweeper:
    """A daemon thread sweeping ``store`` every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, store: FileStore, interval: float) -> None:
        _check_interval(interval)
        self.store = store
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tally = _Tally()

    @property
    def sweeps(self) -> int:
        """Sweeps run so far (failed ones included)."""
        return self._tally.sweeps

    @property
    def failures(self) -> int:
        """Sweeps that raised."""
        return self._tally.failures

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> BackgroundSweeper:
        """Start the thread (once)."""
        if self._thread is not None:
            raise RuntimeError("a sweeper can be started only once")
        self._thread = threading.Thread(target=self._loop, name=f"files-sweeper:{self.store.root}", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._tally.run(self.store)

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop and wait for it (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> BackgroundSweeper:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class AsyncSweeper:
    """An asyncio task sweeping ``store`` every ``interval`` seconds; each sweep runs in a worker thread so the
    event loop never blocks on disk I/O."""

    def __init__(self, store: FileStore, interval: float) -> None:
        _check_interval(interval)
        self.store = store
        self.interval = interval
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._tally = _Tally()

    @property
    def sweeps(self) -> int:
        """Sweeps run so far (failed ones included)."""
        return self._tally.sweeps

    @property
    def failures(self) -> int:
        """Sweeps that raised."""
        return self._tally.failures

    @property
    def running(self) -> bool:
        """Whether the task is still running."""
        return self._task is not None and not self._task.done()

    def start(self) -> AsyncSweeper:
        """Start the task on the running loop (once)."""
        if self._task is not None:
            raise RuntimeError("a sweeper can be started only once")
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop(self._stop), name="files-sweeper")
        return self

    async def _loop(self, stop: asyncio.Event) -> None:
        while True:
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
                return
            except TimeoutError:
                pass
            await asyncio.to_thread(self._tally.run, self.store)

    async def stop(self) -> None:
        """Ask the task to stop after the sweep in progress, if any, and wait for it (idempotent)."""
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            await asyncio.shield(self._task)

    async def __aenter__(self) -> AsyncSweeper:
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
