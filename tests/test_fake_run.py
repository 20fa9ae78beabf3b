"""The compiled fake codex run end to end as an SDK runs it: replay, every fault, step selection, logging.

Every test checks that no process started from its tmp_path survives it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.fake import build_fake, load_plan, read_log
from harness.fake.testing import build_from_mapping, wait_no_leftovers

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "fixtures" / "real").glob("*/*.jsonl"))
AGENT = ROOT / "fixtures" / "real" / "0.169.0" / "agent_message.jsonl"
_COUNTER = itertools.count()
EVENTS = [
    {"type": "thread.started", "thread_id": "t1"},
    {"type": "turn.started"},
    {"type": "item.completed", "item": {"id": "item_0", "type": "agent_message", "text": "hi"}},
    {"type": "turn.completed", "usage": {"input_tokens": 1, "output_tokens": 1}},
]


@pytest.fixture(autouse=True)
def no_leftovers(tmp_path: Path) -> Iterator[None]:
    yield
    left = wait_no_leftovers(tmp_path)
    for pid, _ in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left behind: {left}"


def one_step(tmp_path: Path, faults: dict[str, Any] | None = None, **step: Any) -> tuple[Path, Path]:
    body: dict[str, Any] = step or {"events": EVENTS}
    if faults is not None:
        body["faults"] = faults
    return build_from_mapping({"steps": [body]}, tmp_path)


def run(
    exe: Path, *args: str, stdin: bytes = b"prompt", timeout: float = 10, **kw: Any
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(exe), *args], input=stdin, capture_output=True, timeout=timeout, **kw)


def lines_of(out: bytes) -> list[Any]:
    return [json.loads(x) for x in out.decode().splitlines()]


# -- replay ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_replay_every_real_fixture_byte_exact(tmp_path: Path, fixture: Path) -> None:
    exe, log = one_step(tmp_path, replay=str(fixture))
    result = run(exe, "exec", "--experimental-json", "--skip-git-repo-check", "-")
    assert result.returncode == 0
    assert result.stdout == fixture.read_bytes()
    assert result.stderr == b""
    [inv] = read_log(log)
    assert inv.step == 0 and inv.stdin == "prompt"


def test_replay_relative_to_plan_file_and_without_final_newline(tmp_path: Path) -> None:
    (tmp_path / "fx").mkdir()
    (tmp_path / "fx" / "t.jsonl").write_bytes(b'{"a":1}\r\n\n{"b":2}')
    (tmp_path / "plan.yaml").write_text("steps:\n  - replay: fx/t.jsonl\n")
    exe = build_fake(load_plan(tmp_path / "plan.yaml"), tmp_path / "out", log_path=tmp_path / "log")
    assert run(exe, "exec").stdout == b'{"a":1}\r\n\n{"b":2}'


def test_lines_and_events_rendering(tmp_path: Path) -> None:
    exe, _ = build_from_mapping(
        {
            "steps": [
                {"lines": ['{"x": 1}', "not json", ""]},
                {"events": [{"type": "t", "é": "✓", "a": [1, 2.5]}]},
            ]
        },
        tmp_path,
    )
    assert run(exe).stdout == b'{"x": 1}\nnot json\n\n'
    assert run(exe).stdout == '{"type":"t","é":"✓","a":[1,2.5]}\n'.encode()


# -- step selection --------------------------------------------------------------------------------


def test_steps_in_order_resume_bound_and_exhaustion(tmp_path: Path) -> None:
    exe, log = build_from_mapping(
        {
            "steps": [
                {"lines": ["first"]},
                {"lines": ["resumed t1"], "resume": "t1"},
                {"lines": ["second"]},
                {"lines": ["resumed t2"], "resume": "t2"},
            ]
        },
        tmp_path,
    )
    assert run(exe, "exec", "--experimental-json").stdout == b"first\n"
    assert (
        run(exe, "exec", "--experimental-json", "resume", "t2", "--image", "a.png").stdout == b"resumed t2\n"
    )
    assert run(exe, "exec", "--model", "resume", "resume", "t1").stdout == b"resumed t1\n"
    # a resume id with no (remaining) bound step takes the next unbound step
    assert run(exe, "exec", "resume", "t1").stdout == b"second\n"
    exhausted = run(exe, "exec")
    assert exhausted.returncode == 1
    assert b"no step left" in exhausted.stderr
    assert [i.step for i in read_log(log)] == [0, 3, 1, 2, None]


def test_rebuild_resets_steps(tmp_path: Path) -> None:
    plan = {"steps": [{"lines": ["a"]}]}
    exe, _ = build_from_mapping(plan, tmp_path)
    assert run(exe).returncode == 0
    assert run(exe).returncode == 1
    exe, _ = build_from_mapping(plan, tmp_path)
    assert run(exe).returncode == 0


def test_concurrent_invocations_take_distinct_steps_and_whole_log_lines(tmp_path: Path) -> None:
    n = 24
    exe, log = build_from_mapping({"steps": [{"lines": [f"s{i}"]} for i in range(n)]}, tmp_path)
    big = "x" * 200_000  # far beyond PIPE_BUF: the record must still land in one piece
    procs = [
        subprocess.Popen([str(exe), "exec"], stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(n)
    ]
    outs = [p.communicate(big.encode(), timeout=20)[0] for p in procs]
    assert sorted(outs) == sorted(f"s{i}\n".encode() for i in range(n))
    invocations = read_log(log)
    assert sorted(i.step for i in invocations if i.step is not None) == list(range(n))
    assert all(i.stdin == big for i in invocations)


# -- logging ---------------------------------------------------------------------------------------


def test_log_records_argv_stdin_env_cwd_and_output_schema(tmp_path: Path) -> None:
    exe, log = one_step(tmp_path)
    schema = '{"type":"object","properties":{"é":{"type":"string"}}}'  # no trailing newline: content is exact
    (tmp_path / "schema.json").write_text(schema, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "CODEX_API_KEY": "sk-ü",
        "CODEX_INTERNAL_ORIGINATOR_OVERRIDE": "codex_sdk_ts",
        "CODEX_HOME": "",
    }
    schema_path = str(tmp_path / "schema.json")
    argv = ["exec", "--experimental-json", "--config", 'a="b\\"c"', "--output-schema", schema_path,
            "resume", "t9", "--image", "a b.png", "multi\nline\targ ✓"]  # fmt: skip
    prompt = 'Say "hi"\\ now\n\ttabbed \x01\x1f 日本語 😀\n'
    result = run(exe, *argv, stdin=prompt.encode(), env=env, cwd=work)
    assert result.returncode == 0
    [inv] = read_log(log)
    assert inv.step == 0
    assert inv.argv == tuple(argv)
    assert inv.stdin == prompt
    assert inv.cwd == str(work)
    assert inv.output_schema == schema
    assert inv.env == {
        "CODEX_API_KEY": "sk-ü",
        "CODEX_INTERNAL_ORIGINATOR_OVERRIDE": "codex_sdk_ts",
        "OPENAI_BASE_URL": None,
        "CODEX_HOME": "",
        "OPENAI_API_KEY": None,
        "PATH": "/usr/bin:/bin",
    }
    raw = log.read_text(encoding="utf-8")
    assert raw.count("\n") == 1 and list(json.loads(raw)) == [
        "step",
        "argv",
        "stdin",
        "cwd",
        "pid",
        "pgid",
        "starttime",
        "env",
        "output_schema",
        "images",
    ]
    assert [(i.path, i.exists, i.sha256) for i in inv.images] == [("a b.png", False, None)]


def test_log_records_other_codex_and_openai_variables_but_nothing_else(tmp_path: Path) -> None:
    exe, log = one_step(tmp_path)
    env = {
        "PATH": "/usr/bin:/bin",
        "OPENAI_ORG_ID": "org-1",
        "CODEX_SANDBOX": "seatbelt",
        "RUST_LOG": "debug",
        "HOME": "/home/someone",
        "UNRELATED": "x",
    }
    assert run(exe, "exec", env=env).returncode == 0
    [inv] = read_log(log)
    assert {k: v for k, v in inv.env.items() if v is not None} == {
        "PATH": "/usr/bin:/bin",
        "CODEX_SANDBOX": "seatbelt",
        "OPENAI_ORG_ID": "org-1",
        "RUST_LOG": "debug",
    }
    assert list(inv.env)[6:] == ["CODEX_SANDBOX", "OPENAI_ORG_ID", "RUST_LOG"]  # after the fixed six, sorted


def test_log_output_schema_equals_form_missing_file_and_invalid_utf8(tmp_path: Path) -> None:
    exe, log = build_from_mapping({"steps": [{"lines": ["a"]}, {"lines": ["b"]}]}, tmp_path)
    (tmp_path / "s.json").write_bytes(b"{}\n")
    run(exe, "exec", f"--output-schema={tmp_path / 's.json'}", stdin=b"bad \xff\xfe utf8 \xc3")
    run(exe, "exec", "--output-schema", str(tmp_path / "gone.json"))
    first, second = read_log(log)
    assert first.output_schema == "{}\n"
    assert first.stdin == "bad \ufffd\ufffd utf8 \ufffd"
    assert second.output_schema is None


def test_log_override_by_environment(tmp_path: Path) -> None:
    exe, log = one_step(tmp_path)
    other = tmp_path / "other.jsonl"
    run(exe, env={**os.environ, "HARNESS_FAKE_LOG": str(other)})
    assert read_log(log) == [] and len(read_log(other)) == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    argv=st.lists(
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
        max_size=5,
    ),
    stdin=st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
)
def test_log_encoding_round_trips(tmp_path: Path, argv: list[str], stdin: str) -> None:
    exe = tmp_path / "fake" / "codex"
    if not exe.exists():
        exe, _ = build_from_mapping(
            {"steps": [{"lines": ["x"], "faults": {"echo_stdin": {"after": 0}}}]}, tmp_path
        )
    log = tmp_path / f"prop-{next(_COUNTER)}.jsonl"  # a fresh log is a fresh session: step 0 again
    result = run(exe, "exec", *argv, stdin=stdin.encode(), env={**os.environ, "HARNESS_FAKE_LOG": str(log)})
    [inv] = read_log(log)
    assert inv.argv == ("exec", *argv)
    assert inv.stdin == stdin
    assert json.loads(result.stdout.splitlines()[0])["item"]["text"] == stdin


# -- faults ----------------------------------------------------------------------------------------


def test_exit_code_and_stderr(tmp_path: Path) -> None:
    exe, _ = one_step(tmp_path, {"exit_code": 2, "stderr": "fake codex: simulated crash\n"})
    result = run(exe, "exec")
    assert result.returncode == 2
    assert result.stderr == b"fake codex: simulated crash\n"
    assert lines_of(result.stdout) == EVENTS


@pytest.mark.parametrize("sig", ["KILL", "SIGTERM", 6])
def test_signal(tmp_path: Path, sig: str | int) -> None:
    exe, _ = one_step(tmp_path, {"signal": sig, "stderr": "dying\n"})
    result = run(exe, "exec")
    expected = {"KILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM, 6: signal.SIGABRT}[sig]
    assert result.returncode == -expected
    assert lines_of(result.stdout) == EVENTS
    assert result.stderr == b"dying\n"


def test_delays(tmp_path: Path) -> None:
    exe, _ = one_step(tmp_path, {"delay_before_ms": 150, "delay_between_ms": 50})
    proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    start = time.monotonic()
    proc.stdin.close()
    stamps = []
    for _ in EVENTS:
        proc.stdout.readline()
        stamps.append(time.monotonic() - start)
    assert proc.wait(timeout=5) == 0
    proc.stdout.close()
    assert stamps[0] >= 0.14
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert all(g >= 0.04 for g in gaps), gaps


def _hanging(exe: Path) -> tuple[subprocess.Popen[bytes], list[bytes]]:
    proc = subprocess.Popen(
        [str(exe), "exec"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    got = [proc.stdout.readline(), proc.stdout.readline()]
    return proc, got


def test_hang_after_line_blocks_until_sigterm(tmp_path: Path) -> None:
    exe, _ = one_step(tmp_path, {"hang_after_line": 2, "stderr": "stalled\n"})
    proc, got = _hanging(exe)
    assert [json.loads(x) for x in got] == EVENTS[:2]
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.3)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == -signal.SIGTERM
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read() == b""
    assert proc.stderr.read() == b"stalled\n"
    proc.stdout.close()
    proc.stderr.close()


def test_hang_before_any_output_killed_by_process_group(tmp_path: Path) -> None:
    exe, _ = one_step(tmp_path, {"hang_after_line": 0})
    proc = subprocess.Popen(
        [str(exe)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, start_new_session=True
    )
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.3)
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=5) == -signal.SIGTERM
    assert proc.stdout is not None and proc.stdout.read() == b""
    proc.stdout.close()


def test_ignore_sigterm_needs_sigkill(tmp_path: Path) -> None:
    exe, _ = one_step(tmp_path, {"hang_after_line": 2, "ignore_sigterm": True})
    proc, _ = _hanging(exe)
    proc.send_signal(signal.SIGTERM)
    with pytest.raises(subprocess.TimeoutExpired):
        proc.wait(timeout=0.3)
    proc.kill()
    assert proc.wait(timeout=5) == -signal.SIGKILL
    for f in (proc.stdout, proc.stderr):
        assert f is not None
        f.close()


def test_malformed_line(tmp_path: Path) -> None:
    exe, _ = one_step(tmp_path, {"malformed_line": {"after": 2, "text": "this is not json"}})
    out = run(exe).stdout.decode().splitlines()
    assert out[2] == "this is not json"
    assert [json.loads(x) for x in out[:2] + out[3:]] == EVENTS


def test_cut_last_line(tmp_path: Path) -> None:
    exe, _ = one_step(tmp_path, {"cut_last_line": True})
    out = run(exe).stdout
    last = json.dumps(EVENTS[-1], separators=(",", ":")).encode()
    assert out.endswith(b"\n" + last[: len(last) // 2])
    assert not out.endswith(b"\n")


@pytest.mark.parametrize("size", [65536, 300_000])
def test_big_line_exact_size_and_valid(tmp_path: Path, size: int) -> None:
    exe, _ = one_step(tmp_path, {"big_line": {"after": 2, "bytes": size}})
    out = run(exe).stdout.split(b"\n")
    big = out[2]
    assert len(big) == size
    event = json.loads(big)
    assert event["type"] == "item.completed" and event["item"]["type"] == "agent_message"
    assert [json.loads(x) for x in out[:2] + out[3:-1]] == EVENTS


def test_unknown_event_and_item(tmp_path: Path) -> None:
    exe, _ = one_step(tmp_path, {"unknown_event": {"after": 2}, "unknown_item": {"after": 2}})
    events = lines_of(run(exe).stdout)
    assert events[2]["type"] == "brand_new_event"
    assert events[3]["type"] == "item.completed" and events[3]["item"]["type"] == "brand_new_item"
    assert events[:2] + events[4:] == EVENTS


def test_close_stdout_after_keeps_running(tmp_path: Path) -> None:
    exe, _ = one_step(tmp_path, {"close_stdout_after": 2, "stderr": "after close\n"})
    proc = subprocess.Popen(
        [str(exe)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()  # returns at EOF, i.e. when stdout is closed
    assert lines_of(out) == EVENTS[:2]
    assert proc.poll() is None, "the process must outlive its stdout"
    assert proc.wait(timeout=5) == 0
    assert proc.stderr.read() == b"after close\n"
    proc.stdout.close()
    proc.stderr.close()


def test_exit_before_stdin_gives_writer_broken_pipe(tmp_path: Path) -> None:
    exe, log = one_step(tmp_path, {"exit_before_stdin": True, "exit_code": 1, "stderr": "early\n"})
    proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    with pytest.raises(BrokenPipeError):
        for _ in range(64):  # 64 x 64 KiB: more than any pipe buffer
            proc.stdin.write(b"x" * 65536)
            proc.stdin.flush()
    with contextlib.suppress(BrokenPipeError, ValueError):
        proc.stdin.close()
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(timeout=5)
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == 1 and err == b"early\n"
    assert lines_of(out) == EVENTS
    [inv] = read_log(log)
    assert inv.stdin is None


def test_echo_stdin(tmp_path: Path) -> None:
    exe, _ = one_step(tmp_path, {"echo_stdin": {"after": 2}})
    prompt = 'line 1\nline "2" ✓\n'
    events = lines_of(run(exe, stdin=prompt.encode()).stdout)
    assert events[2]["item"] == {"id": "item_echo", "type": "agent_message", "text": prompt}
    assert events[:2] + events[3:] == EVENTS


def test_stdout_reader_gone_does_not_hang(tmp_path: Path) -> None:
    exe, _ = one_step(tmp_path, {"big_line": {"after": 0, "bytes": 1_000_000}})
    proc = subprocess.Popen([str(exe)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.read(10)
    proc.stdout.close()
    assert proc.wait(timeout=5) in (-signal.SIGPIPE, 0)


def test_sdk_style_reader_thread(tmp_path: Path) -> None:
    """Stdout read on a thread while stdin is written, as Node's spawn + readline does."""
    exe, log = one_step(tmp_path, {"delay_between_ms": 5})
    proc = subprocess.Popen(
        [str(exe), "exec", "--experimental-json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    got: list[bytes] = []
    assert proc.stdout is not None and proc.stdin is not None
    reader = threading.Thread(target=lambda: got.extend(proc.stdout.readlines()))  # type: ignore[union-attr]
    reader.start()
    proc.stdin.write(b"hello")
    proc.stdin.close()
    reader.join(5)
    assert proc.wait(timeout=5) == 0
    assert [json.loads(x) for x in got] == EVENTS
    assert read_log(log)[0].stdin == "hello"
    proc.stdout.close()
