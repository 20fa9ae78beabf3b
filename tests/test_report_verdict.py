"""The report reads like a verdict: conformance and findings per implementation, leaf drill-down, badges, and a
Markdown report that tells each finding once instead of once per divergence."""

from __future__ import annotations

from pathlib import Path

from harness.report.model import PORTABLE_PARTS, BaselineNote, Header, Implementation, LeafDiff, Report, Result, Status
from harness.report.render import render_html, render_markdown
from harness.report.verdict import badge_svg, conformance, finding_rows
from harness.report.writer import write_badges

ORIGINATOR = LeafDiff(
    "invocations/0/env/CODEX_INTERNAL_ORIGINATOR_OVERRIDE",
    "changed",
    "codex_sdk_ts",
    "codex_sdk_py",
    finding="originator",
)
NOTE = BaselineNote("originator", "sets its own originator", "https://example.test/issues/1")


def _report() -> Report:
    header = Header(
        "0",
        "3.11",
        "linux",
        "2026-12-01T00:00:00Z",
        implementations=(Implementation("py", "py-sdk", "1.0", compared=PORTABLE_PARTS),),
    )
    results = [
        Result(
            f"a/known{n}",
            "py",
            Status.KNOWN_DIVERGENCE,
            agrees=False,
            compared_parts=PORTABLE_PARTS,
            diverging_parts=("invocations",),
            leaves=(ORIGINATOR,),
            baseline=(NOTE,),
            diff="--- golden",
        )
        for n in range(3)
    ]
    results.append(
        Result(
            "a/new",
            "py",
            Status.DIVERGED,
            agrees=False,
            compared_parts=PORTABLE_PARTS,
            diverging_parts=("invocations", "error"),
            diff="--- golden",
            leaves=(LeafDiff("error/kind", "added", None, "hang"), ORIGINATOR),
            baseline=(NOTE,),
        )
    )
    results.append(Result("a/ok", "py", Status.PASSED, agrees=True, compared_parts=PORTABLE_PARTS))
    results += [Result(f"a/skip{n}", "py", Status.SKIPPED, skip_reason="not portable") for n in range(4)]
    return Report.build(header, results, finished_at="2026-12-01T00:01:00Z")


#: The conformance of :func:`_report`'s ``py``: 5 of its 5 x len(PORTABLE_PARTS) (scenario, part) pairs differ.
_PERCENT = f"{100 * (5 * len(PORTABLE_PARTS) - 5) / (5 * len(PORTABLE_PARTS)):.1f}%"


def test_conformance_counts_compared_scenario_part_pairs() -> None:
    figure = conformance(_report(), "py")
    n = len(PORTABLE_PARTS)  # 5 compared results, each over every portable part; 5 leaves differ in one
    assert (figure.agreeing, figure.compared) == (5 * n - 5, 5 * n) and figure.percent == _PERCENT
    assert conformance(_report(), "nobody").percent == "-"


def test_findings_table_puts_unexplained_first_with_an_example() -> None:
    rows = finding_rows(_report(), "py")
    assert [(r.finding, len(r.scenarios)) for r in rows] == [(None, 1), ("originator", 4)]
    assert rows[0].example_text() == 'error/kind: (absent) → "hang"'
    assert rows[1].issue == "https://example.test/issues/1" and rows[1].reason == "sets its own originator"


def test_markdown_tells_each_finding_once_and_lists_skips_in_one_table() -> None:
    text = render_markdown(_report())
    assert f"### py: conformance {_PERCENT}" in text and "| `originator` | sets its own originator | 4 |" in text
    assert text.count("### `a/known") == 0, "known divergences have no section of their own"
    assert "### `a/new` (py): diverged" in text and "`error/kind` added" in text
    assert text.count("## Skipped") == 1
    skipped = text.split("## Skipped", 1)[1].split("\n## ", 1)[0]
    assert skipped.count("| `a/skip") == 4 and "not portable" in skipped


def test_html_drill_down_shows_the_leaves_and_the_terminal_ends_with_findings() -> None:
    page = render_html(_report())
    assert "Differing leaves" in page and 'class="unexplained"' in page and "UNEXPLAINED" in page
    assert "<td>originator</td>" in page


def test_badges_are_green_only_when_nothing_fails(tmp_path: Path) -> None:
    (path,) = write_badges(_report(), tmp_path)
    svg = path.read_text()
    assert path.name == "py.svg" and _PERCENT in svg and "#cf222e" in svg
    assert "#2ea44f" in badge_svg("ts", "100.0%", ok=True) and "&lt;" in badge_svg("<x>", "1", ok=True)
