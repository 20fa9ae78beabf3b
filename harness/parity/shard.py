"""Spreading a run over machines: a stable partition of the scenarios by id (``harness parity --shard K/N``).

The partition depends on nothing but the scenario id (a SHA-256 of it, modulo N), so every machine computes the
same shards without talking to the others, a scenario never moves between shards when others are added or
removed, and the shards of one N together are exactly the selection. ``harness report merge`` puts the shards'
reports back together (:mod:`harness.report.merge`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from harness.errors import HarnessError

__all__ = ["Shard", "parse_shard"]

_T = TypeVar("_T")
_SPEC = re.compile(r"^(\d+)/(\d+)$")


@dataclasses.dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, scenario_id: str) -> bool:
        digest = hashlib.sha256(scenario_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def select(self, scenarios: Iterable[_T]) -> list[_T]:
        """The scenarios (anything with an ``id``) of this shard, in their order."""
        out: list[_T] = []
        for scenario in scenarios:
            identifier: Any = getattr(scenario, "id")  # noqa: B009 - any object with an id
            if self.owns(str(identifier)):
                out.append(scenario)
        return out


def parse_shard(text: str) -> Shard:
    """``"K/N"`` with 1 <= K <= N; anything else is a one-line :class:`HarnessError`."""
    match = _SPEC.match(text.strip())
    if match is None:
        raise HarnessError(f"--shard {text!r}: expected K/N, e.g. 1/4")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise HarnessError(f"--shard {text!r}: K must be between 1 and N (N >= 1)")
    return Shard(index, count)
