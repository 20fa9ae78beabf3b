"""Errors of the file store that an SDK reports to its user (so they are :class:`CodexError`\\ s, with kinds).

::

    CodexError
    └── FileStoreError          kind "file_error"       (base, never raised itself)
        ├── FileMissingError    kind "file_missing"     the source path does not exist
        ├── FileUnreadableError kind "file_unreadable"  the source path exists but cannot be read (a directory, EACCES)
        └── AttachmentGoneError kind "file_gone"        an attachment's content was swept or removed before a hold

Every error names the path it is about, in the message and in ``details()``, so a log line or a report says which
file the user must fix without a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from harness.reference.errors import CodexError

__all__ = ["AttachmentGoneError", "FileMissingError", "FileStoreError", "FileUnreadableError"]


class FileStoreError(CodexError):
    """Base of the file store's user-facing errors; ``path`` is the file concerned."""

    kind: ClassVar[str] = "file_error"

    def __init__(self, message: str, path: Path | str) -> None:
        super().__init__(message, retryable=False)
        self.path = str(path)

    def details(self) -> dict[str, Any]:
        """The path concerned."""
        return {**super().details(), "path": self.path}


class FileMissingError(FileStoreError):
    """A source path given to ``stage`` does not exist."""

    kind: ClassVar[str] = "file_missing"

    def __init__(self, path: Path | str) -> None:
        super().__init__(f"Attachment source not found: {path}", path)


class FileUnreadableError(FileStoreError):
    """A source path exists but cannot be read: a directory, no permission, an I/O error."""

    kind: ClassVar[str] = "file_unreadable"

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"Attachment source cannot be read: {path}: {reason}", path)
        self.reason = reason

    def details(self) -> dict[str, Any]:
        """The path and the operating system's reason."""
        return {**super().details(), "reason": self.reason}


class AttachmentGoneError(FileStoreError):
    """``hold`` was asked for an attachment whose content is no longer in the store (it expired and was swept)."""

    kind: ClassVar[str] = "file_gone"

    def __init__(self, path: Path | str, sha256: str) -> None:
        super().__init__(f"Attachment {sha256} is no longer in the store (expired or removed): {path}", path)
        self.sha256 = sha256

    def details(self) -> dict[str, Any]:
        """The path and the digest."""
        return {**super().details(), "sha256": self.sha256}
