"""JSON helpers shared by the tests (imported as a sibling module, like ``test_report_support``)."""

from __future__ import annotations

import json


def has_duplicate_keys(line: bytes | str) -> bool:
    """Whether any object in the JSON text repeats a key (real codex prints web_search items with two ``id``s)."""
    found = False

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        nonlocal found
        found = found or len({key for key, _ in items}) != len(items)
        return dict(items)

    json.loads(line, object_pairs_hook=pairs)
    return found
