"""Views of a :class:`~harness.report.model.Report`: rich text, Markdown, HTML and JUnit XML.

Each view is a pure function of the report (no clock, no filesystem), so the same report always
renders to the same bytes and the views can be regenerated from ``parity.json`` alone. The HTML page
is self-contained (inline CSS/JS, a CSP that forbids every external fetch) because it is opened from CI
artifacts and local disks where nothing else is around.
"""

from __future__ import annotations

import html
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.report.leaks import leak_markdown
from harness.report.model import Report, Result, Status

__all__ = [
    "findings_table",
    "leaks_table",
    "STATUS_STYLES",
    "render_html",
    "render_junit",
    "render_markdown",
    "render_text",
    "results_table",
    "summary_table",
]

STATUS_STYLES: Mapping[Status, str] = {
    Status.PASSED: "green",
    Status.DIVERGED: "red",
    Status.ERRORED: "magenta",
    Status.SKIPPED: "yellow",
    Status.KNOWN_DIVERGENCE: "cyan",
    Status.STALE: "bold red",
}

_STATUS_ORDER = (
    Status.PASSED,
    Status.DIVERGED,
    Status.ERRORED,
    Status.SKIPPED,
    Status.KNOWN_DIVERGENCE,
    Status.STALE,
)

#: The statuses only a run with baselines can produce; views show them when they occur.
_BASELINE_STATUSES = (Status.KNOWN_DIVERGENCE, Status.STALE)

#: Short cell texts for the matrix (rows scenarios, columns implementations).
CELL_TEXT: Mapping[Status, str] = {
    Status.PASSED: "pass",
    Status.DIVERGED: "DIVERGED",
    Status.ERRORED: "ERRORED",
    Status.SKIPPED: "skip",
    Status.KNOWN_DIVERGENCE: "known",
    Status.STALE: "STALE",
}


def _statuses(report: Report) -> tuple[Status, ...]:
    """The statuses a view shows: the four base ones always, the baseline ones when they occur."""
    counts = report.counts
    return tuple(s for s in _STATUS_ORDER if s not in _BASELINE_STATUSES or getattr(counts, s.value))


def _cells(report: Report) -> dict[str, dict[str, Result]]:
    """scenario -> implementation -> result."""
    grid: dict[str, dict[str, Result]] = {}
    for result in report.results:
        grid.setdefault(result.scenario, {})[result.implementation] = result
    return grid


def _parts_text(result: Result) -> str:
    """``compared: a, b; differs: b`` for a compared result, else ``""``."""
    if not result.compared_parts:
        return ""
    text = f"compared: {', '.join(result.compared_parts)}"
    if result.diverging_parts:
        text += f"; differs: {', '.join(result.diverging_parts)}"
    return text


def _baseline_text(result: Result) -> str:
    lines = []
    for note in result.baseline:
        state = "STALE (no longer diverges)" if note.stale else "known"
        issue = f" ({note.issue})" if note.issue else ""
        lines.append(f"baseline {note.entry}: {state}: {note.reason}{issue}")
    return "\n".join(lines)


def _pretty(value: Mapping[str, Any] | None) -> str:
    if value is None:
        return "(none)"
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _failure_text(result: Result) -> str:
    """The one-paragraph reason a result is not passing, shared by every view."""
    parts: list[str] = []
    if result.harness_error is not None:
        parts.append(f"harness error ({result.harness_error.type}): {result.harness_error.message}")
    if result.skip_reason:
        parts.append(f"skipped: {result.skip_reason}")
    if result.issue_url:
        parts.append(f"issue: {result.issue_url}")
    baseline = _baseline_text(result)
    if baseline:
        parts.append(baseline)
    if result.summary:
        parts.append(result.summary)
    parts.extend(f"expectation failed: {e}" for e in result.failed_expectations)
    return "\n".join(parts)


def _why(result: Result) -> str:
    """The shortest reason for a table cell: the summary, else the harness error, skip or expectation."""
    known = [n for n in result.baseline if not n.stale] if result.status is Status.KNOWN_DIVERGENCE else []
    for text in (
        "; ".join(f"{n.entry}: {n.reason}" for n in known),
        result.summary,
        result.harness_error.message if result.harness_error else "",
        result.skip_reason or "",
        *result.failed_expectations,
    ):
        if text:
            return text.splitlines()[0]
    return ""


