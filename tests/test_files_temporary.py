"""``temporary()`` cleanup (exception, cancellation, other holders) and the background sweepers' lifecycle."""

from __future__ import annotations

import asyncio
import functools
import io
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from harness.reference.files import FileStore, ManualClock
from harness.reference.telemetry import TelemetryBus


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(5_000.0)


@pytest.fixture
def store(tmp_path: Path, clock: ManualClock) -> FileStore:
    return FileStore(tmp_path / "store", telemetry=TelemetryBus(), clock=clock)


def leftovers(store: FileStore) -> list[Path]:
    """Every file left under the root: content, sidecars, locks and temp files alike."""
    return sorted(p for p in store.root.rglob("*") if p.is_file())


def run_async(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an ``async def`` test in a fresh event loop (no pytest-asyncio here)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


class Boom(Exception):
    pass


def test_temporary_removes_on_normal_exit_and_on_exception(store: FileStore, no_leaks: str) -> None:
    with store.temporary(b"scratch", name="s.txt") as attachment:
        assert attachment.path.read_bytes() == b"scratch" and attachment.content_type == "text/plain"
    assert leftovers(store) == []
    temporary = store.temporary(io.BytesIO(b"boom"))
    with pytest.raises(Boom), temporary as attachment:
        assert attachment.path.exists()
        raise Boom
    assert temporary.removed is True and leftovers(store) == []
    assert store.metrics().removed == 2
    with pytest.raises(RuntimeError, match="only once"), temporary:
        pass


def test_temporary_never_removes_what_another_holder_holds(store: FileStore) -> None:
    with store.stage_and_hold(b"shared", ttl=0) as other:
        with store.temporary(b"shared") as mine:
            assert mine.path == other.path
        assert other.path.read_bytes() == b"shared"  # still there: the other hold wins
    assert [a.sha256 for a in store.sweep().removed] == [other.sha256]  # expired, so the next sweep takes it


def test_temporary_leaves_content_that_someone_staged_for_longer(store: FileStore, clock: ManualClock) -> None:
    kept = store.stage(b"kept", ttl=60)
    temporary = store.temporary(b"kept")
    with temporary:
        pass
    assert temporary.removed is False and kept.path.exists()
    clock.advance(61)
    with store.temporary(b"kept"):  # once that retention ran out, a temporary may clean it up
        pass
    assert leftovers(store) == []


def test_temporary_in_another_thread_keeps_its_content_from_a_temporary_here(store: FileStore) -> None:
    entered, release = threading.Event(), threading.Event()

    def hold_in_thread() -> None:
        with store.temporary(b"two threads"):
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=hold_in_thread)
    thread.start()
    try:
        assert entered.wait(5)
        with store.temporary(b"two threads") as mine:
            pass
        assert mine.path.exists()
    finally:
        release.set()
        thread.join()
    assert leftovers(store) == []  # the last temporary to exit removed it


@run_async
async def test_async_temporary_cleans_up_when_cancelled_in_the_body(store: FileStore) -> None:
    started = asyncio.Event()
    paths: list[Path] = []

    async def use() -> None:
        async with store.temporary(b"cancel me") as attachment:
            paths.append(attachment.path)
            started.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(use())
    await started.wait()
    assert paths[0].exists()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftovers(store) == []


@run_async
async def test_async_temporary_cleans_up_when_cancelled_while_staging(store: FileStore) -> None:
    reading, gate = threading.Event(), threading.Event()

    class SlowStream:
        def __init__(self) -> None:
            self.chunks = [b"first half ", b"second half"]

        def read(self, size: int = -1, /) -> bytes:
            reading.set()
            gate.wait(5)
            return self.chunks.pop(0) if self.chunks else b""

    async def use() -> None:
        async with store.temporary(SlowStream()):
            raise AssertionError("the body must not run after a cancellation")

    task = asyncio.create_task(use())
    assert await asyncio.to_thread(reading.wait, 5)
    assert any(store.layout.tmp_dir.iterdir())  # the spool is being written
    task.cancel()
    await asyncio.sleep(0.01)  # the cancellation reaches __aenter__ while the thread is still reading
    assert not task.done()
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftovers(store) == []
    assert store.metrics().staged == 1 and store.metrics().removed == 1  # it was staged, then undone


def test_background_sweeper_sweeps_and_stops(store: FileStore, clock: ManualClock) -> None:
    attachment = store.stage(b"swept in the background", ttl=1)
    clock.advance(2)
    before = set(threading.enumerate())
    with store.background_sweeper(interval=0.01) as sweeper:
        assert sweeper.running
        for _ in range(500):
            if not attachment.path.exists():
                break
            threading.Event().wait(0.01)
    assert not attachment.path.exists()
    assert not sweeper.running and sweeper.sweeps >= 1 and sweeper.failures == 0
    assert set(threading.enumerate()) == before
    sweeper.stop()  # idempotent
    with pytest.raises(RuntimeError, match="only once"):
        sweeper.start()
    with pytest.raises(ValueError, match="interval"):
        store.background_sweeper(interval=0)


def test_background_sweeper_survives_a_failing_sweep(store: FileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0

    def broken(now: float | None = None) -> None:
        nonlocal calls
        calls += 1
        raise OSError("disk on fire")

    monkeypatch.setattr(store, "sweep", broken)
    with store.background_sweeper(interval=0.005) as sweeper:
        while calls < 3:
            threading.Event().wait(0.005)
    assert sweeper.failures >= 3 and not sweeper.running


@run_async
async def test_async_sweeper_sweeps_and_stops(store: FileStore, clock: ManualClock) -> None:
    attachment = store.stage(b"swept by a task", ttl=1)
    clock.advance(2)
    async with store.async_sweeper(interval=0.01) as sweeper:
        assert sweeper.running
        for _ in range(500):
            if not attachment.path.exists():
                break
            await asyncio.sleep(0.01)
    assert not attachment.path.exists()
    assert not sweeper.running and sweeper.sweeps >= 1
    await sweeper.stop()
    assert [t for t in asyncio.all_tasks() if t.get_name() == "files-sweeper"] == []
