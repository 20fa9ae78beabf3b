"""The clock seam: expiry is wall-clock time shared by processes, so the store asks a :class:`Clock` for "now".

:class:`SystemClock` is ``time.time``; :class:`ManualClock` is the fake that tests advance by hand, so expiry can be
tested without sleeping.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Where the store gets the current time (seconds since the epoch, like ``time.time``)."""

    def now(self) -> float:
        """The current time."""
        ...


class SystemClock:
    """The real clock: ``time.time()``, comparable across processes on one machine."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()


class ManualClock:
    """A fake clock that only moves when told to (thread-safe)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self._lock = threading.Lock()
        self._now = start

    def now(self) -> float:
        """The time last set."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (never backwards); returns the new time.

    >>> clock = ManualClock(10.0)
    >>> clock.advance(5)
    15.0
    >>> clock.advance(-1)
    Traceback (most recent call last):
        ...
    ValueError: a clock cannot go backwards (-1 s)
    """
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards ({seconds} s)")
        with self._lock:
            self._now += seconds
            return self._now
