"""Where things live on disk, and nothing else.

::

    <root>/
      .tmp/<random>.tmp            files being written (each flocked by its writer while alive)
      <sha256[:2]>/<sha256>        the content, read-only (0444), published complete by a link or never
      <sha256[:2]>/<sha256>.json   the sidecar: size, first name, content type, created_at, expires_at
      <sha256[:2]>/<sha256>.lock   the hold lock: shared by holders and stagers, exclusive for the sweeper
      <sha256[:2]>/<sha256>.mutex  the write lock: exclusive among stagers of this digest

Shard directories are created on demand and never removed, so no process ever races an ``rmdir``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DIGEST_RE", "Layout"]

DIGEST_RE = re.compile(r"[0-9a-f]{64}")
_SHARD_RE = re.compile(r"[0-9a-f]{2}")
_SUFFIXES = ("", ".json", ".lock", ".mutex")


@dataclass(frozen=True, slots=True)
class Layout:
    """The paths of one store rooted at ``root``."""

    root: Path

    @property
    def tmp_dir(self) -> Path:
        """Where temp files are written: inside the store, so a rename or link into place never crosses devices."""
        return self.root / ".tmp"

    def shard(self, digest: str) -> Path:
        """The directory of a digest (its first two hex digits)."""
        return self.root / digest[:2]

    def content(self, digest: str) -> Path:
        """The content file of a digest."""
        return self.shard(digest) / digest

    def sidecar(self, digest: str) -> Path:
        """The expiry/metadata sidecar of a digest."""
        return self.shard(digest) / f"{digest}.json"

    def hold_lock(self, digest: str) -> Path:
        """The lock file holders share and the sweeper takes exclusively."""
        return self.shard(digest) / f"{digest}.lock"

    def write_lock(self, digest: str) -> Path:
        """The lock file that serialises stagers of one digest."""
        return self.shard(digest) / f"{digest}.mutex"

    def files_of(self, digest: str) -> tuple[Path, ...]:
        """Every file that may belong to a digest (content first)."""
        shard = self.shard(digest)
        return tuple(shard / f"{digest}{suffix}" for suffix in _SUFFIXES)

    def digests(self) -> Iterator[str]:
        """Every digest that has any file in the store (content, sidecar or lock), in sorted order."""
        try:
            shards = sorted(entry.name for entry in os.scandir(self.root) if _SHARD_RE.fullmatch(entry.name))
        except FileNotFoundError:
            return
        for shard in shards:
            try:
                names = os.listdir(self.root / shard)
            except FileNotFoundError:
                continue
            found = {name.split(".", 1)[0] for name in names}
            yield from sorted(d for d in found if DIGEST_RE.fullmatch(d) and d.startswith(shard))