# --- text (rich) -----------------------------------------------------------------------------------


def summary_table(report: Report) -> Table:
    """Counts per status: the first thing printed after a run."""
    counts = report.counts
    table = Table(title="parity summary", show_header=True, header_style="bold")
    table.add_column("status")
    table.add_column("count", justify="right")
    for status in _statuses(report):
        table.add_row(Text(status.value, style=STATUS_STYLES[status]), str(getattr(counts, status.value)))
    table.add_row(Text("total", style="bold"), str(counts.total))
    return table


def results_table(report: Report, *, failing_only: bool = False) -> Table:
    """One row per result with both axes (observed, agreement) next to the verdict."""
    table = Table(show_header=True, header_style="bold", title="results")
    table.add_column("scenario", no_wrap=True)
    table.add_column("impl")
    table.add_column("status")
    table.add_column("observed")
    table.add_column("golden")
    table.add_column("why", overflow="fold")
    for result in report.results:
        if failing_only and not result.status.failing:
            continue
        why = _why(result)
        table.add_row(
            result.scenario,
            result.implementation,
            Text(result.status.value, style=STATUS_STYLES[result.status]),
            result.observed,
            result.agreement,
            why,
        )
    return table


def matrix_table(report: Report) -> Table:
    """The matrix: one row per scenario, one column per implementation, the status in each cell."""
    implementations = report.implementation_ids
    table = Table(show_header=True, header_style="bold", title="parity matrix")
    table.add_column("scenario", overflow="fold")
    for implementation in implementations:
        table.add_column(implementation, overflow="fold", min_width=8)
    grid = _cells(report)
    for scenario in report.scenario_ids:
        row: list[Text | str] = [scenario]
        for implementation in implementations:
            result = grid[scenario].get(implementation)
            if result is None:
                row.append("")
                continue
            row.append(Text(CELL_TEXT[result.status], style=STATUS_STYLES[result.status]))
        table.add_row(*row)
    return table


def findings_table(report: Report) -> Table:
    """Per implementation: its conformance, then one row per finding (and one for unexplained differences):
    what the run ends with, instead of one line per divergence."""
    from harness.report.verdict import conformance, finding_rows

    table = Table(show_header=True, header_style="bold", title="findings per implementation")
    table.add_column("implementation", no_wrap=True)
    table.add_column("finding", overflow="fold")
    table.add_column("scenarios", justify="right")
    table.add_column("reason / example", overflow="fold")
    for implementation in report.implementation_ids:
        rows = finding_rows(report, implementation)
        figure = conformance(report, implementation)
        table.add_row(
            Text(implementation, style="bold"),
            Text(f"conformance {figure.percent}", style="bold"),
            f"{figure.agreeing}/{figure.compared}",
            "of compared (scenario, part) pairs agree",
        )
        for row in rows:
            name = Text(row.finding or "UNEXPLAINED", style="bold red" if row.finding is None else "")
            issue = f" ({row.issue})" if row.issue else ""
            table.add_row("", name, str(len(row.scenarios)), f"{row.reason}{issue}\ne.g. {row.example_scenario}: "
                          f"{row.example_text()}")
    return table


