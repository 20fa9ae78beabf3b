"""Errors of the harness itself (as opposed to failures of the SDK under test, which are data in a report).

::

    HarnessError                     base; ``str()`` is a one-line diagnostic, the CLI prints it without a traceback
    ├── ScenarioError                a scenario file is malformed: path, line, column, field
    ├── FixtureError                 a fixture file is missing or unreadable
    ├── PlanError                    a fake-codex plan is malformed: path, line, column, field
    ├── GoldenError                  a golden file cannot be read or written
    ├── ReportError                  a report file is invalid (empty, no footer, duplicate ids, ...)
    └── AdapterError                 an adapter cannot be started or driven at all
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AdapterError",
    "FixtureError",
    "GoldenError",
    "HarnessError",
    "PlanError",
    "ReportError",
    "ScenarioError",
]


class HarnessError(Exception):
    """Base of all harness failures. Exit status 2 from the CLI."""

    exit_status: int = 2


class _LocatedError(HarnessError):
    """An error in one of our own input files, located as ``file:line:column: field: message``."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.column = column
        self.field = field
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class ScenarioError(_LocatedError):
    """A scenario file that cannot be loaded."""


class PlanError(_LocatedError):
    """A fake-codex plan that cannot be loaded."""


class FixtureError(_LocatedError):
    """A fixture that is missing or unreadable."""


class GoldenError(_LocatedError):
    """A golden file that cannot be read or written."""


class ReportError(_LocatedError):
    """A report file that is not a complete, valid report."""


class AdapterError(HarnessError):
    """An adapter process that cannot be started or driven."""
