"""Parity reports: the model, JSON-lines writer and strict reader, rendered views, and report diffs.

See ``docs/reports.md`` for the file format and the meaning of each status.
"""

from harness.report.diff import Change, DiffEntry, ReportDiff, diff_reports
from harness.report.model import (
    FORMAT_VERSION,
    REFERENCE,
    Counts,
    Footer,
    HarnessFailure,
    Header,
    Implementation,
    Report,
    Result,
    Selection,
    Status,
)
from harness.report.reader import parse_report, read_report
from harness.report.render import render_html, render_junit, render_markdown, render_text
from harness.report.writer import to_jsonl, write_json, write_reports

__all__ = [
    "FORMAT_VERSION",
    "REFERENCE",
    "Change",
    "Counts",
    "DiffEntry",
    "Footer",
    "HarnessFailure",
    "Header",
    "Implementation",
    "Report",
    "ReportDiff",
    "Result",
    "Selection",
    "Status",
    "diff_reports",
    "parse_report",
    "read_report",
    "render_html",
    "render_junit",
    "render_markdown",
    "render_text",
    "to_jsonl",
    "write_json",
    "write_reports",
]
