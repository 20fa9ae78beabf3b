"""``harness lint``: the committed corpus lints clean; each broken transcript produces its exact finding."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import harness.cli as cli
from harness.errors import FixtureError
from harness.lint import Severity, lint_paths

ROOT = Path(__file__).resolve().parent.parent
VERSION = "0.169.0"

THREAD = '{"type":"thread.started","thread_id":"01a20a0f-0000-7000-8000-000000000001"}'
TURN = '{"type":"turn.started"}'
USAGE = (
    '{"input_tokens":10,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":5,'
    '"reasoning_output_tokens":0}'
)
COMPLETED = '{"type":"turn.completed","usage":' + USAGE + "}"
FAILED = '{"type":"turn.failed","error":{"message":"boom"}}'
ERROR = '{"type":"error","message":"boom"}'
WARNING_ITEM = '{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata not found"}}'


def message(item_id: str = "item_0", event: str = "item.completed") -> str:
    return f'{{"type":"{event}","item":{{"id":"{item_id}","type":"agent_message","text":"hi"}}}}'


def command(item_id: str, event: str, status: str = "in_progress") -> str:
    exit_code = "null" if status == "in_progress" else "0"
    return (
        f'{{"type":"{event}","item":{{"id":"{item_id}","type":"command_execution","command":"echo hi",'
        f'"aggregated_output":"","exit_code":{exit_code},"status":"{status}"}}}}'
    )


def file_change(item_id: str, event: str, status: str = "completed") -> str:
    return (
        f'{{"type":"{event}","item":{{"id":"{item_id}","type":"file_change",'
        f'"changes":[{{"path":"/w/a.txt","kind":"add"}}],"status":"{status}"}}}}'
    )


OK = [THREAD, TURN, message(), COMPLETED]


def write_real(
    root: Path,
    case: str,
    lines: list[str] | str | bytes,
    *,
    exit_code: int | None = 0,
    meta: bool = True,
    index: bool = True,
    version: str = VERSION,
    **meta_fields: Any,
) -> Path:
    """A real transcript ``root/<version>/<case>.jsonl`` with its .meta.json and index.json entry."""
    folder = root / version
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(lines, list):
        data = "".join(line + "\n" for line in lines).encode()
    else:
        data = lines.encode() if isinstance(lines, str) else lines
    path = folder / f"{case}.jsonl"
    path.write_bytes(data)
    if meta:
        record: dict[str, Any] = {
            "case": case,
            "file": path.name,
            "cli_version": version,
            "exit_code": exit_code,
            "killed_by_signal": None,
            "signal_sent": None,
            "killed_after_timeout": False,
            "stdout_lines": data.count(b"\n"),
        }
        record.update(meta_fields)
        (folder / f"{case}.meta.json").write_text(json.dumps(record, indent=2) + "\n")
    index_path = root / "index.json"
    corpus = json.loads(index_path.read_text()) if index_path.exists() else {"versions": {}, "transcripts": []}
    if index:
        corpus["transcripts"].append(
            {
                "version": version,
                "case": case,
                "file": f"{version}/{path.name}",
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
            }
        )
    index_path.write_text(json.dumps(corpus, indent=1) + "\n")
    return path


def write_synthetic(folder: Path, name: str, lines: list[str], described: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(line + "\n" for line in lines))
    rows = "".join(f"| `{n}` | something | a reason |\n" for n in (described if described is not None else [name]))
    (folder / "README.md").write_text("# Synthetic\n\n| File | Models | Why |\n|---|---|---|\n" + rows)
    return path


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory; transcripts go under ``real/`` and ``synthetic/``."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def findings(*paths: str) -> list[str]:
    return [f.render() for f in lint_paths([Path(p) for p in paths or ("real",)]).findings]


R = f"real/{VERSION}"

# ------------------------------------------------------------------------------------------ the real corpus


def test_committed_corpus_lints_clean() -> None:
    result = lint_paths([ROOT / "fixtures" / "real", ROOT / "fixtures" / "synthetic"])
    assert [f.render() for f in result.findings] == []
    assert result.exit_status == 0
    real = [t for t in result.transcripts if t.kind == "real"]
    indexed = json.loads((ROOT / "fixtures" / "real" / "index.json").read_text())["transcripts"]
    assert len(real) == len(indexed)
    assert len(result.transcripts) - len(real) == len(list((ROOT / "fixtures" / "synthetic").glob("*.jsonl")))


def test_committed_corpus_summaries_show_outcomes() -> None:
    result = lint_paths([ROOT / "fixtures" / "real" / VERSION])
    by_name = {Path(t.path).name: t for t in result.transcripts}
    assert by_name["interrupted.jsonl"].outcome == "interrupted"
    assert (by_name["fail_400.jsonl"].outcome, by_name["fail_400.jsonl"].exit_code) == ("turn.failed", 1)
    assert by_name["shell_ok.jsonl"].describe() == (
        "real 0.169.0, 6 line(s), turn.completed (exit 0); items: command_execution, agent_message"
    )
    assert by_name["unknown_model_warning.jsonl"].events[:3] == ["thread.started", "item.completed", "turn.started"]


def test_wire_folders_are_not_transcripts() -> None:
    result = lint_paths([ROOT / "fixtures" / "real" / VERSION])
    assert not any("/wire/" in t.path for t in result.transcripts)


# ------------------------------------------------------------------------------------- good shapes, no findings


def test_warning_items_before_turn_started_and_interrupt_without_terminal(corpus: Path) -> None:
    write_real(corpus / "real", "warned", [THREAD, WARNING_ITEM, TURN, message("item_1"), COMPLETED])
    write_real(
        corpus / "real", "interrupted", [THREAD, TURN], exit_code=1, signal_sent={"signal": "SIGINT", "at_s": 1.0}
    )
    write_real(corpus / "real", "failed", [THREAD, TURN, ERROR, FAILED], exit_code=1)
    assert findings() == []


# -------------------------------------------------------------------------------------------- broken, one each


def test_missing_thread_started(corpus: Path) -> None:
    write_real(corpus / "real", "c", [TURN, message(), COMPLETED])
    assert findings() == [f"{R}/c.jsonl:1: error: missing thread.started: first event is turn.started [order]"]


def test_thread_started_not_first(corpus: Path) -> None:
    write_real(corpus / "real", "c", [TURN, THREAD, message(), COMPLETED])
    assert findings() == [
        f"{R}/c.jsonl:2: error: thread.started must be the first event (line 1 is turn.started) [order]"
    ]


def test_item_started_but_never_completed(corpus: Path) -> None:
    write_real(corpus / "real", "c", [THREAD, TURN, command("item_0", "item.started"), message("item_1"), COMPLETED])
    assert findings() == [
        f"{R}/c.jsonl:3: error: item item_0 (command_execution) started but never completed [item-lifecycle]"
    ]


def test_completed_with_a_different_type(corpus: Path) -> None:
    lines = [THREAD, TURN, command("item_0", "item.started"), file_change("item_0", "item.completed"), COMPLETED]
    write_real(corpus / "real", "c", lines)
    assert findings() == [
        f"{R}/c.jsonl:4: error: item.completed of item_0 has type file_change, but it started as "
        "command_execution at line 3 [item-lifecycle]"
    ]


def test_agent_message_only_as_item_completed(corpus: Path) -> None:
    write_real(corpus / "real", "c", [THREAD, TURN, message(event="item.started"), message(), COMPLETED])
    assert findings() == [
        f"{R}/c.jsonl:3: error: item.started for agent_message item item_0; agent_message items appear only as "
        "item.completed [item-lifecycle]"
    ]


def test_item_id_reused(corpus: Path) -> None:
    write_real(corpus / "real", "c", [THREAD, TURN, message(), message(), COMPLETED])
    assert findings() == [
        f"{R}/c.jsonl:4: error: item.completed reuses item id item_0, completed at line 3 [item-lifecycle]"
    ]


def test_completed_without_started_is_a_warning(corpus: Path) -> None:
    write_real(corpus / "real", "c", [THREAD, TURN, file_change("item_0", "item.completed"), COMPLETED])
    result = lint_paths([Path("real")])
    assert [f.render() for f in result.findings] == [
        f"{R}/c.jsonl:3: warning: file_change item item_0 completed without item.started (the current processor "
        "starts it first; only the legacy one did not) [item-not-started]"
    ]
    assert result.exit_status == 0


def test_no_terminal_event_without_interrupt_in_meta(corpus: Path) -> None:
    write_real(corpus / "real", "c", [THREAD, TURN, message()], exit_code=0)
    assert findings() == [
        f"{R}/c.jsonl:3: error: the turn never ends: no turn.completed or turn.failed, and c.meta.json records no "
        "interrupt (signal_sent / killed_by_signal / killed_after_timeout) [terminal]"
    ]


def test_event_after_terminal(corpus: Path) -> None:
    write_real(corpus / "real", "c", [THREAD, TURN, message(), COMPLETED, ERROR])
    assert findings() == [f"{R}/c.jsonl:5: error: error after the turn ended (turn.completed at line 4) [order]"]


@pytest.mark.parametrize(
    ("lines", "exit_code", "expected"),
    [
        (OK, 1, "4: error: turn.completed but c.meta.json records exit_code 1 (expected 0)"),
        (
            [THREAD, TURN, ERROR, FAILED],
            0,
            "4: error: turn.failed but c.meta.json records exit_code 0 (expected non-zero)",
        ),
    ],
)
def test_exit_code_mismatch(corpus: Path, lines: list[str], exit_code: int, expected: str) -> None:
    write_real(corpus / "real", "c", lines, exit_code=exit_code)
    assert findings() == [f"{R}/c.jsonl:{expected} [exit-code]"]


def test_non_json_line_with_line_and_column(corpus: Path) -> None:
    lines = [THREAD, TURN, '{"type":"item.completed","item":', COMPLETED]
    write_real(corpus / "real", "c", lines)
    result = lint_paths([Path("real")])
    assert [f.render() for f in result.findings] == [
        f"{R}/c.jsonl:3: error: not a JSON event: invalid JSON: unexpected end of input at column 33 [invalid-json]"
    ]
    assert (result.findings[0].line, result.findings[0].column) == (3, 33)


def test_whitespace_between_tokens_does_not_round_trip(corpus: Path) -> None:
    write_real(corpus / "real", "c", [THREAD, '{"type": "turn.started"}', message(), COMPLETED])
    assert findings() == [
        f"{R}/c.jsonl:2: error: does not round-trip byte-exactly: first difference at column 9, whitespace between "
        "JSON tokens; codex prints compact JSON (line has ' \"turn.start', serialize() gives '\"turn.starte') "
        "[round-trip]"
    ]


def test_crlf_line_ending_does_not_round_trip(corpus: Path) -> None:
    data = (THREAD + "\n" + TURN + "\r\n" + message() + "\n" + COMPLETED + "\n").encode()
    write_real(corpus / "real", "c", data)
    assert findings() == [
        f"{R}/c.jsonl:2: error: does not round-trip byte-exactly: first difference at column 24, a carriage return "
        "(CRLF line ending?); codex ends lines with \\n only (line has '\\r', serialize() gives '') [round-trip]"
    ]


def test_noncanonical_escapes_do_round_trip(corpus: Path) -> None:
    """The parser keeps non-canonical escapes and key order, so these are *not* round-trip findings."""
    odd = '{"type":"item.completed","item":{"type":"agent_message","id":"item_0","text":"caf\\u00e9 \\/"}}'
    write_real(corpus / "real", "c", [THREAD, TURN, odd, COMPLETED])
    assert findings() == []


def test_sha256_mismatch(corpus: Path) -> None:
    path = write_real(corpus / "real", "c", OK)
    edited = path.read_bytes().replace(b'"hi"', b'"ho"')
    path.write_bytes(edited)
    digest = hashlib.sha256(edited).hexdigest()
    recorded = hashlib.sha256("".join(line + "\n" for line in OK).encode()).hexdigest()
    assert findings() == [
        f"{R}/c.jsonl: error: sha256 {digest} does not match index.json ({recorded}); real transcripts are never "
        "edited [sha256]"
    ]


def test_missing_meta(corpus: Path) -> None:
    write_real(corpus / "real", "c", OK, meta=False)
    assert findings() == [
        f"{R}/c.jsonl: error: no c.meta.json beside it (it records argv, exit code and cli_version) [meta]"
    ]


def test_meta_names_another_cli_version(corpus: Path) -> None:
    write_real(corpus / "real", "c", OK, cli_version="0.163.0")
    assert findings() == [f'{R}/c.meta.json:4: error: cli_version "0.163.0" does not match the folder 0.169.0 [meta]']


def test_meta_line_count_mismatch(corpus: Path) -> None:
    write_real(corpus / "real", "c", OK, stdout_lines=6)
    assert findings() == [
        f"{R}/c.meta.json:9: error: stdout_lines is 6 but the transcript has 4 line(s) (copied incompletely?) [meta]"
    ]


def test_not_in_index_suggests_the_entry(corpus: Path) -> None:
    write_real(corpus / "real", "c", OK, index=False)
    result = lint_paths([Path("real")])
    assert len(result.findings) == 1
    finding = result.findings[0]
    assert finding.render().startswith(f"{R}/c.jsonl: error: not listed in real/index.json; add: {{")
    assert finding.suggestion == {
        "version": VERSION,
        "case": "c",
        "file": f"{VERSION}/c.jsonl",
        "sha256": hashlib.sha256("".join(line + "\n" for line in OK).encode()).hexdigest(),
        "bytes": sum(len(line) + 1 for line in OK),
        "exit_code": 0,
        "killed_by_signal": None,
        "events": ["thread.started", "turn.started", "item.completed", "turn.completed"],
        "items": ["item.completed:agent_message"],
    }


def test_index_entry_without_file(corpus: Path) -> None:
    path = write_real(corpus / "real", "c", OK)
    write_real(corpus / "real", "gone", OK)
    (corpus / "real" / VERSION / "gone.jsonl").unlink()
    assert findings() == [f"real/index.json:14: error: lists {VERSION}/gone.jsonl, which does not exist [index]"]
    # Linting one file does not audit the rest of the index.
    assert findings(str(path)) == []


def test_unknown_fields_and_types_are_warnings(corpus: Path) -> None:
    newer = '{"type":"turn.completed","usage":' + USAGE[:-1] + ',"total_tokens":15},"turn_id":"t1"}'
    progress = '{"type":"turn.progress","pct":50}'
    write_real(corpus / "real", "c", [THREAD, TURN, progress, message(), newer])
    result = lint_paths([Path("real")])
    assert [f.render() for f in result.findings] == [
        f"{R}/c.jsonl:3: warning: strict parse: unknown event type 'turn.progress' (unknown to the typed model; new "
        "in this CLI version?) [unknown-shape]",
        f"{R}/c.jsonl:5: warning: unknown field `turn_id` at $ (not in the typed model; new in this CLI version?) "
        "[unknown-field]",
        f"{R}/c.jsonl:5: warning: unknown field `total_tokens` at $.usage (not in the typed model; new in this CLI "
        "version?) [unknown-field]",
    ]
    assert {f.severity for f in result.findings} == {Severity.WARNING}
    assert result.exit_status == 0


def test_missing_final_newline_is_a_warning(corpus: Path) -> None:
    write_real(corpus / "real", "c", "\n".join(OK), stdout_lines=4)
    assert findings() == [
        f"{R}/c.jsonl:4: warning: no newline at end of file; codex ends every line with \\n [final-newline]"
    ]


def test_duplicate_key_is_a_warning(corpus: Path) -> None:
    write_real(corpus / "real", "c", [THREAD, '{"type":"turn.started","type":"turn.started"}', message(), COMPLETED])
    assert findings() == [f"{R}/c.jsonl:2: warning: duplicate key `type` at $ [duplicate-key]"]


# -------------------------------------------------------------------------------------------------- synthetic


def test_synthetic_checks_only_json_round_trip_and_readme(corpus: Path) -> None:
    # No thread.started, an item started and never completed, no terminal: all fine for a synthetic file.
    write_synthetic(corpus / "synthetic", "odd.jsonl", [command("item_0", "item.started"), '{"type":"x.y","z":1}'])
    assert findings("synthetic") == []


def test_synthetic_file_missing_from_readme(corpus: Path) -> None:
    write_synthetic(corpus / "synthetic", "odd.jsonl", [TURN], described=["other.jsonl"])
    assert findings("synthetic") == [
        "synthetic/odd.jsonl: error: not described in synthetic/README.md (add a row: | `odd.jsonl` | models | why |) "
        "[readme]",
        "synthetic/README.md:5: error: describes other.jsonl, which does not exist [readme]",
    ]


def test_synthetic_bad_lines(corpus: Path) -> None:
    write_synthetic(corpus / "synthetic", "bad.jsonl", [TURN, "", "[1]", '{"type":"turn.started" }'])
    assert findings("synthetic") == [
        "synthetic/bad.jsonl:2: error: blank line; codex never prints one [blank-line]",
        "synthetic/bad.jsonl:3: error: not a JSON event: not a JSON object [invalid-json]",
        "synthetic/bad.jsonl:4: error: does not round-trip byte-exactly: first difference at column 23, whitespace "
        "between JSON tokens; codex prints compact JSON (line has ' }', serialize() gives '}') [round-trip]",
    ]


# --------------------------------------------------------------------------------------------------- the CLI


def test_cli_exit_statuses_and_output(corpus: Path) -> None:
    write_real(corpus / "real", "good", OK)
    runner = CliRunner()
    ok = runner.invoke(cli.app, ["lint", "real"])
    assert (ok.exit_code, ok.stdout) == (0, "linted 1 transcript(s) (1 real, 0 synthetic): 0 error(s), 0 warning(s)\n")

    write_real(corpus / "real", "bad", [THREAD, TURN, message()])
    bad = runner.invoke(cli.app, ["lint", "real"])
    assert bad.exit_code == 1
    assert bad.stdout.splitlines()[-1] == "linted 2 transcript(s) (2 real, 0 synthetic): 1 error(s), 0 warning(s)"
    assert bad.stdout.splitlines()[0].startswith(f"{R}/bad.jsonl:3: error: the turn never ends")

    as_json = json.loads(runner.invoke(cli.app, ["lint", "--json", "real"]).stdout)
    assert as_json["summary"] == {"transcripts": 2, "errors": 1, "warnings": 0, "exit_status": 1}
    assert as_json["findings"][0]["code"] == "terminal" and as_json["findings"][0]["severity"] == "error"

    verbose = runner.invoke(cli.app, ["lint", "-v", f"{R}/good.jsonl"])
    assert verbose.stdout.splitlines()[0] == (
        f"{R}/good.jsonl: info: real {VERSION}, 4 line(s), turn.completed (exit 0); items: agent_message"
    )


def test_cli_unreadable_path_is_a_harness_error(corpus: Path) -> None:
    result = CliRunner().invoke(cli.app, ["lint", "nowhere"])
    assert (result.exit_code, result.stderr) == (2, "error: nowhere: no such file or directory\n")
    with pytest.raises(FixtureError):
        lint_paths([Path("nowhere")])


def test_no_transcripts_is_a_harness_error(corpus: Path) -> None:
    (corpus / "empty").mkdir()
    result = CliRunner().invoke(cli.app, ["lint", "empty"])
    assert (result.exit_code, result.stderr) == (2, "error: empty: no *.jsonl transcripts here\n")


def test_cli_default_paths_are_the_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli.app, ["lint"])
    assert result.exit_code == 0, result.stdout
    assert result.stdout.startswith("linted ")
