"""The real transcripts are ground truth: each must match the sha256 recorded in fixtures/real/index.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"
INDEX = json.loads((REAL / "index.json").read_text(encoding="utf-8"))
ENTRIES = {entry["file"]: entry for entry in INDEX["transcripts"]}


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_transcript_matches_recorded_sha256(name: str) -> None:
    data = (REAL / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == ENTRIES[name]["sha256"], f"{name} was modified"
    assert len(data) == ENTRIES[name]["bytes"]


def test_every_transcript_is_indexed() -> None:
    on_disk = {p.relative_to(REAL).as_posix() for p in REAL.glob("*/*.jsonl")}
    assert on_disk == set(ENTRIES)
