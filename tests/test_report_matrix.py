"""Rendering and reading a matrix report: columns per implementation, per-scenario drill-down, JUnit suites
per implementation, baseline statuses and problems through the JSON record."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_report_support import make_header, make_result

from harness.report.model import (
    PARTS,
    PORTABLE_PARTS,
    BaselineNote,
    BaselineProblem,
    Implementation,
    Report,
    Status,
)
from harness.report.reader import read_report
from harness.report.render import render_html, render_junit, render_markdown, render_text
from harness.report.writer import write_json

IMPLS = (
    Implementation("reference", "harness.reference", "0.1.0", "python", sdk="harness.reference", compared=PARTS),
    Implementation("ts", "@openai/codex-sdk", "0.163.0", "javascript", sdk="@openai/codex-sdk",
                   compared=PORTABLE_PARTS, driver="adapter"),
    Implementation("openai-agents", "openai-agents", "0.24.0", "python", sdk="agents.extensions.experimental.codex",
                   compared=PORTABLE_PARTS, driver="adapter"),
    Implementation("absent-sdk", "absent", "", "go", compared=PORTABLE_PARTS, driver="adapter",
                   problem="not installed"),
)
GOLDEN = {"events": [], "error": {"kind": "exit", "message": "Codex Exec exited with code 2: <script>"}}


@pytest.fixture
def report() -> Report:
    known = make_result(
        "errors/exit", Status.KNOWN_DIVERGENCE, implementation="openai-agents", agrees=False,
        golden=GOLDEN, observation={**GOLDEN, "error": {"kind": "exit", "message": "Codex exec exited with code 2"}},
        compared_parts=PORTABLE_PARTS, diverging_parts=("error",),
        diff="--- golden\n+++ observed\n-Exec\n+exec\n",
        baseline=(BaselineNote("errors/exit:error", "lower-case exec", "https://github.com/o/r/issues/1"),),
        adapter_stderr="DeprecationWarning: \x1b[31mred\x1b[0m",
    )
    stale = make_result(
        "errors/exit", Status.STALE, implementation="ts", agrees=True, golden=GOLDEN, observation=GOLDEN,
        compared_parts=PORTABLE_PARTS, summary="stale baseline entry errors/exit:error: the part now agrees",
        baseline=(BaselineNote("errors/exit:error", "was different", stale=True),),
    )
    results = [
        make_result("errors/exit", golden=GOLDEN, observation=GOLDEN, compared_parts=PARTS),
        known,
        stale,
        make_result("errors/exit", Status.SKIPPED, implementation="absent-sdk", skip_reason="absent-sdk is not "
                    "available: not installed"),
        make_result("turns/ok"),
        make_result("turns/ok", implementation="ts"),
        make_result("turns/ok", Status.DIVERGED, implementation="openai-agents", diverging_parts=("events",)),
        make_result("turns/ok", Status.ERRORED, implementation="absent-sdk"),
    ]
    problems = [BaselineProblem("ts", "baselines/ts.yaml:9:3", "gone/away", "no scenario 'gone/away'")]
    return Report.build(make_header(implementations=IMPLS), results, finished_at="2025-01-01T00:01:00Z",
                        baseline_problems=problems)


def test_round_trip_keeps_matrix_fields(tmp_path: Path, report: Report) -> None:
    back = read_report(write_json(report, tmp_path / "parity.json"))
    assert back == report
    assert back.counts.known_divergence == 1 and back.counts.stale == 1
    assert back.header.implementations[1].sdk == "@openai/codex-sdk"
    assert back.header.implementations[3].problem == "not installed"
    assert not back.ok


def test_html_has_a_column_per_implementation_and_a_drill_down_per_scenario(report: Report) -> None:
    page = render_html(report)
    for impl in IMPLS:
        assert f'<th class="impl" data-impl="{impl.id}">{impl.id}</th>' in page
    assert page.index('id="counts"') < page.index('id="matrix"') < page.index('id="results"') < page.index(
        'id="details"'
    )
    assert 'id="count-known_divergence">1<' in page and 'id="count-stale">1<' in page
    # per scenario: the golden once, then each implementation's observation and diff
    section = page[page.index('id="s-errors-exit"') : page.index('id="s-turns-ok"')]
    assert section.count('class="golden"') == 1
    for impl in ("reference", "ts", "openai-agents", "absent-sdk"):
        assert f'id="r-{impl}--errors-exit"' in section
    assert "&lt;script&gt;" in section and "<script>" not in section.replace("<script>(function", "")
    assert "+exec" in section and "lower-case exec" in section and "https://github.com/o/r/issues/1" in section
    assert "compared: invocations, leftover_process, events, result, error, earlier_turns; differs: error" in section
    assert "\\x1b[31mred" in section, "control characters from captured stderr are escaped"
    assert 'id="baseline-problems"' in page and "baselines/ts.yaml:9:3" in page
    # matrix cells link to the drill-down
    assert 'href="#r-openai-agents--errors-exit">known</a>' in page
    assert 'href="#r-ts--errors-exit">STALE</a>' in page


def test_reference_only_report_looks_as_before() -> None:
    page = render_html(Report.build(make_header(), [make_result("basic/one")], finished_at="x"))
    assert "count-known_divergence" not in page and "count-stale" not in page
    assert "parity matrix" not in render_text(Report.build(make_header(), [make_result("basic/one")], finished_at="x"))


def test_junit_one_suite_per_implementation(report: Report) -> None:
    root = ET.fromstring(render_junit(report))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {f"parity.{i.id}" for i in IMPLS}
    agents = suites["parity.openai-agents"]
    props = {p.get("name"): p.get("value") for p in agents.iter("property")}
    assert props["implementation.sdk"] == "agents.extensions.experimental.codex"
    assert props["implementation.compared"] == ",".join(PORTABLE_PARTS)
    cases = {c.get("name"): c for c in agents.iter("testcase")}
    known = cases["errors/exit"]
    assert known.find("failure") is None and known.find("skipped") is None
    out = known.find("system-out")
    assert out is not None and "known divergence" in (out.text or "")
    assert cases["turns/ok"].find("failure") is not None
    stale = {c.get("name"): c for c in suites["parity.ts"].iter("testcase")}["errors/exit"]
    failure = stale.find("failure")
    assert failure is not None and failure.get("type") == "stale_baseline"
    assert suites["parity.ts"].get("failures") == "1"


def test_markdown_and_text_show_the_matrix(report: Report) -> None:
    md = render_markdown(report)
    assert "| scenario | reference | ts | openai-agents | absent-sdk |" in md
    assert "| `errors/exit` | pass | STALE | known | skip |" in md
    assert "## Implementations" in md and "not installed" in md
    assert "## Baseline problems" in md
    text = render_text(report, width=200)
    assert "parity matrix" in text and "known" in text and "STALE" in text
