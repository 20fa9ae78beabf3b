"""Writers and reader: round trips, the footer rule, and file:line diagnostics for broken reports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_report_support import make_report, make_result

from harness.errors import ReportError
from harness.report.model import FORMAT_VERSION, Counts, Report, Status
from harness.report.reader import parse_report, read_report
from harness.report.render import render_html, render_junit, render_markdown, render_text
from harness.report.writer import to_jsonl, write_json, write_reports


@pytest.fixture
def report() -> Report:
    return make_report(
        [
            make_result("z/last", Status.SKIPPED),
            make_result("basic/agent_message"),
            make_result("errors/exit_code", Status.DIVERGED),
            make_result("basic/no_golden", Status.ERRORED),
        ]
    )


def test_round_trip_through_disk(tmp_path: Path, report: Report) -> None:
    path = write_json(report, tmp_path / "parity.json")
    assert read_report(path) == report
    assert [p.name for p in tmp_path.iterdir()] == ["parity.json"], "no temp file may be left behind"


def test_jsonl_layout_header_sorted_results_footer(report: Report) -> None:
    records = [json.loads(line) for line in to_jsonl(report).splitlines()]
    assert records[0]["record"] == "header"
    assert records[0]["format_version"] == FORMAT_VERSION
    assert records[-1] == {
        "record": "footer",
        "complete": True,
        "counts": {
            "passed": 1,
            "diverged": 1,
            "errored": 1,
            "skipped": 1,
            "known_divergence": 0,
            "stale": 0,
            "flaky": 0,
            "total": 4,
        },
        "finished_at": "2025-01-01T00:01:00Z",
    }
    ids = [r["scenario"] for r in records[1:-1]]
    assert ids == sorted(ids)
    diverged = next(r for r in records if r.get("scenario") == "errors/exit_code")
    assert diverged["agrees"] is False and diverged["observed_error_kind"] is None


def test_observed_error_kind_is_the_first_axis() -> None:
    result = make_result(
        "e/x", observation={"error": {"kind": "exit", "class": "ExitError", "message": "boom"}}
    )
    assert result.observed_error_kind == "exit"
    assert result.observed == "error:exit"
    assert result.agreement == "agrees"  # an expected SDK error still agrees with its golden


def test_writing_is_deterministic(report: Report) -> None:
    assert to_jsonl(report) == to_jsonl(
        Report.build(report.header, reversed(report.results), finished_at=report.footer.finished_at)
    )


def test_write_reports_writes_all_views(tmp_path: Path, report: Report) -> None:
    paths = write_reports(report, tmp_path / "reports")
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [
        "badges",
        "junit.xml",
        "parity.html",
        "parity.json",
        "parity.md",
    ]
    assert read_report(paths.json) == report


def _lines(report: Report) -> list[str]:
    return to_jsonl(report).splitlines()


def test_missing_footer_is_an_incomplete_run(tmp_path: Path, report: Report) -> None:
    path = tmp_path / "parity.json"
    path.write_text("\n".join(_lines(report)[:-1]) + "\n")
    with pytest.raises(ReportError, match="missing footer") as info:
        read_report(path)
    assert str(info.value).startswith(f"{path}:5: ")


def test_footer_must_say_complete(report: Report) -> None:
    lines = _lines(report)
    footer = json.loads(lines[-1]) | {"complete": False}
    with pytest.raises(ReportError, match=r"<report>:6: complete: footer says the run did not complete"):
        parse_report([*lines[:-1], json.dumps(footer)])


def test_duplicate_result_is_rejected_with_both_lines(report: Report) -> None:
    lines = _lines(report)
    with pytest.raises(ReportError, match=r"r\.json:3: duplicate result for .* first at line 2"):
        parse_report([lines[0], lines[1], lines[1], *lines[2:]], "r.json")


def test_empty_report(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("")
    with pytest.raises(ReportError, match="empty report"):
        read_report(path)


def test_bad_line_names_file_and_line(report: Report) -> None:
    lines = _lines(report)
    with pytest.raises(ReportError, match=r"^p\.json:3:2: not a JSON line"):
        parse_report([lines[0], lines[1], "{oops", *lines[2:]], "p.json")


def test_missing_header(report: Report) -> None:
    with pytest.raises(ReportError, match=r"p:1: missing header"):
        parse_report(_lines(report)[1:], "p")


def test_bad_field_is_named(report: Report) -> None:
    lines = _lines(report)
    bad = json.loads(lines[1]) | {"status": "fine"}
    with pytest.raises(ReportError, match=r"p:2: status: unknown status 'fine'"):
        parse_report([lines[0], json.dumps(bad), *lines[2:]], "p")
    missing = json.loads(lines[1])
    del missing["scenario"]
    with pytest.raises(ReportError, match=r"p:2: scenario: missing"):
        parse_report([lines[0], json.dumps(missing), *lines[2:]], "p")


def test_counts_must_match_results(report: Report) -> None:
    lines = _lines(report)
    with pytest.raises(ReportError, match="counts"):
        parse_report([lines[0], *lines[2:]], "p")


def test_newer_format_is_refused_but_unknown_keys_are_ignored(report: Report) -> None:
    lines = _lines(report)
    newer = json.loads(lines[0]) | {"format_version": FORMAT_VERSION + 1}
    with pytest.raises(ReportError, match="newer than this harness reads"):
        parse_report([json.dumps(newer), *lines[1:]], "p")
    extended = json.loads(lines[0]) | {"baselines": {"reference": "baseline.yml"}}
    extra_record = json.dumps({"record": "baseline", "entries": []})
    assert parse_report([json.dumps(extended), extra_record, *lines[1:]]) == report


def test_record_after_footer(report: Report) -> None:
    lines = _lines(report)
    with pytest.raises(ReportError, match="after the footer"):
        parse_report([*lines, lines[1]])


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no such report file"):
        read_report(tmp_path / "nope.json")
    with pytest.raises(ReportError, match="is a directory"):
        read_report(tmp_path)


def test_counts_and_duplicates_in_the_model() -> None:
    assert Counts.of([make_result("a"), make_result("b", Status.DIVERGED)]).failing == 1
    with pytest.raises(ValueError, match="duplicate"):
        make_report([make_result("a"), make_result("a")])


def test_markdown_lists_only_non_passing_sections(report: Report) -> None:
    md = render_markdown(report)
    assert "| passed | 1 |" in md and "| **total** | **4** |" in md
    assert "### `errors/exit_code` (reference): diverged" in md
    assert "### `basic/no_golden` (reference): errored" in md
    assert "### `basic/agent_message`" not in md
    assert "```diff\n--- golden" in md


def test_markdown_escapes_table_cells_and_fences() -> None:
    md = render_markdown(
        make_report([make_result("a", Status.DIVERGED, title="x | y", diff="```\n-a\n+b\n")])
    )
    assert "x \\| y" in md
    assert "````diff\n```" in md


def test_junit_is_valid_and_carries_the_diff(report: Report) -> None:
    root = ET.fromstring(render_junit(report))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "4",
        "1",
        "1",
        "1",
    )
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "parity.reference"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    failure = cases["errors/exit_code"].find("failure")
    assert failure is not None and "+new" in (failure.text or "")
    assert cases["basic/no_golden"].find("error") is not None
    assert cases["z/last"].find("skipped") is not None
    assert list(cases["basic/agent_message"]) == []


def test_junit_survives_control_characters() -> None:
    report = make_report([make_result("a", Status.DIVERGED, summary="\x1b[31mred\x1b[0m", diff="-\x00\n")])
    root = ET.fromstring(render_junit(report))
    assert "\\x1b[31mred" in (root.find("testsuite/testcase/failure").get("message") or "")  # type: ignore[union-attr]


def test_html_is_self_contained_and_escaped() -> None:
    evil = "<script>alert(1)</script>"
    report = make_report(
        [make_result("a/<b>", Status.DIVERGED, title=evil, observation={"text": evil, "url": "http://x"})]
    )
    page = render_html(report)
    assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'id="count-diverged">1<' in page and 'id="count-total">1<' in page
    for attr in ("src=", 'href="http', "@import", "url("):
        assert attr not in page
    assert "Content-Security-Policy" in page
    assert "<details" in page and "golden" in page and "observation" in page


def test_text_view(report: Report) -> None:
    text = render_text(report)
    assert "diverged" in text and "errors/exit_code" in text and "no golden" in text


def test_a_raw_line_separator_inside_a_string_survives_the_round_trip(tmp_path: Path, report: Report) -> None:
    import dataclasses

    tricky = dataclasses.replace(report.results[0], title="before\u2028after\x85end")
    changed = Report.build(report.header, [tricky, *report.results[1:]], finished_at=report.footer.finished_at)
    path = write_json(changed, tmp_path / "parity.json")
    assert "\u2028" in path.read_text(encoding="utf-8"), "written raw, as codex prints it"
    assert read_report(path) == changed
