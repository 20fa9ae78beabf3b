"""The syrupy extension behind goldens: one canonical JSON file per scenario at ``golden/<area>/<name>.json``.

Only the override points syrupy names are used: where the file lives (``get_location``), how data becomes text
(``serialize``) and how the text is written (``write_snapshot_collection``, atomically). Everything else --
comparing, ``--snapshot-update`` -- is syrupy's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from harness.golden.store import render_golden, write_text_atomic

__all__ = ["GoldenExtension"]


class GoldenExtension(SingleFileSnapshotExtension):
    """One golden per scenario. The test location's item must carry ``golden_file`` (a :class:`Path`)."""

    _write_mode = WriteMode.TEXT
    file_extension = "json"

    def serialize(self, data: Any, **_: Any) -> str:
        """A golden document (dict) becomes its canonical text; text is taken as is."""
        return data if isinstance(data, str) else render_golden(data)

    @classmethod
    def get_snapshot_name(cls, *, test_location: Any, index: Any = 0) -> str:
        name: str = test_location.snapshot_name
        return name

    @classmethod
    def get_location(cls, *, test_location: Any, index: Any) -> str:
        return str(Path(test_location.item.golden_file))

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(Path(test_location.item.golden_file).parent)

    @classmethod
    def matches_test_location(cls, *, test_location: Any, snapshot_location: str) -> bool:
        return Path(snapshot_location) == Path(test_location.item.golden_file)

    @classmethod
    def write_snapshot_collection(cls, *, snapshot_collection: Any, name_order: Any = None) -> None:
        data = next(iter(snapshot_collection)).data
        if not isinstance(data, str):
            raise TypeError(f"a golden must be text, got {type(data).__name__}")
        write_text_atomic(Path(snapshot_collection.location), data)

    def delete_snapshots(self, *, snapshot_location: str, snapshot_names: set[str]) -> None:
        Path(snapshot_location).unlink(missing_ok=True)
