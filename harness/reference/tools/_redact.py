"""Scrub secrets from free text before it reaches a reply, a log line or telemetry.

Tool exceptions and MCP server stderr are arbitrary text from code the SDK does not control; an API key or a
``https://user:password@host`` URL in them must not travel further. The rules are
:mod:`harness.redact`'s, the one place that knows what a secret looks like.
"""

from __future__ import annotations

from harness.redact import REDACTED
from harness.redact import redact_text as redact

__all__ = ["REDACTED", "redact", "shorten"]


def shorten(text: str, limit: int = 300) -> str:
    """One line of at most ``limit`` characters (an ellipsis marks a cut)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
