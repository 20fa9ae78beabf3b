"""Chunked SHA-256 of paths and streams, optionally copying to a spool at the same time.

Memory stays bounded by one chunk (1 MiB) whatever the input size: a stream is hashed while it is copied, never
read whole. The first :data:`~harness.reference.files.mime.SNIFF_BYTES` bytes are kept for MIME sniffing.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.reference.files.errors import FileMissingError, FileUnreadableError
from harness.reference.files.mime import SNIFF_BYTES

__all__ = ["CHUNK_SIZE", "Digest", "Readable", "hash_bytes", "hash_path", "hash_stream", "open_source"]

CHUNK_SIZE = 1 << 20


class Readable(Protocol):
    """A binary stream: anything with ``read(n) -> bytes`` (files, ``io.BytesIO``, sockets' makefile, ...)."""

    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Digest:
    """What one pass over some content found: its SHA-256 (hex), size, and leading bytes."""

    sha256: str
    size: int
    head: bytes


Sink = Callable[[memoryview], object]


def hash_bytes(data: bytes | bytearray | memoryview) -> Digest:
    """The digest of in-memory content."""
    view = memoryview(data).cast("B")
    return Digest(hashlib.sha256(view).hexdigest(), view.nbytes, bytes(view[:SNIFF_BYTES]))


def hash_stream(stream: Readable, sink: Sink | None = None) -> Digest:
    """Hash ``stream`` to its end, chunk by chunk, handing each chunk to ``sink`` (e.g. a spool) as it goes."""
    hasher = hashlib.sha256()
    size = 0
    head = b""
    readinto = getattr(stream, "readinto", None)
    buffer = bytearray(CHUNK_SIZE) if readinto is not None else None
    while True:
        if buffer is not None and readinto is not None:
            count = readinto(buffer)
            if not count:
                break
            chunk = memoryview(buffer)[:count]
        else:
            data = stream.read(CHUNK_SIZE)
            if not data:
                break
            chunk = memoryview(data)
        hasher.update(chunk)
        if len(head) < SNIFF_BYTES:
            head += bytes(chunk[: SNIFF_BYTES - len(head)])
        if sink is not None:
            sink(chunk)
        size += len(chunk)
    return Digest(hasher.hexdigest(), size, head)


def open_source(path: Path) -> io.FileIO:
    """Open a source file for reading unbuffered, turning OS errors into the store's typed errors."""
    try:
        return io.FileIO(os.fspath(path), "rb")
    except FileNotFoundError:
        raise FileMissingError(path) from None
    except IsADirectoryError:
        raise FileUnreadableError(path, "is a directory") from None
    except OSError as exc:
        raise FileUnreadableError(path, exc.strerror or type(exc).__name__) from None


def hash_path(path: Path, sink: Sink | None = None) -> Digest:
    """Hash the file at ``path`` (see :func:`hash_stream`); missing/unreadable paths raise typed errors."""
    with open_source(path) as handle:
        try:
            return hash_stream(handle, sink)
        except OSError as exc:
            raise FileUnreadableError(path, exc.strerror or type(exc).__name__) from None
