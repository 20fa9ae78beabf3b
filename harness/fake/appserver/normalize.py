"""Loose comparison of live client messages with recorded ones, path rewriting, and secret redaction.

Why loose: a live client differs from the recording client in things that carry no meaning for the protocol —
its own request ids, its ``clientInfo``, its workspace path, timestamps. Comparing those would flag every SDK.
What is *not* volatile: methods, the shape and values of params, and the thread/turn ids the client echoes back
(the fake hands out the recorded ones, so a client that sends another id really is wrong).

Paths: the recorded workspace (``/srv/rec/ws`` in the corpus) is rewritten to the client's own ``cwd`` in every
string the fake sends, and the client's path back to the recorded one before comparing, so a client running in
its own temp directory replays cleanly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.redact import redact_data

__all__ = [
    "PathMap",
    "VOLATILE_KEYS",
    "comparable",
    "redact",
]

#: Keys dropped (at any depth) before comparing a client message with the recording.
VOLATILE_KEYS: frozenset[str] = frozenset(
    {"clientInfo", "emittedAtMs", "createdAt", "updatedAt", "recencyAt", "startedAt", "completedAt", "durationMs",
     "cwd"}
)

def _is_volatile(key: str) -> bool:
    return key in VOLATILE_KEYS or key.endswith("AtMs")


def comparable(value: Any) -> Any:
    """``value`` with volatile keys removed at every depth (a new value; the input is not changed)."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if not _is_volatile(k)}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return value


@dataclass(frozen=True)
class PathMap:
    """Rewrites ``recorded`` to ``live`` in outgoing strings and back in incoming ones (whole path components
    only: ``/srv/rec/ws2`` is not touched by a map for ``/srv/rec/ws``)."""

    recorded: str
    live: str

    @staticmethod
    def _pattern(path: str) -> re.Pattern[str]:
        return re.compile(re.escape(path.rstrip("/")) + r"(?![\w.-])")

    def outgoing(self, value: Any) -> Any:
        if self.recorded == self.live:
            return value
        pattern = self._pattern(self.recorded)
        live = self.live.rstrip("/")
        return _map_strings(value, lambda s: pattern.sub(lambda _m: live, s) if self.recorded in s else s)

    def incoming(self, value: Any) -> Any:
        if self.recorded == self.live:
            return value
        pattern = self._pattern(self.live)
        recorded = self.recorded.rstrip("/")
        return _map_strings(value, lambda s: pattern.sub(lambda _m: recorded, s) if self.live in s else s)


def redact(value: Any) -> Any:
    """``value`` with secrets replaced (:func:`harness.redact.redact_data`: values under secret-looking keys,
    URL userinfo, API keys, bearer tokens). Applied to everything a report stores, so a client that sends a token
    never leaks it into a file."""
    return redact_data(value)