def render_text(report: Report, *, width: int = 120) -> str:
    """Plain text (no colour) of the summary, matrix and results tables, for logs and tests."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
    console.print(summary_table(report))
    if len(report.implementation_ids) > 1:
        console.print(matrix_table(report))
    console.print(results_table(report))
    return buffer.getvalue()


# --- Markdown --------------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>") or " "


def _md_code(text: str, lang: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def render_markdown(report: Report) -> str:
    """A summary table plus one section per non-passing result (diff, expectations, harness error)."""
    header = report.header
    counts = report.counts
    out: list[str] = ["# Parity report", ""]
    impls = ", ".join(f"{i.id} ({i.name} {i.version}, {i.language})" for i in header.implementations) or "-"
    out += [
        f"- harness {header.harness_version}, format {header.format_version}",
        f"- Python {header.python} on {header.platform}",
        f"- implementations: {impls}",
        f"- CLI versions of fixtures: {', '.join(header.cli_versions) or '-'}",
        f"- started {header.started_at}, finished {report.footer.finished_at}",
        f"- command: `{' '.join(header.argv)}`" if header.argv else "- command: -",
        "",
        "| status | count |",
        "|---|---:|",
    ]
    out += [f"| {s.value} | {getattr(counts, s.value)} |" for s in _statuses(report)]
    out += [f"| **total** | **{counts.total}** |", ""]
    out += _md_implementations(report)
    out += _md_findings(report)
    out += leak_markdown(report)
    out += _md_matrix(report)
    if report.baseline_problems:
        out += ["## Baseline problems", ""]
        out += [f"- `{_md_cell(p.location)}` {p.implementation} `{_md_cell(p.entry)}`: {_md_cell(p.message)}"
                for p in report.baseline_problems]
        out.append("")
    out += [
        "## Results",
        "",
        "| scenario | implementation | status | observed | golden | title |",
        "|---|---|---|---|---|---|",
    ]
    for r in report.results:
        out.append(
            f"| `{_md_cell(r.scenario)}` | {_md_cell(r.implementation)} | {r.status.value} "
            f"| {_md_cell(r.observed)} | {r.agreement} | {_md_cell(r.title)} |"
        )
    out.append("")
    skipped = [r for r in report.results if r.status is Status.SKIPPED]
    if skipped:
        out += ["## Skipped", "", "| scenario | implementation | reason |", "|---|---|---|"]
        out += [f"| `{_md_cell(r.scenario)}` | {_md_cell(r.implementation)} | {_md_cell(r.skip_reason or '')} |"
                for r in skipped]
        out.append("")
    # Known divergences are told once per finding (above); the sections below are what needs a reader.
    non_passing = [r for r in report.results if r.status not in (Status.PASSED, Status.SKIPPED,
                                                                  Status.KNOWN_DIVERGENCE)]
    if non_passing:
        out += ["## Not passing", ""]
    for r in non_passing:
        out += [f"### `{r.scenario}` ({r.implementation}): {r.status.value}", ""]
        if r.title:
            out += [r.title, ""]
        if r.compared_parts:
            out += [_md_cell(_parts_text(r)), ""]
        reason = _failure_text(r)
        if reason:
            out += [_md_code(reason), ""]
        if r.unexplained:
            out += ["Unexplained differences (no finding matches them):", ""]
            out += [f"- `{_md_cell(leaf.path)}` {leaf.change}: `{_md_cell(_leaf_value(leaf.expected))}` → "
                    f"`{_md_cell(_leaf_value(leaf.observed))}`" for leaf in r.unexplained[:20]]
            out.append("")
        if r.diff:
            out += ["Diff (golden → observed):", "", _md_code(r.diff, "diff"), ""]
        if r.harness_error is not None and r.harness_error.traceback:
            out += ["Traceback:", "", _md_code(r.harness_error.traceback), ""]
    return "\n".join(out).rstrip() + "\n"


def _leaf_value(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _md_findings(report: Report) -> list[str]:
    """Per implementation: conformance and one row per finding (scenarios affected, issue, one example)."""
    from harness.report.verdict import conformance, finding_rows

    out = ["## Findings", ""]
    for implementation in report.implementation_ids:
        figure = conformance(report, implementation)
        rows = finding_rows(report, implementation)
        out += [f"### {implementation}: conformance {figure.percent} ({figure.agreeing}/{figure.compared} "
                "compared (scenario, part) pairs agree)", ""]
        if not rows:
            out += ["No differences.", ""]
            continue
        out += ["| finding | reason | scenarios | issue | example (golden → observed) |", "|---|---|---:|---|---|"]
        for row in rows:
            out.append(
                f"| {'**unexplained**' if row.finding is None else f'`{_md_cell(row.finding)}`'} "
                f"| {_md_cell(row.reason)} | {len(row.scenarios)} | {_md_cell(row.issue or '')} "
                f"| `{_md_cell(row.example_scenario)}`: {_md_cell(row.example_text())} |"
            )
        out.append("")
    return out


def _md_implementations(report: Report) -> list[str]:
    out = [
        "## Implementations",
        "",
        "| id | name | version | language | sdk | compared parts | driver | problem |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i in report.header.implementations:
        out.append(
            f"| {_md_cell(i.id)} | {_md_cell(i.name)} | {_md_cell(i.version)} | {_md_cell(i.language)} "
            f"| {_md_cell(i.sdk)} | {_md_cell(', '.join(i.compared))} | {_md_cell(i.driver)} "
            f"| {_md_cell(i.problem or '')} |"
        )
    return [*out, ""]


def _md_matrix(report: Report) -> list[str]:
    implementations = report.implementation_ids
    if len(implementations) < 2:
        return []
    out = [
        "## Matrix",
        "",
        "| scenario | " + " | ".join(_md_cell(i) for i in implementations) + " |",
        "|---|" + "---|" * len(implementations),
    ]
    grid = _cells(report)
    for scenario in report.scenario_ids:
        cells = [grid[scenario].get(i) for i in implementations]
        out.append(
            f"| `{_md_cell(scenario)}` | "
            + " | ".join(CELL_TEXT[c.status] if c is not None else " " for c in cells)
            + " |"
        )
    return [*out, ""]


# --- HTML ------------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1f24;background:#fff}
h1{margin:0 0 .5rem}
.meta{color:#57606a;margin:.2rem 0 1rem;padding:0;list-style:none}
.counts{display:flex;gap:.75rem;margin:1rem 0;flex-wrap:wrap}
.count{border:1px solid #d0d7de;border-radius:6px;padding:.5rem 1rem;min-width:6rem;text-align:center}
.count b{display:block;font-size:1.8rem}
.passed{color:#1a7f37}.diverged{color:#cf222e}.errored{color:#8250df}.skipped{color:#9a6700}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
code{font-family:ui-monospace,monospace}
pre{background:#f6f8fa;padding:.6rem;overflow:auto;max-height:40rem;border-radius:6px}
details{margin:.5rem 0;border:1px solid #d0d7de;border-radius:6px;padding:.3rem .6rem}
summary{cursor:pointer}
.known_divergence{color:#0969da}tr.unexplained td{color:#cf222e;font-weight:bold}.stale{color:#cf222e;font-weight:bold}
.add{color:#1a7f37}.del{color:#cf222e}.hunk{color:#0969da}
#matrix td.cell{text-align:center;white-space:nowrap}
.parts{color:#57606a}
#filter{padding:.3rem;width:20rem}
"""

