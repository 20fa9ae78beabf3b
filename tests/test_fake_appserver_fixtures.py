"""The copied real recordings are verbatim: every file is in index.json with its sha256, and matches its source."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "appserver"


def test_every_copy_matches_its_index_entry_and_its_source() -> None:
    index = json.loads((FIXTURES / "index.json").read_text())
    entries = {e["file"]: e for e in index["transcripts"]}
    files = {p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*.jsonl")}
    assert files == set(entries)
    for rel, entry in entries.items():
        data = (FIXTURES / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], rel
        assert len(data) == entry["bytes"]
        assert entry["cli_version"] == rel.split("/")[0]
        source = Path(entry["source"])
        if source.exists():  # the shared corpus is present on the recording machine and in CI images
            assert source.read_bytes() == data, rel
        assert (FIXTURES / rel.replace(".jsonl", ".meta.json")).is_file()


def test_readme_names_every_copy() -> None:
    named = set(re.findall(r"`(0\.\d+\.\d+/[\w/]+)`", (FIXTURES / "README.md").read_text()))
    stems = {p.relative_to(FIXTURES).as_posix().removesuffix(".jsonl") for p in FIXTURES.rglob("*.jsonl")}
    assert named == stems
