"""``harness drift``: shapes of two version folders compared, on small synthetic folders (and the committed report)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import harness.real as real_pkg
import harness.real.drift as drift_mod
from harness import cli
from harness.real.drift import (
    MarkdownRenderer,
    RichRenderer,
    SeqChange,
    SetChange,
    ValueChange,
    compare_versions,
    load_version,
    normalize_stderr,
    shape_of,
)
from harness.real.lock import default_lock_path

pytestmark = pytest.mark.usefixtures("no_leaks")

PROJECT = default_lock_path().parent


def _thread() -> dict[str, Any]:
    return {"type": "thread.started", "thread_id": str(uuid.uuid4())}


def _message(text: str) -> dict[str, Any]:
    return {"type": "item.completed", "item": {"id": "item_0", "type": "agent_message", "text": text}}


def _done(**usage: int) -> dict[str, Any]:
    return {"type": "turn.completed", "usage": {"input_tokens": 1, "output_tokens": 2, **usage}}


def _write(
    folder: Path,
    name: str,
    events: list[dict[str, Any]],
    *,
    version: str,
    case: str | None = None,
    exit_code: int = 0,
    signal: str | None = None,
    stderr: str = "",
    requests: list[dict[str, Any]] | None = None,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    meta = {
        "case": case or name,
        "cli_version": version,
        "binary_sha256": f"{version.replace('.', '')}" * 8,
        "exit_code": exit_code,
        "killed_by_signal": signal,
        "stderr_tail": stderr,
    }
    (folder / f"{name}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    if requests is not None:
        (folder / "wire").mkdir(exist_ok=True)
        (folder / "wire" / f"{name}.requests.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in requests), encoding="utf-8"
        )


def _request(headers: dict[str, str], tools: list[str], **body: Any) -> dict[str, Any]:
    return {
        "method": "POST",
        "headers": {"content-length": "123", "session-id": str(uuid.uuid4()), **headers},
        "body": {
            "model": "gpt-5.5",
            "input": [{"role": "user"}],
            "tools": [{"type": "function", "name": t} for t in tools],
            **body,
        },
    }


def test_public_names_sorted_and_resolvable() -> None:
    assert drift_mod.__all__ == sorted(drift_mod.__all__)
    assert all(hasattr(drift_mod, name) for name in drift_mod.__all__)
    assert {"Drift", "DriftRenderer", "MarkdownRenderer", "RichRenderer", "compare_versions"} <= set(real_pkg.__all__)


def test_values_ids_times_and_paths_are_not_drift(tmp_path: Path) -> None:
    for version, ws, text in (("1.0.0", "/home/a/ws", "hello"), ("1.1.0", "/srv/other/ws", "something else")):
        stderr = f"2026-01-0{version[2]}T10:00:00.123Z ERROR x: cannot read {ws}/missing.txt after 12ms\n"
        _write(
            tmp_path / version,
            "chat",
            [_thread(), {"type": "turn.started"}, _message(text), _done()],
            version=version,
            stderr=stderr,
            requests=[_request({"user-agent": f"codex_exec/{version}"}, ["shell"])],
        )
    drift = compare_versions(tmp_path / "1.0.0", tmp_path / "1.1.0")
    assert (drift.old.label, drift.new.label) == ("1.0.0", "1.1.0")
    assert drift.changed == () and drift.changes == ()
    assert [t.name for t in drift.unchanged] == ["chat"]
    assert "No transcript changed." in MarkdownRenderer().render(drift)


def test_every_kind_of_change_is_reported(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    _write(
        old,
        "shell",
        [_thread(), {"type": "turn.started"}, _message("a"), _done()],
        version="1.0.0",
        stderr="Reading prompt from stdin...\n",
        requests=[_request({"accept": "text/event-stream"}, ["shell", "apply_patch"], store=False)],
    )
    started = {"type": "item.started", "item": {"id": "i", "type": "command_execution", "command": "ls"}}
    _write(
        new,
        "shell",
        [_thread(), {"type": "turn.started"}, started, _message("a"), _done(reasoning_output_tokens=3)],
        version="1.1.0",
        stderr="Reading prompt from stdin...\nwarning: new thing\n",
        requests=[
            _request({"accept": "text/event-stream", "accept-encoding": "zstd"}, ["shell"], store=True),
            _request({"accept": "text/event-stream", "accept-encoding": "zstd"}, ["shell"], store=True),
        ],
    )
    failed = {"type": "turn.failed", "error": {"message": "unexpected status 400"}}
    _write(old, "fail", [_thread(), {"type": "turn.started"}, failed], version="1.0.0", exit_code=1)
    failed2 = {"type": "turn.failed", "error": {"message": "bad request (400)"}}
    _write(new, "fail", [_thread(), {"type": "turn.started"}, failed2], version="1.1.0", signal="SIGTERM")
    _write(old, "gone", [_thread()], version="1.0.0", case="old_case")
    _write(new, "fresh", [_thread()], version="1.1.0")

    drift = compare_versions(old, new)
    assert drift.only_old == (("gone", "old_case"),) and drift.only_new == (("fresh", "fresh"),)
    by_name = {t.name: t for t in drift.transcripts}
    shell = by_name["shell"].changes
    assert (
        SeqChange(
            "events",
            ("thread.started", "turn.started", "item.completed", "turn.completed"),
            ("thread.started", "turn.started", "item.started", "item.completed", "turn.completed"),
            ("+item.started@2",),
        )
        in shell
    )
    assert SetChange("event types", ("item.started",), ()) in shell
    assert SetChange("item types", ("command_execution",), ()) in shell
    assert SetChange("event turn.completed", ("usage.reasoning_output_tokens",), ()) in shell
    assert SetChange("request headers", ("accept-encoding",), ()) in shell
    assert SetChange("request tools", (), ("function:apply_patch",)) in shell
    assert SetChange("request body values", ("store=true",), ("store=false",)) in shell
    assert SetChange("stderr", ("warning: new thing",), ()) in shell
    assert ValueChange("model requests", "1", "2") in shell
    fail = by_name["fail"].changes
    assert ValueChange("exit", "1", "SIGTERM") in fail
    assert SetChange("error messages", ("bad request (400)",), ("unexpected status 400",)) in fail
    assert by_name["fail"].lines()[-1] == "exit: 1 → SIGTERM" or "exit: 1 → SIGTERM" in by_name["fail"].lines()
    # version-wide: the union over the two common transcripts
    assert SetChange("item types", ("command_execution",), ()) in drift.changes
    assert all(c.scope != "stderr" for c in drift.changes)

    markdown = MarkdownRenderer(note="Synthetic folders.").render(drift)
    assert markdown.startswith("# Drift: codex 1.0.0 → 1.1.0\n")
    assert "Synthetic folders." in markdown
    assert "- `events: +item.started@2`" in markdown
    assert "| item types | `command_execution` | – |" in markdown
    assert "## Only in 1.0.0\n\ngone (old_case)." in markdown and "## Only in 1.1.0\n\nfresh." in markdown
    terminal = RichRenderer(width=200).render(drift)
    assert "request tools: -function:apply_patch" in terminal and "\x1b[" not in terminal
    assert "only in 1.0.0: gone" in terminal


def test_secrets_never_reach_the_report(tmp_path: Path) -> None:
    for version, secret in (("1.0.0", "sk-old-secret"), ("1.1.0", "sk-new-secret")):
        _write(
            tmp_path / version,
            "t",
            [_thread(), _done()],
            version=version,
            stderr=f"connecting to https://user:{secret}@proxy.example/v1\n",
            requests=[
                _request(
                    {"authorization": f"Bearer {secret}", "x-api-key": secret, "cookie": f"s={secret}"},
                    ["shell"],
                    client_metadata={"api_key": secret, "session_token": secret},
                    max_output_tokens=100 if version == "1.0.0" else 200,
                )
            ],
        )
    drift = compare_versions(tmp_path / "1.0.0", tmp_path / "1.1.0")
    rendered = MarkdownRenderer().render(drift) + RichRenderer(width=300).render(drift)
    assert "secret" not in rendered
    # a value that is not a credential (max_output_tokens) is still compared
    assert [c.line() for c in drift.transcripts[0].changes] == [
        "request body values: +max_output_tokens=200 -max_output_tokens=100"
    ]
    shape = shape_of(tmp_path / "1.1.0" / "t.jsonl")
    values = dict(shape.keys)["request header values"]
    assert {"authorization=<redacted>", "x-api-key=<redacted>", "cookie=<redacted>"} <= set(values)


def test_identical_changes_are_grouped(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        _write(tmp_path / "o", name, [_thread(), _done()], version="1.0.0")
        extra = {"cached_input_tokens": 0} if name != "c" else {}
        _write(tmp_path / "n", name, [_thread(), _done(**extra)], version="1.1.0")
    drift = compare_versions(tmp_path / "o", tmp_path / "n")
    groups = drift.groups()
    assert [(lines, [t.name for t in members]) for lines, members in groups] == [
        (("event turn.completed: +usage.cached_input_tokens",), ["a", "b"])
    ]
    assert "**2 transcripts**: a, b" in MarkdownRenderer().render(drift)
    assert "Unchanged: c." in MarkdownRenderer().render(drift)


def test_shape_of_reads_item_sequences_and_tolerates_garbage(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(
        b'{"type":"item.started","item":{"type":"todo_list","items":[{"text":"a","completed":false}]}}\nnot json\n[1]\n'
    )
    shape = shape_of(path)
    assert shape.events == ("item.started", "(not json)", "(not an object)")
    assert shape.items == ("item.started:todo_list",)
    assert dict(shape.keys)["item todo_list"] == ("items", "items[].completed", "items[].text", "type")
    assert (shape.exit, shape.case, shape.requests) == ("?", "x", None)


def test_a_duplicate_key_is_part_of_the_shape(tmp_path: Path) -> None:
    line = '{"type":"item.started","item":{"id":"item_0","type":"web_search","id":"ws_1","query":"q"}}\n'
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "w.jsonl").write_text(line.replace(',"id":"ws_1"', ""), encoding="utf-8")
    (tmp_path / "new" / "w.jsonl").write_text(line, encoding="utf-8")
    assert "id (duplicate key)" in dict(shape_of(tmp_path / "new" / "w.jsonl").keys)["item web_search"]
    drift = compare_versions(tmp_path / "old", tmp_path / "new")
    assert drift.transcripts[0].lines() == ("item web_search: +id (duplicate key)",)


def test_normalize_stderr() -> None:
    text = (
        "\x1b[31m2026-12-01T19:40:19.393154Z ERROR codex_core: failed /srv/rec/ws/missing.txt\x1b[0m\n\n"
        "  thread 019a2331-1401-7523-b913-f444fba4272c retry in 1.5s  \n"
    )
    assert normalize_stderr(text) == (
        "<time> ERROR codex_core: failed <path>/missing.txt",
        "thread <id> retry in <dur>",
    )


@given(st.uuids(), st.uuids(), st.integers(0, 99_999))
def test_normalized_stderr_does_not_depend_on_ids_or_timings(a: uuid.UUID, b: uuid.UUID, ms: int) -> None:
    line = "session {} took {}ms at /tmp/run-{}/out.log"
    assert normalize_stderr(line.format(a, ms, a.hex[:6])) == normalize_stderr(line.format(b, ms + 1, b.hex[:6]))


def test_cli_writes_markdown_and_fails_cleanly(tmp_path: Path) -> None:
    _write(tmp_path / "1.0.0", "t", [_thread(), _done()], version="1.0.0")
    _write(tmp_path / "1.1.0", "t", [_thread(), _done(cached_input_tokens=1)], version="1.1.0")
    out = tmp_path / "drift.md"
    runner = CliRunner()
    result = runner.invoke(cli.app, ["drift", "1.0.0", "1.1.0", "--fixtures", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "codex 1.0.0 → 1.1.0: 1 in both, 1 changed" in result.stdout
    assert out.read_text(encoding="utf-8") == MarkdownRenderer().render(
        compare_versions(tmp_path / "1.0.0", tmp_path / "1.1.0")
    )
    missing = runner.invoke(cli.app, ["drift", "1.0.0", "9.9.9", "--fixtures", str(tmp_path)])
    assert missing.exit_code == 2 and missing.stderr.startswith("error: 9.9.9: neither a folder nor a version")
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(cli.app, ["drift", str(tmp_path / "empty"), "1.0.0", "--fixtures", str(tmp_path)])
    assert empty.exit_code == 2 and "no transcripts" in empty.stderr
    folder = runner.invoke(cli.app, ["drift", "1.0.0", "1.1.0", "--fixtures", str(tmp_path), "--out", str(tmp_path)])
    assert folder.exit_code == 2 and "is a folder" in folder.stderr


def test_committed_report_matches_the_committed_fixtures() -> None:
    """The version-wide findings of reports/drift-0.169.0-0.171.0.md (made from a full re-recording of 0.169.0)
    are reproduced by the committed corpus copies of 0.169.0 against the committed 0.171.0."""
    report = (PROJECT / "reports/drift-0.169.0-0.171.0.md").read_text(encoding="utf-8")
    section = report.split("## Version-wide", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| scope")]
    drift = compare_versions(PROJECT / "fixtures/real/0.169.0", PROJECT / "fixtures/real/0.171.0")
    expected = MarkdownRenderer().render(drift).split("## Version-wide", 1)[1].split("\n## ", 1)[0]
    assert rows == [line for line in expected.splitlines() if line.startswith("| ") and not line.startswith("| scope")]
    assert rows  # the drift is not empty: 0.171.0 sends accept-encoding
    assert load_version(PROJECT / "fixtures/real/0.171.0").label == "0.171.0"
