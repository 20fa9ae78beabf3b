"""The case catalogue and the recorder; a handful of cases re-recorded with the real 0.169.0 binary."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness.lint import lint_paths
from harness.real.catalogue import CatalogueError, load_catalogue, select_cases
from harness.real.install import ensure_installed
from harness.real.record import record, sequence_of

pytestmark = pytest.mark.usefixtures("no_leaks")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "real"
RECIPE_ONLY = {
    "agent_message_unicode",
    "shell_parallel",
    "shell_large_output",
    "image_input_dash_swallowed",
    "config_warning_unrecognized",
    "usage_details",
    "todo_list",
    "web_search",
    "mcp_tool_call_error",
    "interrupted_sigterm",
}
COMPARED = ["agent_message", "shell_ok", "apply_patch_add", "fail_500", "resume_two_turns", "mcp_tool_call"]


def test_catalogue_covers_the_43_corpus_cases() -> None:
    cases = load_catalogue()
    files = {turn.file for case in cases for turn in case.turns}
    committed = {p.stem for p in (FIXTURES / "0.169.0").glob("*.jsonl")}
    assert committed <= files
    assert files >= RECIPE_ONLY
    assert len(files) >= 43
    (resume,) = select_cases(cases, ["resume_turn2"])
    assert [t.file for t in resume.turns] == ["resume_turn1", "resume_turn2"]
    assert resume.turns[1].argv == ("resume", "{thread_id}")


def test_catalogue_expected_exits_match_the_committed_index() -> None:
    index = json.loads((FIXTURES / "index.json").read_text())
    by_file = {e["file"]: e for e in index["transcripts"]}
    for case in load_catalogue():
        for turn in case.turns:
            entry = by_file.get(f"0.169.0/{turn.file}.jsonl")
            if entry is not None:
                assert turn.expect_exit == (entry["killed_by_signal"] or entry["exit_code"]), turn.file


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cases:\n  - id: Bad-Id\n    prompt: x\n", r"c\.yaml:2: cases\[0\]\.id: a lower_snake_case id"),
        ("cases:\n  - id: a\n    prompt: x\n", r"c\.yaml:2: cases\[0\] \(a\)\.model: scripted answers are required"),
        ("cases:\n  - id: a\n    prompt: x\n    stdin: pipe\n    model: [[{message: m}]]\n", r"stdin: one of stdin"),
        ("cases:\n  - id: a\n    prompt: x\n    model: [{items: [{nope: 1}]}]\n", r"unknown item kind 'nope'"),
        ("cases:\n  - id: a\n    prompt: x\n    signal: SIGHUP\n    model: [[{message: m}]]\n", r"\.signal:"),
        ("cases:\n  - id: a\n    prompt: x\n    wat: 1\n", r"unknown field 'wat'"),
        ("cases: [\n", r"c\.yaml:2:1: "),
        (
            "cases:\n  - {id: a, prompt: x, model: [[{message: m}]]}\n"
            "  - {id: a, prompt: y, model: [[{message: m}]]}\n",
            "duplicate case id 'a'",
        ),
    ],
)
def test_catalogue_errors_are_located(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(CatalogueError, match=message):
        load_catalogue([path])


def test_select_unknown_case() -> None:
    with pytest.raises(CatalogueError, match="unknown case 'nope'"):
        select_cases(load_catalogue(), ["nope"])


def test_sequence_of() -> None:
    raw = b'{"type":"turn.started"}\n{"type":"item.completed","item":{"type":"agent_message"}}\n'
    assert sequence_of(raw) == (["turn.started", "item.completed"], ["item.completed:agent_message"])


_VOLATILE = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"Chunk ID: [0-9a-f]+"), "Chunk ID: <id>"),
    (re.compile(r"Wall time: [0-9.]+ seconds"), "Wall time: <t> seconds"),
    (re.compile(r"Original token count: \d+"), "Original token count: <n>"),
]


def _normalized(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return [json.loads(line) for line in text.split("\n") if line]


def test_rerecorded_0_169_cases_match_the_committed_fixtures(tmp_path: Path) -> None:
    ensure_installed("0.169.0")
    out = tmp_path / "out"
    cases = select_cases(load_catalogue(), COMPARED)
    run = record(cases, "0.169.0", out=out)
    assert run.problems == []
    files = [turn.file for case in cases for turn in case.turns]
    assert sorted(r.file for r in run.recordings) == sorted(files)
    for name in files:
        assert _normalized(out / "0.169.0" / f"{name}.jsonl") == _normalized(FIXTURES / "0.169.0" / f"{name}.jsonl"), (
            name
        )
        meta = json.loads((out / "0.169.0" / f"{name}.meta.json").read_text())
        committed = json.loads((FIXTURES / "0.169.0" / f"{name}.meta.json").read_text())
        assert set(committed) <= set(meta)
        assert meta["config_toml"] == committed["config_toml"]
        assert meta["env"] == committed["env"]
        assert (meta["exit_code"], meta["cli_version"]) == (committed["exit_code"], "0.169.0")
        wire = [
            json.loads(line) for line in (out / "0.169.0" / "wire" / f"{name}.requests.jsonl").read_text().splitlines()
        ]
        assert len(wire) == meta["requests_to_fake_server"] > 0
        assert all(r["headers"].get("authorization") == "Bearer <redacted>" for r in wire)
    index = json.loads((out / "index.json").read_text())
    assert (
        index["versions"]["0.169.0"]["sha256"]
        == json.loads((FIXTURES / "index.json").read_text())["versions"]["0.169.0"]["sha256"]
    )
    assert {e["file"] for e in index["transcripts"]} == {f"0.169.0/{f}.jsonl" for f in files}
    result = lint_paths([out])
    assert result.errors == 0, result.render_lines()
    assert str(tmp_path) not in "".join(p.read_text() for p in out.rglob("*.json*"))
