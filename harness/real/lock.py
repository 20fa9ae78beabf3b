"""``codex.lock``: which real codex binaries the harness uses, pinned by package integrity and binary sha256.

Why a lock: a fixture is only evidence if we know exactly which binary printed it. The lock is committed; an
install that yields a different binary (a re-published package, a corrupted cache) is an error, never a silent
upgrade. JSON rather than TOML because the stdlib can write it, and sorted keys keep diffs to one entry.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness._atomic import write_text_atomic
from harness.errors import HarnessError

__all__ = ["LOCK_FORMAT", "LockEntry", "LockError", "LockFile", "default_lock_path", "version_key"]

#: Bumped when the file's shape changes incompatibly.
LOCK_FORMAT = 1
_FIELDS = ("version", "source", "package", "package_integrity", "binary_sha256", "binary_size", "platform")


class LockError(HarnessError):
    """``codex.lock`` is unreadable or malformed."""


def default_lock_path() -> Path:
    """``codex.lock`` of the built-in corpus (the checkout's root, or the installed package's ``_corpus``)."""
    from harness.corpus import builtin_corpus

    return builtin_corpus().root / "codex.lock"


def version_key(version: str) -> tuple[int, ...]:
    """Numeric sort key of ``0.171.0`` (non-numeric parts sort first)."""
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


@dataclass(frozen=True)
class LockEntry:
    """One pinned CLI version."""

    version: str
    source: str  # "npm" | "pypi"
    package: str  # the exact package fetched, e.g. "@openai/codex@0.171.0-linux-x64"
    package_integrity: str  # npm dist.integrity (sha512-...) or "sha256:<hex>" of the wheel
    binary_sha256: str
    binary_size: int
    platform: str  # "linux-x64" | "linux-arm64"


@dataclass(frozen=True)
class LockFile:
    """The whole lock: entries by version."""

    entries: dict[str, LockEntry]

    @classmethod
    def load(cls, path: Path) -> LockFile:
        """Read ``path``; a missing file is an empty lock."""
        if not path.exists():
            return cls({})
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise LockError(f"{path}: not a readable JSON lock file: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("versions"), dict):
            raise LockError(f"{path}: no `versions` object")
        entries: dict[str, LockEntry] = {}
        for version, raw in data["versions"].items():
            if not isinstance(raw, dict) or set(raw) != set(_FIELDS):
                raise LockError(f"{path}: versions.{version}: needs exactly the fields {', '.join(_FIELDS)}")
            entry = LockEntry(**raw)
            if entry.version != version:
                raise LockError(f"{path}: versions.{version}: version field says {entry.version}")
            entries[version] = entry
        return cls(entries)

    def newest(self) -> str | None:
        """The highest locked version, or ``None`` for an empty lock."""
        return max(self.entries, key=version_key) if self.entries else None

    def with_entry(self, entry: LockEntry) -> LockFile:
        """A copy with ``entry`` added or replaced."""
        return LockFile({**self.entries, entry.version: entry})

    def render(self) -> str:
        versions = {v: asdict(self.entries[v]) for v in sorted(self.entries, key=version_key, reverse=True)}
        return json.dumps({"format": LOCK_FORMAT, "versions": versions}, indent=2) + "\n"

    def save(self, path: Path) -> None:
        """Write atomically."""
        write_text_atomic(path, self.render())
