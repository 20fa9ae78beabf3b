"""The fake codex's fault matrix through Thread.run and Thread.run_streamed, and every real transcript
replayed.

Each fault maps to an outcome a parity report compares: the error kind, its message and its details, or the
result. Both APIs are driven for each fault because they differ by design (run() raises on turn.failed and
ignores what follows; run_streamed() yields everything and raises only for the exit).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.fake.testing import build_from_mapping
from harness.reference import Codex, CodexError, CodexExec, CodexOptions, TurnOptions
from harness.reference import events as ev

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "fixtures" / "real"
AGENT_MESSAGE = REAL / "0.169.0" / "agent_message.jsonl"  # 4 lines: started, turn.started, item, turn.completed
FAIL_500 = REAL / "0.169.0" / "fail_500.jsonl"


pytestmark = pytest.mark.usefixtures("no_leaks")


@dataclass(frozen=True)
class Outcome:
    """What one API call produced: events seen (streamed), the Turn (run), or the error as its dict view."""

    events: list[str] | None = None
    final_response: str | None = None
    items: int | None = None
    error: dict[str, Any] | None = None


def drive(
    tmp_path: Path, step: dict[str, Any], api: str, *, turn: dict[str, Any] | None = None, grace: float = 2.0
) -> Outcome:
    exe, _ = build_from_mapping({"steps": [step]}, tmp_path)
    codex = Codex(CodexOptions(codex_path_override=exe), exec=CodexExec(exe, kill_grace=grace))
    thread = codex.start_thread()
    options = TurnOptions.from_mapping({"outputSchema": {"type": "object"}, **(turn or {})})
    seen: list[str] = []

    async def streamed() -> Outcome:
        async with thread.run_streamed("prompt text", options) as events:
            async for event in events:
                seen.append(ev.serialize(event))
        return Outcome(events=seen)

    async def run() -> Outcome:
        result = await thread.run("prompt text", options)
        return Outcome(final_response=result.final_response, items=len(result.items))

    try:
        return asyncio.run(streamed() if api == "streamed" else run())
    except CodexError as exc:
        return Outcome(events=seen if api == "streamed" else None, error=exc.to_dict())


AM = [line for line in AGENT_MESSAGE.read_text("utf-8").splitlines()]
F5 = [line for line in FAIL_500.read_text("utf-8").splitlines()]
HIGH_DEMAND = "We’re currently experiencing high demand, which may cause temporary errors."
AM_TEXT: str = json.loads(AM[2])["item"]["text"]


def _exit(code: int, stderr: str) -> dict[str, Any]:
    return {
        "kind": "exit",
        "class": "ExitError",
        "message": f"Codex Exec exited with code {code}: {stderr}",
        "details": {"exit_code": code},
    }


def _parse(line: str, number: int) -> dict[str, Any]:
    return {
        "kind": "parse",
        "class": "EventParseError",
        "message": f"Failed to parse item: {line}",
        "details": {"line_number": number},
    }


ABORT = {"kind": "abort", "class": "AbortError", "message": "The operation was aborted"}
BIG_BYTES = 3 * 1024 * 1024
BIG_PREFIX = '{"type":"item.completed","item":{"id":"item_big","type":"agent_message","text":"'
BIG_TEXT = "x" * (BIG_BYTES - len(BIG_PREFIX) - len('"}}'))
BIG_LINE = BIG_PREFIX + BIG_TEXT + '"}}'
UNKNOWN_EVENT = '{"type":"brand_new_event","note":"injected by harness-fake-codex"}'
UNKNOWN_ITEM = (
    '{"type":"item.completed","item":{"id":"item_unknown","type":"brand_new_item",'
    '"note":"injected by harness-fake-codex"}}'
)

# (id, step, turn options, run() outcome, run_streamed() outcome)
#: What an idle timeout of 0.3 s reports, in run() and in run_streamed() alike.
IDLE_0_3: dict[str, Any] = {
    "kind": "idle_timeout",
    "class": "IdleTimeoutError",
    "message": "Codex stream idle for 0.3 seconds.",
    "details": {"retryable": True, "seconds": 0.3},
}

MATRIX: list[tuple[str, dict[str, Any], dict[str, Any], Outcome, Outcome]] = [
    (
        "clean",
        {"replay": str(AGENT_MESSAGE)},
        {},
        Outcome(final_response=AM_TEXT, items=1),
        Outcome(events=AM),
    ),
    (
        "exit_code+stderr",
        {"replay": str(AGENT_MESSAGE), "faults": {"exit_code": 2, "stderr": "fake codex: simulated crash\n"}},
        {},
        Outcome(error=_exit(2, "fake codex: simulated crash\n")),
        Outcome(events=AM, error=_exit(2, "fake codex: simulated crash\n")),
    ),
    (
        "signal",
        {"replay": str(AGENT_MESSAGE), "faults": {"signal": "SEGV", "stderr": "boom\n"}},
        {},
        Outcome(
            error={
                "kind": "signal",
                "class": "SignalError",
                "message": "Codex Exec exited with signal SIGSEGV: boom\n",
                "details": {"signal": "SIGSEGV", "signal_number": 11},
            }
        ),
        Outcome(
            events=AM,
            error={
                "kind": "signal",
                "class": "SignalError",
                "message": "Codex Exec exited with signal SIGSEGV: boom\n",
                "details": {"signal": "SIGSEGV", "signal_number": 11},
            },
        ),
    ),
    (
        "turn_failed+exit1",
        {"replay": str(FAIL_500), "faults": {"exit_code": 1, "stderr": "Reading prompt from stdin...\n"}},
        {},
        Outcome(
            error={
                "kind": "turn_failed",
                "class": "TurnFailedError",
                "message": HIGH_DEMAND,
                "details": {"retryable": True},
            }
        ),
        Outcome(events=F5, error=_exit(1, "Reading prompt from stdin...\n")),
    ),
    (
        "malformed_line",
        {
            "replay": str(AGENT_MESSAGE),
            "faults": {"malformed_line": {"after": 2, "text": "this is not json"}},
        },
        {},
        Outcome(error=_parse("this is not json", 3)),
        Outcome(events=AM[:2], error=_parse("this is not json", 3)),
    ),
    (
        "cut_last_line",  # the fake prints the first half of the last line, without a newline
        {"replay": str(AGENT_MESSAGE), "faults": {"cut_last_line": True}},
        {},
        Outcome(error=_parse(AM[3][: len(AM[3]) // 2], 4)),
        Outcome(events=AM[:3], error=_parse(AM[3][: len(AM[3]) // 2], 4)),
    ),
    (
        "unknown_event+unknown_item",
        {
            "replay": str(AGENT_MESSAGE),
            "faults": {"unknown_event": {"after": 1}, "unknown_item": {"after": 2}},
        },
        {},
        Outcome(final_response=AM_TEXT, items=2),
        Outcome(events=[AM[0], UNKNOWN_EVENT, AM[1], UNKNOWN_ITEM, *AM[2:]]),
    ),
    (
        "big_line_3MiB",
        {"replay": str(AGENT_MESSAGE), "faults": {"big_line": {"after": 3, "bytes": BIG_BYTES}}},
        {},
        Outcome(final_response=BIG_TEXT, items=2),
        Outcome(events=[*AM[:3], BIG_LINE, AM[3]]),
    ),
    (
        "echo_stdin",
        {"replay": str(AGENT_MESSAGE), "faults": {"echo_stdin": {"after": 3}}},
        {},
        Outcome(final_response="prompt text", items=2),
        Outcome(
            events=[
                *AM[:3],
                '{"type":"item.completed","item":{"id":"item_echo","type":"agent_message","text":"prompt text"}}',
                AM[3],
            ]
        ),  # fmt: skip
    ),
    (
        "exit_before_stdin",
        {
            "replay": str(AGENT_MESSAGE),
            "faults": {
                "exit_before_stdin": True,
                "exit_code": 1,
                "stderr": "No prompt provided via stdin.\n",
            },
        },
        {},
        Outcome(error=_exit(1, "No prompt provided via stdin.\n")),
        Outcome(events=AM, error=_exit(1, "No prompt provided via stdin.\n")),
    ),
    (
        "close_stdout_after",
        {"replay": str(AGENT_MESSAGE), "faults": {"close_stdout_after": 2, "exit_code": 3}},
        {},
        Outcome(error=_exit(3, "")),
        Outcome(events=AM[:2], error=_exit(3, "")),
    ),
    (
        "delays",
        {"replay": str(AGENT_MESSAGE), "faults": {"delay_before_ms": 50, "delay_between_ms": 20}},
        {"idleTimeout": 2},
        Outcome(final_response=AM_TEXT, items=1),
        Outcome(events=AM),
    ),
    (
        "delay_beyond_idle_timeout",
        {"replay": str(AGENT_MESSAGE), "faults": {"delay_between_ms": 800}},
        {"idleTimeout": 0.3},
        Outcome(error=IDLE_0_3),
        Outcome(
            events=AM[:1],
            error=IDLE_0_3,
        ),
    ),
    (
        "hang_after_line+idle_timeout",
        {"replay": str(AGENT_MESSAGE), "faults": {"hang_after_line": 2, "ignore_sigterm": True}},
        {"idleTimeout": 0.3},
        Outcome(error=IDLE_0_3),
        Outcome(
            events=AM[:2],
            error=IDLE_0_3,
        ),
    ),
]


@pytest.mark.parametrize("api", ["run", "streamed"])
@pytest.mark.parametrize(("fault", "step", "turn", "run_out", "stream_out"), MATRIX, ids=[m[0] for m in MATRIX])
def test_fault_matrix(
    tmp_path: Path,
    api: str,
    fault: str,
    step: dict[str, Any],
    turn: dict[str, Any],
    run_out: Outcome,
    stream_out: Outcome,
) -> None:
    expected = run_out if api == "run" else stream_out
    got = drive(tmp_path, step, api, turn=turn, grace=0.3)
    assert got.error == expected.error
    assert got == expected  # compared field by field above first, for a readable diff of the error


@pytest.mark.parametrize("api", ["run", "streamed"])
def test_abort_of_a_hanging_child_that_ignores_sigterm(tmp_path: Path, api: str) -> None:
    from harness.reference import AbortController

    controller = AbortController()
    step = {"replay": str(AGENT_MESSAGE), "faults": {"hang_after_line": 1, "ignore_sigterm": True}}
    exe, _ = build_from_mapping({"steps": [step]}, tmp_path)
    codex = Codex(CodexOptions(codex_path_override=exe), exec=CodexExec(exe, kill_grace=0.3))
    options = TurnOptions(signal=controller.signal, output_schema={"type": "object"})

    async def main() -> None:
        asyncio.get_running_loop().call_later(0.2, controller.abort)
        thread = codex.start_thread()
        if api == "run":
            await thread.run("x", options)
        else:
            async for _event in thread.run_streamed("x", options):
                pass

    started = time.monotonic()
    with pytest.raises(CodexError) as info:
        asyncio.run(main())
    assert info.value.to_dict() == ABORT
    assert 0.4 <= time.monotonic() - started < 5


# --- every real transcript, replayed
# ----------------------------------------------------------------------------

TRANSCRIPTS = sorted(REAL.glob("*/*.jsonl"))


@pytest.mark.parametrize("fixture", TRANSCRIPTS, ids=[f"{p.parent.name}/{p.stem}" for p in TRANSCRIPTS])
def test_real_transcripts_replay_byte_exact(tmp_path: Path, fixture: Path) -> None:
    exe, _ = build_from_mapping({"steps": [{"replay": str(fixture)}, {"replay": str(fixture)}]}, tmp_path)
    # split on \n only: str.splitlines() would also break at a raw U+2028 inside a string (agent_message_unicode)
    expected = [line.decode("utf-8") for line in fixture.read_bytes().split(b"\n") if line]

    async def main() -> tuple[list[bytes], list[str]]:
        raw = [line async for line in CodexExec(exe).run(["exec", "--experimental-json"], stdin="x")]
        thread = Codex(CodexOptions(codex_path_override=exe)).start_thread()
        async with thread.run_streamed("x") as events:
            parsed = [ev.serialize(event) async for event in events]
        return raw, parsed

    raw, parsed = asyncio.run(main())
    assert [line.decode("utf-8") for line in raw] == expected
    assert parsed == expected
