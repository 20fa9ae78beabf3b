"""Content-type inference: magic bytes first, then the file name's extension, else ``application/octet-stream``.

Why content wins: users attach screenshots saved as ``shot.jpg`` that are PNGs, or files with no extension at all;
the model API rejects an image whose declared type disagrees with its bytes. Only the four image formats codex
accepts are sniffed; everything else falls back to the extension.

The extension table is Python's built-in one (``mimetypes.MimeTypes()`` without the system's ``/etc/mime.types``),
plus ``.webp`` (missing from Python 3.11's table), so the answer is the same on every machine.
"""

from __future__ import annotations

import mimetypes

__all__ = ["OCTET_STREAM", "SNIFF_BYTES", "guess_content_type", "sniff"]

OCTET_STREAM = "application/octet-stream"
SNIFF_BYTES = 16
"""How many leading bytes :func:`sniff` needs to decide."""

_TYPES = mimetypes.MimeTypes()
_TYPES.add_type("image/webp", ".webp")


def sniff(head: bytes) -> str | None:
    """The image type that the leading bytes ``head`` announce (PNG, JPEG, GIF, WebP), else ``None``."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def guess_content_type(head: bytes, name: str | None) -> str:
    """The content type of a file whose first bytes are ``head`` and whose name is ``name`` (content wins).

    >>> guess_content_type(b"GIF89a...", "photo.jpg"), guess_content_type(b"{}", "data.json")
    ('image/gif', 'application/json')
    >>> guess_content_type(b"", None)
    'application/octet-stream'
    """
    sniffed = sniff(head)
    if sniffed is not None:
        return sniffed
    if name:
        guessed, _encoding = _TYPES.guess_type(name, strict=False)
        if guessed is not None:
            return guessed
    return OCTET_STREAM
