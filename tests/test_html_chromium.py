"""The HTML report rendered by a real browser: counts visible at the top, inline script allowed by the CSP.

Skips (with the reason) where /usr/bin/chromium is missing; ``.ci/run`` installs Debian's ``chromium``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from test_report_support import make_report, make_result

from harness.report.model import Status
from harness.report.render import render_html

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (install Debian `chromium`, as .ci/run does)"
)


def _chromium(tmp_path: Path, page: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    argv = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        *mode,
        page.as_uri(),
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def page(tmp_path: Path) -> Path:
    report = make_report(
        [
            make_result("basic/one"),
            make_result("basic/two"),
            make_result("errors/diverges", Status.DIVERGED, title="<b>not bold</b>"),
            make_result("missing/golden", Status.ERRORED),
            make_result("z/skipped", Status.SKIPPED),
        ]
    )
    path = tmp_path / "parity.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


@pytest.mark.slow
def test_counts_are_in_the_rendered_dom(tmp_path: Path, page: Path) -> None:
    proc = _chromium(tmp_path, page, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    counts = dict(re.findall(r'<b id="count-(\w+)">(\d+)</b>', dom))
    assert counts == {"passed": "2", "diverged": "1", "errored": "1", "skipped": "1", "total": "5"}
    assert 'data-js="ready"' in dom, "the inline script must run under the page's own CSP"
    assert "<b>not bold</b>" not in dom and "&lt;b&gt;not bold&lt;/b&gt;" in dom
    assert dom.count('<details id="r-') == 5
    # the summary comes before the table and the drill-downs: visible without scrolling
    assert dom.index('id="counts"') < dom.index('id="results"') < dom.index('id="details"')


@pytest.mark.slow
def test_screenshot_renders(tmp_path: Path, page: Path) -> None:
    shot = tmp_path / "shot.png"
    proc = _chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=1200,800")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