_JS = """
(function(){
  document.body.setAttribute('data-js','ready');
  var box=document.getElementById('filter');
  var only=document.getElementById('only-failing');
  function apply(){
    var q=box.value.toLowerCase();
    var rows=document.querySelectorAll('tr.result, tr.result-row');
    for(var i=0;i<rows.length;i++){
      var r=rows[i];
      var hide=(q&&r.getAttribute('data-id').toLowerCase().indexOf(q)<0)||
               (only.checked&&r.getAttribute('data-failing')!=='true');
      r.style.display=hide?'none':'';
    }
  }
  box.addEventListener('input',apply);only.addEventListener('change',apply);
})();
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    """Replace control characters XML 1.0 cannot carry (e.g. ESC from captured stderr) with their escapes."""
    return _INVALID_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _e(text: object) -> str:
    return html.escape(_clean(str(text)), quote=True)


def _anchor(result: Result) -> str:
    return "r-" + re.sub(r"[^A-Za-z0-9_-]", "-", f"{result.implementation}--{result.scenario}")


def _diff_html(diff: str) -> str:
    lines = []
    for line in diff.splitlines():
        cls = ""
        if line.startswith(("+++", "---")):
            cls = "hunk"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        elif line.startswith("@@"):
            cls = "hunk"
        lines.append(f'<span class="{cls}">{_e(line)}</span>' if cls else _e(line))
    return "\n".join(lines)


def _leaves_html(result: Result) -> str:
    """The differing leaves, unexplained first, each with the finding that explains it."""
    rows = "".join(
        f'<tr class="{"unexplained" if leaf.finding is None else "explained"}"><td><code>{_e(leaf.path)}</code></td>'
        f"<td>{_e(leaf.change)}</td><td><code>{_e(_leaf_value(leaf.expected) if leaf.change != 'added' else '')}"
        f"</code></td><td><code>{_e(_leaf_value(leaf.observed) if leaf.change != 'removed' else '')}</code></td>"
        f"<td>{_e(leaf.finding or 'UNEXPLAINED')}</td></tr>"
        for leaf in result.leaves
    )
    return (
        '<h4>Differing leaves</h4><table class="leaves"><thead><tr><th>path</th><th>change</th><th>golden</th>'
        f"<th>observed</th><th>finding</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _details(result: Result, *, with_golden: bool = True) -> str:
    parts = [
        f'<details id="{_anchor(result)}" class="drill" data-status="{_e(result.status.value)}"'
        f' data-impl="{_e(result.implementation)}">',
        f"<summary><code>{_e(result.scenario)}</code> ({_e(result.implementation)}): "
        f'<span class="{_e(result.status.value)}">{_e(result.status.value)}</span>'
        f' <span class="parts">{_e(result.observed)} · {_e(result.agreement)}</span></summary>',
    ]
    reason = _failure_text(result)
    if result.compared_parts:
        parts.append(f'<p class="parts">{_e(_parts_text(result))}</p>')
    if reason:
        parts.append(f'<pre class="reason">{_e(reason)}</pre>')
    if result.leaves:
        parts.append(_leaves_html(result))
    if result.diff:
        parts.append(f'<h4>Diff (golden → observed)</h4><pre class="diff">{_diff_html(result.diff)}</pre>')
    if result.harness_error is not None and result.harness_error.traceback:
        parts.append(f"<h4>Traceback</h4><pre>{_e(result.harness_error.traceback)}</pre>")
    if result.adapter_stderr:
        parts.append(
            '<details class="stderr"><summary>adapter stderr</summary>'
            f"<pre>{_e(result.adapter_stderr)}</pre></details>"
        )
    if with_golden:
        parts.append(
            f'<details class="golden"><summary>golden</summary><pre>{_e(_pretty(result.golden))}</pre></details>'
        )
    parts.append(
        '<details class="observation"><summary>observation</summary>'
        f"<pre>{_e(_pretty(result.observation))}</pre></details>"
    )
    parts.append("</details>")
    return "\n".join(parts)


def _scenario_anchor(scenario: str) -> str:
    return "s-" + re.sub(r"[^A-Za-z0-9_-]", "-", scenario)


def _scenario_section(scenario: str, results: Sequence[Result]) -> str:
    """The drill-down of one scenario: the golden once, then each implementation's observation and diff."""
    golden = next((r.golden for r in results if r.golden is not None), None)
    parts = [f'<section class="scenario" id="{_scenario_anchor(scenario)}">', f"<h3><code>{_e(scenario)}</code></h3>"]
    title = next((r.title for r in results if r.title), "")
    if title:
        parts.append(f"<p>{_e(title)}</p>")
    if golden is not None:
        parts.append(
            f'<details class="golden"><summary>golden (the reference behaviour)</summary>'
            f"<pre>{_e(_pretty(golden))}</pre></details>"
        )
    parts.extend(_details(r, with_golden=golden is None) for r in results)
    parts.append("</section>")
    return "\n".join(parts)


