"""``FileStore.temporary()``: an attachment that exists for one block, sync (``with``) or async (``async with``).

Cleanup must never delete bytes someone else still uses, so a temporary does not count references itself: a
counter in a file is never decremented by a process killed with ``SIGKILL``, while the kernel drops that process's
``flock`` at once. A temporary therefore

1. stages with ``ttl=0`` and keeps the digest's hold lock shared (the "reference");
2. on exit, tries to upgrade to an exclusive lock without waiting: that succeeds only if no other holder (thread
   or process) remains;
3. deletes the entry only then, and only if its expiry has passed, i.e. no other stage of the same bytes asked to
   keep them (a ``stage(..., ttl=3600)`` of the same content by another user wins over our cleanup).

If another holder remains, the entry (already expired) is left for the first sweep after the last holder lets go.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import TYPE_CHECKING

from harness.reference.files import locks
from harness.reference.files.values import Attachment

if TYPE_CHECKING:
    from harness.reference.files.store import FileStore, Source

__all__ = ["TemporaryAttachment"]


class TemporaryAttachment:
    """One-shot context manager returned by :meth:`FileStore.temporary`; yields the :class:`Attachment`."""

    def __init__(self, store: FileStore, source: Source, name: str | None) -> None:
        self._store = store
        self._source = source
        self._name = name
        self._entered = False
        self._attachment: Attachment | None = None
        self._fd: int | None = None
        self.removed: bool | None = None
        """After exit: whether the content was deleted (``False``: another holder or stager keeps it)."""

    def _enter(self) -> Attachment:
        if self._entered:
            raise RuntimeError("a temporary attachment can be entered only once")
        self._entered = True
        attachment, fd = self._store._stage(self._source, self._name, 0.0, keep_hold=True)
        self._attachment, self._fd = attachment, fd
        return attachment

    def _exit(self) -> None:
        attachment, fd = self._attachment, self._fd
        self._attachment = self._fd = None
        if attachment is None or fd is None:
            return
        self.removed = self._store._release_temporary(attachment, fd)

    def __enter__(self) -> Attachment:
        return self._enter()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._exit()

    async def __aenter__(self) -> Attachment:
        """Stage in a worker thread. If the task is cancelled meanwhile, wait for the thread, undo what it staged,
        and re-raise the cancellation: a cancelled ``async with`` leaves nothing behind."""
        future = asyncio.get_running_loop().run_in_executor(None, self._enter)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            while not future.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(future)
            if not future.cancelled() and future.exception() is None:
                self._exit()
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Synchronous on purpose: it never waits for a lock (the upgrade is non-blocking) and a second
        # cancellation cannot interrupt it half-way.
        self._exit()

    def __del__(self) -> None:  # a temporary dropped without exit (a bug in the caller) still lets go of its lock
        locks.release(self._fd)
