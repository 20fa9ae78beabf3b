"""``--image`` attachments in the invocation log: existence and sha256 at invocation time, and old logs still read."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.fake import ImageRecord, Invocation, read_log
from harness.fake.testing import build_from_mapping, wait_no_leftovers


@pytest.fixture(autouse=True)
def no_leftovers(tmp_path: Path) -> Iterator[None]:
    yield
    assert not wait_no_leftovers(tmp_path)


def run_with(tmp_path: Path, *args: str, cwd: Path | None = None) -> Invocation:
    exe, log = build_from_mapping({"steps": [{"lines": ["ok"]}]}, tmp_path)
    result = subprocess.run([str(exe), *args], input=b"p", capture_output=True, cwd=cwd or tmp_path, timeout=10)
    assert result.returncode == 0, result.stderr
    [inv] = read_log(log)
    return inv


def test_every_image_form_is_recorded_with_its_digest(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "imgs").mkdir(parents=True)
    red = work / "imgs" / "red.png"
    red.write_bytes(b"\x89PNG red")
    blue = tmp_path / "blue.png"
    blue.write_bytes(b"\x89PNG blue \xff")
    digest = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (red, blue)}
    inv = run_with(
        tmp_path,
        "exec", "--experimental-json", "resume", "t1",
        "--image", "imgs/red.png", "-i", str(blue), f"--image={blue},missing.png", "--image", "imgs",
        cwd=work,
    )  # fmt: skip
    assert inv.images == (
        ImageRecord("imgs/red.png", True, digest[red]),  # relative to the invocation's cwd
        ImageRecord(str(blue), True, digest[blue]),
        ImageRecord(str(blue), True, digest[blue]),  # comma-separated, as codex splits it
        ImageRecord("missing.png", False, None),
        ImageRecord("imgs", True, None),  # exists, but not a file codex could attach
    )


def test_image_staged_after_the_invocation_is_recorded_missing(tmp_path: Path) -> None:
    inv = run_with(tmp_path, "exec", "--image", "late.png")
    (tmp_path / "late.png").write_bytes(b"too late")
    assert inv.images == (ImageRecord("late.png", False, None),)


def test_values_after_double_dash_and_of_other_options_are_not_images(tmp_path: Path) -> None:
    inv = run_with(tmp_path, "exec", "--model", "--image", "--", "--image", "x.png")
    assert inv.images == ()
    raw = json.loads((tmp_path / "fake.log.jsonl").read_text())
    assert "images" not in raw  # no image flag: the record is exactly what it was before the field existed


def test_old_records_read_and_malformed_images_are_errors(tmp_path: Path) -> None:
    old = {"step": 0, "argv": ["exec"], "stdin": "p", "cwd": "/w", "env": {}, "output_schema": None}
    log = tmp_path / "old.jsonl"
    log.write_text(json.dumps(old) + "\n" + json.dumps({**old, "images": [{"path": "a", "exists": True,
                                                                          "sha256": "ab"}]}) + "\n")  # fmt: skip
    first, second = read_log(log)
    assert first.images == () and first.env["PATH"] is None
    assert second.images == (ImageRecord("a", True, "ab"),)
    log.write_text(json.dumps({**old, "images": [{"path": "a", "exists": "yes", "sha256": None}]}) + "\n")
    with pytest.raises(HarnessError, match=r"old.jsonl:1: not a fake-codex invocation record"):
        read_log(log)