def _html_matrix(report: Report) -> str:
    implementations = report.implementation_ids
    head = "".join(f'<th class="impl" data-impl="{_e(i)}">{_e(i)}</th>' for i in implementations)
    rows = []
    grid = _cells(report)
    for scenario in report.scenario_ids:
        cells = []
        for implementation in implementations:
            result = grid[scenario].get(implementation)
            if result is None:
                cells.append('<td class="cell"></td>')
                continue
            tip = _why(result)
            cells.append(
                f'<td class="cell {_e(result.status.value)}" title="{_e(tip)}">'
                f'<a class="{_e(result.status.value)}" href="#{_anchor(result)}">'
                f"{_e(CELL_TEXT[result.status])}</a></td>"
            )
        failing = any(r.status.failing for r in grid[scenario].values())
        rows.append(
            f'<tr class="result-row" data-id="{_e(scenario)}" data-failing="{str(failing).lower()}">'
            f'<td><a href="#{_scenario_anchor(scenario)}"><code>{_e(scenario)}</code></a></td>{"".join(cells)}</tr>'
        )
    return "\n".join(
        [
            '<h2>Matrix</h2><table id="matrix"><thead><tr><th>scenario</th>' + head + "</tr></thead><tbody>",
            *rows,
            "</tbody></table>",
        ]
    )


def _html_implementations(report: Report) -> str:
    rows = "".join(
        f'<tr data-impl="{_e(i.id)}"><td>{_e(i.id)}</td><td>{_e(i.name)}</td><td>{_e(i.version)}</td>'
        f"<td>{_e(i.language)}</td><td>{_e(i.sdk)}</td><td>{_e(', '.join(i.compared))}</td>"
        f'<td>{_e(i.driver)}</td><td class="{"errored" if i.problem else ""}">{_e(i.problem or "")}</td></tr>'
        for i in report.header.implementations
    )
    return (
        '<table id="implementations"><thead><tr><th>id</th><th>name</th><th>version</th><th>language</th>'
        "<th>sdk</th><th>compared parts</th><th>driver</th><th>problem</th></tr></thead><tbody>"
        f"{rows}</tbody></table>"
    )


