"""The ``--output-schema`` temp file (TS ``src/outputSchemaFile.ts``).

The CLI takes the schema only as a file, so each turn with an ``output_schema`` writes one into a fresh
``mkdtemp(prefix="codex-output-schema-")`` directory and removes the whole directory when the turn ends -- on
success, error and cancellation alike, because a harness runs thousands of turns and must not litter ``/tmp``.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from harness.reference.errors import InvalidOptionsError

__all__ = ["SCHEMA_DIR_PREFIX", "OutputSchemaFile", "render_schema"]

SCHEMA_DIR_PREFIX = "codex-output-schema-"
_NOT_AN_OBJECT = "outputSchema must be a plain JSON object"


def _js_compatible(value: Any) -> Any:
    """Turn integral floats into ints so the file matches ``JSON.stringify`` (``1.0`` is ``1`` in JS)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: _js_compatible(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [_js_compatible(child) for child in value]
    return value


def render_schema(schema: object) -> str:
    """The file's content, compact JSON as ``JSON.stringify`` writes it; the TS error for a non-object."""
    if not isinstance(schema, Mapping):
        raise InvalidOptionsError(_NOT_AN_OBJECT)
    try:
        return json.dumps(_js_compatible(schema), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidOptionsError(f"{_NOT_AN_OBJECT}: {exc}") from exc


class OutputSchemaFile:
    """A context manager (sync and async) yielding the schema path, or ``None`` when there is no schema.

    The schema is validated in the constructor, before anything is created, so a bad schema fails the turn
    before a process or a directory exists. File I/O is a few hundred bytes on a local disk, so the async form
    does it inline rather than in a worker thread.
    """

    def __init__(self, schema: object) -> None:
        self._content = None if schema is None else render_schema(schema)
        self._dir: Path | None = None
        self.path: str | None = None

    def open(self) -> str | None:
        """Create the directory and file; returns the file path (``None`` without a schema)."""
        if self._content is None:
            return None
        if self._dir is not None:
            return self.path
        directory = Path(tempfile.mkdtemp(prefix=SCHEMA_DIR_PREFIX))
        self._dir = directory
        try:
            schema_path = directory / "schema.json"
            schema_path.write_text(self._content, encoding="utf-8")
        except BaseException:
            self.close()
            raise
        self.path = str(schema_path)
        return self.path

    def close(self) -> None:
        """Remove the directory (errors ignored, as ``rm -rf``); idempotent."""
        directory, self._dir = self._dir, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    def __enter__(self) -> str | None:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> str | None:
        return self.open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
