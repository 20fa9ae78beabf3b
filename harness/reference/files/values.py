"""The store's values: :class:`Attachment`, :class:`FileStoreMetrics`, :class:`SweepResult` (all frozen)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Attachment", "FileStoreMetrics", "SweepResult"]


@dataclass(frozen=True, slots=True)
class Attachment:
    """A staged file. ``os.PathLike``: pass it wherever a path goes (``--image``, ``open()``, ``Path()``).

    ``id`` is the content digest, so the same bytes have the same id in every process and on every machine;
    ``name`` and ``content_type`` are what this stage was told or inferred (the same bytes may be staged under two
    names). ``expires_at`` (epoch seconds, ``None`` = never) is the expiry when this value was made: another stager
    may have extended it since, never shortened it."""

    id: str
    name: str | None
    size: int
    content_type: str
    sha256: str
    path: Path
    expires_at: float | None

    def __fspath__(self) -> str:
        return str(self.path)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able view (the path as a string)."""
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "content_type": self.content_type,
            "sha256": self.sha256,
            "path": str(self.path),
            "expires_at": self.expires_at,
        }


@dataclass(frozen=True, slots=True)
class FileStoreMetrics:
    """Disk usage of the whole store (every process's entries) and this store object's own counters.

    ``disk_bytes`` counts every file under the root (content, sidecars, locks, temp files); ``content_bytes`` only
    the content. ``staged`` counts stages that wrote new content, ``deduplicated`` those that found it already
    there, ``expired`` entries this object's sweeps deleted, ``removed`` entries it deleted on request
    (``remove``/``temporary``)."""

    disk_bytes: int
    content_bytes: int
    entries: int
    staged: int
    deduplicated: int
    expired: int
    removed: int


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep did: the entries it deleted, the expired ones it left because a process holds them, and how
    many abandoned temp files (of writers that died) it deleted."""

    removed: tuple[Attachment, ...]
    held: tuple[str, ...]
    temp_files: int

    @property
    def bytes_removed(self) -> int:
        """Content bytes reclaimed."""
        return sum(a.size for a in self.removed)