def _html_leaks(report: Report) -> str:
    """``#leaks``: per implementation, the probes where codex was left running (docs/leak-probes.md)."""
    from harness.report.leaks import leak_cells, leak_probes

    cells = leak_cells(report)
    if not cells:
        return ""
    rows = "".join(
        f"<tr><td>{_e(impl)}</td><td>{_e(', '.join(found) or 'none')}</td></tr>"
        for impl, found in leak_probes(report).items()
    )
    detail = "".join(
        f"<tr><td>{_e(c.scenario)}</td><td>{_e(c.implementation)}</td><td>{_e(c.text())}</td></tr>" for c in cells
    )
    return (
        '<section id="leaks"><h2>Leak probes</h2><table><thead><tr><th>implementation</th><th>leaks in</th></tr>'
        f"</thead><tbody>{rows}</tbody></table><table><thead><tr><th>probe</th><th>implementation</th>"
        f"<th>evidence</th></tr></thead><tbody>{detail}</tbody></table></section>"
    )


def leaks_table(report: Report) -> Table | None:
    """The terminal view of the leak probes: per implementation, where it left codex running."""
    from harness.report.leaks import leak_cells, leak_probes

    if not leak_cells(report):
        return None
    table = Table(show_header=True, header_style="bold", title="leak probes: codex left running")
    table.add_column("implementation", no_wrap=True)
    table.add_column("leaks in", overflow="fold")
    for implementation, found in leak_probes(report).items():
        table.add_row(implementation, ", ".join(found) or "none")
    return table


def render_html(report: Report) -> str:
    """One self-contained page: counts (stable ids ``count-<status>``), the implementations, the matrix
    (``#matrix``, one column per implementation), a results table, and per scenario a drill-down with the
    golden and each implementation's observation and diff."""
    header = report.header
    counts = report.counts
    count_boxes = "".join(
        f'<div class="count {s.value}"><b id="count-{s.value}">{getattr(counts, s.value)}</b>{s.value}</div>'
        for s in _statuses(report)
    )
    count_boxes += f'<div class="count"><b id="count-total">{counts.total}</b>total</div>'
    meta = [
        f"harness {header.harness_version} · report format {header.format_version}",
        f"Python {header.python} · {header.platform}",
        f"CLI versions of fixtures: {', '.join(header.cli_versions) or '-'}",
        f"started {header.started_at} · finished {report.footer.finished_at}",
        f"command: {' '.join(header.argv) or '-'}",
    ]
    rows = []
    for r in report.results:
        rows.append(
            f'<tr class="result" data-id="{_e(r.scenario)}" data-failing="{str(r.status.failing).lower()}">'
            f'<td><a href="#{_anchor(r)}"><code>{_e(r.scenario)}</code></a></td>'
            f"<td>{_e(r.implementation)}</td>"
            f'<td class="{_e(r.status.value)}">{_e(r.status.value)}</td>'
            f"<td>{_e(r.observed)}</td><td>{_e(r.agreement)}</td>"
            f"<td>{_e(_why(r) if r.status is not Status.PASSED else r.title)}</td></tr>"
        )
    problems = ""
    if report.baseline_problems:
        problems = '<section id="baseline-problems"><h2>Baseline problems</h2><ul>' + "".join(
            f"<li><code>{_e(p.location)}</code> {_e(p.implementation)} <code>{_e(p.entry)}</code>: {_e(p.message)}</li>"
            for p in report.baseline_problems
        ) + "</ul></section>"
    failing = counts.failing + len(report.baseline_problems)
    verdict = "all passed" if report.ok else f"{failing} failing"
    by_scenario: dict[str, list[Result]] = {}
    for r in report.results:
        by_scenario.setdefault(r.scenario, []).append(r)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Parity report: {_e(verdict)}</title>",
            f"<style>{_CSS}</style></head><body>",
            "<h1>Parity report</h1>",
            f'<p id="verdict" class="{"passed" if report.ok else "diverged"}">{_e(verdict)}</p>',
            f'<section id="counts" class="counts">{count_boxes}</section>',
            '<ul class="meta">' + "".join(f"<li>{_e(m)}</li>" for m in meta) + "</ul>",
            _html_implementations(report),
            _html_leaks(report),
            problems,
            _html_matrix(report),
            '<p><input id="filter" type="search" placeholder="filter scenarios by id"> '
            '<label><input id="only-failing" type="checkbox"> only failing</label></p>',
            '<h2>Results</h2><table id="results"><thead><tr><th>scenario</th><th>implementation</th><th>status</th>'
            "<th>observed</th><th>golden</th><th>why / title</th></tr></thead><tbody>",
            *rows,
            "</tbody></table>",
            '<section id="details"><h2>Details</h2>',
            *(_scenario_section(scenario, results) for scenario, results in by_scenario.items()),
            "</section>",
            f"<script>{_JS}</script>",
            "</body></html>",
            "",
        ]
    )


