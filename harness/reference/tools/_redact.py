"""Scrub secrets from free text before it reaches a reply, a log line or telemetry.

Tool exceptions and MCP server stderr are arbitrary text from code the SDK does not control; an API key or a
``https://user:password@host`` URL in them must not travel further. Same patterns as the scenario normalizer.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "redact", "shorten"]

REDACTED = "<redacted>"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1" + REDACTED + "@"),
    (re.compile(r"(?i)\b((?:api[_-]?key|token|secret|password|passwd)\s*[=:]\s*)[^\s,;&]+"), r"\1" + REDACTED),
)


def redact(text: str) -> str:
    """``text`` with API keys, bearer tokens, URL userinfo and ``key=value`` secrets replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def shorten(text: str, limit: int = 300) -> str:
    """One line of at most ``limit`` characters (an ellipsis marks a cut)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
