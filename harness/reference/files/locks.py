"""``flock`` locks on per-digest lock files that survive the sweeper deleting them.

Why ``flock`` (not ``fcntl.lockf``/POSIX record locks): a ``flock`` belongs to an *open file description*, so two
holds in one process (two threads, or a hold and the sweeper) are separate locks that conflict properly, and the
kernel releases them when a process dies, even by ``SIGKILL``. POSIX record locks belong to the process: closing
any descriptor of the file drops all of them.

The sweeper deletes the lock files of the entries it removes. A process that opened the old file and was waiting
on it would then hold a lock on an unlinked inode that nobody else can see; :func:`acquire` therefore checks,
after locking, that the path still names the inode it locked, and starts again if not.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

__all__ = ["acquire", "release", "same_file", "try_upgrade"]

SHARED = fcntl.LOCK_SH
EXCLUSIVE = fcntl.LOCK_EX


def same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` currently names the file open as ``fd``."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def acquire(path: Path, mode: int, *, blocking: bool = True, create: bool = True) -> int | None:
    """Open ``path`` and ``flock`` it (``SHARED`` or ``EXCLUSIVE``); returns the descriptor that holds the lock.

    Non-blocking: ``None`` when another holder conflicts, or (with ``create=False``) when the file does not exist.
    The lock is only returned once ``path`` is known to still name the locked file."""
    flags = os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    while True:
        try:
            fd = os.open(path, flags, 0o644)
        except FileNotFoundError:
            if create:
                raise
            return None
        try:
            fcntl.flock(fd, mode | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        if same_file(fd, path):
            return fd
        os.close(fd)  # the file was deleted (or replaced) while we waited: lock the current one
        if not create:
            return None


def try_upgrade(fd: int) -> bool:
    """Try to turn the shared lock held on ``fd`` into an exclusive one without waiting.

    On Linux a conversion first drops the shared lock, so after ``False`` the caller holds nothing (callers only
    upgrade in order to delete, and close ``fd`` either way)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def release(fd: int | None) -> None:
    """Drop the lock by closing its descriptor (closing releases a ``flock``); ``None`` is a no-op."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
