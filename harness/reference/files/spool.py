"""Temp files inside the store and their atomic publication.

A writer creates ``<root>/.tmp/<random>.tmp`` and ``flock``\\ s it exclusively for as long as it lives; the sweeper
deletes only temp files whose lock it can take, which are the leftovers of dead writers (the kernel drops the lock
of a killed process). A writer whose fresh file was deleted before it could lock it notices (the path no longer
names its inode) and starts again.

Publication is ``fsync`` of the file, then ``os.link`` (content: fails if the target exists, so a second writer can
never replace the first one's file) or ``os.replace`` (sidecar), then ``fsync`` of the target directory, so the new
name survives a crash with its content.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from pathlib import Path
from types import TracebackType

from harness.reference.files.locks import same_file

__all__ = ["Spool", "fsync_dir", "remove_abandoned"]


def fsync_dir(path: Path) -> None:
    """Make the entries of directory ``path`` durable (new names, removals)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """One temp file being written; a context manager that deletes it unless it was published by ``replace``."""

    def __init__(self, tmp_dir: Path, *, durable: bool = True) -> None:
        self.durable = durable
        while True:
            path = tmp_dir / f"{uuid.uuid4().hex}.tmp"
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # the sweeper is looking at it this very instant: take another name
                os.close(fd)
                continue
            if same_file(fd, path):
                break
            os.close(fd)  # the sweeper deleted it before we locked it
        self.path = path
        self.fd: int | None = fd
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data`` (all of it)."""
        assert self.fd is not None, "spool already closed"
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
            self.size += written

    def _sync(self, mode: int) -> int:
        assert self.fd is not None, "spool already closed"
        os.fchmod(self.fd, mode)
        if self.durable:
            os.fsync(self.fd)
        return self.fd

    def link_to(self, target: Path) -> bool:
        """Publish as ``target`` (read-only) unless ``target`` exists; ``True`` if this spool's file is now there."""
        self._sync(0o444)
        try:
            os.link(self.path, target)
        except FileExistsError:
            return False
        if self.durable:
            fsync_dir(target.parent)
        return True

    def replace(self, target: Path) -> None:
        """Publish as ``target``, replacing what was there."""
        self._sync(0o644)
        os.replace(self.path, target)
        if self.durable:
            fsync_dir(target.parent)

    def close(self) -> None:
        """Remove the temp name (if still ours) and drop the writer's lock."""
        if self.fd is None:
            return
        try:
            if same_file(self.fd, self.path):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Spool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def remove_abandoned(tmp_dir: Path) -> int:
    """Delete temp files no live writer holds; returns how many were deleted."""
    removed = 0
    try:
        names = os.listdir(tmp_dir)
    except FileNotFoundError:
        return 0
    for name in names:
        path = tmp_dir / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, IsADirectoryError):
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer
            if same_file(fd, path):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                    removed += 1
        finally:
            os.close(fd)
    return removed
