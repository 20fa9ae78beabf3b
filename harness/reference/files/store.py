"""``FileStore``: a content-addressed staging area for attachments, safe to share between processes.

Protocol (details and the reasoning in ``docs/files.md``):

* **stage** takes the digest's *hold lock* shared (so no sweep can delete it meanwhile), then its *write lock*
  exclusive; if the content is absent it is written to a temp file inside the store, fsynced, and linked into
  place (``os.link`` fails if the name exists, so two writers can never both win), then the sidecar's expiry is
  raised to ``max(old, now + ttl)`` and replaced atomically. Content known up front (bytes, a path hashed in a first
  pass) is written only by the first stager; a stream's digest is known only after it has been copied, so
  concurrent stagers of one stream each spool it and all but one discard their copy.
* **hold** keeps the hold lock shared for as long as the attachment is in use; **sweep** deletes an expired entry
  only after taking that lock exclusively *without waiting*, so held entries are skipped, and the kernel lets go
  of the holds of a process that dies.

A typical use, with the fake clock so that expiry needs no sleeping:

>>> import tempfile
>>> from harness.reference.files import FileMissingError, ManualClock
>>> folder = tempfile.TemporaryDirectory()
>>> clock = ManualClock(1000.0)
>>> store = FileStore(folder.name, clock=clock, durable=False)
>>> png = b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8)
>>> shot = store.stage(png, name="shot.txt", ttl=60)  # the magic bytes win over the name
>>> shot.content_type, shot.size, shot.expires_at, shot.path.parent.name == shot.sha256[:2]
('image/png', 16, 1060.0, True)
>>> store.stage(png, name="again.png").id == shot.id  # the same bytes: deduplicated, expiry extended
True
>>> with store.temporary(b"notes", name="notes.txt") as notes:
...     print(notes.content_type, notes.path.exists())
text/plain True
>>> notes.path.exists()  # a temporary attachment is removed on exit
False
>>> _ = clock.advance(7200)
>>> [entry.name for entry in store.sweep().removed], store.get(shot.sha256)
(['shot.txt'], None)

A missing source names the path:

>>> store.stage(Path(folder.name) / "missing.png")
Traceback (most recent call last):
    ...
harness.reference.files.errors.FileMissingError: Attachment source not found: .../missing.png
>>> folder.cleanup()
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.reference.errors import InvalidOptionsError
from harness.reference.files import locks
from harness.reference.files.clock import Clock, SystemClock
from harness.reference.files.errors import AttachmentGoneError
from harness.reference.files.hashing import Digest, Readable, hash_bytes, hash_path, hash_stream, open_source
from harness.reference.files.layout import DIGEST_RE, Layout
from harness.reference.files.mime import OCTET_STREAM, guess_content_type
from harness.reference.files.sidecar import Sidecar, read_sidecar
from harness.reference.files.spool import Spool, fsync_dir, remove_abandoned
from harness.reference.files.values import Attachment, FileStoreMetrics, SweepResult
from harness.reference.telemetry import TelemetryBus, default_bus

if TYPE_CHECKING:
    from harness.reference.files.sweeper import AsyncSweeper, BackgroundSweeper
    from harness.reference.files.temporary import TemporaryAttachment

__all__ = ["DEFAULT_TTL", "EXPIRY_GRANULARITY", "FILE_EVENT_NAMES", "FileStore", "Source"]

DEFAULT_TTL = 3600.0
"""Seconds a staged file is kept after its last stage unless a hold keeps it longer."""

EXPIRY_GRANULARITY = 1.0
"""A re-stage rewrites the sidecar only if it pushes the expiry back by at least this many seconds: a burst of dedup
hits costs no file creation each (the expiry is then at least ``now + ttl - EXPIRY_GRANULARITY``)."""

FILE_EVENT_NAMES: tuple[str, ...] = (
    "codex.files.staged",
    "codex.files.deduplicated",
    "codex.files.expired",
    "codex.files.removed",
)
"""Telemetry the store emits; measurements ``bytes`` and ``count``, metadata ``sha256`` and ``name``."""

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | Readable
"""What ``stage`` accepts: content in memory, a path, or a binary stream (read to its end)."""

_Writer = Callable[[Spool], str]


class _ContentChanged(Exception):
    """A source file's bytes changed between the hashing pass and the copy."""


