"""The per-digest sidecar: expiry shared by every process using the store.

Why a sidecar and not the content file's mtime: the content is read-only and shared (its mtime is also changed by
anything that touches it), while expiry needs a read-modify-write (``max(old, new)``) under the digest's write lock
and a place for the name and content type the sweeper reports. The sidecar is small JSON, replaced atomically, so an
unlocked reader sees the old or the new version, never a torn one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

__all__ = ["Sidecar", "read_sidecar"]


@dataclass(frozen=True, slots=True)
class Sidecar:
    """What the store knows about a digest besides its bytes. ``expires_at`` ``None`` means never."""

    sha256: str
    size: int
    name: str | None
    content_type: str
    created_at: float
    expires_at: float | None

    def expired(self, now: float) -> bool:
        """Whether the entry's retention has run out at ``now`` (an entry expiring exactly now is expired)."""
        return self.expires_at is not None and self.expires_at <= now

    def extended(self, expires_at: float | None, granularity: float = 0.0) -> Sidecar:
        """This sidecar with its expiry pushed to ``expires_at`` if that is later by at least ``granularity``
        seconds (expiry never moves back; small pushes are coalesced so that a burst of re-stages does not
        rewrite the sidecar each time)."""
        current = math.inf if self.expires_at is None else self.expires_at
        wanted = math.inf if expires_at is None else expires_at
        if wanted <= current or wanted - current < granularity:
            return self
        return replace(self, expires_at=expires_at)

    def to_json(self) -> bytes:
        """Stable JSON (``version`` 1)."""
        payload = {
            "version": 1,
            "sha256": self.sha256,
            "size": self.size,
            "name": self.name,
            "content_type": self.content_type,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }
        return (json.dumps(payload, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, sha256: str) -> Sidecar | None:
        """Parse a sidecar; ``None`` when it is not a valid version-1 sidecar of ``sha256``."""
        try:
            raw: Any = json.loads(data)
            if not isinstance(raw, dict) or raw.get("version") != 1 or raw.get("sha256") != sha256:
                return None
            expires = raw["expires_at"]
            name = raw["name"]
            return cls(
                sha256=sha256,
                size=int(raw["size"]),
                name=name if isinstance(name, str) else None,
                content_type=str(raw["content_type"]),
                created_at=float(raw["created_at"]),
                expires_at=None if expires is None else float(expires),
            )
        except (ValueError, KeyError, TypeError):
            return None


def read_sidecar(path: Path, sha256: str) -> Sidecar | None:
    """The sidecar at ``path``, or ``None`` if it is missing or unreadable (the store then treats it as expired)."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    return Sidecar.from_json(data, sha256)
