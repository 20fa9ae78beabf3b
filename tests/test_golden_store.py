"""The plain golden API: canonical text, atomic writes, unused detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import GoldenError
from harness.golden import (
    delete_golden,
    golden_path,
    list_goldens,
    read_golden,
    render_golden,
    unused_goldens,
    write_golden,
)


def test_render_is_canonical() -> None:
    assert render_golden({"b": 1, "a": ["é", {"d": None, "c": True}]}) == (
        '{\n  "a": [\n    "é",\n    {\n      "c": true,\n      "d": null\n    }\n  ],\n  "b": 1\n}\n'
    )


def test_write_read_delete_roundtrip(tmp_path: Path) -> None:
    assert golden_path("area/name", tmp_path) == tmp_path / "area" / "name.json"
    assert read_golden("area/name", tmp_path) is None
    path = write_golden("area/name", {"x": "’"}, tmp_path)
    assert path.read_bytes() == '{\n  "x": "’"\n}\n'.encode()
    assert read_golden("area/name", tmp_path) == {"x": "’"}
    assert [p.name for p in path.parent.iterdir()] == ["name.json"]  # no temp file left behind
    assert list_goldens(tmp_path) == ["area/name"]
    assert delete_golden("area/name", tmp_path) and not path.parent.exists()
    assert not delete_golden("area/name", tmp_path)


def test_invalid_golden_is_a_located_error(tmp_path: Path) -> None:
    path = golden_path("a/b", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('{\n  "x": ,\n}\n')
    with pytest.raises(GoldenError) as info:
        read_golden("a/b", tmp_path)
    assert str(info.value) == f"{path}:2:8: invalid JSON: Expecting value"


def test_unused_goldens(tmp_path: Path) -> None:
    for sid in ("a/kept", "a/orphan", "b/orphan2"):
        write_golden(sid, {}, tmp_path)
    (tmp_path / "a" / ".kept.json.123.tmp").write_text("partial")
    assert unused_goldens(tmp_path, ["a/kept"]) == ["a/orphan", "b/orphan2"]
