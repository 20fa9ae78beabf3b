"""Baselines of known divergences: the verdict table, strict located validation, updates that keep reasons,
and the committed baselines themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.parity.baseline import (
    TODO_REASON,
    Baseline,
    BaselineError,
    Entry,
    apply_baseline,
    load_baseline,
    load_baselines,
    render_baseline,
    update_baseline,
    write_baseline,
)
from harness.parity.matrix import apply_baselines
from harness.report.model import PARTS, PORTABLE_PARTS, Result, Status
from harness.scenario import load_all

ROOT = Path(__file__).resolve().parent.parent


def result(scenario: str, diverging: tuple[str, ...], impl: str = "ts", **extra: object) -> Result:
    fields: dict[str, object] = {
        "scenario": scenario,
        "implementation": impl,
        "status": Status.DIVERGED if diverging else Status.PASSED,
        "agrees": not diverging,
        "compared_parts": PORTABLE_PARTS,
        "diverging_parts": diverging,
        "summary": "differs" if diverging else "",
    }
    fields.update(extra)
    return Result(**fields)  # type: ignore[arg-type]


def base(*entries: Entry, impl: str = "ts") -> Baseline:
    return Baseline(impl, Path(f"baselines/{impl}.yaml"), entries)


# --------------------------------------------------------------------------------------- the verdict


@pytest.mark.parametrize(
    ("entries", "diverging", "status"),
    [
        ([Entry("a/b", "error", "r")], ("error",), Status.KNOWN_DIVERGENCE),  # listed divergence passes
        ([Entry("a/b", None, "r")], ("error", "events"), Status.KNOWN_DIVERGENCE),  # whole scenario
        ([], ("error",), Status.DIVERGED),  # unlisted fails
        ([Entry("a/b", "error", "r")], ("error", "events"), Status.DIVERGED),  # one part unlisted
        ([Entry("a/b", "error", "r")], (), Status.STALE),  # listed, now agrees
        ([Entry("a/b", None, "r")], (), Status.STALE),
        ([Entry("a/b", "error", "r"), Entry("a/b", "events", "r")], ("error",), Status.STALE),  # one stale part
        ([], (), Status.PASSED),
    ],
)
def test_verdict_table(entries: list[Entry], diverging: tuple[str, ...], status: Status) -> None:
    assert apply_baseline(entries, diverging).status is status


def test_apply_baselines_notes_stale_parts_and_unknown_scenarios() -> None:
    baseline = base(
        Entry("a/b", "error", "wording"),
        Entry("a/b", "events", "gone"),
        Entry("x/gone", None, "renamed scenario", line=7, column=3),
        Entry("c/skipped", "error", "skipped today"),
    )
    results = [
        result("a/b", ("error",)),
        Result("c/skipped", "ts", Status.SKIPPED, skip_reason="capability"),
    ]
    judged, problems = apply_baselines(results, {"ts": baseline}, {"a/b", "c/skipped"})
    ab, skipped = judged
    assert ab.status is Status.STALE
    assert [(n.entry, n.stale) for n in ab.baseline] == [("a/b:error", False), ("a/b:events", True)]
    assert "a/b:events" in ab.summary
    # a result that was not compared keeps its status; its entries are attached, never stale
    assert skipped.status is Status.SKIPPED and [n.stale for n in skipped.baseline] == [False]
    assert [(p.entry, p.location) for p in problems] == [("x/gone", "baselines/ts.yaml:7:3")]


def test_errored_result_is_not_rescued_by_a_baseline() -> None:
    errored = Result("a/b", "ts", Status.ERRORED, summary="adapter crashed")
    judged, _ = apply_baselines([errored], {"ts": base(Entry("a/b", None, "r"))}, {"a/b"})
    assert judged[0].status is Status.ERRORED


# ------------------------------------------------------------------------------------------ loading


GOOD = """\
implementation: ts
divergences:
  "a/b:error":
    reason: wording differs
    issue: https://github.com/openai/codex/issues/1
  c/d:
    reason: everything differs
