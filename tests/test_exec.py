"""The exec transport against small ``/bin/sh`` children: lines, limits, exits, signals, aborts, timeouts,
hygiene.

Every test runs under ``no_leaks``: afterwards no process carrying this test's environment token may exist
(that covers grandchildren such as ``sleep``, which the transport must kill with the process group), the test
process must have no zombie children, and the test's private temp dir must hold no schema directory.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from harness.fake.testing import LEAK_TOKEN_VAR, proc_entries
from harness.reference.errors import (
    AbortError,
    BinaryNotFoundError,
    ExitError,
    IdleTimeoutError,
    LineTooLongError,
    SignalError,
)
from harness.reference.exec import CodexExec, iterate_sync, run_coroutine_sync
from harness.reference.options import AbortController


def _live_group_members(pgid: int) -> list[int]:
    """Processes of the group that are not zombies (a killed grandchild is a zombie until init reaps it)."""
    members = []
    for pid, _environ, stat in proc_entries():
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(pid)
    return members


pytestmark = pytest.mark.usefixtures("no_leaks")


def script(tmp_path: Path, body: str, name: str = "codex") -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


async def collect(lines: AsyncIterator[bytes]) -> list[bytes]:
    return [line async for line in lines]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# --- lines
# --------------------------------------------------------------------------------------------------------


def test_lines_crlf_final_unterminated_line_and_stdin(tmp_path: Path) -> None:
    exe = script(tmp_path, 'printf "a\\r\\nb\\n\\n"; cat; printf "\\nlast"')
    assert run(collect(CodexExec(exe).run([], stdin="prompt é"))) == [
        b"a",
        b"b",
        b"",
        "prompt é".encode(),
        b"last",
    ]


def test_argv_env_and_cwd_reach_the_child(tmp_path: Path, no_leaks: str) -> None:
    exe = script(tmp_path, 'printf "%s\\n" "$@"; echo "$ONLY:$CODEX_X"; pwd')
    env = {"ONLY": "yes", "CODEX_X": "1", LEAK_TOKEN_VAR: no_leaks, "PATH": os.environ["PATH"]}
    out = run(collect(CodexExec(exe).run(["exec", "a b", "--"], env=env, cwd=tmp_path)))
    assert out == [b"exec", b"a b", b"--", b"yes:1", str(tmp_path).encode()]


@pytest.mark.parametrize("size", [300_000, 5 * 1024 * 1024])
def test_long_lines(tmp_path: Path, size: int) -> None:
    exe = script(tmp_path, f"echo first; head -c {size} /dev/zero | tr '\\000' x; echo; echo after")
    out = run(collect(CodexExec(exe).run([])))
    assert [len(line) for line in out] == [5, size, 5]
    assert out[1] == b"x" * size


def test_line_over_the_limit_is_an_error_and_stops_the_child(tmp_path: Path) -> None:
    exe = script(tmp_path, "echo ok; head -c 5000 /dev/zero | tr '\\000' y; echo; sleep 30")
    seen: list[bytes] = []

    async def main() -> None:
        async for line in CodexExec(exe, line_limit=4096).run([]):
            seen.append(line)

    with pytest.raises(LineTooLongError) as info:
        run(main())
    assert seen == [b"ok"]
    err = info.value
    assert err.kind == "line_too_long" and err.line_number == 2 and err.limit == 4096
    assert str(err) == "Failed to parse item: line 2 exceeds the 4096-byte limit"
    assert err.raw_line.startswith("yyyy")
    assert err.to_dict()["details"] == {"line_number": 2, "limit": 4096}


def test_a_line_of_exactly_the_limit_is_fine(tmp_path: Path) -> None:
    exe = script(tmp_path, "head -c 4096 /dev/zero | tr '\\000' z; echo")
    assert run(collect(CodexExec(exe, line_limit=4096).run([]))) == [b"z" * 4096]


# --- exits
# ---------------------------------------------------------------------------------------------------------


def test_exit_code_error_text_matches_ts(tmp_path: Path) -> None:
    exe = script(tmp_path, 'echo \'{"type":"turn.started"}\'; echo "fake codex: simulated crash" >&2; exit 2')
    seen: list[bytes] = []

    async def main() -> None:
        async for line in CodexExec(exe).run([]):
            seen.append(line)

    with pytest.raises(ExitError) as info:
        run(main())
    assert seen == [b'{"type":"turn.started"}']  # lines first, then the exit error (TS order)
    assert str(info.value) == "Codex Exec exited with code 2: fake codex: simulated crash\n"
    assert type(info.value) is ExitError and info.value.exit_code == 2
    assert info.value.to_dict() == {
        "kind": "exit",
        "class": "ExitError",
        "message": "Codex Exec exited with code 2: fake codex: simulated crash\n",
        "details": {"exit_code": 2},
    }


@pytest.mark.parametrize(("sig", "name"), [(signal.SIGKILL, "SIGKILL"), (signal.SIGSEGV, "SIGSEGV")])
def test_signal_error_text_matches_ts(tmp_path: Path, sig: int, name: str) -> None:
    exe = script(tmp_path, f"echo dying >&2; kill -{int(sig)} $$")
    with pytest.raises(SignalError) as info:
        run(collect(CodexExec(exe).run([])))
    assert str(info.value) == f"Codex Exec exited with signal {name}: dying\n"
    assert info.value.kind == "signal" and info.value.signal_number == sig
    assert info.value.to_dict()["details"] == {"signal": name, "signal_number": int(sig)}


def test_epipe_when_child_exits_before_reading_stdin_reports_the_exit(tmp_path: Path) -> None:
    exe = script(tmp_path, "echo 'No prompt provided via stdin.' >&2; exit 1")
    with pytest.raises(ExitError) as info:
        run(collect(CodexExec(exe).run([], stdin=b"p" * (4 * 1024 * 1024))))
    assert str(info.value) == "Codex Exec exited with code 1: No prompt provided via stdin.\n"


def test_epipe_with_clean_exit_is_no_error(tmp_path: Path) -> None:
    exe = script(tmp_path, "echo done; exit 0")
    assert run(collect(CodexExec(exe).run([], stdin=b"p" * (4 * 1024 * 1024)))) == [b"done"]


def test_stdin_is_written_concurrently_with_stdout(tmp_path: Path) -> None:
    # The child prints 1 MiB before reading a 1 MiB prompt: a writer that blocks the reader would deadlock.
    exe = script(tmp_path, "head -c 1048576 /dev/zero | tr '\\000' o; echo; wc -c")
    out = run(asyncio.wait_for(collect(CodexExec(exe).run([], stdin=b"i" * 1048576)), 20))
    assert len(out[0]) == 1048576 and out[1].strip() == b"1048576"


def test_stderr_tail_is_bounded(tmp_path: Path) -> None:
    exe = script(tmp_path, "head -c 1000000 /dev/zero | tr '\\000' e >&2; printf 'END' >&2; exit 7")
    with pytest.raises(ExitError) as info:
        run(collect(CodexExec(exe, stderr_tail_bytes=65536).run([])))
    assert len(info.value.stderr) == 65536 and info.value.stderr.endswith("eeeEND")


def test_stderr_tail_cut_inside_utf8_is_clean(tmp_path: Path) -> None:
    exe = script(tmp_path, "printf 'éééé' >&2; exit 1")
    with pytest.raises(ExitError) as info:
        run(collect(CodexExec(exe, stderr_tail_bytes=5).run([])))
    assert info.value.stderr == "éé"


def test_chatty_stderr_does_not_stall_the_child(tmp_path: Path) -> None:
    exe = script(tmp_path, "head -c 3000000 /dev/zero >&2; echo fine")
    assert run(asyncio.wait_for(collect(CodexExec(exe).run([])), 20)) == [b"fine"]


def test_child_closing_stdout_early_then_exiting(tmp_path: Path) -> None:
    exe = script(tmp_path, "echo one; exec 1>&-; sleep 0.2; exit 4")
    with pytest.raises(ExitError, match="code 4"):
        run(collect(CodexExec(exe).run([])))


def test_idle_timeout_also_covers_a_child_that_closed_stdout_but_hangs(tmp_path: Path) -> None:
    exe = script(tmp_path, "echo one; exec 1>&-; sleep 30")
    with pytest.raises(IdleTimeoutError):
        run(collect(CodexExec(exe).run([], idle_timeout=0.3)))


# --- binary
# --------------------------------------------------------------------------------------------------------


def test_binary_missing(tmp_path: Path) -> None:
    with pytest.raises(BinaryNotFoundError) as info:
        run(collect(CodexExec(tmp_path / "nope").run([])))
    assert info.value.kind == "binary_missing" and info.value.path == str(tmp_path / "nope")
    assert str(info.value).startswith(f"Unable to start Codex CLI at {tmp_path / 'nope'}: ")


def test_binary_not_executable_or_a_directory(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\necho hi\n")
    for path in (plain, tmp_path):
        with pytest.raises(BinaryNotFoundError):
            run(collect(CodexExec(path).run([])))


def test_binary_not_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BinaryNotFoundError) as info:
        CodexExec()
    assert str(info.value).startswith("Unable to locate Codex CLI binaries.") and info.value.path is None


def test_missing_cwd_is_not_reported_as_a_missing_binary(tmp_path: Path) -> None:
    exe = script(tmp_path, "echo hi")
    with pytest.raises(FileNotFoundError):
        run(collect(CodexExec(exe).run([], cwd=tmp_path / "missing")))


# --- idle timeout, abort, cancellation
# --------------------------------------------------------------------------


def test_idle_timeout_terminates(tmp_path: Path) -> None:
    exe = script(tmp_path, "echo a; sleep 30; echo never")
    seen: list[bytes] = []

    async def main() -> None:
        async for line in CodexExec(exe).run([], idle_timeout=0.3):
            seen.append(line)

    started = time.monotonic()
    with pytest.raises(IdleTimeoutError) as info:
        run(main())
    assert time.monotonic() - started < 5
    assert seen == [b"a"]
    assert str(info.value) == "Codex stream idle for 0.3 seconds." and info.value.retryable


def test_idle_timeout_is_per_line_not_per_turn(tmp_path: Path) -> None:
    exe = script(tmp_path, "for i in 1 2 3 4 5 6; do echo $i; sleep 0.1; done")
    assert len(run(collect(CodexExec(exe).run([], idle_timeout=0.5)))) == 6


def _abort_after_first_line(exe: Path, *, grace: float) -> tuple[list[bytes], float]:
    controller = AbortController()
    seen: list[bytes] = []

    async def main() -> None:
        async for line in CodexExec(exe, kill_grace=grace).run([], signal=controller.signal):
            seen.append(line)
            controller.abort()

    started = time.monotonic()
    with pytest.raises(AbortError) as info:
        run(main())
    assert str(info.value) == "The operation was aborted" and info.value.kind == "abort"
    return seen, time.monotonic() - started


def test_abort_mid_stream_sigterm(tmp_path: Path) -> None:
    exe = script(tmp_path, "echo a; sleep 30 & wait; echo never")
    seen, elapsed = _abort_after_first_line(exe, grace=5.0)
    assert seen == [b"a"] and elapsed < 4  # SIGTERM was enough: no waiting for the grace period


def test_abort_escalates_to_sigkill_for_a_child_ignoring_sigterm(tmp_path: Path) -> None:
    exe = script(tmp_path, "trap '' TERM; echo a; while :; do sleep 0.05; done")
    seen, elapsed = _abort_after_first_line(exe, grace=0.4)
    assert seen == [b"a"] and 0.4 <= elapsed < 5


def test_abort_with_asyncio_event(tmp_path: Path) -> None:
    exe = script(tmp_path, "echo a; sleep 30")

    async def main() -> None:
        event = asyncio.Event()
        async for _line in CodexExec(exe).run([], signal=event):
            asyncio.get_running_loop().call_later(0.05, event.set)

    with pytest.raises(AbortError):
        run(main())


def test_pre_aborted_signal_spawns_nothing(tmp_path: Path) -> None:
    controller = AbortController()
    controller.abort()
    spawned: list[int] = []
    exe = script(tmp_path, "echo a")
    with pytest.raises(AbortError):
        run(collect(CodexExec(exe, on_spawn=spawned.append).run([], signal=controller.signal)))
    assert spawned == []


def test_abort_from_another_thread_in_sync_mode(tmp_path: Path) -> None:
    exe = script(tmp_path, "echo a; sleep 30")
    controller = AbortController()
    timer = threading.Timer(0.2, controller.abort)
    timer.start()
    try:
        with pytest.raises(AbortError):
            list(CodexExec(exe).run_sync([], signal=controller.signal))
    finally:
        timer.cancel()


def test_task_cancellation_cleans_up_and_propagates(tmp_path: Path) -> None:
    exe = script(tmp_path, "echo a; sleep 30")
    with pytest.raises(TimeoutError):
        run(asyncio.wait_for(collect(CodexExec(exe).run([])), 0.3))


def test_consumer_stopping_early_stops_the_child(tmp_path: Path) -> None:
    exe = script(tmp_path, "trap '' TERM; while :; do echo tick; sleep 0.01; done")
    pids: list[int] = []

    async def main() -> None:
        lines = CodexExec(exe, kill_grace=0.2, on_spawn=pids.append).run([])
        async for _line in lines:
            break
        await lines.aclose()  # type: ignore[attr-defined]
        assert _live_group_members(pids[0]) == []  # the whole group is dead by the time aclose() returns

    run(main())


def test_garbage_collected_iterator_still_cleans_up(tmp_path: Path) -> None:
    exe = script(tmp_path, "while :; do echo tick; sleep 0.01; done")

    async def main() -> None:
        async for _line in CodexExec(exe).run([]):
            break  # no aclose: the asyncgen finalizer must close it

    run(main())


def test_grandchildren_are_killed_with_the_group(tmp_path: Path) -> None:
    exe = script(tmp_path, "sleep 30 >/dev/null 2>&1 & echo started; exit 0")
    assert run(collect(CodexExec(exe).run([]))) == [b"started"]


def test_many_concurrent_runs(tmp_path: Path) -> None:
    exe = script(tmp_path, 'cat; echo " $1"')

    async def main() -> list[list[bytes]]:
        return await asyncio.gather(*(collect(CodexExec(exe).run([str(i)], stdin=f"p{i}")) for i in range(20)))

    assert run(main()) == [[f"p{i} {i}".encode()] for i in range(20)]


# --- sync bridges
# -----------------------------------------------------------------------------------------------


def test_run_sync_and_early_close(tmp_path: Path) -> None:
    exe = script(tmp_path, "echo a; echo b")
    assert list(CodexExec(exe).run_sync([])) == [b"a", b"b"]
    endless = script(tmp_path, "while :; do echo tick; sleep 0.01; done", name="endless")
    iterator = CodexExec(endless).run_sync([])
    assert next(iterator) == b"tick"
    iterator.close()  # type: ignore[attr-defined]


def test_sync_bridges_work_inside_a_running_loop(tmp_path: Path) -> None:
    exe = script(tmp_path, "echo inside")

    async def main() -> list[bytes]:
        return list(CodexExec(exe).run_sync([]))

    assert run(main()) == [b"inside"]


def test_run_coroutine_sync_and_iterate_sync_propagate_errors() -> None:
    async def boom() -> None:
        raise ValueError("x")

    with pytest.raises(ValueError, match="x"):
        run_coroutine_sync(boom)

    async def gen() -> AsyncIterator[int]:
        yield 1
        raise KeyError("k")

    it = iterate_sync(gen)
    assert next(it) == 1
    with pytest.raises(KeyError):
        next(it)


def test_constructor_validation() -> None:
    with pytest.raises(ValueError):
        CodexExec(sys.executable, line_limit=0)


def test_spawn_retries_a_transient_text_file_busy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = script(tmp_path, 'cat >/dev/null; echo \'{"type":"turn.started"}\'\n')
    real = asyncio.create_subprocess_exec
    calls: list[int] = []

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= 2:
            raise OSError(errno.ETXTBSY, "Text file busy", str(exe))
        return await real(*args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", flaky)
    lines = list(CodexExec(exe).run_sync([], stdin="x"))
    assert lines == [b'{"type":"turn.started"}'] and len(calls) == 3


def test_a_persistent_text_file_busy_cannot_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = script(tmp_path, "exit 0\n")

    async def busy(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ETXTBSY, "Text file busy", str(exe))

    monkeypatch.setattr(asyncio, "create_subprocess_exec", busy)
    with pytest.raises(BinaryNotFoundError, match="Text file busy") as info:
        list(CodexExec(exe).run_sync([], stdin="x"))
    assert info.value.kind == "binary_missing"
