"""Token usage: per-turn and cumulative, without double counting.

The CLI prints, on every ``turn.completed``, the **thread's cumulative** usage (restored on ``exec resume``), not the
turn's (see ``exec-protocol.md`` §4; observed for 0.163.0 and 0.169.0: two 10/5 turns report 10/5, then 20/10).
SDK ports commonly add these values up and so count every earlier turn again; retried attempts make it worse.

Rules of :class:`UsageLedger` (each is a property test in ``tests/test_usage.py``):

1. The thread's cumulative usage is the **last** cumulative value reported for it; it is never a sum.
2. A turn's usage is the difference between its cumulative value and the previous one of the same thread.
3. Reporting the same cumulative value again (a replayed event, a retried attempt that consumed nothing) adds 0.
4. A cumulative value that goes *down* in any field means the counter was reset (a new thread history, an older CLI
   that does not restore usage on resume): the new value is a fresh baseline and counts in full as that turn's usage.
5. Failed attempts print no usage; what they consumed shows up in the next cumulative value and is attributed to the
   turn that reports it — counted once.
6. Extension events (``thread/tokenUsage/updated``) carry ``total`` (cumulative, same rules) and ``last``
   (the last model call only, informational); compaction events may shrink the context but never the counters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["TokenCounts", "TurnUsage", "UsageLedger"]


@dataclass(frozen=True, slots=True)
class TokenCounts:
    """One set of token counters; missing counters (older CLIs) are 0."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_output_tokens: int = 0

    @classmethod
    def from_usage(cls, usage: Any) -> TokenCounts:
        """Build from a typed ``Usage``, a mapping (snake_case or camelCase), or ``None`` (all zero)."""
        if usage is None:
            return cls()
        values: dict[str, int] = {}
        for f in fields(cls):
            camel = _camel(f.name)
            raw = usage.get(f.name, usage.get(camel)) if isinstance(usage, Mapping) else getattr(usage, f.name, None)
            values[f.name] = raw if isinstance(raw, int) and not isinstance(raw, bool) else 0
        return cls(**values)

    def __add__(self, other: TokenCounts) -> TokenCounts:
        return TokenCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: TokenCounts) -> TokenCounts:
        return TokenCounts(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))

    def dominates(self, other: TokenCounts) -> bool:
        """True when every counter is at least the other's (a cumulative counter that did not reset)."""
        return all(getattr(self, f.name) >= getattr(other, f.name) for f in fields(self))

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens (cached and reasoning tokens are already inside those)."""
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass(frozen=True, slots=True)
class TurnUsage:
    """The usage of one turn: what it consumed, and the thread's cumulative value after it."""

    thread_id: str | None
    turn: TokenCounts
    cumulative: TokenCounts
    reset: bool = False


@dataclass
class UsageLedger:
    """Aggregates cumulative usage reports into per-turn and per-thread values (rules in the module docstring)."""

    _cumulative: dict[str | None, TokenCounts] = field(default_factory=dict)
    _turns: list[TurnUsage] = field(default_factory=list)
    _last_call: dict[str | None, TokenCounts] = field(default_factory=dict)

    def record_cumulative(self, thread_id: str | None, cumulative: TokenCounts) -> TurnUsage:
        """Record a cumulative value (from ``turn.completed`` or a ``total``) and return the turn's share."""
        previous = self._cumulative.get(thread_id)
        if previous is None:
            entry = TurnUsage(thread_id, cumulative, cumulative)
        elif cumulative.dominates(previous):
            entry = TurnUsage(thread_id, cumulative - previous, cumulative)
        else:
            entry = TurnUsage(thread_id, cumulative, cumulative, reset=True)
        self._cumulative[thread_id] = cumulative
        self._turns.append(entry)
        return entry

    def record_last_call(self, thread_id: str | None, last: TokenCounts) -> None:
        """Remember the usage of the latest model call (informational; never added to totals)."""
        self._last_call[thread_id] = last

    def cumulative(self, thread_id: str | None) -> TokenCounts:
        """The thread's cumulative usage as last reported (zero when nothing was reported)."""
        return self._cumulative.get(thread_id, TokenCounts())

    def last_call(self, thread_id: str | None) -> TokenCounts | None:
        return self._last_call.get(thread_id)

    @property
    def turns(self) -> tuple[TurnUsage, ...]:
        return tuple(self._turns)

    def total(self) -> TokenCounts:
        """Usage across all threads: the sum of each thread's cumulative value (each thread counted once)."""
        result = TokenCounts()
        for value in self._cumulative.values():
            result = result + value
        return result

    def consumed(self) -> TokenCounts:
        """Everything consumed across turns, resets included (equals :meth:`total` when no counter reset)."""
        result = TokenCounts()
        for entry in self._turns:
            result = result + entry.turn
        return result