"""


def test_load_good_file(tmp_path: Path) -> None:
    path = tmp_path / "ts.yaml"
    path.write_text(GOOD)
    baseline = load_baseline(path, implementation="ts", parts=PORTABLE_PARTS)
    assert [(e.key, e.reason, e.issue, e.line) for e in baseline.entries] == [
        ("a/b:error", "wording differs", "https://github.com/openai/codex/issues/1", 3),
        ("c/d", "everything differs", None, 6),
    ]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("implementation: ts\ndivergences: [\n", ":3:1", "invalid YAML"),
        ("implementation: ts\ndivergences:\n  a/b:error:\n    reason: x\n  a/b:error:\n    reason: y\n", ":5:3",
         "duplicate key"),
        ("implementation: ts\ndivergences:\n  a/b:telemetry:\n    reason: x\n", ":3:3", "reference only"),
        ("implementation: ts\ndivergences:\n  a/b:nope:\n    reason: x\n", ":3:3", "unknown part 'nope'"),
        ("implementation: ts\ndivergences:\n  A B:\n    reason: x\n", ":3:3", "is not a scenario id"),
        ("implementation: ts\ndivergences:\n  a/b:\n    because: x\n", ":4:5", "unknown key 'because'"),
        ("implementation: ts\ndivergences:\n  a/b:\n    issue: https://x.invalid/1\n", ":3:3", "missing 'reason'"),
        ("implementation: ts\ndivergences:\n  a/b:\n    reason: x\n    issue: not a url\n", ":5:12", "http(s) URL"),
        ("implementation: ts\ndivergences:\n  a/b:\n    reason: ''\n", ":4:13", "non-empty string"),
        ("implementation: agents\n", ":1:17", "not 'agents'"),
        ("divergences: {}\n", ":1:1", "missing 'implementation'"),
        ("implementation: ts\nextra: 1\n", ":2:1", "unknown key 'extra'"),
        ("implementation: ts\ndivergences:\n  a/b:\n    reason: x\n  a/b:error:\n    reason: y\n", ":5:3",
         "listed whole"),
    ],
)
def test_invalid_files_are_located(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = tmp_path / "ts.yaml"
    path.write_text(text)
    with pytest.raises(BaselineError) as info:
        load_baseline(path, implementation="ts", parts=PORTABLE_PARTS)
    assert str(info.value).startswith(f"{path}{where}: "), str(info.value)
    assert message in str(info.value)
    assert info.value.exit_status == 2


def test_missing_file_is_empty_and_unknown_file_names_are_errors(tmp_path: Path) -> None:
    assert load_baselines(tmp_path, {"ts": PORTABLE_PARTS})["ts"].entries == ()
    (tmp_path / "typescript.yaml").write_text("implementation: typescript\n")
    with pytest.raises(BaselineError, match="no implementation named 'typescript'"):
        load_baselines(tmp_path, {"ts": PORTABLE_PARTS})


# ------------------------------------------------------------------------------------------- update


def test_update_keeps_reasons_adds_todo_drops_fixed_and_unknown(tmp_path: Path) -> None:
    old = Baseline(
        "ts",
        tmp_path / "ts.yaml",
        (
            Entry("a/b", "error", "wording differs", "https://github.com/x/y/issues/1"),
            Entry("a/b", "events", "fixed upstream"),
            Entry("w/whole", None, "kept whole"),
            Entry("n/not_run", "result", "not selected this time"),
            Entry("g/gone", None, "scenario deleted"),
        ),
    )
    results = [
        result("a/b", ("error", "result")),
        result("w/whole", ("events",)),
        result("p/pass", ()),
    ]
    new = update_baseline(old, results, {"a/b", "w/whole", "n/not_run", "p/pass"})
    assert [(e.key, e.reason, e.issue) for e in new.entries] == [
        ("a/b:result", TODO_REASON, None),
        ("a/b:error", "wording differs", "https://github.com/x/y/issues/1"),
        ("n/not_run:result", "not selected this time", None),
        ("w/whole", "kept whole", None),
    ]
    path = write_baseline(new)
    again = load_baseline(path, implementation="ts", parts=PORTABLE_PARTS)
    assert [(e.key, e.reason, e.issue) for e in again.entries] == [(e.key, e.reason, e.issue) for e in new.entries]
    assert render_baseline(again) == path.read_text(), "stable: rendering what was read gives the same bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["ts.yaml"], "written atomically, no temp file left"


def test_render_is_sorted_and_quotes_anything(tmp_path: Path) -> None:
    odd = 'says "hi" \\ — 100%: yes\u2028next'
    baseline = Baseline("ts", tmp_path / "ts.yaml", (Entry("z/z", "error", "b"), Entry("a/a", "result", odd)))
    text = render_baseline(baseline)
    assert text.index('"a/a:result"') < text.index('"z/z:error"')
    path = write_baseline(baseline)
    assert load_baseline(path, implementation="ts").entries[0].reason == odd


# ------------------------------------------------------------------------------------------ committed


def test_committed_baselines_are_valid_and_name_real_scenarios() -> None:
    ids = {s.id for s in load_all(ROOT / "scenarios")}
    parts = {"reference": PARTS, **{i: PORTABLE_PARTS for i in ("openai-agents", "ts", "codex-sdk-python",
                                                                  "openai-codex-sdk")}}
    baselines = load_baselines(ROOT / "baselines", parts)
    for baseline in baselines.values():
        for entry in baseline.entries:
            assert entry.scenario in ids, f"{baseline.location(entry)}: {entry.key}"
            assert entry.reason != TODO_REASON, f"{baseline.location(entry)}: {entry.key} has no reason"
        if baseline.path.exists():
            assert render_baseline(baseline) == baseline.path.read_text(), f"{baseline.path} is not canonical"