def _check_ttl(ttl: float | None) -> None:
    if ttl is not None and not ttl >= 0:
        raise InvalidOptionsError(f"ttl must be >= 0 seconds or None (never expires), got {ttl!r}")


def _stream_name(stream: object) -> str | None:
    name = getattr(stream, "name", None)
    return os.path.basename(name) if isinstance(name, str) and name else None


class FileStore:
    """A staging area at ``root`` (created if needed). Many ``FileStore`` objects, in many processes, may share
    one root; each object keeps its own counters (``metrics``) and emits telemetry on its own bus.

    ``durable=False`` skips the ``fsync`` calls (contents are still published atomically; only crash durability is
    lost): for throw-away stores in tests and benchmarks."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        telemetry: TelemetryBus | None = None,
        clock: Clock | None = None,
        durable: bool = True,
    ) -> None:
        self.root = Path(root)
        self.layout = Layout(self.root)
        self.layout.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.telemetry = telemetry if telemetry is not None else default_bus()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.durable = durable
        self._counts_lock = threading.Lock()
        self._counts = {"staged": 0, "deduplicated": 0, "expired": 0, "removed": 0}

    def __repr__(self) -> str:
        return f"FileStore({str(self.root)!r})"

    # -- staging ---------------------------------------------------------------------------------------------

    def stage(self, source: Source, *, name: str | None = None, ttl: float | None = DEFAULT_TTL) -> Attachment:
        """Put ``source`` in the store (or find it there) and keep it at least ``ttl`` seconds from now.

        Staging the same bytes again returns the same ``id``/``path`` and extends the expiry. A missing or
        unreadable source path raises :class:`FileMissingError` / :class:`FileUnreadableError`."""
        attachment, fd = self._stage(source, name, ttl, keep_hold=False)
        locks.release(fd)
        return attachment

    @contextlib.contextmanager
    def stage_and_hold(
        self, source: Source, *, name: str | None = None, ttl: float | None = DEFAULT_TTL
    ) -> Iterator[Attachment]:
        """``stage`` and ``hold`` in one step: no sweep can come in between (for ``ttl=0`` that matters)."""
        attachment, fd = self._stage(source, name, ttl, keep_hold=True)
        try:
            yield attachment
        finally:
            locks.release(fd)

    def temporary(self, source: Source, *, name: str | None = None) -> TemporaryAttachment:
        """A context manager (``with`` or ``async with``) that stages ``source``, holds it, and removes it on exit
        (also on an exception or a cancellation) unless another process still holds it or staged it for longer."""
        from harness.reference.files.temporary import TemporaryAttachment

        return TemporaryAttachment(self, source, name)

    def _stage(
        self, source: Source, name: str | None, ttl: float | None, *, keep_hold: bool
    ) -> tuple[Attachment, int | None]:
        """Stage ``source``; returns the attachment and (with ``keep_hold``) the descriptor holding its hold lock."""
        _check_ttl(ttl)
        if isinstance(source, bytes | bytearray | memoryview):
            data = memoryview(source).cast("B")
            found = hash_bytes(data)

            def write_bytes(spool: Spool) -> str:
                spool.write(data)
                return found.sha256

            return self._commit(found, name, ttl, keep_hold, writer=write_bytes)
        if isinstance(source, str | os.PathLike):
            path = Path(os.fsdecode(os.fspath(source)))
            name = name if name is not None else path.name
            found = hash_path(path)

            def copy_path(spool: Spool) -> str:
                return hash_path(path, spool.write).sha256

            try:
                return self._commit(found, name, ttl, keep_hold, writer=copy_path)
            except _ContentChanged:  # modified while we staged it: stage what it holds now, like a stream
                with open_source(path) as handle:
                    return self._stage_stream(handle, name, ttl, keep_hold)
        if callable(getattr(source, "read", None)):
            return self._stage_stream(source, name if name is not None else _stream_name(source), ttl, keep_hold)
        raise TypeError(f"cannot stage {type(source).__name__}: expected bytes, a path or a binary stream")

    def _stage_stream(
        self, stream: Readable, name: str | None, ttl: float | None, keep_hold: bool
    ) -> tuple[Attachment, int | None]:
        with Spool(self.layout.tmp_dir, durable=self.durable) as spool:
            found = hash_stream(stream, spool.write)
            return self._commit(found, name, ttl, keep_hold, spooled=spool)

    def _commit(
        self,
        found: Digest,
        name: str | None,
        ttl: float | None,
        keep_hold: bool,
        *,
        writer: _Writer | None = None,
        spooled: Spool | None = None,
    ) -> tuple[Attachment, int | None]:
        digest = found.sha256
        layout = self.layout
        content = layout.content(digest)
        content_type = guess_content_type(found.head, name)
        layout.shard(digest).mkdir(exist_ok=True)
        hold_fd = locks.acquire(layout.hold_lock(digest), locks.SHARED)
        try:
            write_fd = locks.acquire(layout.write_lock(digest), locks.EXCLUSIVE)
            try:
                now = self.clock.now()
                created = False
                if not content.exists():
                    if spooled is not None:
                        created = spooled.link_to(content)
                    else:
                        assert writer is not None
                        with Spool(layout.tmp_dir, durable=self.durable) as spool:
                            if writer(spool) != digest:
                                raise _ContentChanged(digest)
                            created = spool.link_to(content)
                expires_at = None if ttl is None else now + ttl
                old = read_sidecar(layout.sidecar(digest), digest)
                if old is None or created:
                    new = Sidecar(digest, found.size, name, content_type, now, expires_at)
                else:
                    new = old.extended(expires_at, EXPIRY_GRANULARITY)
                if new != old:
                    self._write_sidecar(new)
            finally:
                locks.release(write_fd)
        except BaseException:
            locks.release(hold_fd)
            raise
        attachment = Attachment(digest, name, found.size, content_type, digest, content, new.expires_at)
        self._record("staged" if created else "deduplicated", attachment.size, digest, name)
        if not keep_hold:
            locks.release(hold_fd)
            return attachment, None
        return attachment, hold_fd

    def _write_sidecar(self, sidecar: Sidecar) -> None:
        with Spool(self.layout.tmp_dir, durable=self.durable) as spool:
            spool.write(sidecar.to_json())
            spool.replace(self.layout.sidecar(sidecar.sha256))

    # -- using -----------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def hold(self, attachment: Attachment) -> Iterator[Attachment]:
        """Keep ``attachment`` from being swept while the block runs (a shared ``flock``: any number of threads
        and processes may hold one attachment). Raises :class:`AttachmentGoneError` if it is already gone."""
        fd = self._take_hold(attachment.sha256)
        try:
            yield attachment
        finally:
            locks.release(fd)

    def _take_hold(self, digest: str) -> int:
        self.layout.shard(digest).mkdir(exist_ok=True)
        fd = locks.acquire(self.layout.hold_lock(digest), locks.SHARED)
        assert fd is not None
        if not self.layout.content(digest).exists():
            locks.release(fd)
            raise AttachmentGoneError(self.layout.content(digest), digest)
        return fd

    def get(self, sha256: str) -> Attachment | None:
        """The stored attachment with this digest (name and type as first staged), or ``None``."""
        if not DIGEST_RE.fullmatch(sha256):
            return None
        try:
            size = self.layout.content(sha256).stat().st_size
        except FileNotFoundError:
            return None
        return self._attachment(sha256, read_sidecar(self.layout.sidecar(sha256), sha256), size)

    def _attachment(self, digest: str, sidecar: Sidecar | None, size: int) -> Attachment:
        name = sidecar.name if sidecar else None
        content_type = sidecar.content_type if sidecar else OCTET_STREAM
        expires = sidecar.expires_at if sidecar else None
        return Attachment(digest, name, size, content_type, digest, self.layout.content(digest), expires)

    # -- removing --------------------------------------------------------------------------------------------

    def remove(self, attachment: Attachment) -> bool:
        """Delete an attachment now unless a process holds it; ``True`` if it was deleted."""
        digest = attachment.sha256
        if not self.layout.shard(digest).is_dir():
            return False
        fd = locks.acquire(self.layout.hold_lock(digest), locks.EXCLUSIVE, blocking=False)
        if fd is None:
            return False
        try:
            return self._delete_locked(digest, "removed", fd) is not None
        finally:
            locks.release(fd)

    def _release_temporary(self, attachment: Attachment, fd: int) -> bool:
        """End a ``temporary()``: delete the entry if nobody else holds it and no stage asked to keep it longer."""
        try:
            if not locks.try_upgrade(fd) or not locks.same_file(fd, self.layout.hold_lock(attachment.sha256)):
                return False
            sidecar = read_sidecar(self.layout.sidecar(attachment.sha256), attachment.sha256)
            if sidecar is not None and not sidecar.expired(self.clock.now()):
                return False  # someone staged the same bytes with a ttl: it is theirs now
            return self._delete_locked(attachment.sha256, "removed", fd) is not None
        finally:
            locks.release(fd)

    def _delete_locked(self, digest: str, reason: str, fd: int) -> Attachment | None:
        """Delete every file of ``digest`` while holding its hold lock exclusively (``fd``); returns what was
        deleted (``None`` if there was no content) and records it as ``reason`` ("expired" or "removed")."""
        layout = self.layout
        sidecar = read_sidecar(layout.sidecar(digest), digest)
        try:
            size: int | None = layout.content(digest).stat().st_size
        except FileNotFoundError:
            size = None
        for path in layout.files_of(digest):
            if path != layout.hold_lock(digest):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        if self.durable:
            fsync_dir(layout.shard(digest))
        if locks.same_file(fd, layout.hold_lock(digest)):
            os.unlink(layout.hold_lock(digest))  # last: waiters on it notice and start again
        if size is None:
            return None
        attachment = self._attachment(digest, sidecar, size)
        self._record(reason, size, digest, attachment.name)
        return attachment

    def sweep(self, now: float | None = None) -> SweepResult:
        """Delete every entry expired at ``now`` (default: the clock) that no process holds, plus orphans (locks or
        sidecars without content, content without a sidecar) and temp files of dead writers.

        Never waits for a lock: a held entry is skipped and listed in ``held``; it goes at a later sweep."""
        when = self.clock.now() if now is None else now
        removed: list[Attachment] = []
        held: list[str] = []
        layout = self.layout
        for digest in layout.digests():
            if self._fresh(digest, when):  # unlocked pre-check: sidecars are replaced atomically
                continue
            fd = locks.acquire(layout.hold_lock(digest), locks.EXCLUSIVE, blocking=False)
            if fd is None:
                if layout.content(digest).exists():
                    held.append(digest)
                continue
            try:
                if self._fresh(digest, when):  # re-staged between the pre-check and the lock
                    continue
                gone = self._delete_locked(digest, "expired", fd)
                if gone is not None:
                    removed.append(gone)
            finally:
                locks.release(fd)
        temp_files = remove_abandoned(layout.tmp_dir)
        return SweepResult(tuple(removed), tuple(held), temp_files)

    def _fresh(self, digest: str, now: float) -> bool:
        if not self.layout.content(digest).exists():
            return False
        sidecar = read_sidecar(self.layout.sidecar(digest), digest)
        return sidecar is not None and not sidecar.expired(now)

    # -- background sweeping ---------------------------------------------------------------------------------

    def background_sweeper(self, interval: float = 60.0) -> BackgroundSweeper:
        """A thread that sweeps every ``interval`` seconds; use as a context manager or ``start()``/``stop()``."""
        from harness.reference.files.sweeper import BackgroundSweeper

        return BackgroundSweeper(self, interval)

    def async_sweeper(self, interval: float = 60.0) -> AsyncSweeper:
        """An asyncio task that sweeps every ``interval`` seconds (in a worker thread); ``async with`` it."""
        from harness.reference.files.sweeper import AsyncSweeper

        return AsyncSweeper(self, interval)

    # -- metrics ---------------------------------------------------------------------------------------------

    def metrics(self) -> FileStoreMetrics:
        """Disk usage and entry count of the whole store, and this object's counters."""
        disk = content_bytes = entries = 0
        for dirpath, _dirnames, filenames in os.walk(self.root):
            for filename in filenames:
                try:
                    size = os.stat(os.path.join(dirpath, filename)).st_size
                except FileNotFoundError:
                    continue
                disk += size
                if DIGEST_RE.fullmatch(filename) and os.path.basename(dirpath) == filename[:2]:
                    entries += 1
                    content_bytes += size
        with self._counts_lock:
            counts = dict(self._counts)
        return FileStoreMetrics(disk_bytes=disk, content_bytes=content_bytes, entries=entries, **counts)

    def _record(self, what: str, size: int, digest: str, name: str | None) -> None:
        with self._counts_lock:
            self._counts[what] += 1
        metadata: dict[str, Any] = {"sha256": digest, "name": name}
        self.telemetry.emit(f"codex.files.{what}", {"bytes": size, "count": 1}, metadata)