# --- JUnit XML -------------------------------------------------------------------------------------


def _junit_cases(suite: ET.Element, results: Iterable[Result]) -> None:
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": _clean(f"parity.{r.implementation}"),
                "name": _clean(r.scenario),
                "time": f"{r.duration_s:.3f}",
            },
        )
        reason = _failure_text(r)
        first = reason.splitlines()[0] if reason else r.status.value
        if r.status is Status.DIVERGED:
            failure = ET.SubElement(case, "failure", {"message": _clean(first), "type": "diverged"})
            failure.text = _clean("\n\n".join(p for p in (reason, r.diff) if p))
        elif r.status is Status.ERRORED:
            kind = r.harness_error.type if r.harness_error else "errored"
            error = ET.SubElement(case, "error", {"message": _clean(first), "type": _clean(kind)})
            trace = r.harness_error.traceback if r.harness_error else None
            error.text = _clean("\n\n".join(p for p in (reason, trace or "") if p))
        elif r.status is Status.STALE:
            failure = ET.SubElement(case, "failure", {"message": _clean(first), "type": "stale_baseline"})
            failure.text = _clean(reason)
        elif r.status is Status.SKIPPED:
            ET.SubElement(case, "skipped", {"message": _clean(r.skip_reason or "skipped")})
        elif r.status is Status.KNOWN_DIVERGENCE:
            # JUnit has no "expected failure": a passing case whose output says which divergence is known
            out = ET.SubElement(case, "system-out")
            out.text = _clean("\n\n".join(p for p in (f"known divergence ({_parts_text(r)})", reason, r.diff) if p))


def _implementation_properties(report: Report, implementation: str) -> list[tuple[str, str]]:
    for info in report.header.implementations:
        if info.id == implementation:
            return [
                ("implementation.name", info.name),
                ("implementation.version", info.version),
                ("implementation.language", info.language),
                ("implementation.sdk", info.sdk),
                ("implementation.compared", ",".join(info.compared)),
            ]
    return []


def render_junit(report: Report) -> str:
    """JUnit XML with one ``testsuite`` per implementation, so CI shows the matrix as separate suites."""
    by_impl: dict[str, list[Result]] = {}
    for r in report.results:
        by_impl.setdefault(r.implementation, []).append(r)
    total = report.counts
    root = ET.Element(
        "testsuites",
        {
            "name": "harness parity",
            "tests": str(total.total),
            "failures": str(total.diverged + total.stale),
            "errors": str(total.errored),
            "skipped": str(total.skipped),
            "time": f"{sum(r.duration_s for r in report.results):.3f}",
        },
    )
    for impl in sorted(by_impl):
        results = by_impl[impl]
        counts = type(total).of(results)
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": _clean(f"parity.{impl}"),
                "tests": str(counts.total),
                "failures": str(counts.diverged + counts.stale),
                "errors": str(counts.errored),
                "skipped": str(counts.skipped),
                "time": f"{sum(r.duration_s for r in results):.3f}",
                "timestamp": _clean(report.header.started_at),
            },
        )
        props = ET.SubElement(suite, "properties")
        for name, value in (
            ("harness_version", report.header.harness_version),
            ("format_version", str(report.header.format_version)),
            ("python", report.header.python),
            ("cli_versions", ",".join(report.header.cli_versions)),
            *_implementation_properties(report, impl),
        ):
            ET.SubElement(props, "property", {"name": name, "value": _clean(value)})
        _junit_cases(suite, results)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
