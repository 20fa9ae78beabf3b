"""The reference file store: staging attachments (images, files) for a turn, safely across processes.

``FileStore(root)`` is a content-addressed store (``<root>/<sha256[:2]>/<sha256>``) with checksum dedup, expiry
shared by every process through a sidecar per digest, ``flock``-based holds that the sweeper respects, MIME
inference that trusts magic bytes over extensions, and ``temporary()`` attachments that are always cleaned up.
See ``docs/files.md`` for the on-disk layout and the locking protocol.
"""

from __future__ import annotations

from harness.reference.files.clock import Clock, ManualClock, SystemClock
from harness.reference.files.errors import (
    AttachmentGoneError,
    FileMissingError,
    FileStoreError,
    FileUnreadableError,
)
from harness.reference.files.mime import guess_content_type, sniff
from harness.reference.files.store import DEFAULT_TTL, EXPIRY_GRANULARITY, FILE_EVENT_NAMES, FileStore, Source
from harness.reference.files.sweeper import AsyncSweeper, BackgroundSweeper
from harness.reference.files.temporary import TemporaryAttachment
from harness.reference.files.values import Attachment, FileStoreMetrics, SweepResult

__all__ = [
    "AsyncSweeper",
    "Attachment",
    "AttachmentGoneError",
    "BackgroundSweeper",
    "Clock",
    "DEFAULT_TTL",
    "EXPIRY_GRANULARITY",
    "FILE_EVENT_NAMES",
    "FileMissingError",
    "FileStore",
    "FileStoreError",
    "FileStoreMetrics",
    "FileUnreadableError",
    "ManualClock",
    "Source",
    "SweepResult",
    "SystemClock",
    "TemporaryAttachment",
    "guess_content_type",
    "sniff",
]
