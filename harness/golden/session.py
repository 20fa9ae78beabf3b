"""A private syrupy session for goldens.

Scenario items are not ``pytest.Function`` items, so syrupy's own session cannot track them; letting it
"discover" the golden directory would make it judge every golden unused. Golden assertions therefore go
through this
session, which keeps syrupy's read/compare/write path (writes are immediate: ``write_immediately``) but skips
syrupy's discovery and unused bookkeeping. The pytest plugin does that bookkeeping itself
(``harness.pytest_plugin``).
"""

from __future__ import annotations

from typing import Any

from syrupy.session import SnapshotSession

__all__ = ["GoldenSession"]


class GoldenSession(SnapshotSession):
    """A :class:`SnapshotSession` that records assertions without discovering snapshot files."""

    def register_request(self, assertion: Any) -> None:
        self._assertions.append(assertion)
